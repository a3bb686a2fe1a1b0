"""Facts of the Vitis flow shared by the generated scripts (run_hls.tcl, build_overlay.tcl), the
testbench and `accelgen synth`: which steps run by default, what co-simulation feeds the testbench, and
where the tools leave their reports."""

from __future__ import annotations

from pathlib import PurePosixPath

STEPS = ("csim", "csynth", "cosim", "export")  # in the order run_hls.tcl runs them
DEFAULT_STEPS = ("csim", "csynth", "export")  # `vitis_hls -f run_hls.tcl`; cosim is opt-in (-tclargs)
COSIM_IMAGES = 1  # RTL co-simulation of a whole ViT is slow: one image
# The testbench arguments (tb_accel.cpp usage): blob, images, logits out, no dump, expected, image limit.
TB_DATA_ARGS = ("params.bin", "tb_images.bin", "tb_logits.bin", "-", "tb_expected.bin")

HLS_SCRIPT = "run_hls.tcl"
OVERLAY_SCRIPT = "build_overlay.tcl"
UTILIZATION_REPORT = "utilization.rpt"  # Vivado report_utilization, next to the .bit / .hwh
TIMING_REPORT = "timing_summary.rpt"  # Vivado report_timing_summary, next to the .bit / .hwh


def cosim_arguments() -> str:
    """The testbench's argument list under cosim_design -argv: the test vectors, one image."""
    return " ".join((*TB_DATA_ARGS, str(COSIM_IMAGES)))


def csynth_report(project: str, solution: str) -> PurePosixPath:
    """csynth.xml of the top function, relative to the HLS folder."""
    return PurePosixPath(project, solution, "syn", "report", "csynth.xml")


def hls_command() -> list[str]:
    return ["vitis_hls", "-f", HLS_SCRIPT]


def vivado_command() -> list[str]:
    return ["vivado", "-mode", "batch", "-source", OVERLAY_SCRIPT]
