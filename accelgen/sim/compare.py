"""Per-layer comparison of the integer simulator against the Brevitas/QONNX float reference."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import ir
from .numpy_sim import NumpySimulator, SimOptions
from .reference import QonnxReference


@dataclass(frozen=True)
class LayerError:
    tensor: str
    op: str
    snr_db: float  # 10 log10(sum ref^2 / sum (ref - ours)^2); inf when equal
    max_abs: float  # largest absolute error, in real units


@dataclass(frozen=True)
class Comparison:
    layers: tuple[LayerError, ...]
    agreement: float  # top-1 agreement with the reference
    accuracy: float | None  # integer simulator, when labels are given
    reference_accuracy: float | None
    logits_snr_db: float


def snr_db(ref: np.ndarray, ours: np.ndarray) -> float:
    noise = float(np.sum((ref - ours) ** 2))
    signal = float(np.sum(ref ** 2))
    if noise == 0.0:
        return math.inf
    return 10.0 * math.log10(signal / noise) if signal > 0 else -math.inf


def to_ir_layout(values: np.ndarray, index: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Scatter per-image ONNX tensors (batch, ...) into the IR tensor layout (batch, *shape); elements
    the ONNX tensor does not hold (it may be a view of part of the IR tensor, e.g. one row) are NaN."""
    out = np.full((values.shape[0], int(np.prod(shape))), np.nan, dtype=np.float64)
    out[:, index.reshape(-1)] = values.reshape(values.shape[0], -1)
    return out.reshape((values.shape[0],) + shape)


def reference_for(path, sources: dict) -> QonnxReference:
    """The QONNX reference exposing every ONNX tensor an IR tensor was read from."""
    return QonnxReference(path, tuple(sorted({name for name, _ in sources.values()})))


def dequantize(values: np.ndarray, spec: ir.QuantSpec) -> np.ndarray:
    return (values.astype(np.float64) - spec.zero_point) * spec.scale


def compare(graph: ir.Graph, sources: dict, reference: QonnxReference, images: np.ndarray,
            labels: np.ndarray | None = None, options: SimOptions = SimOptions()) -> Comparison:
    result = NumpySimulator(graph, options).run(images, keep_tensors=True)
    wanted = {sources[op.output][0] for op in graph.ops if op.output in sources}
    ref_logits, ref_tensors = reference.run(images, keep=wanted)
    layers = []
    for op in graph.ops:
        if op.output not in sources:
            continue
        name, index = sources[op.output]
        spec = graph.tensors[op.output]
        ref = to_ir_layout(ref_tensors[name], index, spec.shape)
        held = ~np.isnan(ref)
        ours = dequantize(result.tensors[op.output], spec.quant)
        ref, ours = ref[held], ours[held]
        layers.append(LayerError(op.output, op.name, snr_db(ref, ours), float(np.max(np.abs(ref - ours)))))
    ours_logits = result.dequantized()
    pred, ref_pred = ours_logits.argmax(1), ref_logits.argmax(1)
    return Comparison(
        layers=tuple(layers), agreement=float(np.mean(pred == ref_pred)),
        accuracy=None if labels is None else float(np.mean(pred == labels)),
        reference_accuracy=None if labels is None else float(np.mean(ref_pred == labels)),
        logits_snr_db=snr_db(ref_logits.astype(np.float64), ours_logits))


def format_comparison(c: Comparison) -> str:
    from ..summary import format_table

    rows = [("tensor", "op", "SNR dB", "max |err|")]
    for layer in c.layers:
        rows.append((layer.tensor, layer.op, f"{layer.snr_db:.1f}", f"{layer.max_abs:.4g}"))
    lines = format_table(rows, right=(2, 3))
    lines.append(f"logits SNR {c.logits_snr_db:.1f} dB; top-1 agreement with the float reference "
                 f"{100 * c.agreement:.2f}%")
    if c.accuracy is not None:
        lines.append(f"accuracy: integer simulator {100 * c.accuracy:.2f}%, float reference "
                     f"{100 * c.reference_accuracy:.2f}%")
    return "\n".join(lines)
