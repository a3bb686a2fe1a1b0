"""The Verilog units of a design and their interfaces: ``rtl_design(graph, design, board)`` derives every
unit's parameters from the integer graph and the design -- widths from the proven bounds, lane counts from
the engine, the E2Softmax / AILayerNorm units shared with the HLS config (accelgen/hw/units.py) -- and the
ports and per-layer runtime configuration of each unit (what the RTL simulator drives). Rendering is
rtl_project.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import ir
from ..board import Board
from ..design import Design
from ..errors import InputError
from ..hw.constants import (ADDER_TREE_LEVELS_PER_REGISTER, GEMM_LANE_PAD, GEMM_TILE_STAGES, META_RES_SHIFT, MULT_BITS,
                            PACK_SHIFT, POT_CODE_BITS, SHIFT_BITS)
from ..hw.units import LayerNormUnit, SoftmaxUnit, layernorm_unit, softmax_unit
from ..numerics import layernorm as ln_num
from ..numerics.softmax import RECIP_FRAC, E2SoftmaxParams
from ..numerics.primitives import split_residual_mult
from .names import unique_identifiers

UNIT_KINDS = ("gemm_tile", "e2softmax", "ailayernorm", "gelu", "eltwise")
TILE_OUT_DEPTH = 32
UNIT_OUT_DEPTH = 8  # output queues: more than the beats in flight between a read and its output
GELU_OUT_DEPTH = 8
CFG_BITS = 8  # signed softmax configuration fields (in_frac - F, out_frac)


def clog2(n: int) -> int:
    """Verilog $clog2: ceil(log2 n), 0 for n <= 1."""
    return max(int(n) - 1, 0).bit_length()


def addr_bits(n: int) -> int:
    """Address width of an n-entry array (at least 1), as the RTL computes it."""
    return clog2(n) if n > 1 else 1


def signed_bits(lo: int, hi: int) -> int:
    return ir.signed_bits(int(lo), int(hi))


# ---------------------------------------------------------------------------------------------- units
@dataclass(frozen=True)
class TileHw:
    """gemm_tile parameters."""

    tm: int
    fixed_lanes: int
    pot_lanes: int
    dsp_packing: bool
    act_bits: int  # activation operand bits (signed)
    weight_bits: int  # fixed-lane operand bits (signed)
    acc_bits: int
    kc_max: int
    bias_rows: int
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
    output_queue_depth: int = TILE_OUT_DEPTH
    lane_latency_pad: int = GEMM_LANE_PAD

    @property
    def lanes(self) -> int:
        return self.fixed_lanes + self.pot_lanes

    @property
    def gelu_input_bits(self) -> int:
        return clog2(len(self.gelu_tables[0])) if self.gelu_tables else 8

    @property
    def latency(self) -> int:
        t = clog2(self.tm) // self.tree_levels_per_register if self.tree_levels_per_register else 0
        lanes = (4 if self.dsp_packing and self.fixed_lanes >= 2 else 3) + t
        return GEMM_TILE_STAGES + max(lanes, self.lane_latency_pad)


@dataclass(frozen=True)
class GeluHw:
    """gelu_unit parameters: the design's GELU tables, one lookup per lane."""

    lanes: int
    tables: tuple[tuple[int, ...], ...]
    in_min: int
    output_bits: int
    output_queue_depth: int = GELU_OUT_DEPTH

    @property
    def input_bits(self) -> int:
        return clog2(len(self.tables[0]))


@dataclass(frozen=True)
class EltwiseHw:
    """eltwise_unit parameters."""

    lanes: int
    a_bits: int = 8  # first operand
    b_bits: int = 8  # second operand (add)
    bias_bits: int = 48
    output_bits: int = 8
    max_beats: int = 1024
    mult_bits: int = MULT_BITS
    shift_bits: int = SHIFT_BITS
    output_queue_depth: int = UNIT_OUT_DEPTH


