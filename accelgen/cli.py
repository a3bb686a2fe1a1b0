"""Command line: argument parsing only. Each command calls the library and maps errors to exit codes
(2 bad input, 3 infeasible target, 1 verification mismatch); user errors print one line, no traceback."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from . import progress
from .cli_help import examples
from .errors import AccelgenError


def package_version() -> str:
    from importlib.metadata import version

    return version("accelgen")


def cmd_inspect(args: argparse.Namespace) -> int:
    from .api import format_costs, inspect_model, load_images
    from .summary import format_summary, summarize

    found = inspect_model(args.model, None if args.calibrate is None else load_images(args.calibrate))
    summary, costs, warnings = summarize(found.graph), found.costs, found.warnings
    if args.json:
        print(json.dumps(dict(summary.to_dict(), chosen_formats=[vars(c) for c in costs], warnings=warnings),
                         indent=2))
    else:
        print("\n".join([format_summary(summary), ""] + format_costs(costs)
                        + [f"warning: {w}" for w in warnings]))
    return 0


def cmd_boards(args: argparse.Namespace) -> int:
    from .board import board_names, load_board
    from .perf.roofline import roofline
    from .summary import format_table

    names = board_names() if args.name is None else [load_board(args.name).name]
    rows = [("board", "part", "LUT", "FF", "BRAM36", "URAM", "DSP", "MHz", "DDR GB/s peak/usable/weights",
             "peak MAC/cycle DSP+LUT", "ridge MAC/B", "PYNQ")]
    for name in names:
        b = load_board(name)
        r, roof = b.resources, roofline(b)
        rows.append((b.name, b.part, f"{r['lut']:,}", f"{r['ff']:,}", str(r["bram36"]), str(r["uram"]),
                     f"{r['dsp']:,}", f"{b.default_clock_mhz:g}",
                     f"{b.ddr.peak_gbps:.1f} / {b.ddr_gbps(b.default_clock_mhz):.1f} / {roof.ddr_gbps:.1f}",
                     f"{roof.dsp_macs_per_cycle:,.0f} + {roof.lut_macs_per_cycle:,.0f}",
                     f"{roof.ridge_macs_per_byte:.0f}", "yes" if b.pynq_supported else "no"))
    print("\n".join(format_table(rows, right=(2, 3, 4, 5, 6, 7, 9, 10))))
    print("peak MAC/cycle: the largest engine within the default caps (DSP 80%, two 8-bit products per DSP48E2; "
          "power-of-two lanes in 70% of the LUTs);\nridge: arithmetic intensity above which a layer is "
          "compute-bound at that peak and the weight stream's bandwidth (one HP port: the DDR roofline).")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from .api import SimOptions, check_images, compare_with_reference, load_images, load_integer_model, simulate_loaded
    from .errors import InputError

    loaded = load_integer_model(args.model, None if args.calibrate is None else load_images(args.calibrate))
    options = SimOptions(softmax=args.softmax, layernorm=args.layernorm)
    labels = None
    if args.input is None:
        if loaded.data is None:
            raise InputError(f"{loaded.path}: --input is required (this model ships no test images)")
        images, labels = loaded.data.images, loaded.data.labels
    else:
        images = load_images(args.input)
        check_images(loaded.graph, images, args.input, options)
    if args.labels is not None:
        labels = load_images(args.labels)
        if labels.shape != (len(images),):
            raise InputError(f"{args.labels}: expected {len(images)} labels, got shape {labels.shape}")
    if args.compare:
        print(compare_with_reference(loaded, images, labels, options))
    with progress.task("simulate", total=len(images), unit="images"):
        out = simulate_loaded(loaded, images, options)
    if args.output is not None:
        np.save(args.output, out.dequantized().astype(np.float32) if args.dequant else out.logits)
    acc = "" if labels is None else f", accuracy {100 * np.mean(out.predictions == labels):.2f}%"
    print(f"simulated {len(images)} images (logit unit {out.scale:.6g}){acc}"
          + ("" if args.output is None else f"; wrote {args.output}"))
    return 0


def parse_fps(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'max', got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def parse_cap(text: str) -> tuple[str, float]:
    kind, _, value = text.partition("=")
    try:
        return kind.strip().lower(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KIND=FRACTION (e.g. dsp=0.9), got '{text}'") from None


def cmd_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .build import BUILD_STEPS, BuildRequest, build
    from .errors import InputError
    from .report import summary_lines

    if args.design is None and args.fps is None and not args.fps_given:
        raise InputError("--fps is required (a number, or 'max'), unless --design is given")
    req = BuildRequest(model=args.model, arch=args.arch, board=args.board, fps=args.fps, clock_mhz=args.clock,
                       out=None if args.out is None else Path(args.out), force=args.force,
                       design=None if args.design is None else Path(args.design), caps=dict(args.cap or []),
                       calibrate=None if args.calibrate is None else Path(args.calibrate))
    with progress.task("build", steps=BUILD_STEPS):
        result = build(req)
    print("\n".join(summary_lines(result.report) + [f"warning: {w}" for w in result.report["warnings"]]))
    print(f"wrote {result.folder}/ (design.json, report.json, report.md, report.html, hls/, rtl/, deploy/)")
    if args.synth:
        from .vitis.command import synth_and_print

        return synth_and_print(result.folder, run=True)
    return 0


CALIBRATE_HELP = ("float32 NCHW images (.npy) whose float ranges narrow the integer formats accelgen chooses "
                  "for tensors the model leaves unquantized")


class Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2, like every other user error."""

    def error(self, message: str):
        print(f"accelgen: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="accelgen", description="Quantized ViT (Brevitas/QONNX) to FPGA accelerator "
                                                                   "compiler")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument("--quiet", action="store_true", help="no progress bars (they are drawn only on a terminal)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("inspect", help="show the structure of a quantized ViT",
                       **examples("accelgen inspect", "accelgen inspect model.onnx --json"))
    p.add_argument("model", nargs="?", help="QONNX file (default: the embedded digits model)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--calibrate", help=CALIBRATE_HELP)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("simulate", help="run the bit-accurate integer simulator (the golden model)",
                       **examples("accelgen simulate --compare",
                                  "accelgen simulate build/vit_digits-zcu102 --input X.npy --output logits.npy"))
    p.add_argument("model", nargs="?", help="QONNX file, or a build folder to simulate exactly the built design "
                                            "(default: the embedded digits model)")
    p.add_argument("--input", help="float32 NCHW images (.npy), as fed to the Brevitas model "
                                   "(default: the model's test images)")
    p.add_argument("--output", help="write the logits (.npy): int64 on one common scale, or float with --dequant")
    p.add_argument("--dequant", action="store_true", help="write float logits instead of integers")
    p.add_argument("--labels", help="int labels (.npy) to report accuracy")
    p.add_argument("--compare", action="store_true",
                   help="also run the Brevitas/QONNX float reference; print per-layer SNR and top-1 agreement")
    p.add_argument("--calibrate", help=CALIBRATE_HELP)
    p.add_argument("--softmax", choices=("e2", "float"), default="e2",
                   help="e2: the hardware's E2Softmax (default); float: exact softmax then quantize")
    p.add_argument("--layernorm", choices=("ai", "float"), default="ai",
                   help="ai: the hardware's AILayerNorm (default); float: exact LayerNorm then quantize")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("build", help="choose a design for a board and FPS target; write reports and projects",
                       **examples("accelgen build --board zcu102 --fps 30",
                                  "accelgen build --arch deit_tiny --board zcu102 --fps max --out build/tiny",
                                  "accelgen build --design build/vit_digits-zcu102/design.json --out build/edited"))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", help="QONNX file (default: the embedded digits model)")
    src.add_argument("--arch", choices=("deit_tiny", "deit_small", "deit_base"),
                     help="a DeiT-shaped preset with seeded random weights (performance work)")
    p.add_argument("--board", help="target board (see `accelgen boards`)")
    p.add_argument("--fps", type=parse_fps, help="frames per second to reach, or 'max' for the fastest design")
    p.add_argument("--clock", type=float, help="clock in MHz (default: the board's)")
    p.add_argument("--out", help="output folder (default: build/<model>-<board>)")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    p.add_argument("--design", help="rebuild this design.json without searching")
    p.add_argument("--calibrate", help=CALIBRATE_HELP + " (the ranges are recorded in design.json)")
    p.add_argument("--cap", type=parse_cap, action="append",
                   help="utilisation cap KIND=FRACTION (defaults dsp/bram36/uram=0.8, lut=0.7, ff=0.5); repeatable")
    p.add_argument("--synth", action="store_true",
                   help="then run Vitis HLS and Vivado (when on the PATH) and report their figures (`accelgen synth`)")
    p.set_defaults(func=cmd_build, fps_given=False)

    p = sub.add_parser("boards", help="list the supported boards", **examples("accelgen boards", "accelgen boards kv260"))
    p.add_argument("name", nargs="?", help="show one board")
    p.set_defaults(func=cmd_boards)

    from .check.command import register as register_check
    from .commands.csim import register as register_csim
    from .commands.rtlsim import register as register_rtlsim
    from .deploy.command import register as register_deploy
    from .vitis.command import register as register_synth

    register_csim(sub)
    register_rtlsim(sub)
    register_check(sub)
    register_synth(sub)
    register_deploy(sub)

    from .evaluate.command import register as register_evaluate

    register_evaluate(sub)
    for command in sub.choices.values():  # --quiet also after the subcommand
        command.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Brevitas warns at import about an optional CUDA kernel package it does not need here.
    warnings.filterwarnings("ignore", message="fast_hadamard_transform package not found")
    parser = build_parser()
    args = parser.parse_args(argv)
    progress.set_quiet(args.quiet)
    if args.command == "build":
        args.fps_given = any(a == "--fps" or a.startswith("--fps=") for a in (argv or sys.argv[1:]))
    try:
        return args.func(args)
    except AccelgenError as err:
        print(f"accelgen: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("accelgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
