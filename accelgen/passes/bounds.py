"""Interval analysis: prove the range of every integer tensor and every accumulator from the real weights
and the input formats, so that no intermediate overflows (int64 here, the chosen widths in C++/Verilog).

With no overflow, integer sums are exact: tiling and loop order cannot change a result, which leaves the
design-space exploration free to restructure loops.
"""

from __future__ import annotations

from dataclasses import replace
from functools import singledispatch

import numpy as np

from .. import ir
from ..errors import InputError

LIMIT = 2 ** 62  # every pre-shift sum must stay below this (int64 with headroom)


def matmul_bounds(w: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output row of w (rows, K): exact min/max of sum_k w[r, k] * x[k] over x in [lo, hi]^K."""
    w = w.astype(np.int64)
    pos, neg = np.maximum(w, 0), np.minimum(w, 0)
    return (pos * lo + neg * hi).sum(axis=1), (pos * hi + neg * lo).sum(axis=1)


def product_range(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    corners = [x * y for x in a for y in b]
    return min(corners), max(corners)


def requant_bounds(op, rq: ir.Requant, acc_lo, acc_hi, res: tuple[int, int] | None) -> tuple[ir.Bounds, tuple]:
    """Bounds of acc * mult + res * res_mult + bias and of the (clamped) output, channel by channel."""
    acc_lo, acc_hi = np.broadcast_to(acc_lo, rq.mult.shape), np.broadcast_to(acc_hi, rq.mult.shape)
    bias = rq.bias.reshape(-1, rq.mult.shape[0]) if rq.bias.ndim > 1 else rq.bias[None, :]
    lo = [int(a) * int(m) + int(bias[:, c].min()) for c, (a, m) in enumerate(zip(acc_lo, rq.mult))]
    hi = [int(a) * int(m) + int(bias[:, c].max()) for c, (a, m) in enumerate(zip(acc_hi, rq.mult))]
    if res is not None:
        lo = [v + res[0] * int(m) for v, m in zip(lo, rq.res_mult)]
        hi = [v + res[1] * int(m) for v, m in zip(hi, rq.res_mult)]
    if max(max(hi), -min(lo)) >= LIMIT:
        raise InputError(f"layer '{op.name}': accumulator range cannot be proven to fit in 63 bits")
    out_lo = min(v >> int(k) for v, k in zip(lo, rq.shift))
    out_hi = max(v >> int(k) for v, k in zip(hi, rq.shift))
    if rq.qmin is not None:
        out_lo, out_hi = max(out_lo, rq.qmin), min(out_hi, rq.qmax)
    bounds = ir.Bounds(acc_min=int(min(acc_lo)), acc_max=int(max(acc_hi)), sum_min=min(lo), sum_max=max(hi))
    return bounds, (int(out_lo), int(out_hi))


@singledispatch
def op_bounds(op: ir.Op, r: dict) -> tuple[ir.Op, tuple[int, int]]:
    raise NotImplementedError(op.kind)


@op_bounds.register
def _(op: ir.InputQuant, r: dict):
    raise AssertionError("handled by prove_bounds")


@op_bounds.register
def _(op: ir.GemmOp, r: dict):
    lo, hi = matmul_bounds(op.weight.values, *r[op.input])
    res = r[op.residual] if getattr(op, "residual", None) else None
    bounds, out = requant_bounds(op, op.requant, lo, hi, res)
    if isinstance(op, ir.PatchEmbed) and op.prefix_q is not None:
        out = (min(out[0], int(op.prefix_q.min())), max(out[1], int(op.prefix_q.max())))
    return replace(op, bounds=bounds), out


@op_bounds.register
def _(op: ir.AttnScores, r: dict):
    lo, hi = product_range(r[op.q], r[op.k])
    bounds, out = requant_bounds(op, op.requant, lo * op.head_dim, hi * op.head_dim, None)
    return replace(op, bounds=bounds), out


@op_bounds.register
def _(op: ir.AttnContext, r: dict):
    p_hi = r[op.probs][1]
    lo, hi = product_range((0, p_hi), r[op.v])
    n = r["__shape__"][op.probs][-1]
    bounds, out = requant_bounds(op, op.requant, lo * n, hi * n, None)
    return replace(op, bounds=bounds), out


@op_bounds.register
def _(op: ir.Softmax, r: dict):
    return op, (0, 2 ** op.unit.out_bits - 1)


@op_bounds.register
def _(op: ir.LayerNorm, r: dict):
    return op, (op.unit.out_min, op.unit.out_max)


@op_bounds.register
def _(op: ir.Gelu, r: dict):
    lo, hi = r[op.input]
    used = op.unit.values[lo - op.unit.in_min: hi - op.unit.in_min + 1]
    return op, (int(used.min()), int(used.max()))


@op_bounds.register
def _(op: ir.Requantize, r: dict):
    bounds, out = requant_bounds(op, op.requant, *r[op.input], None)
    return replace(op, bounds=bounds), out


@op_bounds.register
def _(op: ir.Add, r: dict):
    bounds, out = requant_bounds(op, op.requant, *r[op.a], r[op.b])
    return replace(op, bounds=bounds), out


def prove_bounds(graph: ir.Graph) -> ir.Graph:
    """Fill ``bounds`` of every requantizing op and of every integer tensor (pure: Graph -> Graph)."""
    ranges: dict = {"__shape__": {n: t.shape for n, t in graph.tensors.items()}}
    tensors = dict(graph.tensors)
    ops = []
    for op in graph.ops:
        if isinstance(op, ir.InputQuant):
            q = tensors[op.output].quant
            new, out = op, (q.qmin, q.qmax)
        else:
            new, out = op_bounds(op, ranges)
        ranges[op.output] = out
        tensors[op.output] = replace(tensors[op.output], bounds=out)
        ops.append(new)
    return replace(graph, ops=tuple(ops), tensors=tensors)
