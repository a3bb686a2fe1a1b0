"""Read and validate a QONNX file."""

from __future__ import annotations

from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from ..errors import InputError

QUANT_OPS = ("Quant", "BipolarQuant", "Trunc")


def read_onnx(path: str | Path) -> onnx.ModelProto:
    """Parse the file, with a one-line error for every way it can be unusable."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an ONNX file")
    data = path.read_bytes()
    if not data:
        raise InputError(f"{path}: empty file, not an ONNX model")
    try:
        model = onnx.load_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as err:
        raise InputError(f"{path}: not a readable ONNX model (truncated or corrupt: {_first_line(err)})") from None
    if not model.graph.node:
        raise InputError(f"{path}: not an ONNX model (no graph nodes)")
    # onnx.checker is not run: it re-serialises the whole model (seconds for DeiT-B); the importer checks
    # every node it reads and names the node when something is missing or unsupported.
    if not any(node.op_type in QUANT_OPS for node in model.graph.node):
        raise InputError(f"{path}: the model has no quantizers (no QONNX Quant nodes); accelgen needs a "
                         "quantized model, e.g. a Brevitas model exported with export_qonnx")
    return model


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