@dataclass(frozen=True)
class RtlDesign:
    """Every unit of a design, and the runtime configuration of each layer that uses one."""

    tile: TileHw
    softmax: SoftmaxUnit | None
    layernorm: LayerNormUnit | None
    gelu: GeluHw | None
    eltwise: EltwiseHw
    gelu_index: dict[str, int] = field(default_factory=dict)  # Gelu op name -> table
    gelu_names: tuple[str, ...] = ()  # Verilog identifiers of the tables

    def units(self) -> dict[str, object]:
        """kind -> parameters of the units the design has, in UNIT_KINDS order."""
        out = {"gemm_tile": self.tile, "e2softmax": self.softmax, "ailayernorm": self.layernorm,
               "gelu": self.gelu, "eltwise": self.eltwise}
        return {k: v for k, v in out.items() if v is not None}


def _tensor_bits(graph: ir.Graph, name: str) -> int:
    b = graph.tensors[name].bounds
    if b is None:
        q = graph.tensors[name].quant
        return q.bits + (0 if q.signed else 1)
    return signed_bits(*b)


def _gemm_operands(graph: ir.Graph) -> tuple[list[str], list[str], list[int]]:
    """(activation operands, on-chip weight operands, reduction lengths) of every engine GEMM."""
    xs, ws, ks = [], [], []
    for op in graph.ops:
        if isinstance(op, ir.GemmOp):
            xs.append(op.input)
            ks.append(op.weight.shape[1])
        elif isinstance(op, ir.AttnScores):
            xs.append(op.q)
            ws.append(op.k)
            ks.append(op.head_dim)
        elif isinstance(op, ir.AttnContext):
            xs.append(op.probs)
            ws.append(op.v)
            ks.append(graph.tensors[op.probs].shape[-1])
    return xs, ws, ks


def gelu_tables(graph: ir.Graph) -> tuple[tuple[tuple[int, ...], ...], dict[str, int], int, int]:
    """Distinct GELU tables in graph order, op name -> table index, in_min, output bits."""
    tables: list[tuple[int, ...]] = []
    index: dict[str, int] = {}
    in_mins, out_bits = set(), 8
    for op in graph.ops_of(ir.Gelu):
        values = tuple(int(v) for v in op.unit.values)
        if len(values) & (len(values) - 1):
            raise InputError(f"GELU '{op.name}': {len(values)} table entries, not a power of two")
        if values not in tables:
            tables.append(values)
        index[op.name] = tables.index(values)
        in_mins.add(int(op.unit.in_min))
        out_bits = max(out_bits, signed_bits(min(values), max(values)))
    if len(in_mins) > 1 or len({len(t) for t in tables}) > 1:
        raise InputError("GELU tables of different input formats cannot share the RTL table unit")
    return tuple(tables), index, (in_mins.pop() if in_mins else -128), out_bits


