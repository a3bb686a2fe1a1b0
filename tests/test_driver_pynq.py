"""The driver against the real pynq package (3.1.2, numpy<2) in its own virtual environment (.venv-pynq,
made by `make test` through scripts/pynq_venv.sh): pynq parses the simulated overlay's .hwh into the
register layout accelgen generates (with the timer, and the IP's interrupt behind the axi_intc or, without
the controller, none), binds the driver's DefaultIP subclass to the accelerator's VLNV, and the driver's
calls into pynq -- the design-id run, allocations, register writes and reads in order (accelerator and
timer), start/done, IP_ISR, flush and invalidate -- follow the protocol exactly
(tests/pynq_env/check_driver.py, with a mock device)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from accelgen.build import BuildRequest, build
from accelgen.deploy.hwh import overlay_hwh, register_layout
from accelgen.deploy.package import DEPLOY_DIR
from accelgen.runtime.design_data import load_design_data

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PYNQ_PYTHON = Path(os.environ.get("ACCELGEN_PYNQ_VENV", ROOT / ".venv-pynq")) / "bin" / "python"


def test_driver_protocol_against_the_real_pynq(tmp_path):
    if not PYNQ_PYTHON.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{PYNQ_PYTHON} is missing: `make test` creates it (scripts/pynq_venv.sh)")
        pytest.skip(f"{PYNQ_PYTHON} is missing: run `make test` or `bash scripts/pynq_venv.sh`")
    folder = build(BuildRequest(board="zcu104", fps=30.0, out=tmp_path / "build")).folder
    data = load_design_data(folder / DEPLOY_DIR)
    hwh, polling = tmp_path / "accelgen.hwh", tmp_path / "polling.hwh"
    hwh.write_text(overlay_hwh(data))
    polling.write_text(overlay_hwh(data, interrupt_controller=False))
    proc = subprocess.run([str(PYNQ_PYTHON), str(ROOT / "tests" / "pynq_env" / "check_driver.py"),
                           str(folder / DEPLOY_DIR), str(hwh), str(polling)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(proc.stdout.splitlines()[-1])
    assert parsed["pynq"] == "3.1.2" and parsed["numpy"].startswith("1.")
    layout = register_layout(data.arguments, data.max_steps, data.descriptor_words)
    assert parsed["registers"] == {r.name: [r.offset, r.bits] for r in layout}
