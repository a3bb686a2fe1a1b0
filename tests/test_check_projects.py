"""`accelgen check` on the generated projects of the CI designs (issue 11): the default and the independent
model on zcu102 and pynqz2, and deit_tiny on zcu102 at --fps max (generated only; no C-sim here). Every
project has zero findings: the E2Softmax running-sum chain (docs/numerics.md section 5 now sums against
the row maximum) and the store's lane select (hls/gemm_engine.h's store ring) were the last two structural
ones, the bias table's partition factor `EngineTypes<C>::BIAS_PER_ITEM` (a template-id, rule pragma-form;
now `C::BIAS_PER_ITEM`) the last pragma form UG1399 does not document."""

from __future__ import annotations

from pathlib import Path

import pytest

from accelgen.check import check_project
from conftest import run_cli

INDEP = str(Path(__file__).parent / "data" / "indep_digits.onnx")

DESIGNS = {
    "default-zcu102": ("--board", "zcu102", "--fps", "30"),
    "default-pynqz2": ("--board", "pynqz2", "--fps", "30"),
    "indep-zcu102": ("--model", INDEP, "--board", "zcu102", "--fps", "30"),
    "indep-pynqz2": ("--model", INDEP, "--board", "pynqz2", "--fps", "30"),
    "deit_tiny-zcu102-max": ("--arch", "deit_tiny", "--board", "zcu102", "--fps", "max"),
}


@pytest.mark.parametrize("name", DESIGNS)
def test_generated_project_has_no_findings(name, tmp_path):
    out = tmp_path / name
    done = run_cli("build", *DESIGNS[name], "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    findings = check_project(out)
    assert not findings, "\n".join(f.format() for f in findings)
