"""Lowering: float scales -> integer requantization parameters; nonlinear ops -> integer units.

``lower_to_integer`` is a pure function Graph -> Graph. Each op gets its integer fields (``requant`` or
``unit``); tensor formats change where the hardware defines them: probabilities come out of E2Softmax on
a power-of-two scale, and the model's float logits get one common integer scale for all classes. (Softmax
inputs already have power-of-two formats: the front end requantizes scores that the model quantizes with
another scale, see ``passes.formats``.)
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import singledispatch

import numpy as np

from .. import ir
from ..errors import InputError
from ..numerics.gelu import build_gelu_table
from ..numerics.layernorm import fold_layernorm
from ..numerics.primitives import MULT_BITS, RepresentationError, dyadic, dyadic_at, residual_mult, rounding_bias
from ..numerics.softmax import E2SoftmaxParams, output_format


class Ctx:
    """Tensor formats as lowering goes along (some change: scores, probabilities, logits)."""

    def __init__(self, graph: ir.Graph):
        self.tensors = dict(graph.tensors)

    def q(self, name: str) -> ir.QuantSpec:
        return self.tensors[name].quant

    def set_quant(self, name: str, spec: ir.QuantSpec) -> None:
        self.tensors[name] = replace(self.tensors[name], quant=spec)

    def offset(self, name: str) -> float:
        """The real value of code 0: -scale * zero_point (0 for symmetric formats). An asymmetric
        input's offset folds into the bias of the op reading it, an output's zero point into its own."""
        q = self.q(name)
        return -q.scale * q.zero_point

    def zero(self, name: str) -> int:
        q = self.q(name)
        return 0 if q is None else q.zero_point


def channel_requant(real: np.ndarray, bias_real: np.ndarray, out: ir.QuantSpec | None,
                    res_real: float | None = None, clamp: tuple[int, int] | None = None,
                    shared: bool = False) -> ir.Requant:
    """Per-channel dyadic requantization. ``real``: acc-to-output multipliers (channels,); ``bias_real``:
    bias on the output scale, (channels,) or (rows, channels); ``res_real``: residual-to-output multiplier;
    ``clamp``: output range (default: the whole range of ``out``; no clamp when ``out`` is None).
    The shift is set by the accumulator's multiplier and the residual's keeps 16 significant bits beside
    it (residual_mult); ``shared``: one shift for both multipliers, set by the larger (an add of two
    activations, where neither term dominates)."""
    if clamp is None and out is not None:
        clamp = (out.qmin, out.qmax)
    shifts = [dyadic(max(r, res_real) if shared else r)[1] for r in real]
    mults = [dyadic_at(r, k) for r, k in zip(real, shifts)]
    res = None if res_real is None else np.array(
        [dyadic_at(res_real, k) if shared else residual_mult(res_real, k) for k in shifts])
    if max(mults) >= 2 ** MULT_BITS or (shared and res.max() >= 2 ** MULT_BITS):
        raise RepresentationError("requantization multiplier does not fit in 16 bits")
    shift = np.array(shifts, dtype=np.int64)
    return ir.Requant(mult=np.array(mults), shift=shift, bias=rounding_bias(shift, bias_real),
                      qmin=None if clamp is None else clamp[0], qmax=None if clamp is None else clamp[1],
                      res_mult=res)


@singledispatch
def lower_op(op: ir.Op, ctx: Ctx) -> ir.Op:
    raise InputError(f"layer '{op.name}': no integer lowering for {op.kind}")


@lower_op.register
def _(op: ir.InputQuant, ctx: Ctx) -> ir.Op:
    return op


@lower_op.register
def _(op: ir.PatchEmbed, ctx: Ctx) -> ir.Op:
    s_in, out = ctx.q(op.input).scale, ctx.q(op.output)
    channels = op.weight.shape[0]
    bias = np.zeros(channels) if op.bias is None else op.bias
    k = op.num_prefix
    rows = bias[None, :] if op.pos is None else bias[None, :] + op.pos[k:]
    rq = channel_requant(s_in * op.weight.scale / out.scale, rows / out.scale + out.zero_point, out)
    prefix_q = None
    if op.prefix is not None:
        pre = op.prefix + (0.0 if op.pos is None else op.pos[:k])
        prefix_q = np.clip(np.round(pre / out.scale) + out.zero_point, out.qmin, out.qmax)
    return replace(op, requant=rq, prefix_q=prefix_q)


@lower_op.register
def _(op: ir.Linear, ctx: Ctx) -> ir.Op:
    s_in, out = ctx.q(op.input).scale, ctx.q(op.output)
    acc_scale = s_in * op.weight.scale
    if out is None:  # float logits -> one common integer scale (the finest weight scale), no clamp
        out_scale = float(np.min(acc_scale))
        ctx.set_quant(op.output, ir.QuantSpec(scale=out_scale, bits=32, signed=True))
    else:
        out_scale = out.scale
    bias = np.zeros(op.weight.shape[0]) if op.bias is None else op.bias
    bias = bias + ctx.offset(op.input) * op.weight.dequantized().sum(axis=1)
    res_real = None
    if op.residual is not None:
        res_real = ctx.q(op.residual).scale / out_scale
        bias = bias + ctx.offset(op.residual)
    rq = channel_requant(acc_scale / out_scale, bias / out_scale + ctx.zero(op.output), out, res_real)
    return replace(op, requant=rq)


@lower_op.register
def _(op: ir.AttnScores, ctx: Ctx) -> ir.Op:
    out = ctx.q(op.output)
    acc_scale = ctx.q(op.q).scale * ctx.q(op.k).scale * op.factor
    return replace(op, requant=channel_requant(np.array([acc_scale / out.scale]), np.array([out.zero_point]), out))


@lower_op.register
def _(op: ir.Softmax, ctx: Ctx) -> ir.Op:
    spec, model_out = ctx.q(op.input), ctx.q(op.output)
    if not spec.is_pow2:
        raise InputError(f"layer '{op.name}': E2Softmax needs a power-of-two input scale, got {spec.scale:.6g}")
    out_frac, out_max = output_format(model_out.scale, model_out.qmax - model_out.zero_point)
    params = E2SoftmaxParams(in_bits=spec.bits, in_frac=-round(math.log2(spec.scale)), out_frac=out_frac,
                             out_max=out_max)
    ctx.set_quant(op.output, ir.QuantSpec(scale=params.out_scale, bits=params.out_bits, signed=False))
    return replace(op, unit=params)


@lower_op.register
def _(op: ir.AttnContext, ctx: Ctx) -> ir.Op:
    out = ctx.q(op.output)
    real = ctx.q(op.probs).scale * ctx.q(op.v).scale / out.scale
    return replace(op, requant=channel_requant(np.array([real]), np.array([out.zero_point]), out))


@lower_op.register
def _(op: ir.LayerNorm, ctx: Ctx) -> ir.Op:
    s_in, out = ctx.q(op.input).scale, ctx.q(op.output)  # LayerNorm ignores an input offset
    beta = op.beta + out.scale * out.zero_point
    return replace(op, unit=fold_layernorm(op.gamma, beta, op.eps, s_in, out.scale, out.qmin, out.qmax))


@lower_op.register
def _(op: ir.Gelu, ctx: Ctx) -> ir.Op:
    return replace(op, unit=build_gelu_table(ctx.q(op.input), ctx.q(op.output), op.approximate))


@lower_op.register
def _(op: ir.Requantize, ctx: Ctx) -> ir.Op:
    out = ctx.q(op.output)
    real = op.factor * ctx.q(op.input).scale / out.scale
    bias = op.factor * ctx.offset(op.input) / out.scale + out.zero_point
    return replace(op, requant=channel_requant(np.array([real]), np.array([bias]), out))


@lower_op.register
def _(op: ir.Add, ctx: Ctx) -> ir.Op:
    out = ctx.q(op.output)
    bias = (ctx.offset(op.a) + ctx.offset(op.b)) / out.scale + out.zero_point
    rq = channel_requant(np.array([ctx.q(op.a).scale / out.scale]), np.array([bias]), out,
                         res_real=ctx.q(op.b).scale / out.scale, shared=True)
    return replace(op, requant=rq)


def lower_to_integer(graph: ir.Graph) -> ir.Graph:
    """Fill every op's integer fields; the result still needs ``passes.bounds.prove_bounds``."""
    ctx = Ctx(graph)
    ops = []
    for op in graph.ops:
        try:
            ops.append(lower_op(op, ctx))
        except RepresentationError as err:
            raise InputError(f"layer '{op.name}': {err}") from None
    return replace(graph, ops=tuple(ops), tensors=ctx.tensors)
