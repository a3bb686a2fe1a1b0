#!/usr/bin/env bash
# Creates the virtual environment with pinned dependencies and installs accelgen into it (editable).
# torch is installed first and alone, pinned to 2.13.0: that is the CPU build available on our
# machines; letting pip resolve torch through brevitas would pull a multi-GB CUDA build.
set -euo pipefail
venv=${1:-.venv}
python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q torch==2.13.0
"$venv/bin/pip" install -q -e '.[test]'
