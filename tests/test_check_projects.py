"""`accelgen check` on the generated projects of the CI designs (issue 11): the default and the independent
model on zcu102 and pynqz2, and deit_tiny on zcu102 at --fps max (generated only; no C-sim here). Every
finding must be one of OPEN, the structures still waiting for their fix, each with its reason; OPEN must
stay exact (a fixed structure leaves the list), so any new finding or any fix shows up here."""

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

# (file, rule, text of the finding's message) of what is still open:
# - the store of each bank picks its channel's accumulator among all lanes (a LANES:1 mux per bank): the
#   tile packing (accelgen/hw/stream.py) assigns channels to lanes freely, so no lane is tied to a bank;
#   removing it needs the packing to place a channel's lane by its store position.
LAT = ("gemm_engine.h", "runtime-bank", "`lat[row&1][lane1-1]`")
OPEN = {name: {LAT} for name in DESIGNS}


def open_item(finding) -> tuple[str, str, str] | None:
    return next((o for o in (LAT,) if (finding.file, finding.rule) == o[:2] and o[2] in finding.message), None)


@pytest.mark.parametrize("name", DESIGNS)
def test_generated_project_has_only_the_open_findings(name, tmp_path):
    out = tmp_path / name
    done = run_cli("build", *DESIGNS[name], "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    findings = check_project(out)
    unexpected = [f.format() for f in findings if open_item(f) is None]
    assert not unexpected, "\n".join(unexpected)
    assert {open_item(f) for f in findings} == OPEN[name]
