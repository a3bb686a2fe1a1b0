"""Per-layer exactness of the lowering against the QONNX reference (the model's own float graph).

Every op is run in isolation on the reference's integer codes of its inputs (the reference value of a
tensor divided by its format's scale and rounded: exactly the model's codes for a model quantizer) and its
output codes are compared with the reference's (for a tensor the model leaves in float: the reference value
rounded to the format accelgen chose). Where every input carries the model's own codes, the output is the
model's or a chosen format, and the op is not an approximating unit (E2Softmax, AILayerNorm), the lowering
is exact up to rounding-boundary ties: an output may differ from the reference's code only where it still
lies within half a code plus the documented error of the integer form from the reference's value before
rounding (docs/numerics.md, section 3: each dyadic multiplier and the bias are within half a unit of
``2^-k``, so the pre-shift sum is within ``(|acc| + |res| + 1) / 2`` units of ``2^-k`` of the real one;
the float32 reference adds its own relative error). Such ties are counted, and bounded by the share of
values whose distance to a rounding boundary is within that error. Anything else is an error of the
lowering. The end-to-end SNR of every layer against the float reference is reported alongside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ir
from ..frontend.onnx_load import read_onnx
from ..numerics.primitives import split_residual_mult
from .compare import dequantize, snr_db, to_ir_layout
from .numpy_sim import NumpySimulator
from .reference import QonnxReference, quant_inputs

APPROXIMATING = (ir.Softmax, ir.LayerNorm)
FLOAT32_REL = 2.0 ** -18  # relative error of the float32 reference's own arithmetic (sums of <= 2^6 terms)


@dataclass(frozen=True)
class LayerExactness:
    op: str
    kind: str
    exact: bool  # checked for exact equality (False: an approximating unit, SNR only)
    elements: int  # output elements the reference observes
    ties: int  # differences within the documented error of the integer form, at rounding boundaries
    tie_bound: float  # expected ties: sum over elements of the chance of lying that close to a boundary
    errors: int  # any other difference (must be 0 for an exact layer)
    snr_db: float  # end-to-end output against the float reference

    @property
    def ok(self) -> bool:
        return not self.exact or self.errors == 0


def _codes(real: np.ndarray, spec: ir.QuantSpec) -> np.ndarray:
    """Reference real values -> codes of ``spec`` (NaN where the reference does not observe)."""
    q = np.round(real / spec.scale) + spec.zero_point
    return np.where(np.isnan(q), np.nan, np.clip(q, spec.qmin, spec.qmax) if spec.qmin is not None else q)


def _tolerance(op: ir.Op, v: np.ndarray, env: dict) -> np.ndarray:
    """Documented distance (in output units) within which a rounding boundary counts as a tie."""
    rq = getattr(op, "requant", None)
    tol = FLOAT32_REL * (np.abs(v) + 1.0)
    if rq is None:
        return tol
    k = rq.shift.astype(np.float64)
    mult = rq.mult / 2.0 ** k
    res = 0.0
    if rq.res_mult is not None:
        res_name = op.residual if isinstance(op, ir.Linear) else op.b
        res = np.abs(env[res_name].astype(np.float64))
    bias = np.abs(rq.bias - np.where(k > 0, 2.0 ** (k - 1), 0.0)).max(axis=0) / 2.0 ** k if rq.bias.ndim > 1 \
        else np.abs(rq.bias - np.where(k > 0, 2.0 ** (k - 1), 0.0)) / 2.0 ** k
    res_mult = 0.0 if rq.res_mult is None else rq.res_mult / 2.0 ** k
    # the residual multiplier is rounded at its last significant bit, 2^e (residual_mult)
    res_step = 1.0 if rq.res_mult is None else 2.0 ** np.array([split_residual_mult(r)[1] for r in rq.res_mult])
    acc = (np.abs(v) + res * res_mult + bias) / mult
    return tol + (acc + res * res_step + 1.0) * 2.0 ** -(k + 1) + FLOAT32_REL * mult * _terms_bound(op, env)


def _terms_bound(op: ir.Op, env: dict) -> np.ndarray | float:
    """sum_k |x_k * w_k| bounded per output channel: the float32 reference rounds relative to it."""
    def top(name):
        return float(np.abs(env[name]).max(initial=0))

    if isinstance(op, ir.GemmOp):
        return top(op.input) * np.abs(op.weight.values.astype(np.float64)).sum(axis=1)
    if isinstance(op, ir.AttnScores):
        return top(op.q) * top(op.k) * op.head_dim
    if isinstance(op, ir.AttnContext):
        return top(op.probs) * top(op.v) * env[op.probs].shape[-1]
    return 0.0


def model_formats(imported: ir.Graph, graph: ir.Graph) -> set[str]:
    """Tensors whose integer codes are exactly the model's: the image, and every tensor that keeps the
    format of its model quantizer through lowering (not a format accelgen chose or changed)."""
    chosen = set(imported.meta.get("chosen", ())) | {imported.output}  # formats accelgen chose
    return {imported.input} | {name for name, spec in imported.tensors.items()
                               if name not in chosen and spec.quant is not None
                               and spec.quant == graph.tensors[name].quant}


def check_exactness(imported: ir.Graph, graph: ir.Graph, sources: dict, path,
                    images: np.ndarray) -> list[LayerExactness]:
    """One entry per op of the integer ``graph`` (lowered from ``imported``) whose output the reference
    observes. An op is checked for exact equality unless it is an approximating unit or reads a tensor
    whose codes are not the model's (a format accelgen chose, E2Softmax's probabilities, power-of-two
    scores): the error those formats cost shows in the SNR."""
    exact_inputs = model_formats(imported, graph)
    chosen = set(imported.meta.get("chosen", ())) | {imported.output}  # formats accelgen chose
    before_rounding = quant_inputs(read_onnx(path))
    pre = {name: before_rounding.get(name, name) for name, _ in sources.values()}
    wanted = set(pre) | set(pre.values())
    reference = QonnxReference(path, tuple(sorted(wanted)))
    logits, ref_all = reference.run(images, keep=wanted - {reference.outputs[0]})
    ref_all[reference.outputs[0]] = logits
    sim = NumpySimulator(graph)
    ours = sim.run(images, keep_tensors=True, workers=1).tensors

    def observed(tensor: str, onnx_name: str) -> np.ndarray:
        _, index = sources[tensor]
        return to_ir_layout(ref_all[onnx_name], index, graph.tensors[tensor].shape)

    def isolated_input(tensor: str) -> np.ndarray:
        if tensor == graph.input:
            return images.astype(np.float32)
        if tensor not in sources:
            return ours[tensor]
        codes = _codes(observed(tensor, sources[tensor][0]), graph.tensors[tensor].quant)
        return np.where(np.isnan(codes), ours[tensor], codes).astype(np.int64)

    results = []
    for op in graph.ops:
        if op.output not in sources:
            continue
        spec = graph.tensors[op.output].quant
        env = {name: isolated_input(name) for name in op.inputs or (graph.input,)}
        out = getattr(sim, f"run_{op.kind}")(op, env)
        onnx_name = sources[op.output][0]
        expected = _codes(observed(op.output, onnx_name), spec)
        held = ~np.isnan(expected)
        v = observed(op.output, pre[onnx_name]) / spec.scale + spec.zero_point
        diff = (out != np.nan_to_num(expected))[held]
        exact_value = np.clip(v, spec.qmin, spec.qmax) if spec.qmin is not None else v
        tol = np.broadcast_to(_tolerance(op, v, env), v.shape)[held]
        within = np.abs(out - exact_value)[held] <= 0.5 + tol
        ties = int(np.sum(diff & within))
        exact = not isinstance(op, APPROXIMATING) and all(name in exact_inputs for name in env) and (
            op.output in exact_inputs or op.output in chosen)
        real = observed(op.output, onnx_name)
        results.append(LayerExactness(
            op=op.name, kind=op.kind, exact=exact, elements=int(held.sum()), ties=ties,
            tie_bound=float(np.minimum(2 * tol, 1.0).sum()),
            errors=int(np.sum(diff)) - ties,
            snr_db=snr_db(real[held], dequantize(ours[op.output], spec)[held])))
    return results


def format_exactness(results: list[LayerExactness]) -> str:
    from ..summary import format_table

    rows = [("op", "kind", "check", "elements", "ties", "expected", "errors", "SNR dB")]
    for r in results:
        rows.append((r.op, r.kind, "exact" if r.exact else "approx", str(r.elements), str(r.ties),
                     f"{r.tie_bound:.1f}", str(r.errors) if r.exact else "-", f"{r.snr_db:.1f}"))
    return "\n".join(format_table(rows, right=(3, 4, 5, 6, 7)))
