#!/usr/bin/env bash
# Creates the virtual environment of the real-pynq driver test (tests/test_driver_pynq.py). pynq needs
# numpy<2, so it cannot share .venv; pynq 3.1.2 is the version of the PYNQ v3.1 board images (KV260, ZCU104).
# Measured here: about 75 s and 250 MB; make keeps it (stamp file) like .venv.
set -euo pipefail
venv=${1:-.venv-pynq}
python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q pynq==3.1.2 numpy==1.26.4
