"""The `accelgen evaluate` command: accuracy of a design on a labelled image set, on local processes or a
Dask cluster, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..cli_help import examples
from ..errors import InputError
from ..commands.rtlsim import positive_int


def load_labels(path: str, images: int, classes: int) -> np.ndarray:
    from ..api import load_images

    labels = load_images(path)
    if labels.shape != (images,) or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{path}: expected {images} integer labels, got {labels.dtype} array of shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise InputError(f"{path}: labels must lie in 0..{classes - 1} (the model's classes)")
    return labels.astype(np.int64)


def image_source(args, loaded):
    """The images to evaluate and their count; checks their shape and dtype (values are checked per chunk)."""
    from ..model_source import DEFAULT_DATA, default_model_dir
    from .tasks import ImageSource

    if args.input is None:
        if loaded.data is None:
            raise InputError(f"{loaded.path}: --input and --labels are required (this model ships no test images)")
        source = ImageSource(str(default_model_dir() / DEFAULT_DATA), "images")
    else:
        path = Path(args.input)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        source = ImageSource(str(path.resolve()))
    try:
        shape, dtype = source.shape_and_dtype()
    except (ValueError, OSError) as err:
        raise InputError(f"{args.input}: not a NumPy .npy array ({str(err).splitlines()[0]})") from None
    want = loaded.graph.tensors[loaded.graph.input].shape
    if len(shape) != 4 or tuple(shape[1:]) != want or dtype not in (np.float32, np.float64) or shape[0] == 0:
        raise InputError(f"{args.input}: expected float32 images of shape (N, {', '.join(map(str, want))}), got "
                         f"{dtype} {tuple(shape)}")
    return source, shape[0]


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..api import load_integer_model
    from .metrics import format_metrics
    from .page import evaluation_html
    from .runner import EvaluateRequest, evaluate, write_results

    if (args.input is None) != (args.labels is None):
        raise InputError("give --input and --labels together (or neither, for the model's own test images)")
    loaded = load_integer_model(args.model)
    classes = loaded.graph.tensors[loaded.graph.output].shape[-1]
    source, n = image_source(args, loaded)
    labels = loaded.data.labels if args.labels is None else load_labels(args.labels, n, classes)
    given = None if args.model is None else Path(args.model).resolve()
    name = loaded.graph.name if given is None else (given.name if given.is_dir() else given.stem)
    out = Path(args.out) if args.out else Path("evaluation") / name
    model = str(Path(args.model).resolve()) if args.model is not None else str(loaded.path)
    req = EvaluateRequest(model, source, labels, classes, out, args.chunk_size, args.workers, args.scheduler,
                          args.force)
    outcome = evaluate(req)
    write_results(out, outcome, evaluation_html(name, outcome.metrics))
    print(format_metrics(outcome.metrics))
    resumed = outcome.chunks - outcome.computed
    print(f"{outcome.chunks} chunks ({outcome.computed} computed now" + (f", {resumed} resumed" if resumed else "")
          + f"); wrote {out}/evaluation.json and {out}/evaluation.html")
    return 0


def register(subparsers) -> None:
    """Add the `evaluate` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("evaluate", help="accuracy of the integer design and the Brevitas float reference on "
                                               "labelled images, in parallel (local processes or a Dask cluster)",
                              **examples("accelgen evaluate build/vit_digits-zcu102 --input X.npy --labels Y.npy "
                                         "--out eval/digits",
                                         "accelgen evaluate model.onnx --input val.npy --labels val_labels.npy "
                                         "--scheduler tcp://10.0.0.5:8786   # docs/scale.md"))
    p.add_argument("model", nargs="?", help="QONNX file or build folder (default: the embedded digits model)")
    p.add_argument("--input", help="float32 NCHW images (.npy) as fed to the Brevitas model (default: the model's "
                                   "test images)")
    p.add_argument("--labels", help="integer labels (.npy), one per image")
    p.add_argument("--out", help="results folder (default: evaluation/<model or build folder name>); an interrupted "
                                 "run resumes there")
    p.add_argument("--chunk-size", type=positive_int, help="images per task (default: 256, or the stored "
                                                           "evaluation's)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="local worker processes (default: one per core)")
    where.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--force", action="store_true", help="discard results stored in --out and start over")
    p.set_defaults(func=cmd_evaluate)
