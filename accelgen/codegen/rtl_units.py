"""The Verilog units of a design and their interfaces: ``rtl_design(graph, design, board)`` derives every
unit's parameters from the integer graph and the design -- widths from the proven bounds, lane counts from
the engine, the E2Softmax / AILayerNorm units shared with the HLS config (accelgen/hw/units.py) -- and the
ports and per-layer runtime configuration of each unit (what the RTL simulator drives). Rendering is
rtl_project.py."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch

from .. import ir
from ..board import Board
from ..design import Design
from ..errors import InputError
from ..hw.plan import slots_max, step_tiles
from ..hw.units import (EltwiseUnit, GemmUnit, GeluUnit, LayerNormUnit, SoftmaxUnit, clog2, eltwise_unit, gelu_unit,
                        gelu_layer_tables, gemm_unit, graph_layernorm_unit, graph_softmax_unit)
from ..numerics import layernorm as ln_num
from ..numerics.softmax import E2SoftmaxParams
from .names import unique_identifiers

CFG_BITS = 8  # signed softmax configuration fields (in_frac - F, out_frac)


def addr_bits(n: int) -> int:
    """Address width of an n-entry array (at least 1), as the RTL computes it."""
    return clog2(n) if n > 1 else 1


@singledispatch
def op_unit(op: ir.Op) -> str | None:
    """The kind of the RTL unit that runs ``op`` (None: the op has no RTL unit)."""
    return None


@op_unit.register(ir.GemmOp)
@op_unit.register(ir.AttnScores)
@op_unit.register(ir.AttnContext)
def _(op) -> str:
    return "gemm_tile"


@op_unit.register
def _(op: ir.Softmax) -> str:
    return "e2softmax"


@op_unit.register
def _(op: ir.LayerNorm) -> str:
    return "ailayernorm"


@op_unit.register
def _(op: ir.Gelu) -> str:
    return "gelu"


@op_unit.register(ir.Add)
@op_unit.register(ir.Requantize)
def _(op) -> str:
    return "eltwise"


UNIT_KIND = {GemmUnit: "gemm_tile", SoftmaxUnit: "e2softmax", LayerNormUnit: "ailayernorm", GeluUnit: "gelu",
             EltwiseUnit: "eltwise"}


UNIT_KINDS = tuple(UNIT_KIND.values())


def unit_kind(unit) -> str:
    """The kind (module suffix) of a unit's parameters."""
    return UNIT_KIND[type(unit)]


@dataclass(frozen=True)
class RtlDesign:
    """Every unit of a design (hw/units.py), and the runtime configuration of each layer that uses one."""

    tile: GemmUnit
    softmax: SoftmaxUnit | None
    layernorm: LayerNormUnit | None
    gelu: GeluUnit | None
    eltwise: EltwiseUnit
    gelu_index: dict[str, int] = field(default_factory=dict)  # Gelu op name -> table
    gelu_names: tuple[str, ...] = ()  # Verilog identifiers of the tables

    def units(self) -> dict[str, object]:
        """kind -> parameters of the units the design has, in UNIT_KINDS order."""
        units = (self.tile, self.softmax, self.layernorm, self.gelu, self.eltwise)
        return {unit_kind(u): u for u in units if u is not None}


def rtl_design(graph: ir.Graph, design: Design, board: Board) -> RtlDesign:
    """The units of ``design`` for the integer graph ``graph`` (what ``load_build(DIR).graph`` holds)."""
    if not graph.is_integer():
        raise InputError("the RTL units are generated from an integer graph (see accelgen.design.integer_graph)")
    e = design.engine
    gelu = gelu_unit(graph, e.ew_lanes)
    index = gelu_layer_tables(graph, gelu) if gelu else {}
    names = tuple(unique_identifiers([f"gelu_{op}" for op in index]).values())
    slots = slots_max((step_tiles(op, e) for op in graph.ops_of(ir.GemmOp)), graph, e.tm, e.tn_fixed)
    return RtlDesign(tile=replace(gemm_unit(graph, e, board), slots=slots), softmax=graph_softmax_unit(graph, e.sm_lanes),
                     layernorm=graph_layernorm_unit(graph, e.ln_lanes), gelu=gelu,
                     eltwise=eltwise_unit(graph, e.ew_lanes), gelu_index=index, gelu_names=_table_names(index, names))


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


@singledispatch
def unit_ports(unit) -> list[Port]:
    """The ports of a unit's wrapper module."""
    raise TypeError(f"no RTL unit for {type(unit).__name__}")


