"""Design-space exploration: engine shape x per-layer power-of-two share and weight bits, under caps.

For every engine (tm, fixed lanes, PoT lanes, unit lanes; activations stay on chip) that fits the
board's caps, each weight layer gets a menu of options (output tiles T -> the fewest PoT rows that fit T
tiles, 8- or 4-bit fixed rows), each with its exact cycles (perf/cycles.py) and accuracy cost (mean
relative squared weight error of the layer). Meeting a cycle budget at the least total cost is a
multiple-choice knapsack; a Lagrangian sweep solves it. Among engines meeting the target the least cost
wins, then the fewer resources.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from ..board import RESOURCE_KINDS, Board
from ..design import Design, Engine, LayerChoice
from ..errors import InfeasibleError, InputError
from ..hw.constants import ELTWISE_LANES, FIXED_WEIGHT_BITS
from ..hw.plan import layer_slots
from . import cycles as cy
from .model import Evaluation, Profile, bytes_per_cycle, evaluate, other_cycles
from .resource_model import design_resources

DEFAULT_CAPS = {"dsp": 0.8, "lut": 0.7, "ff": 0.5, "bram36": 0.8, "uram": 0.8}
TM = (4, 8, 16, 32, 64)
TN_FIXED = (2, 4, 8, 16, 32, 64, 128, 256, 512)
POT_PER_FIXED = (0, 0.25, 0.5, 1, 2, 4)
UNIT_LANES = (1, 2, 4, 8, 16)
SOFTMAX_LANE_FACTOR = (1, 2)  # softmax rows (one per head and query) outnumber LayerNorm tokens
WEIGHT_MEMORY = ("bram", "lutram")
TILE_STEPS = 24  # options per layer between the fewest tiles (most PoT rows) and no PoT rows
BITS = FIXED_WEIGHT_BITS


@dataclass(frozen=True)
class Point:
    """One evaluated design on the Pareto front."""

    engine: Engine
    fps: float
    cost: float
    resources: dict[str, int]
    score: float  # sum over kinds of used / cap (how much of the allowed board it takes)


@dataclass(frozen=True)
class Exploration:
    design: Design
    evaluation: Evaluation
    cost: float
    front: tuple[Point, ...]
    engines_fitting: int
    engines_tried: int


class Menu:
    """Per-layer options (cycles, cost, PoT rows, bits) of one engine, padded to a matrix."""

    def __init__(self, prof: Profile, engine: Engine, bpc: float, word_bits: int):
        w = prof.weights
        m = np.array([x.m for x in w])[:, None]
        k = np.array([x.k for x in w])[:, None]
        rows = np.array([x.rows for x in w])[:, None]
        t_max = -(-m // engine.tn_fixed)
        t_min = -(-m // (engine.tn_fixed + engine.tn_pot)) if engine.tn_pot else t_max
        steps = np.linspace(0.0, 1.0, TILE_STEPS)[None, :]
        tiles = np.round(t_min + (t_max - t_min) * steps).astype(np.int64)
        tiles = np.repeat(tiles, len(BITS), axis=1)
        bits = np.tile(np.array(BITS), TILE_STEPS)[None, :].repeat(len(w), axis=0)
        m_pot = np.clip(m - tiles * engine.tn_fixed, 0, m)
        slots = layer_slots(m - m_pot, m_pot, engine.tn_fixed, engine.tn_pot, engine.tm)
        compute = cy.gemm_tile_compute(rows, k, engine.tm, slots)
        ddr = np.stack([x.ddr_bytes(m_pot[i], bits[i], engine.tm, word_bits) for i, x in enumerate(w)]) \
            if w else np.zeros((0, 1), np.int64)
        items = np.array([x.items(engine.tm) for x in w], np.int64)[:, None]
        self.cycles = cy.gemm_cycles(compute, cy.gemm_load(ddr, bpc, items), tiles)
        self.cost = np.stack([x.cost(m_pot[i], bits[i], engine.tm) for i, x in enumerate(w)]) if w else np.zeros((0, 1))
        self.m_pot, self.bits = m_pot, bits

    def pick(self, lam: float) -> np.ndarray:
        """Per layer, the option minimising cost + lam * cycles (ties: fewer cycles)."""
        score = self.cost + lam * self.cycles + 1e-18 * self.cycles
        return np.argmin(score, axis=1)

    def fastest(self) -> np.ndarray:
        return np.argmin(self.cycles + 1e-9 * self.cost / (1.0 + self.cost.max(initial=0.0)), axis=1)

    def total(self, choice: np.ndarray) -> tuple[int, float]:
        idx = np.arange(len(choice))
        return int(self.cycles[idx, choice].sum()), float(self.cost[idx, choice].sum())

    def cheapest_within(self, budget: int) -> np.ndarray | None:
        """The least-cost choice whose cycles fit ``budget`` (Lagrangian sweep), or None."""
        fast = self.fastest()
        if self.total(fast)[0] > budget:
            return None
        free = self.pick(0.0)
        if self.total(free)[0] <= budget:
            return free
        lo, hi = 0.0, 1.0
        while self.total(self.pick(hi))[0] > budget:
            hi *= 4.0
            if hi > 1e12:
                return fast
        for _ in range(50):
            mid = (lo + hi) / 2
            if self.total(self.pick(mid))[0] <= budget:
                hi = mid
            else:
                lo = mid
        return self.pick(hi)


def engines(board: Board) -> list[Engine]:
    packing = board.dsp.int8_packing
    out = []
    for tm, tnf, ratio, lanes, sm_factor, memory in itertools.product(TM, TN_FIXED, POT_PER_FIXED, UNIT_LANES,
                                                                       SOFTMAX_LANE_FACTOR, WEIGHT_MEMORY):
        tnp, sm_lanes = int(tnf * ratio), lanes * sm_factor
        if (ratio and tnp < 2) or sm_lanes > tm:  # unit lanes read consecutive activation banks: at most tm
            continue
        out.append(Engine(tm=tm, tn_fixed=tnf, tn_pot=tnp, dsp_packing=packing, sm_lanes=sm_lanes, ln_lanes=lanes,
                          ew_lanes=ELTWISE_LANES, weight_memory=memory))
    return out


def resource_score(util: dict[str, float], caps: dict[str, float]) -> float:
    return sum(util[k] / caps[k] for k in RESOURCE_KINDS if caps[k] > 0 and np.isfinite(util[k]))


def make_design(prof: Profile, base: Design, menu: Menu, choice: np.ndarray) -> Design:
    tm = base.engine.tm
    layers = tuple(LayerChoice(w.name, int(menu.bits[i, choice[i]]), w.pot_rows(int(menu.m_pot[i, choice[i]]), tm))
                   for i, w in enumerate(prof.weights))
    return Design(model=base.model, model_sha256=base.model_sha256, board=base.board, clock_mhz=base.clock_mhz,
                  engine=base.engine, layers=layers, caps=base.caps)


def explore(prof: Profile, board: Board, target_fps: float | None, clock_mhz: float, caps: dict[str, float],
            model: str, model_sha256: str) -> Exploration:
    """Best design for ``target_fps`` (None: the fastest that fits). Raises InfeasibleError (exit 3)."""
    if target_fps is not None and not target_fps > 0:
        raise InputError(f"--fps must be a positive number or 'max' (got {target_fps})")
    bpc = bytes_per_cycle(board, clock_mhz)
    budget = None if target_fps is None else int(clock_mhz * 1e6 / target_fps)
    candidates, points, fitting, tried = [], [], 0, 0  # (key, order, base design, menu, choice)
    fastest: list[tuple] = []  # each engine's fastest choice, as candidates
    fixed_of: dict = {}  # cycles of the ops without weights, by what they depend on
    menu_of: dict = {}  # per-layer options and their solutions, by what they depend on
    for engine in engines(board):
        tried += 1
        resources = design_resources(engine, board, prof.plan)  # before the layer choices (slots estimated)
        util = resources.utilization(board)
        if any(util[k] > caps[k] for k in caps):
            continue
        fitting += 1
        base = Design(model, model_sha256, board.name, clock_mhz, engine, (), dict(caps))
        units = (engine.tm, engine.tn_fixed, engine.sm_lanes, engine.ln_lanes, engine.ew_lanes)
        if units not in fixed_of:
            fixed_of[units] = sum(other_cycles(w, engine, bpc, board.hp_ports.width_bits)
                                  for w in prof.works if w.unit != "gemm") + cy.descriptor_cycles(prof.plan.steps)
        fixed = fixed_of[units]
        lanes = (engine.tm, engine.tn_fixed, engine.tn_pot)
        if lanes not in menu_of:
            menu = Menu(prof, engine, bpc, board.hp_ports.width_bits)
            menu_of[lanes] = (menu, menu.fastest(), {})
        menu, fast, solved = menu_of[lanes]
        fast_cycles, fast_cost = menu.total(fast)
        score = resource_score(util, caps)
        fps = clock_mhz * 1e6 / (fast_cycles + fixed)
        points.append(Point(engine, fps, fast_cost / max(len(prof.weights), 1), resources.as_dict(),
                            score))
        fastest.append(((-fps, fast_cost), len(fastest), base, menu, fast))
        if budget is None:
            key = (-fps, fast_cost, score)
            choice = fast
        else:
            if fixed not in solved:
                solved[fixed] = menu.cheapest_within(budget - fixed)
            choice = solved[fixed]
            if choice is None:
                continue
            key = (round(menu.total(choice)[1], 12), score)
        candidates.append((key, len(candidates), base, menu, choice))
    if not fastest:
        raise InfeasibleError(f"no accelerator fits {board.name} within the utilisation caps "
                              f"({', '.join(f'{k} <= {v:.0%}' for k, v in caps.items())})")
    best = chosen(prof, board, caps, candidates)
    if best is None:
        quickest = chosen(prof, board, caps, fastest)
        if quickest is None:
            raise InfeasibleError(f"no accelerator fits {board.name} within the utilisation caps "
                                  f"({', '.join(f'{k} <= {v:.0%}' for k, v in caps.items())})")
        ev = evaluate(prof, make_design(prof, *quickest), board)
        raise InfeasibleError(f"{target_fps:g} FPS is not reachable on {board.name} at {clock_mhz:g} MHz: the "
                              f"fastest design that fits reaches {ev.fps:.1f} FPS, limited by "
                              f"{limiting_factor(ev, board, caps)}")
    base, menu, choice = best
    front = pareto_front(points)
    search = {"target_fps": target_fps, "engines_tried": tried, "engines_fitting": fitting,
              "pareto_front": [front_entry(p) for p in front]}
    design = replace(make_design(prof, base, menu, choice), search=search)
    return Exploration(design, evaluate(prof, design, board), menu.total(choice)[1] / max(len(prof.weights), 1),
                       front, fitting, tried)


def chosen(prof: Profile, board: Board, caps: dict[str, float], candidates: list[tuple]) -> tuple | None:
    """(base design, menu, choice) of the best candidate whose design fits the caps once its store slots
    are those of its layers' tile plans (the search priced them estimated, resource_model.slots_estimate)."""
    for _, _, base, menu, choice in sorted(candidates, key=lambda c: c[:2]):
        if evaluate(prof, make_design(prof, base, menu, choice), board).fits(caps):
            return base, menu, choice
    return None


