"""Parameters of the units, one description for both back ends: the HLS config (the GEMM engine's TM /
TN_* / *_BITS, the SM_* and LN_* members of Config) and the Verilog parameters of rtl/gemm_tile.v,
rtl/e2softmax.v, rtl/ailayernorm.v, rtl/gelu_unit.v and rtl/eltwise_unit.v are rendered from these
dataclasses, and the checks of what one unit can serve are made here once. One unit serves every layer of
its kind, so its widths are the maxima over the layers; per-layer scales are runtime configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import singledispatch

import numpy as np

from .. import ir
from ..board import Board
from ..design import Engine
from ..errors import InputError
from ..numerics import layernorm as ln_numerics
from ..numerics.primitives import split_residual_mult
from ..numerics.softmax import RECIP_FRAC, E2SoftmaxParams
from .constants import (ADDER_TREE_LEVELS_PER_REGISTER, ELTWISE_LATENCY, GELU_LATENCY, GEMM_LANE_PAD,
                        GEMM_OUT_QUEUE_DEPTH, GEMM_TILE_STAGES, LAYERNORM_LATENCY, MAX_PACKED_OPERAND_BITS,
                        META_RES_SHIFT, MULT_BITS, PACK_SHIFT, POT_CODE_BITS, SHIFT_BITS, SOFTMAX_LATENCY,
                        UNIT_OUT_QUEUE_DEPTH)


def unsigned_bits(hi: int) -> int:
    return max(int(hi).bit_length(), 1)


def clog2(n: int) -> int:
    """Verilog $clog2: ceil(log2 n), 0 for n <= 1."""
    return max(int(n) - 1, 0).bit_length()


def tensor_bits(graph: ir.Graph, name: str) -> int:
    """Signed bits of a tensor: from its proven bounds, else its quantizer (plus a sign bit if unsigned)."""
    b = graph.tensors[name].bounds
    if b is None:
        q = graph.tensors[name].quant
        return q.bits + (0 if q.signed else 1)
    return ir.signed_bits(*b)


def range_bits(values: np.ndarray) -> int:
    """Signed bits of every value of an integer array."""
    return ir.signed_bits(int(np.min(values)), int(np.max(values)))


# ---------------------------------------------------------------------------------------------- GEMM
@dataclass(frozen=True)
class GemmOperands:
    """What one GEMM feeds the engine: the activation operand, the weight operand -- on chip (attention:
    keys or values) or streamed from DDR (its bits) -- and the reduction length."""

    activation: str
    onchip_weight: str | None
    streamed_weight_bits: int | None
    reduction: int


@singledispatch
def gemm_operands(op: ir.Op, graph: ir.Graph) -> GemmOperands | None:
    """The engine operands of ``op`` (None: the op does not run on the GEMM engine)."""
    return None


@gemm_operands.register
def _(op: ir.GemmOp, graph: ir.Graph) -> GemmOperands:
    return GemmOperands(op.input, None, op.weight.bits, op.weight.shape[1])


@gemm_operands.register
def _(op: ir.AttnScores, graph: ir.Graph) -> GemmOperands:
    return GemmOperands(op.q, op.k, None, op.head_dim)


@gemm_operands.register
def _(op: ir.AttnContext, graph: ir.Graph) -> GemmOperands:
    return GemmOperands(op.probs, op.v, None, graph.tensors[op.probs].shape[-1])


@dataclass(frozen=True)
class GemmUnit:
    """The GEMM engine (HLS gemm_engine.h) / tile (rtl/gemm_tile.v): ``tm`` activation elements per beat
    (the reduction width of every lane and the number of store banks), fixed-point and power-of-two output
    lanes, operand and accumulator widths, the weight tile's depth and bias rows, the requantization's
    widths and the fused GELU tables (RTL: all in one ROM, selected per layer)."""

    tm: int
    fixed_lanes: int
    pot_lanes: int
    dsp_packing: bool
    input_bits: int  # activation operand (signed)
    weight_bits: int  # fixed-lane weight operand (signed)
    acc_bits: int
    max_k_beats: int  # beats of the longest reduction (weight tile depth per half)
    max_bias_rows: int  # rows of a per-row bias table (attention), 1 otherwise
    residual_bits: int
    bias_bits: int
    output_bits: int
    gelu_tables: tuple[tuple[int, ...], ...] = ()  # fused GELU tables (entries in input-code order)
    gelu_in_min: int = -128
    gelu_output_bits: int = 8
    mult_bits: int = MULT_BITS
    shift_bits: int = SHIFT_BITS
    res_shift_bits: int = META_RES_SHIFT[1]  # the residual multiplier is res_mult << res_shift
    pot_code_bits: int = POT_CODE_BITS
    pack_shift: int = PACK_SHIFT
    tree_levels_per_register: int = ADDER_TREE_LEVELS_PER_REGISTER
    output_queue_depth: int = GEMM_OUT_QUEUE_DEPTH
    lane_latency_pad: int = GEMM_LANE_PAD
    slots: int = 1  # store slots of the ring (slots x tm positions): hw/plan.py slots_max, the HLS SLOTS_MAX

    @property
    def lanes(self) -> int:
        return self.fixed_lanes + self.pot_lanes

    @property
    def fixed_slots(self) -> int:
        """Store slots of the fixed lanes (the power-of-two lanes' slots follow them)."""
        from .plan import scheme_slots

        return scheme_slots(self.fixed_lanes, self.tm)

    @property
    def gelu_input_bits(self) -> int:
        return clog2(len(self.gelu_tables[0])) if self.gelu_tables else 8

    @property
    def latency(self) -> int:
        """Cycles of rtl/gemm_tile.v beyond the loop nest (per tile; the last row's S - 1 further store beats
        follow)."""
        t = clog2(self.tm) // self.tree_levels_per_register if self.tree_levels_per_register else 0
        lanes = (4 if self.dsp_packing and self.fixed_lanes >= 2 else 3) + t
        return GEMM_TILE_STAGES + max(lanes, self.lane_latency_pad)


def check_dsp_packing(input_bits: int, weight_bits: int, board: Board) -> None:
    """Two products per DSP (Xilinx WP486) need the board's DSP to pack and x * ((w_a << PACK_SHIFT) + w_b)
    to fit: the operands sum to at most PACK_SHIFT bits and the shifted weight fits the DSP's A port."""
    if not board.dsp.int8_packing:
        raise InputError(f"board '{board.name}': its {board.dsp.name} cannot pack two products per DSP "
                         f"(set dsp_packing to false)")
    if input_bits + weight_bits > MAX_PACKED_OPERAND_BITS or weight_bits + PACK_SHIFT + 1 > board.dsp.a_bits:
        raise InputError(f"dsp_packing: operands of {input_bits} x {weight_bits} bits do not fit two products "
                         f"in one {board.dsp.name} (set dsp_packing to false)")


def check_requant_fields(ops: list[ir.RequantOp]) -> None:
    """Multipliers and shifts fit the requantization's MULT_BITS / SHIFT_BITS unsigned fields (a residual
    multiplier in its hardware form res_mult << res_shift: numerics.primitives.split_residual_mult)."""
    for op in ops:
        rq = op.requant
        mults = [int(rq.mult.min()), int(rq.mult.max())]
        if rq.res_mult is not None:
            mults += [split_residual_mult(int(v))[0] for v in np.ravel(rq.res_mult)]
        if min(mults) < 0 or max(mults) >= 2 ** MULT_BITS:
            raise InputError(f"layer '{op.name}': a requantization multiplier does not fit {MULT_BITS} "
                             f"unsigned bits")
        if int(rq.shift.max()) >= 2 ** SHIFT_BITS:
            raise InputError(f"layer '{op.name}': a requantization shift does not fit {SHIFT_BITS} bits")


def accumulator_bits(graph: ir.Graph) -> int:
    """Accumulator bits of the engine: the widest proven accumulator of its matrix products."""
    return max(op.bounds.acc_bits for op in graph.ops if isinstance(op, ir.MATMUL_OPS))


def bias_rows_max(graph: ir.Graph) -> int:
    """Rows of the largest per-row bias table of a weight GEMM (1: one bias per output channel)."""
    return max([1] + [op.requant.bias.shape[0] for op in graph.ops_of(ir.GemmOp) if op.requant.bias.ndim > 1])


def gemm_unit(graph: ir.Graph, engine: Engine, board: Board) -> GemmUnit:
    """The GEMM unit of ``engine`` for the integer graph ``graph``: widths are the maxima over its GEMMs."""
    uses = [(op, u) for op in graph.ops if (u := gemm_operands(op, graph)) is not None]
    if not uses:
        raise InputError(f"model '{graph.name}': no matrix products for the GEMM engine")
    gemms = [op for op, _ in uses]
    input_bits = max(tensor_bits(graph, u.activation) for _, u in uses)
    weight_bits = max([8] + [u.streamed_weight_bits for _, u in uses if u.streamed_weight_bits is not None]
                      + [tensor_bits(graph, u.onchip_weight) for _, u in uses if u.onchip_weight is not None])
    if engine.dsp_packing:
        check_dsp_packing(input_bits, weight_bits, board)
    check_requant_fields(gemms)
    residuals = [op.residual for op in graph.ops_of(ir.Linear) if op.residual is not None]
    output_bits = max([8] + [tensor_bits(graph, op.output) if op.requant.qmin is None
                             else ir.signed_bits(op.requant.qmin, op.requant.qmax) for op in gemms])
    gelu = gelu_unit(graph, engine.ew_lanes)
    return GemmUnit(
        tm=engine.tm, fixed_lanes=engine.tn_fixed, pot_lanes=engine.tn_pot, dsp_packing=bool(engine.dsp_packing),
        input_bits=input_bits, weight_bits=weight_bits, acc_bits=accumulator_bits(graph),
        max_k_beats=max(math.ceil(u.reduction / engine.tm) for _, u in uses),
        max_bias_rows=bias_rows_max(graph),
        residual_bits=max([8] + [tensor_bits(graph, t) for t in residuals]),
        bias_bits=max(range_bits(op.requant.bias) for op in gemms),
        output_bits=max(output_bits, gelu.output_bits if gelu else 0),
        **({"gelu_tables": gelu.tables, "gelu_in_min": gelu.in_min, "gelu_output_bits": gelu.output_bits}
           if gelu else {}))


# ---------------------------------------------------------------------------------------------- GELU, eltwise
@dataclass(frozen=True)
class GeluUnit:
    """rtl/gelu_unit.v: the design's distinct GELU tables in one ROM, one lookup per lane."""

    lanes: int
    tables: tuple[tuple[int, ...], ...]
    in_min: int
    output_bits: int
    output_queue_depth: int = UNIT_OUT_QUEUE_DEPTH

    latency = GELU_LATENCY  # cycles beyond the stream (rtl/gelu_unit.v)

    @property
    def input_bits(self) -> int:
        return clog2(len(self.tables[0]))


def gelu_unit(graph: ir.Graph, lanes: int) -> GeluUnit | None:
    """The distinct GELU tables of the graph in graph order (None without GELU); they share one input
    format, a power-of-two number of entries."""
    tables: list[tuple[int, ...]] = []
    in_mins = set()
    for op in graph.ops_of(ir.Gelu):
        values = tuple(int(v) for v in op.unit.values)
        if len(values) & (len(values) - 1):
            raise InputError(f"GELU '{op.name}': {len(values)} table entries, not a power of two")
        if values not in tables:
            tables.append(values)
        in_mins.add(int(op.unit.in_min))
    if not tables:
        return None
    if len(in_mins) > 1 or len({len(t) for t in tables}) > 1:
        raise InputError(f"model '{graph.name}': GELU tables of different input formats cannot share the "
                         f"table unit")
    out_bits = max([8] + [ir.signed_bits(min(t), max(t)) for t in tables])
    return GeluUnit(lanes=lanes, tables=tuple(tables), in_min=in_mins.pop(), output_bits=out_bits)


def gelu_layer_tables(graph: ir.Graph, unit: GeluUnit) -> dict[str, int]:
    """Gelu op name -> the index of its table in ``unit`` (graph order)."""
    return {op.name: unit.tables.index(tuple(int(v) for v in op.unit.values)) for op in graph.ops_of(ir.Gelu)}


@dataclass(frozen=True)
class EltwiseUnit:
    """rtl/eltwise_unit.v: elementwise add / requantize."""

    lanes: int
    a_bits: int = 8  # first operand
    b_bits: int = 8  # second operand (add)
    bias_bits: int = 48
    output_bits: int = 8
    max_beats: int = 1024
    mult_bits: int = MULT_BITS
    shift_bits: int = SHIFT_BITS
    output_queue_depth: int = UNIT_OUT_QUEUE_DEPTH

    latency = ELTWISE_LATENCY  # cycles beyond the stream (rtl/eltwise_unit.v)


@singledispatch
def eltwise_operands(op: ir.Op) -> tuple[str, str | None] | None:
    """(first, second or None) operand of an op the elementwise unit runs (None: it runs elsewhere)."""
    return None


@eltwise_operands.register
def _(op: ir.Add) -> tuple[str, str]:
    return op.a, op.b


@eltwise_operands.register
def _(op: ir.Requantize) -> tuple[str, None]:
    return op.input, None


def eltwise_unit(graph: ir.Graph, lanes: int) -> EltwiseUnit:
    uses = [(op, u) for op in graph.ops if (u := eltwise_operands(op)) is not None]
    if not uses:
        return EltwiseUnit(lanes=lanes)
    ops = [op for op, _ in uses]
    check_requant_fields(ops)
    a = [tensor_bits(graph, first) for _, (first, _) in uses]
    b = [tensor_bits(graph, second) for _, (_, second) in uses if second is not None]
    k_max = max(graph.tensors[op.output].shape[-1] for op in ops)
    return EltwiseUnit(lanes=lanes, a_bits=max(a), b_bits=max([8] + b),
                       bias_bits=max(2, max(range_bits(op.requant.bias) for op in ops)),
                       output_bits=max(ir.signed_bits(op.requant.qmin, op.requant.qmax) for op in ops),
                       max_beats=-(-k_max // lanes))


@dataclass(frozen=True)
class SoftmaxUnit:
    """The E2Softmax unit (docs/numerics.md section 5)."""

    lanes: int  # row elements per beat
    max_row: int  # longest row (keys)
    input_bits: int
    exponent_bits: int  # the exponent code e = t >> (f - F) (or t << (F - f))
    sum_bits: int  # the row sum of the terms
    exp_frac: int  # F
    recip_bits: int
    sum_frac: int
    code_max: int
    output_bits: int
    pow_table: tuple[int, ...]
    out_table: tuple[int, ...]
    recip_frac: int = RECIP_FRAC

    latency = SOFTMAX_LATENCY  # cycles beyond the rows' stream (rtl/e2softmax.v)

    @property
    def max_beats(self) -> int:
        return -(-self.max_row // self.lanes)

    @property
    def code_bits(self) -> int:
        """An element's code (min(d >> F, code_max), d mod 2^F) between the sum and the output stage."""
        return unsigned_bits(self.code_max) + self.exp_frac

    @property
    def pow_table_bits(self) -> int:
        return unsigned_bits(max(self.pow_table))

    @property
    def out_table_bits(self) -> int:
        return unsigned_bits(max(self.out_table))


def check_softmax_layers(graph: ir.Graph) -> None:
    """The one E2Softmax unit serves every softmax layer: same table parameters and output width, and no
    output scale finer than the reciprocal table (stage 2's smallest shift, (sum_frac - 1) + RECIP_FRAC -
    out_frac, must be >= 1)."""
    ops = graph.ops_of(ir.Softmax)
    if not ops:
        return
    p = ops[0].unit
    shared = ("exp_frac", "recip_bits", "sum_frac", "code_max", "out_bits")
    for op in ops[1:]:
        if any(getattr(op.unit, k) != getattr(p, k) for k in shared):
            raise InputError(f"softmax '{op.name}': the one E2Softmax unit needs the same exponent, mantissa "
                             f"and output parameters ({', '.join(shared)}) as softmax '{ops[0].name}'")
    for op in ops:
        if p.sum_frac - 1 + RECIP_FRAC - op.unit.out_frac < 1:
            raise InputError(f"softmax '{op.name}': an output scale finer than the reciprocal table "
                             f"(out_frac {op.unit.out_frac}) is not supported")


def check_layernorm_layers(graph: ir.Graph) -> None:
    """AILayerNorm gains fit the unit's GAIN_BITS signed field (magnitude below 2^(GAIN_BITS - 1))."""
    for op in graph.ops_of(ir.LayerNorm):
        if int(np.abs(np.asarray(op.unit.gain, np.int64)).max(initial=0)) >= 2 ** (ln_numerics.GAIN_BITS - 1):
            raise InputError(f"LayerNorm '{op.name}': a gain does not fit {ln_numerics.GAIN_BITS} signed bits")


def graph_softmax_unit(graph: ir.Graph, lanes: int) -> SoftmaxUnit | None:
    """The E2Softmax unit of ``graph``'s softmax layers (None without softmax)."""
    check_softmax_layers(graph)
    ops = graph.ops_of(ir.Softmax)
    if not ops:
        return None
    return softmax_unit([op.unit for op in ops], max(graph.tensors[op.input].shape[-1] for op in ops), lanes)


def graph_layernorm_unit(graph: ir.Graph, lanes: int) -> LayerNormUnit | None:
    """The AILayerNorm unit of ``graph``'s LayerNorm layers (None without LayerNorm)."""
    check_layernorm_layers(graph)
    ops = graph.ops_of(ir.LayerNorm)
    if not ops:
        return None
    return layernorm_unit([(op.unit, graph.tensors[op.input].bounds) for op in ops], lanes)


def softmax_unit(params: list[E2SoftmaxParams], max_row: int, lanes: int) -> SoftmaxUnit:
    """The unit for softmax layers with ``params`` (their table parameters are the first's): the exponent
    code of a b-bit input needs b + 1 bits for t plus the left shift, and one more for R << F; the sum
    stays below 2^(sum_frac + 1) * N."""
    p = params[0]
    max_row = max(max_row, 1)
    return SoftmaxUnit(
        lanes=lanes, max_row=max_row, input_bits=max(q.in_bits for q in params),
        exponent_bits=max(q.in_bits + 2 + max(0, q.exp_frac - q.in_frac) for q in params),
        sum_bits=p.sum_frac + 1 + max_row.bit_length(), exp_frac=p.exp_frac, recip_bits=p.recip_bits,
        sum_frac=p.sum_frac, code_max=p.code_max, output_bits=p.out_bits, pow_table=tuple(p.pow_table),
        out_table=tuple(p.out_table))


@dataclass(frozen=True)
class LayerNormUnit:
    """The AILayerNorm unit (docs/numerics.md section 6)."""

    lanes: int  # channels of a token per beat
    max_dim: int
    input_bits: int
    variance_bits: int  # D * Sq - Sx^2 + eps
    eps_bits: int
    bias_bits: int
    shift_bits: int
    output_bits: int
    gain_bits: int = ln_numerics.GAIN_BITS
    rsqrt_frac: int = ln_numerics.RSQRT_FRAC
    norm_frac: int = ln_numerics.NORM_FRAC
    rsqrt_index_bits: int = ln_numerics.RSQRT_IDX_BITS
    squares: tuple[int, ...] = ln_numerics.SQUARES
    rsqrt: tuple[int, ...] = ln_numerics.RSQRT

    latency = LAYERNORM_LATENCY  # cycles beyond the tokens' stream (rtl/ailayernorm.v)

    @property
    def max_beats(self) -> int:
        return -(-self.max_dim // self.lanes)

    @property
    def square_bits(self) -> int:
        return unsigned_bits(max(self.squares))

    @property
    def rsqrt_bits(self) -> int:
        return unsigned_bits(max(self.rsqrt))


def layernorm_unit(layers: list[tuple[ln_numerics.AILayerNormParams, tuple[int, int]]], lanes: int) -> LayerNormUnit:
    """The unit for LayerNorm layers given as (parameters, input bounds): the variance D * Sq - Sx^2 + eps
    is bounded by D^2 * (largest compressed square) + eps."""
    v_max = 0
    for p, (lo, hi) in layers:
        sq = int(ln_numerics.compressed_square(np.arange(lo, hi + 1)).max(initial=0))
        v_max = max(v_max, p.dim * p.dim * sq + max(p.eps, 1))
    units = [p for p, _ in layers]
    return LayerNormUnit(
        lanes=lanes, max_dim=max(p.dim for p in units), input_bits=max(ir.signed_bits(*b) for _, b in layers),
        variance_bits=v_max.bit_length(), eps_bits=unsigned_bits(max(p.eps for p in units)),
        bias_bits=max(ir.signed_bits(int(p.bias.min()), int(p.bias.max())) for p in units),
        shift_bits=unsigned_bits(max(p.shift for p in units)),
        output_bits=max(ir.signed_bits(p.out_min, p.out_max) for p in units))


def config_softmax(params: list[E2SoftmaxParams], max_row: int, lanes: int = 1) -> SoftmaxUnit:
    """The Config's E2Softmax unit (one with default parameters when the model has no softmax)."""
    return softmax_unit(params or [E2SoftmaxParams(in_bits=8, in_frac=8)], max_row, lanes)


def config_layernorm(layers: list[tuple[ln_numerics.AILayerNormParams, tuple[int, int]]], lanes: int = 1
                     ) -> LayerNormUnit:
    """The Config's AILayerNorm unit (a minimal one when the model has no LayerNorm)."""
    if not layers:
        return LayerNormUnit(lanes=lanes, max_dim=1, input_bits=8, variance_bits=1, eps_bits=1, bias_bits=1,
                             shift_bits=1, output_bits=8)
    return layernorm_unit(layers, lanes)


def config_units(graph: ir.Graph, sm_lanes: int, ln_lanes: int) -> tuple[SoftmaxUnit, LayerNormUnit]:
    """The Config's E2Softmax and AILayerNorm units of ``graph`` (default ones where it has none)."""
    return (graph_softmax_unit(graph, sm_lanes) or config_softmax([], 1, sm_lanes),
            graph_layernorm_unit(graph, ln_lanes) or config_layernorm([], ln_lanes))
