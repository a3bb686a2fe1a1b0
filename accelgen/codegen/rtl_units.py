"""The Verilog units of a design: ``rtl_design(graph, design, board)`` derives every unit's parameters from
the integer graph and the design -- widths from the proven bounds, lane counts from the engine, the
E2Softmax / AILayerNorm units shared with the HLS config (accelgen/hw/units.py) -- and the RTL unit of each
op. Their ports and per-layer runtime configuration are accelgen/hw/rtl_interfaces.py; rendering is
rtl_project.py."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch

from .. import ir
from ..board import Board
from ..design import Design
from ..errors import InputError
from ..hw.plan import has_attention, slots_max, step_tiles
from ..hw.rtl_interfaces import unit_kind
from ..hw.units import (EltwiseUnit, GemmUnit, GeluUnit, LayerNormUnit, SoftmaxUnit, eltwise_unit, gelu_unit,
                        gelu_layer_tables, gemm_unit, graph_layernorm_unit, graph_softmax_unit)
from .names import unique_identifiers


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
    slots = slots_max((step_tiles(op, e) for op in graph.ops_of(ir.GemmOp)), has_attention(graph), e.tm, e.tn_fixed)
    return RtlDesign(tile=replace(gemm_unit(graph, e, board), slots=slots), softmax=graph_softmax_unit(graph, e.sm_lanes),
                     layernorm=graph_layernorm_unit(graph, e.ln_lanes), gelu=gelu,
                     eltwise=eltwise_unit(graph, e.ew_lanes), gelu_index=index, gelu_names=_table_names(index, names))


def _table_names(index: dict[str, int], names: tuple[str, ...]) -> tuple[str, ...]:
    """One identifier per distinct table: the sanitized name of the first layer using it."""
    out: dict[int, str] = {}
    for (op, t), name in zip(index.items(), names):
        out.setdefault(t, name)
    return tuple(out[t] for t in sorted(out))