def tile_hw(graph: ir.Graph, design: Design, board: Board) -> TileHw:
    e = design.engine
    xs, ws, ks = _gemm_operands(graph)
    if not ks:
        raise InputError(f"model '{graph.name}' has no matrix products for the GEMM engine")
    xb = max(_tensor_bits(graph, t) for t in xs)
    wb = max([8] + [_tensor_bits(graph, t) for t in ws])
    if e.dsp_packing:
        if not board.dsp.int8_packing:
            raise InputError(f"board '{board.name}': its {board.dsp.name} cannot pack two products per DSP "
                             f"(set dsp_packing to false)")
        if xb + wb > PACK_SHIFT:
            raise InputError(f"dsp_packing: operands of {xb} x {wb} bits do not fit two products in one "
                             f"{board.dsp.name} (need {xb} + {wb} <= {PACK_SHIFT})")
    gemms = [op for op in graph.ops if isinstance(op, ir.MATMUL_OPS)]
    accb = max(op.bounds.acc_bits for op in gemms)
    bias_rows = max([1] + [op.requant.bias.shape[0] for op in graph.ops_of(ir.GemmOp) if op.requant.bias.ndim > 1])
    bb = max(signed_bits(op.requant.bias.min(), op.requant.bias.max()) for op in gemms)
    res = [op.residual for op in graph.ops_of(ir.Linear) if op.residual is not None]
    rb = max([8] + [_tensor_bits(graph, t) for t in res])
    mults = [int(v) for op in gemms for v in (op.requant.mult.min(), op.requant.mult.max())] + [
        split_residual_mult(v)[0] for op in gemms if op.requant.res_mult is not None for v in op.requant.res_mult]
    if min(mults) < 0 or max(mults) >= 2 ** MULT_BITS:
        raise InputError(f"a requantization multiplier does not fit {MULT_BITS} unsigned bits")
    if max(int(op.requant.shift.max()) for op in gemms) >= 2 ** SHIFT_BITS:
        raise InputError(f"a requantization shift does not fit {SHIFT_BITS} bits")
    ob = 8
    for op in gemms:
        rq = op.requant
        ob = max(ob, _tensor_bits(graph, op.output) if rq.qmin is None else signed_bits(rq.qmin, rq.qmax))
    tables, _, in_min, gelu_ob = gelu_tables(graph)
    return TileHw(tm=e.tm, fixed_lanes=e.tn_fixed, pot_lanes=e.tn_pot, dsp_packing=bool(e.dsp_packing), act_bits=xb,
                  weight_bits=wb, acc_bits=accb, kc_max=max(math.ceil(k / e.tm) for k in ks), bias_rows=bias_rows,
                  residual_bits=rb, bias_bits=bb,
                  output_bits=max(ob, gelu_ob),
                  gelu_tables=tables, gelu_in_min=in_min, gelu_output_bits=gelu_ob)


def softmax_hw(graph: ir.Graph, lanes: int) -> SoftmaxUnit | None:
    ops = graph.ops_of(ir.Softmax)
    if not ops:
        return None
    params: list[E2SoftmaxParams] = [op.unit for op in ops]
    p = params[0]
    shared = ("exp_frac", "recip_bits", "sum_frac", "code_max", "out_bits")
    for q in params[1:]:
        if any(getattr(q, k) != getattr(p, k) for k in shared):
            raise InputError("softmax layers with different table parameters cannot share the RTL unit")
    # the smallest shift of stage 2 is (sum_frac - 1) + RECIP_FRAC - out_frac; it must be >= 1
    if min(p.sum_frac - 1 + RECIP_FRAC - q.out_frac for q in params) < 1:
        raise InputError("softmax: an output scale finer than the reciprocal table is not supported")
    return softmax_unit(params, max(graph.tensors[op.input].shape[-1] for op in ops), lanes)


def layernorm_hw(graph: ir.Graph, lanes: int) -> LayerNormUnit | None:
    ops = graph.ops_of(ir.LayerNorm)
    if not ops:
        return None
    units = [op.unit for op in ops]
    if any(abs(int(v)) >= 2 ** (ln_num.GAIN_BITS - 1) for u in units for v in (u.gain.min(), u.gain.max())):
        raise InputError(f"a LayerNorm gain does not fit {ln_num.GAIN_BITS} signed bits")
    return layernorm_unit([(op.unit, graph.tensors[op.input].bounds) for op in ops], lanes)