@unit_ports.register
def tile_ports(t: GemmUnit) -> list[Port]:
    i, o = "input", "output"
    n = len(t.gelu_tables)
    return [
        _p(i, 1, "ld_w_en"), _p(i, 1, "ld_clr"), _p(i, 1, "ld_q_en"), _p(i, 1, "ld_b_en"), _p(i, 1, "ld_bank"),
        _p(i, addr_bits(t.lanes), "ld_lane"), _p(i, addr_bits(t.max_k_beats), "ld_addr"),
        _p(i, addr_bits(t.slots), "ld_slot"), _p(i, addr_bits(t.tm), "ld_sbank"),
        _p(i, addr_bits(t.max_bias_rows), "ld_brow"), _p(i, t.tm * t.weight_bits, "ld_w"),
        _p(i, t.mult_bits, "ld_mult"),
        _p(i, t.mult_bits, "ld_res_mult"), _p(i, t.res_shift_bits, "ld_res_shift"), _p(i, t.shift_bits, "ld_shift"), _p(i, t.bias_bits, "ld_bias"),
        _p(i, 1, "cmd_valid"), _p(o, 1, "cmd_ready"), _p(i, 1, "cmd_bank"), _p(i, 16, "cmd_rows"),
        _p(i, clog2(t.max_k_beats + 1), "cmd_kc"), _p(i, clog2(t.slots + 1), "cmd_slots"),
        _p(i, addr_bits(t.tm), "cmd_rot_fixed"), _p(i, addr_bits(t.tm), "cmd_rot_pot"),
        _p(i, clog2(t.max_bias_rows + 1), "cmd_bias_rows"),
        _p(i, 1, "cmd_has_res"), _p(i, 1, "cmd_clamp"), _p(i, t.output_bits, "cmd_qmin"),
        _p(i, t.output_bits, "cmd_qmax"),
        _p(i, 1, "cmd_gelu"), _p(i, clog2(n) if n > 1 else 1, "cmd_gelu_sel"),
        _p(i, 1, "x_valid"), _p(o, 1, "x_ready"), _p(i, t.tm * t.input_bits, "x_data"), _p(i, 1, "x_last"),
        _p(i, 1, "r_valid"), _p(o, 1, "r_ready"), _p(i, t.tm * t.residual_bits, "r_data"),
        _p(o, 1, "y_valid"), _p(i, 1, "y_ready"), _p(o, t.tm * t.output_bits, "y_data"), _p(o, t.tm, "y_sel"),
        _p(o, 1, "y_last"), _p(o, 1, "idle"),
    ]


def _stream_ports(in_width: int, out_width: int) -> list[Port]:
    i, o = "input", "output"
    return [_p(i, 1, "s_valid"), _p(o, 1, "s_ready"), _p(i, in_width, "s_data"), _p(i, 1, "s_last"),
            _p(o, 1, "m_valid"), _p(i, 1, "m_ready"), _p(o, out_width, "m_data"), _p(o, 1, "m_last"),
            _p(o, 1, "idle")]


@unit_ports.register
def softmax_ports(s: SoftmaxUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(s.max_beats + 1), "cfg_beats"), _p(i, clog2(s.lanes + 1), "cfg_tail"),
            _p(i, CFG_BITS, "cfg_in_shift"), _p(i, CFG_BITS, "cfg_out_frac"), _p(i, s.output_bits, "cfg_out_max"),
            *_stream_ports(s.lanes * s.input_bits, s.lanes * s.output_bits)]


@unit_ports.register
def layernorm_ports(n: LayerNormUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(n.max_beats + 1), "cfg_beats"), _p(i, clog2(n.lanes + 1), "cfg_tail"),
            _p(i, clog2(n.max_dim + 1), "cfg_dim"), _p(i, n.eps_bits, "cfg_eps"), _p(i, n.shift_bits, "cfg_shift"),
            _p(i, n.output_bits, "cfg_out_min"), _p(i, n.output_bits, "cfg_out_max"),
            _p(i, 1, "ld_en"), _p(i, addr_bits(n.max_beats), "ld_beat"), _p(i, addr_bits(n.lanes), "ld_lane"),
            _p(i, n.gain_bits, "ld_gain"), _p(i, n.bias_bits, "ld_bias"),
            *_stream_ports(n.lanes * n.input_bits, n.lanes * n.output_bits)]


@unit_ports.register
def gelu_ports(g: GeluUnit) -> list[Port]:
    n = len(g.tables)
    return [_p("input", clog2(n) if n > 1 else 1, "cfg_sel"),
            *_stream_ports(g.lanes * g.input_bits, g.lanes * g.output_bits)]


@unit_ports.register
def eltwise_ports(e: EltwiseUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(e.max_beats + 1), "cfg_beats"), _p(i, clog2(e.lanes + 1), "cfg_tail"),
            _p(i, e.mult_bits, "cfg_mult"), _p(i, e.mult_bits, "cfg_res_mult"), _p(i, e.bias_bits, "cfg_bias"),
            _p(i, e.shift_bits, "cfg_shift"), _p(i, 1, "cfg_clamp"), _p(i, e.output_bits, "cfg_qmin"),
            _p(i, e.output_bits, "cfg_qmax"),
            *_stream_ports(e.lanes * (e.a_bits + e.b_bits), e.lanes * e.output_bits)]


def softmax_config(p: E2SoftmaxParams, n: int, lanes: int) -> dict[str, int]:
    beats = -(-n // lanes)
    return {"cfg_beats": beats, "cfg_tail": n - (beats - 1) * lanes, "cfg_in_shift": p.in_frac - p.exp_frac,
            "cfg_out_frac": p.out_frac, "cfg_out_max": int(p.out_max)}


def layernorm_config(p: ln_num.AILayerNormParams, lanes: int) -> dict[str, int]:
    beats = -(-p.dim // lanes)
    return {"cfg_beats": beats, "cfg_tail": p.dim - (beats - 1) * lanes, "cfg_dim": p.dim, "cfg_eps": int(p.eps),
            "cfg_shift": int(p.shift), "cfg_out_min": int(p.out_min), "cfg_out_max": int(p.out_max)}
