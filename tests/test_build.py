"""`accelgen build`: outputs, round trip, exit codes, no half-written folders, simulate on a build."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import run_cli

from accelgen.api import load_integer_model
from accelgen.build_dir import load_build
from accelgen.hw.descriptors import DESC_WORDS
from accelgen.sim.numpy_sim import NumpySimulator

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "digits-zcu102"
    proc = run_cli("build", "--board", "zcu102", "--fps", "20000", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def assert_one_line_error(proc, code):
    assert proc.returncode == code, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_build_writes_design_and_reports(built):
    out, proc = built
    assert {p.name for p in out.iterdir()} >= {"design.json", "report.json", "report.md", "model.onnx"}
    r = json.loads((out / "report.json").read_text())
    for key in ("model", "board", "clock_mhz", "fps", "latency_ms", "target_fps", "resources", "layers", "accuracy",
                "pareto_front"):
        assert key in r
    assert r["fps"] >= r["target_fps"] == 20000
    for kind in ("dsp", "lut", "ff", "bram36", "uram"):
        assert {"used", "available"} <= set(r["resources"][kind])
        assert r["resources"][kind]["used"] <= r["resources"][kind]["available"] * r["resources"][kind]["cap"]
    for layer in r["layers"]:
        assert {"name", "cycles", "bound", "pot_ratio", "weight_bits"} <= set(layer)
    # the layers' cycles and one DESC_WORDS-word descriptor copy per step of the generated table
    steps = int(re.search(r"N_STEPS = (\d+);", (out / "hls" / "accel_config.h").read_text()).group(1))
    assert r["descriptor_cycles"] == steps * DESC_WORDS > 0
    assert sum(layer["cycles"] for layer in r["layers"]) + r["descriptor_cycles"] == r["cycles"]
    assert abs(r["fps"] - r["clock_mhz"] * 1e6 / r["cycles"]) < 1e-3
    assert 0.9 < r["accuracy"]["integer_design"] <= 1.0
    assert "FPS" in proc.stdout and "dsp" in proc.stdout
    assert "Pareto front" in (out / "report.md").read_text()


def test_build_folder_has_the_mode_of_a_folder_the_user_creates(built, tmp_path):
    out, _ = built
    (tmp_path / "mkdir").mkdir()
    assert out.stat().st_mode & 0o777 == (tmp_path / "mkdir").stat().st_mode & 0o777


def test_design_round_trip_gives_the_same_report_bytes(built, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    proc = run_cli("build", "--design", str(out / "design.json"), "--out", str(again))
    assert proc.returncode == 0, proc.stderr
    for name in ("report.json", "report.md", "report.html", "design.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_build_is_deterministic(built, tmp_path):
    out, _ = built
    proc = run_cli("build", "--board", "zcu102", "--fps", "20000", "--out", str(tmp_path / "x"))
    assert proc.returncode == 0
    assert (tmp_path / "x" / "report.json").read_bytes() == (out / "report.json").read_bytes()


def last_rows(layer: str, count: int) -> list[int]:
    """The last ``count`` output rows of a default-model layer: PoT rows that meet the tiles' per-bank quotas
    for every TM (hw/plan.py; the head has 10 rows, fc1 64, the others 32)."""
    m = 10 if layer == "head" else 64 if layer.endswith("fc1") else 32
    return list(range(m - count, m))


def test_edited_design_is_rebuilt_without_search(built, tmp_path):
    out, _ = built
    design = json.loads((out / "design.json").read_text())
    design["engine"].update(tm=16, tn_fixed=16, tn_pot=8)
    for layer in design["layers"]:
        layer["pot_rows"] = last_rows(layer["name"], 8)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(design))
    proc = run_cli("build", "--design", str(path), "--out", str(tmp_path / "e"))
    assert proc.returncode == 0, proc.stderr
    r = json.loads((tmp_path / "e" / "report.json").read_text())
    assert r["engine"]["tm"] == 16 and all(l["pot_ratio"] > 0 for l in r["layers"] if l["pot_ratio"] is not None)


def test_pot_rows_off_the_bank_quotas_are_refused_naming_the_layer(built, tmp_path):
    """Two PoT rows of one memory bank (rows 0 and tm) cannot be dealt round robin over the banks."""
    out, _ = built
    design = json.loads((out / "design.json").read_text())
    design["engine"]["tn_pot"] = max(2, design["engine"]["tn_pot"])
    layer = design["layers"][0]
    layer["pot_rows"] = [0, design["engine"]["tm"]]
    path = tmp_path / "off_quota.json"
    path.write_text(json.dumps(design))
    proc = run_cli("build", "--design", str(path), "--out", str(tmp_path / "q"))
    assert_one_line_error(proc, 2)
    assert f"layer '{layer['name']}'" in proc.stderr and "memory bank 0" in proc.stderr
    assert not (tmp_path / "q").exists() and not list(tmp_path.glob(".q.*"))


def test_simulate_a_build_folder_runs_exactly_the_design(built, default_model):
    out, _ = built
    design = json.loads((out / "design.json").read_text())
    design_path = out.parent / "pot_design"
    design["engine"]["tn_pot"] = max(2, design["engine"]["tn_pot"])
    for layer in design["layers"]:
        layer["pot_rows"] = last_rows(layer["name"], 8)
    tmp = out.parent / "pot.json"
    tmp.write_text(json.dumps(design))
    assert run_cli("build", "--design", str(tmp), "--out", str(design_path)).returncode == 0
    built_graph = load_build(design_path).graph
    loaded = load_integer_model(str(design_path))
    images = loaded.data.images[:50]
    ours = NumpySimulator(loaded.graph).run(images).logits
    assert np.array_equal(ours, NumpySimulator(built_graph).run(images).logits)
    plain = NumpySimulator(load_integer_model(default_model).graph).run(images).logits
    assert not np.array_equal(ours, plain)  # the PoT rows changed the arithmetic
    proc = run_cli("simulate", str(design_path))
    assert proc.returncode == 0 and "accuracy" in proc.stdout


def test_fps_max(tmp_path):
    proc = run_cli("build", "--board", "kv260", "--fps", "max", "--out", str(tmp_path / "m"))
    assert proc.returncode == 0, proc.stderr
    r = json.loads((tmp_path / "m" / "report.json").read_text())
    assert r["target_fps"] is None and r["fps"] > 0


def test_infeasible_target_exits_3_and_leaves_nothing(tmp_path):
    out = tmp_path / "never"
    proc = run_cli("build", "--board", "pynqz2", "--fps", "1e9", "--out", str(out))
    assert_one_line_error(proc, 3)
    assert "FPS" in proc.stderr and "limited by" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_existing_folder_needs_force(built):
    out, _ = built
    proc = run_cli("build", "--board", "zcu102", "--fps", "20000", "--out", str(out))
    assert_one_line_error(proc, 2)
    assert "--force" in proc.stderr


@pytest.mark.parametrize("args,needle", [
    (["--board", "zcu999", "--fps", "30"], "zcu999"),
    (["--board", "zcu102", "--fps", "-3"], "--fps"),
    (["--board", "zcu102", "--fps", "30", "--cap", "dsp=2"], "cap"),
    (["--board", "zcu102"], "--fps"),
    (["--fps", "30"], "--board"),
    (["--board", "zcu102", "--fps", "30", "--clock", "5000"], "clock"),
    (["--design", "/nonexistent/design.json"], "design.json"),
])
def test_bad_options(tmp_path, args, needle):
    proc = run_cli("build", *args, "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2)
    assert needle in proc.stderr
    assert not (tmp_path / "o").exists()


def test_corrupt_design_file(tmp_path, built):
    out, _ = built
    bad = tmp_path / "design.json"
    bad.write_text('{"format": 1, "engine": {}}')
    assert_one_line_error(run_cli("build", "--design", str(bad), "--out", str(tmp_path / "o")), 2)
    design = json.loads((out / "design.json").read_text())
    design["layers"][0]["name"] = "no.such.layer"
    bad.write_text(json.dumps(design))
    proc = run_cli("build", "--design", str(bad), "--out", str(tmp_path / "o"))
    assert_one_line_error(proc, 2)
    assert "no.such.layer" in proc.stderr


def test_arch_preset_builds(tmp_path):
    proc = run_cli("build", "--arch", "deit_tiny", "--board", "zcu104", "--fps", "30", "--out", str(tmp_path / "t"))
    assert proc.returncode == 0, proc.stderr
    r = json.loads((tmp_path / "t" / "report.json").read_text())
    assert r["model"] == "deit_tiny" and r["fps"] >= 30 and "accuracy" not in r
