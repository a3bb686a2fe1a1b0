"""The `accelgen csim DIR` command: C-simulate a build folder's HLS project against the NumPy simulator."""

from __future__ import annotations

import argparse
import json

import numpy as np

from .. import progress
from ..cli_help import examples
from ..errors import InputError, VerificationError

CSIM_STEPS = ("compile", "run")  # progress.step names in run_csim


def default_images(build) -> np.ndarray:
    """The shipped test images when the build is of the default model (same sha256), else an error."""
    from ..design import file_sha256
    from ..model_source import default_model_data, default_model_path

    if build.design.model_sha256 != file_sha256(default_model_path()):
        raise InputError(f"{build.folder}: --input is required (only the default model ships test images)")
    return default_model_data().images


def cmd_csim(args: argparse.Namespace) -> int:
    from ..api import load_images
    from ..build_dir import load_build
    from ..sim.csim import run_csim
    from ..sim.numpy_sim import NumpySimulator

    build = load_build(args.dir)
    images = default_images(build) if args.input is None else load_images(args.input)
    try:
        NumpySimulator(build.graph).check_input(images)
    except InputError as err:
        raise InputError(f"{args.input}: {err}") from None
    with progress.task("csim", steps=CSIM_STEPS):
        result = run_csim(build, images)
    if args.output is not None:
        np.save(args.output, result.logits)
    if result.mismatch is not None:
        raise VerificationError(result.mismatch.message())
    build_note = "cached build" if result.compile_seconds == 0 else f"compiled in {result.compile_seconds:.1f} s"
    report = build.folder / "report.json"
    modelled = f", the report models {json.loads(report.read_text())['beats']:,} at II = 1" if report.is_file() else ""
    print(f"csim: {len(images)} images, logits equal to the NumPy simulator ({build_note}, ran in "
          f"{result.run_seconds:.2f} s); beat count {result.beats // len(images):,} per image{modelled}"
          + ("" if args.output is None else f"; wrote {args.output}"))
    return 0


def register(subparsers) -> None:
    """Add the `csim` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("csim", help="compile the generated HLS C++ with g++ and check it bit for bit "
                                           "against the NumPy simulator",
                              **examples("accelgen csim build/vit_digits-zcu102",
                                         "accelgen csim build/vit_digits-zcu102 --input X.npy --output logits.npy"))
    p.add_argument("dir", help="build folder (model.onnx + design.json; hls/ is generated when missing)")
    p.add_argument("--input", help="float32 NCHW images (.npy) (default: the model's test images, default model "
                                   "only)")
    p.add_argument("--output", help="write the C-sim logits (.npy, int64)")
    p.set_defaults(func=cmd_csim)