def eltwise_hw(graph: ir.Graph, lanes: int) -> EltwiseHw:
    ops = graph.ops_of(ir.Add) + graph.ops_of(ir.Requantize)
    if not ops:
        return EltwiseHw(lanes=lanes)
    a = [_tensor_bits(graph, op.a if isinstance(op, ir.Add) else op.input) for op in ops]
    b = [_tensor_bits(graph, op.b) for op in ops if isinstance(op, ir.Add)]
    bb = max(signed_bits(op.requant.bias.min(), op.requant.bias.max()) for op in ops)
    ob = max(signed_bits(op.requant.qmin, op.requant.qmax) for op in ops)
    k_max = max(graph.tensors[op.output].shape[-1] for op in ops)
    return EltwiseHw(lanes=lanes, a_bits=max(a), b_bits=max([8] + b), bias_bits=max(bb, 2), output_bits=ob,
                     max_beats=-(-k_max // lanes))


def rtl_design(graph: ir.Graph, design: Design, board: Board) -> RtlDesign:
    """The units of ``design`` for the integer graph ``graph`` (what ``load_build(DIR).graph`` holds)."""
    if not graph.is_integer():
        raise InputError("the RTL units are generated from an integer graph (see accelgen.design.integer_graph)")
    e = design.engine
    tables, index, in_min, gelu_ob = gelu_tables(graph)
    gelu = GeluHw(lanes=e.ew_lanes, tables=tables, in_min=in_min, output_bits=gelu_ob) if tables else None
    names = tuple(unique_identifiers([f"gelu_{op}" for op in index]).values())
    return RtlDesign(tile=tile_hw(graph, design, board), softmax=softmax_hw(graph, e.sm_lanes),
                     layernorm=layernorm_hw(graph, e.ln_lanes), gelu=gelu, eltwise=eltwise_hw(graph, e.ew_lanes),
                     gelu_index=index, gelu_names=_table_names(index, names))


def _table_names(index: dict[str, int], names: tuple[str, ...]) -> tuple[str, ...]:
    """One identifier per distinct table: the sanitized name of the first layer using it."""
    out: dict[int, str] = {}
    for (op, t), name in zip(index.items(), names):
        out.setdefault(t, name)
    return tuple(out[t] for t in sorted(out))


# ---------------------------------------------------------------------------------------------- ports
@dataclass(frozen=True)
class Port:
    direction: str  # "input" | "output"
    width: int
    name: str


def _p(direction: str, width: int, name: str) -> Port:
    return Port(direction, max(int(width), 1), name)


def tile_ports(t: TileHw) -> list[Port]:
    i, o = "input", "output"
    n = len(t.gelu_tables)
    return [
        _p(i, 1, "ld_w_en"), _p(i, 1, "ld_q_en"), _p(i, 1, "ld_b_en"), _p(i, 1, "ld_bank"),
        _p(i, addr_bits(t.lanes), "ld_lane"), _p(i, addr_bits(t.kc_max), "ld_addr"),
        _p(i, addr_bits(t.bias_rows), "ld_brow"), _p(i, t.tm * t.weight_bits, "ld_w"), _p(i, t.mult_bits, "ld_mult"),
        _p(i, t.mult_bits, "ld_res_mult"), _p(i, t.res_shift_bits, "ld_res_shift"), _p(i, t.shift_bits, "ld_shift"),
        _p(i, t.bias_bits, "ld_bias"),
        _p(i, 1, "cmd_valid"), _p(o, 1, "cmd_ready"), _p(i, 1, "cmd_bank"), _p(i, 16, "cmd_rows"),
        _p(i, clog2(t.kc_max + 1), "cmd_kc"), _p(i, clog2(t.bias_rows + 1), "cmd_bias_rows"),
        _p(i, 1, "cmd_has_res"), _p(i, 1, "cmd_clamp"), _p(i, t.output_bits, "cmd_qmin"),
        _p(i, t.output_bits, "cmd_qmax"),
        _p(i, 1, "cmd_gelu"), _p(i, clog2(n) if n > 1 else 1, "cmd_gelu_sel"),
        _p(i, 1, "x_valid"), _p(o, 1, "x_ready"), _p(i, t.tm * t.act_bits, "x_data"), _p(i, 1, "x_last"),
        _p(i, 1, "r_valid"), _p(o, 1, "r_ready"), _p(i, t.lanes * t.residual_bits, "r_data"),
        _p(o, 1, "y_valid"), _p(i, 1, "y_ready"), _p(o, t.lanes * t.output_bits, "y_data"), _p(o, 1, "y_last"),
        _p(o, 1, "idle"),
    ]


def _stream_ports(in_width: int, out_width: int) -> list[Port]:
    i, o = "input", "output"
    return [_p(i, 1, "s_valid"), _p(o, 1, "s_ready"), _p(i, in_width, "s_data"), _p(i, 1, "s_last"),
            _p(o, 1, "m_valid"), _p(i, 1, "m_ready"), _p(o, out_width, "m_data"), _p(o, 1, "m_last"),
            _p(o, 1, "idle")]


def softmax_ports(s: SoftmaxUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(s.max_beats + 1), "cfg_beats"), _p(i, clog2(s.lanes + 1), "cfg_tail"),
            _p(i, CFG_BITS, "cfg_in_shift"), _p(i, CFG_BITS, "cfg_out_frac"), _p(i, s.output_bits, "cfg_out_max"),
            *_stream_ports(s.lanes * s.input_bits, s.lanes * s.output_bits)]


def layernorm_ports(n: LayerNormUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(n.max_beats + 1), "cfg_beats"), _p(i, clog2(n.lanes + 1), "cfg_tail"),
            _p(i, clog2(n.max_dim + 1), "cfg_dim"), _p(i, n.eps_bits, "cfg_eps"), _p(i, n.shift_bits, "cfg_shift"),
            _p(i, n.output_bits, "cfg_out_min"), _p(i, n.output_bits, "cfg_out_max"),
            _p(i, 1, "ld_en"), _p(i, addr_bits(n.max_beats), "ld_beat"), _p(i, addr_bits(n.lanes), "ld_lane"),
            _p(i, n.gain_bits, "ld_gain"), _p(i, n.bias_bits, "ld_bias"),
            *_stream_ports(n.lanes * n.input_bits, n.lanes * n.output_bits)]


