"""Performance of a design: per-layer cycles and bound, FPS, latency, DDR traffic and resources.

``profile`` reads everything the model needs off the graph once (loop bounds, per-row weight errors);
``evaluate`` is then a cheap pure function of (profile, design, board).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ir
from ..board import Board
from ..design import Design, Engine
from ..passes.mixed_scheme import fixed_row_errors, pot_row_errors
from . import cycles as cy
from .memory import live_activation_bytes
from .resources import BufferPlan, Resources, design_resources
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
    pot_order: np.ndarray  # rows by increasing power-of-two error
    cum_pot: np.ndarray  # (m+1,): sum of the first j PoT errors in pot_order, divided by m
    cum_fix4_rest: np.ndarray  # (m+1,): 4-bit fixed-point error of the rows after the first j, / m

    @property
    def extra_bytes(self) -> int:
        """DDR bytes streamed besides the weights: the bias/position table."""
        return self.bias_rows * self.m * cy.BIAS_TABLE_BYTES

    def cost(self, m_pot: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """Mean relative squared weight error of the layer with the ``m_pot`` best rows as PoT."""
        return self.cum_pot[m_pot] + np.where(bits == 4, self.cum_fix4_rest[m_pot], 0.0)

    def pot_rows(self, m_pot: int) -> tuple[int, ...]:
        return tuple(sorted(int(r) for r in self.pot_order[:m_pot]))


@dataclass(frozen=True, eq=False)
class Profile:
    name: str
    works: tuple[Work, ...]
    weights: tuple[WeightLayer, ...]
    plan: BufferPlan


def weight_layer(index: int, work: Work, op: ir.GemmOp) -> WeightLayer:
    pot_err = pot_row_errors(op.weight)
    order = np.argsort(pot_err, kind="stable")
    fix4 = fixed_row_errors(op.weight, 4)[order]
    m = op.weight.shape[0]
    cum_pot = np.concatenate([[0.0], np.cumsum(pot_err[order])]) / m
    cum_fix4_rest = (fix4.sum() - np.concatenate([[0.0], np.cumsum(fix4)])) / m
    bias_rows = work.rows if isinstance(op, ir.PatchEmbed) and op.pos is not None else 0
    return WeightLayer(index, op.name, work.rows, work.k, work.m, bias_rows, order, cum_pot, cum_fix4_rest)


def profile(graph: ir.Graph) -> Profile:
    works = workload(graph)
    weights = tuple(weight_layer(i, w, op) for i, (w, op) in enumerate(zip(works, graph.ops)) if w.unit == "gemm")
    gelus = [op.unit.values.size if op.unit is not None else 2 ** graph.tensors[op.input].quant.bits
             for op in graph.ops_of(ir.Gelu)]
    plan = BufferPlan(k_max=max(max(w.k for w in works if w.unit in ("gemm", "attn")), 1),
                      tokens_max=max(w.k for w in works if w.unit == "softmax") if any(
                          w.unit == "softmax" for w in works) else 1,
                      dim_max=max([w.k for w in works if w.unit == "layernorm"] or [1]),
                      live_bytes=live_activation_bytes(graph), gelu_entries=max(gelus or [0]))
    return Profile(graph.name, works, weights, plan)


def design_cost(prof: Profile, design: Design) -> float:
    """Accuracy-cost proxy of a design: mean over weight layers of the mean relative squared error its
    PoT rows and bit widths add to the weights (0 for all-8-bit fixed point)."""
    choices = {c.name: c for c in design.layers}
    total = 0.0
    for w in prof.weights:
        c = choices.get(w.name)
        if c is not None:
            total += float(w.cost(np.array(len(c.pot_rows)), np.array(c.weight_bits)))
    return total / max(len(prof.weights), 1)


WEIGHT_PORTS = 1  # HP ports the generated accelerator streams its weights through (one m_axi bundle)


def bytes_per_cycle(board: Board, clock_mhz: float) -> float:
    """DDR bytes per cycle of the weight stream: the DDR's usable share, capped by the port(s) it uses."""
    return min(board.ddr_gbps(clock_mhz) * 1e9 / (clock_mhz * 1e6), WEIGHT_PORTS * board.hp_ports.width_bits / 8)


def fixed_unit_cycles(work: Work, engine: Engine, word_bits: int) -> int:
    """Cycles of the ops that do not stream weights (image load, attention products, nonlinear units)."""
    if work.unit == "input":
        return cy.input_cycles(work.rows, work.k, work.m, engine.tm, word_bits)
    if work.unit == "attn":
        fill = (cy.key_fill(work.k, work.m, engine.tm) if work.kind == ir.AttnScores.kind
                else cy.value_fill(work.k, work.m, engine.tm, engine.tn_fixed))
        return cy.attention_cycles(work.rows, work.k, work.m, work.heads, engine.tm, engine.tn_fixed, fill)
    if work.unit == "softmax":
        return cy.softmax_cycles(work.rows, work.k, engine.sm_lanes)
    if work.unit == "layernorm":
        return cy.layernorm_cycles(work.rows, work.k, engine.ln_lanes) + cy.layernorm_param_cycles(work.k)
    if work.unit == "eltwise":
        return cy.eltwise_cycles(work.rows, work.k, engine.ew_lanes)
    return 0


def ddr_cycles(work: Work, bpc: float) -> int:
    """Activations live on chip; only the image comes from DDR."""
    return int(np.ceil(work.ddr_bytes / bpc))


def other_cycles(work: Work, engine: Engine, bpc: float, word_bits: int) -> int:
    """Cycles of an op that streams no weights: its unit's compute, or its DDR traffic if that is longer."""
    return max(fixed_unit_cycles(work, engine, word_bits), ddr_cycles(work, bpc))


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
    cycles: int
    clock_mhz: float
    resources: Resources
    utilization: dict[str, float]

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
    layers = []
    for i, work in enumerate(prof.works):
        if work.unit == "gemm":
            wl, choice = weight_of[i], choices.get(work.name)
            bits = 8 if choice is None else choice.weight_bits
            m_pot = 0 if choice is None else len(choice.pot_rows)
            tiles = cy.gemm_tiles(wl.m - m_pot, m_pot, engine.tn_fixed, engine.tn_pot)
            ddr = cy.weight_bytes(wl.m, wl.k, m_pot, bits) + wl.extra_bytes
            items = int(cy.fill_items(wl.m, wl.k, engine.tm, wl.bias_rows))
            t = cy.gemm_timing(wl.rows, wl.k, tiles, engine.tm, ddr, bpc, items)
            layers.append(LayerPerf(work.name, work.kind, work.unit, t.cycles, t.bound, ddr, work.macs,
                                    m_pot / wl.m, bits))
            continue
        word_bits = board.hp_ports.width_bits
        compute = fixed_unit_cycles(work, engine, word_bits)
        transfer = ddr_cycles(work, bpc)
        bound = "-" if compute == 0 and transfer == 0 else ("memory" if transfer > compute else "compute")
        layers.append(LayerPerf(work.name, work.kind, work.unit, max(compute, transfer), bound,
                                work.ddr_bytes, work.macs, None, None))
    res = design_resources(engine, board, prof.plan)
    return Evaluation(tuple(layers), sum(layer.cycles for layer in layers), clock, res, res.utilization(board))