def front_entry(p: Point) -> dict:
    return {"engine": vars(p.engine), "fps": round(p.fps, 3),
            "weight_error_cost": round(p.cost, 8), "resources": p.resources}


def limiting_factor(ev: Evaluation, board: Board, caps: dict[str, float]) -> str:
    memory = sum(layer.cycles for layer in ev.layers if layer.bound == "memory")
    if memory > ev.cycles / 2:
        return f"DDR bandwidth ({board.ddr_gbps(ev.clock_mhz):.1f} GB/s usable; {memory / ev.cycles:.0%} of " \
               f"the cycles are memory-bound)"
    kind = max((k for k in RESOURCE_KINDS if caps[k] > 0), key=lambda k: ev.utilization[k] / caps[k])
    return f"{kind.upper()} ({ev.utilization[kind]:.0%} used, cap {caps[kind]:.0%}); a larger engine " \
           f"would exceed the caps"


def pareto_front(points: list[Point], keep: int = 40) -> tuple[Point, ...]:
    """Designs not dominated in (higher FPS, lower cost, lower resource score)."""
    pts = sorted(points, key=lambda p: (-p.fps, p.cost, p.score))
    front: list[Point] = []
    for p in pts:
        if not any(q.fps >= p.fps and q.cost <= p.cost and q.score <= p.score for q in front):
            front.append(p)
    return tuple(front[:keep])
