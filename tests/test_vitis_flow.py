"""The generated Vitis flow without Vitis: run_hls.tcl and build_overlay.tcl run under tclsh with every
Vivado / Vitis command recorded (a stub `unknown`), so the order and arguments of the calls a broken script
would get wrong are asserted; the testbench allocates every m_axi port's declared depth, checked by a top
function that touches each port as co-simulation does, under AddressSanitizer."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from test_hls_codegen import design_for

from accelgen.board import load_board
from accelgen.codegen import hls_project as hp
from accelgen.design import Engine, integer_graph
from accelgen.frontend.importer import import_qonnx
from accelgen.model_source import default_model_path
from accelgen.sim.csim import SANITIZE, compile_program
from accelgen.vitis import flow

TCLSH = shutil.which("tclsh")

# Records every command the script calls that plain Tcl does not define; answers the few whose result
# the script reads; `exit` is recorded before it exits.
HARNESS = r"""
set log [open $::env(TCL_LOG) w]
proc record {args} { puts $::log [join $args " "]; flush $::log }
proc unknown {cmd args} { record $cmd {*}$args; return "" }
proc get_board_parts {args} { record get_board_parts {*}$args; return $::env(BOARD_PARTS) }
proc get_files {args} { record get_files {*}$args; return /bd/[lindex $args end] }
proc get_property {name args} {
    record get_property $name {*}$args
    switch -- $name { PROGRESS {return "100%"} STATS.WNS {return $::env(WNS)} STATS.WHS {return $::env(WHS)} }
    return ""
}
proc write_report {cmd args} { record $cmd {*}$args; set f [open [lindex $args end] w]; puts $f $cmd; close $f }
proc report_utilization {args} { write_report report_utilization {*}$args }
proc report_timing_summary {args} { write_report report_timing_summary {*}$args }
rename exit real_exit
proc exit {{code 0}} { record exit; close $::log; real_exit $code }
set argv $::env(TCL_ARGV)
source [lindex $::env(TCL_SCRIPT) 0]
"""


@pytest.fixture(scope="module")
def projects():
    """Rendered HLS projects of the default model for an MPSoC and a Zynq-7000 board."""
    graph = import_qonnx(default_model_path())
    out = {}
    for board_name in ("zcu102", "pynqz2"):
        design = design_for(graph, Engine(tm=4, tn_fixed=4, tn_pot=2, dsp_packing=board_name == "zcu102"),
                            board=board_name)
        out[board_name] = hp.render_hls_project(integer_graph(graph, design), design, load_board(board_name))
    return out


def run_tcl(files: dict, script: str, folder: Path, argv: str = "", board_parts: str | None = None,
            wns: str = "0.125", whs: str = "0.031") -> tuple[subprocess.CompletedProcess, list[str]]:
    assert TCLSH is not None, "tclsh not installed (scripts/system_deps.sh installs Debian's tcl)"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / script).write_text(files[script])
    (folder / "harness.tcl").write_text(HARNESS)
    build = folder / "overlay_build"
    for path in (build / "accelgen.runs" / "impl_1" / "accelgen_bd_wrapper.bit",
                 build / "accelgen.gen" / "sources_1" / "bd" / "accelgen_bd" / "hw_handoff" / "accelgen_bd.hwh"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(path.suffix)
    parts = board_parts if board_parts is not None else " ".join(load_board(b).vivado_board_part
                                                                  for b in ("zcu102", "pynqz2"))
    env = {"TCL_LOG": str(folder / "calls.log"), "TCL_SCRIPT": str(folder / script), "TCL_ARGV": argv,
           "BOARD_PARTS": parts, "WNS": wns, "WHS": whs, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([TCLSH, str(folder / "harness.tcl")], capture_output=True, text=True, env=env, timeout=60)
    log = folder / "calls.log"
    return proc, log.read_text().splitlines() if log.is_file() else []


def position(calls: list[str], pattern: str) -> int:
    hits = [i for i, c in enumerate(calls) if re.search(pattern, c)]
    assert hits, f"no call matches {pattern!r}"
    return hits[0]


def steps_called(calls: list[str]) -> list[str]:
    return [c.split()[0] for c in calls if c.split()[0] in ("csim_design", "csynth_design", "cosim_design",
                                                               "export_design")]


def test_run_hls_defaults_to_csim_csynth_export(projects, tmp_path):
    proc, calls = run_tcl(projects["zcu102"], "run_hls.tcl", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert steps_called(calls) == ["csim_design", "csynth_design", "export_design"]
    assert calls[-1] == "exit" and position(calls, "^open_project -reset") < position(calls, "^csim_design")
    assert re.search(r"^set_part xczu9eg-ffvb1156-2-e$", "\n".join(calls), re.M)


def test_run_hls_cosim_is_opt_in_and_runs_one_image(projects, tmp_path):
    proc, calls = run_tcl(projects["zcu102"], "run_hls.tcl", tmp_path, argv="csim csynth cosim export")
    assert proc.returncode == 0, proc.stderr
    assert steps_called(calls) == ["csim_design", "csynth_design", "cosim_design", "export_design"]
    cosim = calls[position(calls, "^cosim_design")]
    assert cosim.endswith("-argv " + flow.cosim_arguments()) and flow.cosim_arguments().endswith(" 1")
    assert all(f"add_files -tb {name}" in calls for name in ("params.bin", "tb_images.bin", "tb_expected.bin"))


def test_run_hls_rejects_an_unknown_step(projects, tmp_path):
    proc, calls = run_tcl(projects["zcu102"], "run_hls.tcl", tmp_path, argv="csynth synth")
    assert proc.returncode != 0 and "unknown step 'synth'" in proc.stderr
    assert not steps_called(calls)


@pytest.mark.parametrize("board_name, automation, unused", [
    ("zcu102", "xilinx.com:bd_rule:zynq_ultra_ps_e", ("PSU__USE__M_AXI_GP1", "PSU__USE__M_AXI_GP2")),
    ("pynqz2", "xilinx.com:bd_rule:processing_system7", ("PCW_USE_M_AXI_GP1",))])
def test_overlay_reaches_a_timing_checked_bitstream(projects, tmp_path, board_name, automation, unused):
    proc, calls = run_tcl(projects[board_name], "build_overlay.tcl", tmp_path)
    assert proc.returncode == 0, proc.stderr
    board = load_board(board_name)
    preset = position(calls, f"^apply_bd_automation -rule {automation} ")
    for prop in unused:  # switched off after the preset enabled them
        assert position(calls, rf"^set_property -dict .*CONFIG\.{prop} 0\b") > preset
    assert position(calls, rf"^set_property board_part {re.escape(board.vivado_board_part)}\b") < preset
    ports = hp.PS_PORTS[board.ps_ip]
    for bundle in sorted({b for _, b in hp.MAXI_PORTS}):
        link = calls[position(calls, rf"Master /accel/m_axi_{bundle} ")]
        assert "Clk_master Auto" in link and "Slave /ps/" in link and " Clk Auto" not in link
    assert f"Master /ps/{ports.master} " in calls[position(calls, "Slave /accel/s_axi_control")]
    assert position(calls, "^validate_bd_design") > position(calls, "^connect_bd_net")
    assert_timer_and_interrupts(calls, ports)
    assert re.search(r"^make_wrapper -files /bd/accelgen_bd\.bd -top -import$", "\n".join(calls), re.M)
    opened = position(calls, "^open_run impl_1")
    assert position(calls, "^launch_runs impl_1 -to_step write_bitstream") < opened
    assert opened < position(calls, "^get_property STATS.WNS") and opened < position(calls, "^report_utilization")
    for name in (flow.UTILIZATION_REPORT, flow.TIMING_REPORT, "accelgen.bit", "accelgen.hwh"):
        assert (tmp_path / name).is_file(), name
    assert "WNS 0.125 ns" in proc.stdout


def sequence(calls: list[str], lines: list[str]) -> int:
    """Where ``lines`` occur as consecutive calls (the stub records a bracketed command before the command
    that uses its (empty) result)."""
    hits = [i for i in range(len(calls)) if calls[i:i + len(lines)] == lines]
    assert hits, f"no calls {lines}"
    return hits[0]


def assert_timer_and_interrupts(calls: list[str], ports: hp.PsPorts) -> None:
    """The AXI Timer (64-bit, capture trigger active high) and the axi_intc (single irq output) exist, sit on
    the PS's AXI-lite master, and one net takes the accelerator's interrupt to the timer's capture trigger
    and the controller's input, whose irq reaches the PS's interrupt pin -- before validation."""
    validated = position(calls, "^validate_bd_design")
    for cell, vlnv, interface, config in (
            (hp.TIMER_CELL, "xilinx.com:ip:axi_timer:*", "S_AXI",
             "CONFIG.enable_timer2 1 CONFIG.mode_64bit 1 CONFIG.TRIG0_ASSERT Active_High"),
            (hp.INTC_CELL, "xilinx.com:ip:axi_intc:*", "s_axi", "CONFIG.C_IRQ_CONNECTION 1")):
        created = sequence(calls, [f"create_bd_cell -type ip -vlnv {vlnv} {cell}", f"get_bd_cells {cell}",
                                   f"set_property -dict {config} "])
        link = sequence(calls, [f"get_bd_intf_pins {cell}/{interface}",
                                "apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config Clk_master Auto Clk_slave "
                                f"Auto Clk_xbar Auto Master /ps/{ports.master} Slave /{cell}/{interface} ddr_seg Auto "
                                "intc_ip Auto master_apm 0 "])
        assert created < link < validated
    net = sequence(calls, [f"get_bd_pins {hp.ACCEL_CELL}/interrupt", f"get_bd_pins {hp.TIMER_CELL}/capturetrig0",
                           f"get_bd_pins {hp.INTC_CELL}/intr", "connect_bd_net   "])
    irq = sequence(calls, [f"get_bd_pins {hp.INTC_CELL}/irq", f"get_bd_pins ps/{ports.irq_pin}", "connect_bd_net  "])
    assert net < validated and irq < validated
    # nothing else drives the PS's interrupt pin, the timer's trigger or the controller's input
    for pin in (f"ps/{ports.irq_pin}", f"{hp.TIMER_CELL}/capturetrig0", f"{hp.INTC_CELL}/intr"):
        assert calls.count(f"get_bd_pins {pin}") == 1, pin
    script = "\n".join(calls)
    for prop in ports.irq_props:  # the PS's fabric interrupt enabled
        assert re.search(rf"^set_property -dict .*CONFIG\.{prop} 1\b", script, re.M), prop


@pytest.mark.parametrize("wns, whs", [("-0.210", "0.031"), ("0.125", "-0.004")])
def test_overlay_refuses_a_bitstream_that_misses_timing(projects, tmp_path, wns, whs):
    proc, calls = run_tcl(projects["zcu102"], "build_overlay.tcl", tmp_path, wns=wns, whs=whs)
    assert proc.returncode != 0 and "timing not met" in proc.stderr
    assert (tmp_path / flow.TIMING_REPORT).is_file() and (tmp_path / flow.UTILIZATION_REPORT).is_file()
    assert not (tmp_path / "accelgen.bit").exists() and not (tmp_path / "accelgen.hwh").exists()


def test_overlay_requires_the_board_part(projects, tmp_path):
    proc, calls = run_tcl(projects["zcu102"], "build_overlay.tcl", tmp_path, board_parts="xilinx.com:zcu104:part0:1.1")
    assert proc.returncode != 0 and "board part xilinx.com:zcu102:part0:* is not installed" in proc.stderr
    assert not any(c.startswith("create_bd_design") for c in calls)


@pytest.mark.parametrize("installed, chosen", [("3.3 3.10 3.4", "3.10"), ("3.5", "3.5")])
def test_overlay_takes_the_newest_installed_board_files(projects, tmp_path, installed, chosen):
    parts = " ".join(f"xilinx.com:zcu102:part0:{v}" for v in installed.split()) + " xilinx.com:zcu104:part0:1.1"
    proc, calls = run_tcl(projects["zcu102"], "build_overlay.tcl", tmp_path, board_parts=parts)
    assert proc.returncode == 0, proc.stderr
    assert f"set_property board_part xilinx.com:zcu102:part0:{chosen} " in "\n".join(calls)


def declared_depths(top_cpp: str) -> dict[str, int]:
    return {port: int(depth) for port, depth in re.findall(r"m_axi port = (\w+) .*?depth = (\d+)", top_cpp)}


def test_testbench_allocates_the_declared_depths(projects):
    for files in projects.values():
        depths = declared_depths(files["accel_top.cpp"])
        assert set(depths) == {port for port, _ in hp.MAXI_PORTS}
        tb = {name.lower(): int(v) for name, v in re.findall(r"const std::size_t (\w+)_DEPTH = (\d+);",
                                                               files["tb_accel.cpp"])}
        assert tb == depths


# Stands in for the RTL under co-simulation: reads and writes every element of each m_axi port up to its
# declared depth, as the co-simulation wrapper copies them.
TOUCH = """
    word_t acc = 0;
    for (int i = 0; i < {params}; ++i) acc ^= params[i];
    for (int i = 0; i < {images}; ++i) acc ^= images[i];
    for (int i = 0; i < {logits}; ++i) logits[i] = logits[i] ^ acc;
    for (int i = 0; i < {dump}; ++i) dump[i] = dump[i] + 1;
    beats = acc.range(63, 0);
}}
"""


@pytest.mark.csim
def test_cosim_cannot_overrun_the_testbench_buffers(projects, tmp_path):
    files = projects["zcu102"]
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    top = files["accel_top.cpp"]
    body = top.index("    accel::run_network<Config>(")
    (tmp_path / "touch_top.cpp").write_text(top[:body] + TOUCH.format(**declared_depths(top)))
    binary = compile_program([tmp_path / "tb_accel.cpp", tmp_path / "touch_top.cpp"], [tmp_path],
                             tmp_path / "tb_touch", SANITIZE).binary
    proc = subprocess.run([str(binary), *flow.cosim_arguments().split()], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert "AddressSanitizer" not in proc.stderr, proc.stderr[-2000:]
    assert "tb_accel: 1 images" in proc.stdout and "MISMATCH" in proc.stdout, proc.stdout + proc.stderr
