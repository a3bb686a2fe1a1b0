"""Performance of a design: per-layer cycles and bound, FPS, latency, DDR traffic and resources.

``profile`` reads everything the model needs off the graph once (loop bounds, per-row weight errors);
``evaluate`` is then a cheap pure function of (profile, design, board).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import singledispatch

import numpy as np

from .. import ir
from ..board import Board
from ..design import Design, Engine
from ..hw import stream
from ..hw.constants import ELTWISE_LANES
from ..hw.plan import (ActivationMemories, fused_gelus, gelu_table_entries, layer_slots, plan_tiles, pot_row_order,
                       schedule, slots_max, tile_count)
from ..hw.units import accumulator_bits, bias_rows_max, config_units
from ..passes import to_integer
from ..passes.mixed_scheme import fixed_row_errors, pot_row_errors
from . import cycles as cy
from .resource_model import BufferPlan, Resources, design_resources
from .workload import Work, workload


@dataclass(frozen=True, eq=False)
class WeightLayer:
    """A GEMM whose weights stream from DDR, with what its scheme choices cost in weight error."""

    index: int  # position in Profile.works
    name: str
    rows: int
    k: int
    m: int
    bias_rows: int  # rows of the patch embedding's bias/position table (0: one bias per output channel)
    gelu_entries: int  # entries of the GELU table fused into its requantization (0: none)
    extra_parts: tuple[int, ...]  # bits of the step's other blob regions (the class-token rows)
    pot_errors: np.ndarray  # (m,): relative squared error of each row as power-of-two
    fix4_errors: np.ndarray  # (m,): the same as 4-bit fixed point
    _by_tm: dict = field(default_factory=dict, repr=False)  # tm -> (pot_order, cum_pot, cum_fix4_rest)

    def ddr_bytes(self, m_pot, bits, tm: int, word_bits: int):
        """DDR bytes of the step's blob regions (hw/stream.py), for ``m_pot`` PoT rows and ``bits``-bit
        fixed rows (works on NumPy arrays too)."""
        gemm = stream.gemm_bits(self.m, self.k, m_pot, bits, tm, self.bias_rows, self.gelu_entries)
        return stream.region_bytes(gemm, word_bits) + sum(stream.region_bytes(b, word_bits) for b in self.extra_parts)

    def items(self, tm: int) -> int:
        """Tile-buffer items of the layer's stream, one per engine beat."""
        return int(stream.gemm_items(self.m, self.k, tm, self.bias_rows, self.gelu_entries))

    def _orders(self, tm: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """pot_order for ``tm`` banks (hw/plan.py) and, (m+1,) each, the PoT error of its first j rows and
        the 4-bit error of the rest, over m."""
        if tm not in self._by_tm:
            order = pot_row_order(self.pot_errors, tm)
            fix4 = self.fix4_errors[order]
            self._by_tm[tm] = (order, np.concatenate([[0.0], np.cumsum(self.pot_errors[order])]) / self.m,
                               (fix4.sum() - np.concatenate([[0.0], np.cumsum(fix4)])) / self.m)
        return self._by_tm[tm]

    def pot_order(self, tm: int) -> np.ndarray:
        """Rows in the order they become power-of-two on an engine with ``tm`` banks."""
        return self._orders(tm)[0]

    def cost(self, m_pot: np.ndarray, bits: np.ndarray, tm: int) -> np.ndarray:
        """Mean relative squared weight error of the layer with its first ``m_pot`` pot_order rows as PoT."""
        _, cum_pot, cum_fix4_rest = self._orders(tm)
        return cum_pot[m_pot] + np.where(bits == 4, cum_fix4_rest[m_pot], 0.0)

    def pot_rows(self, m_pot: int, tm: int) -> tuple[int, ...]:
        return tuple(sorted(int(r) for r in self.pot_order(tm)[:m_pot]))


@dataclass(frozen=True, eq=False)
class Profile:
    name: str
    works: tuple[Work, ...]
    weights: tuple[WeightLayer, ...]
    plan: BufferPlan


def weight_layer(index: int, work: Work, op: ir.GemmOp, lowered: ir.GemmOp, gelu_entries: int) -> WeightLayer:
    """``op`` as imported (its weight errors) and ``lowered`` to integers (its bias table)."""
    bias = lowered.requant.bias
    bias_rows = bias.shape[0] if bias.ndim > 1 else 0
    return WeightLayer(index, op.name, work.rows, work.k, work.m, bias_rows, gelu_entries, work.ddr_parts,
                       pot_row_errors(op.weight), fixed_row_errors(op.weight, 4))


def profile(graph: ir.Graph) -> Profile:
    """What the model needs of the plan of ``graph`` (hw/plan.py): loop bounds, stream sizes, memories.
    Table sizes and activation widths come from the integer graph (weight schemes do not change them)."""
    lowered = graph if graph.is_integer() else to_integer(graph)
    works = workload(lowered)
    fused = fused_gelus(schedule(graph))
    table = gelu_table_entries(lowered)
    weights = tuple(weight_layer(i, w, op, low, table if op.name in fused else 0)
                    for i, (w, op, low) in enumerate(zip(works, graph.ops, lowered.ops)) if w.unit == "gemm")
    acts = ActivationMemories(lowered)
    out = acts.views[lowered.output]
    image = next(w for w in works if w.unit == "input")
    sm, ln = config_units(lowered, 1, 1)
    plan = BufferPlan(k_max=max(max(w.k for w in works if w.unit in ("gemm", "attn")), 1),
                      tokens_max=max(w.k for w in works if w.unit == "softmax") if any(
                          w.unit == "softmax" for w in works) else 1,
                      dim_max=max([w.k for w in works if w.unit == "layernorm"] or [1]),
                      activations=acts, gelu_entries=table, acc_bits=accumulator_bits(lowered),
                      bias_rows_max=bias_rows_max(lowered), out_rows=out.rows, out_cols=out.cols,
                      out_bits=ir.signed_bits(*lowered.tensors[lowered.output].bounds), steps=len(acts.steps),
                      image=(image.m, image.k), attention=any(w.unit == "attn" for w in works),
                      sm_e_bits=sm.exponent_bits, sm_code_bits=sm.code_bits, ln_x_bits=ln.input_bits)
    return Profile(graph.name, works, weights, plan)


def store_slots(prof: Profile, design: Design) -> int:
    """SLOTS_MAX of the design's Config: the largest store slot count of its layers' tile plans (hw/plan.py)
    and of the attention tiles."""
    engine, choices = design.engine, {c.name: c for c in design.layers}
    plans = []
    for w in prof.weights:
        mask = np.zeros(w.m, bool)
        c = choices.get(w.name)
        if c is not None:
            mask[list(c.pot_rows)] = True
        plans.append(plan_tiles(mask, engine.tn_fixed, engine.tn_pot, engine.tm, w.name))
    return slots_max(plans, prof.plan.attention, engine.tm, engine.tn_fixed)


def design_cost(prof: Profile, design: Design) -> float:
    """Accuracy-cost proxy of a design: mean over weight layers of the mean relative squared error its
    PoT rows and bit widths add to the weights (0 for all-8-bit fixed point)."""
    choices = {c.name: c for c in design.layers}
    total = 0.0
    for w in prof.weights:
        c = choices.get(w.name)
        if c is not None:
            total += float(w.cost(np.array(len(c.pot_rows)), np.array(c.weight_bits), design.engine.tm))
    return total / max(len(prof.weights), 1)


WEIGHT_PORTS = 1  # HP ports the generated accelerator streams its weights through (one m_axi bundle)


def bytes_per_cycle(board: Board, clock_mhz: float) -> float:
    """DDR bytes per cycle of the weight stream: the DDR's usable share, capped by the port(s) it uses."""
    return min(board.ddr_gbps(clock_mhz) * 1e9 / (clock_mhz * 1e6), WEIGHT_PORTS * board.hp_ports.width_bits / 8)


@singledispatch
def unit_cycles(op: ir.Op, work: Work, engine: Engine, word_bits: int) -> int:
    """Compute cycles of an op's unit, by op type (its DDR time is ddr_cycles)."""
    raise NotImplementedError(op.kind)


@unit_cycles.register
def _(op: ir.GemmOp, work: Work, engine: Engine, word_bits: int) -> int:
    return 0  # priced with its weight stream, per WeightLayer choice (evaluate, dse.Menu)


@unit_cycles.register
def _(op: ir.InputQuant, work: Work, engine: Engine, word_bits: int) -> int:
    return cy.input_cycles(work.rows, work.k, work.m, engine.tm, word_bits)


@unit_cycles.register
def _(op: ir.AttnScores, work: Work, engine: Engine, word_bits: int) -> int:
    fill = cy.key_fill(work.k, work.m, engine.tm)
    return cy.attention_cycles(work.rows, work.k, work.m, work.heads, engine.tm, engine.tn_fixed, fill)


@unit_cycles.register
def _(op: ir.AttnContext, work: Work, engine: Engine, word_bits: int) -> int:
    fill = cy.value_fill(work.k, work.m, engine.tm, engine.tn_fixed)
    return cy.attention_cycles(work.rows, work.k, work.m, work.heads, engine.tm, engine.tn_fixed, fill)


@unit_cycles.register
def _(op: ir.Softmax, work: Work, engine: Engine, word_bits: int) -> int:
    return work.heads * cy.softmax_cycles(work.rows, work.k, engine.sm_lanes)


@unit_cycles.register
def _(op: ir.LayerNorm, work: Work, engine: Engine, word_bits: int) -> int:
    return cy.layernorm_cycles(work.rows, work.k, engine.ln_lanes) + cy.layernorm_param_cycles(work.k)


@unit_cycles.register
def _(op: ir.Gelu, work: Work, engine: Engine, word_bits: int) -> int:
    return 0 if work.unit == "fused" else cy.eltwise_cycles(work.rows, work.k, ELTWISE_LANES)


@unit_cycles.register(ir.Add)
@unit_cycles.register(ir.Requantize)
def _(op: ir.Op, work: Work, engine: Engine, word_bits: int) -> int:
    return work.heads * cy.eltwise_cycles(work.rows, work.k, ELTWISE_LANES)


def fixed_unit_cycles(work: Work, engine: Engine, word_bits: int) -> int:
    """Cycles of the ops that do not stream weights (image load, attention products, nonlinear units)."""
    return unit_cycles(work.op, work, engine, word_bits)


def ddr_cycles(work: Work, bpc: float, word_bits: int) -> int:
    """Activations live on chip; only the image and the units' parameters come from DDR."""
    return int(np.ceil(work.ddr_bytes(word_bits) / bpc))


def other_cycles(work: Work, engine: Engine, bpc: float, word_bits: int) -> int:
    """Cycles of an op that streams no weights: its unit's compute, or its DDR traffic if that is longer."""
    return max(fixed_unit_cycles(work, engine, word_bits), ddr_cycles(work, bpc, word_bits))


@dataclass(frozen=True)
class LayerPerf:
    name: str
    op: str
    unit: str
    cycles: int
    bound: str  # compute | memory | - (no cycles of its own)
    ddr_bytes: int
    macs: int
    pot_ratio: float | None
    weight_bits: int | None


@dataclass(frozen=True)
class Evaluation:
    layers: tuple[LayerPerf, ...]
    descriptor_cycles: int  # every step's descriptor copy (cycles.descriptor_cycles)
    clock_mhz: float
    resources: Resources
    utilization: dict[str, float]

    @property
    def cycles(self) -> int:
        return sum(layer.cycles for layer in self.layers) + self.descriptor_cycles

    @property
    def fps(self) -> float:
        return self.clock_mhz * 1e6 / self.cycles

    @property
    def latency_ms(self) -> float:
        return self.cycles / (self.clock_mhz * 1e3)

    @property
    def ddr_bytes(self) -> int:
        return sum(layer.ddr_bytes for layer in self.layers)

    def fits(self, caps: dict[str, float]) -> bool:
        return all(self.utilization[k] <= caps[k] for k in caps)


def evaluate(prof: Profile, design: Design, board: Board) -> Evaluation:
    engine, clock = design.engine, design.clock_mhz
    bpc = bytes_per_cycle(board, clock)
    choices = {c.name: c for c in design.layers}
    weight_of = {w.index: w for w in prof.weights}
    word_bits = board.hp_ports.width_bits
    layers = []
    for i, work in enumerate(prof.works):
        if work.unit == "gemm":
            wl, choice = weight_of[i], choices.get(work.name)
            bits = 8 if choice is None else choice.weight_bits
            m_pot = 0 if choice is None else len(choice.pot_rows)
            if m_pot and engine.tn_pot == 0:
                raise ValueError("power-of-two rows need power-of-two lanes")
            tiles = int(tile_count(wl.m - m_pot, m_pot, engine.tn_fixed, engine.tn_pot))
            ddr = int(wl.ddr_bytes(m_pot, bits, engine.tm, word_bits))
            slots = int(layer_slots(wl.m - m_pot, m_pot, engine.tn_fixed, engine.tn_pot, engine.tm))
            t = cy.gemm_timing(wl.rows, wl.k, tiles, engine.tm, ddr, bpc, wl.items(engine.tm), slots)
            layers.append(LayerPerf(work.name, work.kind, work.unit, t.cycles, t.bound, ddr, work.macs,
                                    m_pot / wl.m, bits))
            continue
        compute = fixed_unit_cycles(work, engine, word_bits)
        transfer = ddr_cycles(work, bpc, word_bits)
        bound = "-" if compute == 0 and transfer == 0 else ("memory" if transfer > compute else "compute")
        layers.append(LayerPerf(work.name, work.kind, work.unit, max(compute, transfer), bound,
                                work.ddr_bytes(word_bits), work.macs, None, None))
    res = design_resources(engine, board, prof.plan, store_slots(prof, design))
    return Evaluation(tuple(layers), cy.descriptor_cycles(prof.plan.steps), clock, res, res.utilization(board))