def gelu_ports(g: GeluHw) -> list[Port]:
    n = len(g.tables)
    return [_p("input", clog2(n) if n > 1 else 1, "cfg_sel"),
            *_stream_ports(g.lanes * g.input_bits, g.lanes * g.output_bits)]


def eltwise_ports(e: EltwiseHw) -> list[Port]:
    i = "input"
    return [_p(i, clog2(e.max_beats + 1), "cfg_beats"), _p(i, clog2(e.lanes + 1), "cfg_tail"),
            _p(i, e.mult_bits, "cfg_mult"), _p(i, e.mult_bits, "cfg_res_mult"), _p(i, e.bias_bits, "cfg_bias"),
            _p(i, e.shift_bits, "cfg_shift"), _p(i, 1, "cfg_clamp"), _p(i, e.output_bits, "cfg_qmin"),
            _p(i, e.output_bits, "cfg_qmax"),
            *_stream_ports(e.lanes * (e.a_bits + e.b_bits), e.lanes * e.output_bits)]


def unit_ports(kind: str, unit) -> list[Port]:
    return {"gemm_tile": tile_ports, "e2softmax": softmax_ports, "ailayernorm": layernorm_ports,
            "gelu": gelu_ports, "eltwise": eltwise_ports}[kind](unit)


def softmax_config(p: E2SoftmaxParams, n: int, lanes: int) -> dict[str, int]:
    beats = -(-n // lanes)
    return {"cfg_beats": beats, "cfg_tail": n - (beats - 1) * lanes, "cfg_in_shift": p.in_frac - p.exp_frac,
            "cfg_out_frac": p.out_frac, "cfg_out_max": int(p.out_max)}


def layernorm_config(p: ln_num.AILayerNormParams, lanes: int) -> dict[str, int]:
    beats = -(-p.dim // lanes)
    return {"cfg_beats": beats, "cfg_tail": p.dim - (beats - 1) * lanes, "cfg_dim": p.dim, "cfg_eps": int(p.eps),
            "cfg_shift": int(p.shift), "cfg_out_min": int(p.out_min), "cfg_out_max": int(p.out_max)}
