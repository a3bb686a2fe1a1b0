"""Integer formats for the tensors a model leaves in float (pure pass, Graph -> Graph).

Brevitas models often quantize only the inputs of linear layers and matmuls: the residual stream, the
LayerNorm and GELU inputs, q/k/v, the attention scores and probabilities stay float. The front end closes
each such computation into an ordinary IR op whose output format is None; this pass gives every one of
them a QuantSpec, so that everything downstream is the same integer machinery as for a fully quantized
model.

Ranges come from interval analysis over the real values (the weights and the model's quantizer ranges; no
images needed), optionally tightened by calibration ranges measured on images. The width is what the
hardware unit reading the tensor accepts:

| tensor (its readers)                     | format                                                  |
| ---------------------------------------- | ------------------------------------------------------- |
| GEMM operand (linear input, q, k, v)     | 8-bit signed (the engine's operand width)               |
| GELU input                               | 8-bit signed (the GELU unit is a 256-entry table), the  |
|                                          | range cut where the model's GELU output quantizer       |
|                                          | saturates or rounds to 0                                |
| attention scores (softmax input)         | 16-bit signed, power-of-two scale (E2Softmax shifts)    |
| attention probabilities (softmax output) | E2Softmax's own: 8-bit unsigned, scale 2^-8             |
| anything else (residual stream,          | 16-bit signed (the on-chip activation width)            |
| LayerNorm input, adds)                   |                                                         |
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import singledispatch

import numpy as np

from .. import ir
from ..numerics.gelu import gelu_float

GEMM_OPERAND_BITS = 8
GELU_INPUT_BITS = 8
SCORES_BITS = 16
STREAM_BITS = 16
PROBS = ir.QuantSpec(scale=2.0 ** -8, bits=8, signed=False)
GELU_MIN, GELU_MIN_AT = -0.17, -0.7518  # min over x of x * Phi(x) is -0.16997, at x = -0.7518

Range = tuple[float, float]


@dataclass(frozen=True)
class ChosenFormat:
    """What the pass chose for one tensor, and why (kept in ``Graph.meta['chosen']`` as plain data)."""

    tensor: str
    role: str  # "gemm operand", "gelu input", "scores", "probabilities" or "stream"
    spec: ir.QuantSpec
    proven: Range  # real range proven by interval analysis
    calibrated: Range | None  # real range measured on calibration images, if any

    def as_meta(self) -> dict:
        return {"role": self.role, "proven": list(self.proven),
                "calibrated": None if self.calibrated is None else list(self.calibrated)}


def chosen_formats(graph: ir.Graph) -> list[ChosenFormat]:
    """The formats this pass chose for ``graph`` (the formats of the tensors as they are now)."""
    return [ChosenFormat(name, m["role"], graph.tensors[name].quant, tuple(m["proven"]),
                         None if m["calibrated"] is None else tuple(m["calibrated"]))
            for name, m in graph.meta.get("chosen", {}).items()]


def spec_range(spec: ir.QuantSpec) -> Range:
    return spec.scale * (spec.qmin - spec.zero_point), spec.scale * (spec.qmax - spec.zero_point)


def linear_range(w: np.ndarray, x: Range) -> tuple[np.ndarray, np.ndarray]:
    """Per output row of the real weights w (rows, K): min/max of w @ x over x in [lo, hi]^K."""
    pos, neg = np.maximum(w, 0.0), np.minimum(w, 0.0)
    return (pos * x[0] + neg * x[1]).sum(axis=1), (pos * x[1] + neg * x[0]).sum(axis=1)


def hull(lo, hi) -> Range:
    return float(np.min(lo)), float(np.max(hi))


@singledispatch
def op_range(op: ir.Op, r: dict[str, Range]) -> Range:
    raise NotImplementedError(op.kind)


@op_range.register
def _(op: ir.GemmOp, r: dict[str, Range]) -> Range:
    lo, hi = linear_range(op.weight.dequantized(), r[op.input])
    if op.bias is not None:
        lo, hi = lo + op.bias, hi + op.bias
    if isinstance(op, ir.PatchEmbed) and op.pos is not None:
        table = op.pos[op.num_prefix:]
        lo, hi = lo + table.min(axis=0), hi + table.max(axis=0)
    if getattr(op, "residual", None):
        lo, hi = lo + r[op.residual][0], hi + r[op.residual][1]
    lo, hi = hull(lo, hi)
    if isinstance(op, ir.PatchEmbed) and op.prefix is not None:
        rows = op.prefix + (0.0 if op.pos is None else op.pos[:op.num_prefix])
        lo, hi = min(lo, float(rows.min())), max(hi, float(rows.max()))
    return lo, hi


@op_range.register
def _(op: ir.AttnScores, r: dict[str, Range]) -> Range:
    corners = [a * b for a in r[op.q] for b in r[op.k]]
    return min(corners) * op.head_dim * op.factor, max(corners) * op.head_dim * op.factor


@op_range.register
def _(op: ir.Softmax, r: dict[str, Range]) -> Range:
    return 0.0, 1.0


@op_range.register
def _(op: ir.AttnContext, r: dict[str, Range]) -> Range:
    lo, hi = r[op.v]  # each output is a convex combination of values (probabilities sum to 1)
    return min(lo, 0.0), max(hi, 0.0)


@op_range.register
def _(op: ir.LayerNorm, r: dict[str, Range]) -> Range:
    z = math.sqrt(op.gamma.size - 1)  # |x - mean| / std <= sqrt(D - 1) for every channel
    return hull(op.beta - np.abs(op.gamma) * z, op.beta + np.abs(op.gamma) * z)


@op_range.register
def _(op: ir.Gelu, r: dict[str, Range]) -> Range:
    lo, hi = r[op.input]
    ends = gelu_float(np.array([lo, hi]), op.approximate)
    return float(min(ends.min(), GELU_MIN if lo < 0 else ends.min())), float(max(ends.max(), 0.0))


@op_range.register
def _(op: ir.Requantize, r: dict[str, Range]) -> Range:
    lo, hi = r[op.input]
    return lo * op.factor, hi * op.factor


@op_range.register
def _(op: ir.Add, r: dict[str, Range]) -> Range:
    return r[op.a][0] + r[op.b][0], r[op.a][1] + r[op.b][1]


def role_of(graph: ir.Graph, tensor: str) -> str:
    producer = graph.producer(tensor)
    if isinstance(producer, ir.Softmax):
        return "probabilities"
    readers = [op for op in graph.ops if tensor in op.inputs]
    if any(isinstance(op, ir.Softmax) for op in readers):
        return "scores"
    if any(isinstance(op, ir.Gelu) for op in readers):
        return "gelu input"
    operands = [(op, slot) for op in readers for slot in ("input", "q", "k", "v", "probs")
                if getattr(op, slot, None) == tensor]
    if any(isinstance(op, (ir.GemmOp, ir.AttnScores, ir.AttnContext)) for op, _ in operands):
        return "gemm operand"
    return "stream"


def gelu_useful_range(approximate: str, out: ir.QuantSpec) -> Range:
    """Inputs outside this range give the same GELU output code as its ends: above ``hi`` the output
    quantizer saturates, below ``lo`` the output rounds to 0 (|GELU| < a quarter step)."""
    xs = np.linspace(-16.0, 16.0, 32001)
    y = gelu_float(xs, approximate)
    top = (out.qmax - out.zero_point) * out.scale
    above = xs[y >= top]
    hi = float(above[0]) if above.size else math.inf
    small = xs[(xs < GELU_MIN_AT) & (np.abs(y) < out.scale / 4)]
    lo = float(small[-1]) if small.size else -math.inf
    return lo, hi


def symmetric(bits: int, bound: float) -> ir.QuantSpec:
    qmax = 2 ** (bits - 1) - 1
    return ir.QuantSpec(scale=max(bound, 1e-12) / qmax, bits=bits, signed=True)


def pow2_covering(bits: int, bound: float) -> ir.QuantSpec:
    qmax = 2 ** (bits - 1) - 1
    return ir.QuantSpec(scale=2.0 ** math.ceil(math.log2(max(bound, 1e-12) / qmax)), bits=bits, signed=True)


def format_for(graph: ir.Graph, tensor: str, role: str, rng: Range) -> ir.QuantSpec:
    bound = max(abs(rng[0]), abs(rng[1]))
    if role == "probabilities":
        return PROBS
    if role == "scores":
        return pow2_covering(SCORES_BITS, bound)
    if role == "gelu input":
        gelu = next(op for op in graph.ops if isinstance(op, ir.Gelu) and op.input == tensor)
        out = graph.tensors[gelu.output].quant
        if out is not None:
            lo, hi = gelu_useful_range(gelu.approximate, out)
            bound = max(abs(max(rng[0], lo)), abs(min(rng[1], hi)))
        return symmetric(GELU_INPUT_BITS, bound)
    return symmetric(GEMM_OPERAND_BITS if role == "gemm operand" else STREAM_BITS, bound)


def choose_formats(graph: ir.Graph, calibration: dict[str, Range] | None = None) -> ir.Graph:
    """Give every unquantized tensor but the logits a format; ``calibration`` maps tensors to real
    ranges measured on images (they narrow the proven ranges). The choices go to ``meta['chosen']``."""
    ranges: dict[str, Range] = {}
    tensors = dict(graph.tensors)
    chosen = {}
    for op in graph.ops:
        spec = tensors[op.output].quant
        rng = spec_range(spec) if isinstance(op, ir.InputQuant) else op_range(op, ranges)
        if spec is None and op.output != graph.output:
            measured = None if calibration is None else calibration.get(op.output)
            use = rng if measured is None else (max(rng[0], measured[0]), min(rng[1], measured[1]))
            role = role_of(graph, op.output)
            spec = format_for(replace(graph, tensors=tensors), op.output, role, use)
            tensors[op.output] = replace(tensors[op.output], quant=spec)
            chosen[op.output] = ChosenFormat(op.output, role, spec, rng, measured).as_meta()
        if spec is not None:
            lo, hi = spec_range(spec)
            rng = (max(rng[0], lo), min(rng[1], hi))
        ranges[op.output] = rng
    meta = dict(graph.meta, chosen=chosen) if chosen else graph.meta
    return replace(graph, tensors=tensors, meta=meta)


LOW_BIT_ATTENTION = 8  # below this many bits of q, k, scores or probabilities, E2Softmax loses agreement


def precision_warnings(graph: ir.Graph) -> list[str]:
    """Known accuracy limits the model falls into (docs/accuracy.md, "Low-bit attention")."""
    low = sorted({graph.tensors[name].quant.bits for op in graph.ops_of(ir.AttnScores)
                  for name in (op.q, op.k, op.output) if graph.tensors[name].quant is not None}
                 | {graph.tensors[op.output].quant.bits for op in graph.ops_of(ir.Softmax)
                    if graph.tensors[op.output].quant is not None})
    if not low or low[0] >= LOW_BIT_ATTENTION:
        return []
    return [f"attention quantized to {low[0]} bits: E2Softmax's quarter-octave exponents are about as coarse "
            f"as {low[0]}-bit score steps, so expect a top-1 agreement loss (a 4-bit test ViT: 58% agreement "
            "with Brevitas, 92% with float softmax and LayerNorm; docs/accuracy.md, low-bit attention); "
            "quantize q, k, scores and probabilities to 8 bits"]
