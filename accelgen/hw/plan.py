"""The plan of a design (its "program"): the steps the accelerator runs per image (with the GELU-fusion
rule), where every tensor lives in the on-chip activation memories, and how each GEMM's output rows are
dealt to tiles and lanes.

Everything here is decided at compile time; the perf model prices it, and it reaches the hardware through
the layer descriptors (hw/descriptors.py) and the parameter blob (codegen/pack.py); the C++ units only
follow it (docs/hls.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import singledispatch

import numpy as np

from .. import ir
from ..design import Engine
from ..errors import InputError
from .constants import FIXED_WEIGHT_BITS, MAX_ACT_BITS, MAX_GELU_ENTRIES, NUM_MEMORIES
from .units import check_layernorm_layers, check_softmax_layers


@dataclass(frozen=True, eq=False)
class Step:
    """One hardware step: a graph op, or a linear layer with the GELU fused into its requantization, or
    one head of an attention op (``head``: see head_by_head)."""

    ops: tuple[ir.Op, ...]
    output: str
    head: int | None = None

    @property
    def op(self) -> ir.Op:
        return self.ops[0]

    @property
    def op_names(self) -> str:
        return " + ".join(op.name for op in self.ops)

    @property
    def name(self) -> str:
        return self.op_names if self.head is None else f"{self.op_names} head {self.head}"

    @property
    def gelu(self) -> ir.Gelu | None:
        return self.ops[1] if len(self.ops) > 1 else None


@dataclass(frozen=True)
class View:
    """A tensor as the hardware stores it: rows x cols (attention maps: heads * tokens rows)."""

    rows: int
    cols: int


@dataclass(frozen=True)
class Place:
    """Where a tensor lives: memory, first word, words (of TM elements) per row."""

    mem: int
    base: int
    stride: int


@dataclass(frozen=True)
class Tile:
    """One output tile: the rows on the fixed-point and power-of-two lanes (lane order, no gaps) and the
    store slot of every lane in use (fixed lanes first). Lane i of a scheme stores at slot
    (scheme's first slot) + i // TM, bank (rot + i) % TM: its row's bank (tile_banks)."""

    fixed: tuple[int, ...]
    pot: tuple[int, ...]
    slots: tuple[int, ...]


@dataclass(frozen=True)
class TilePlan:
    tiles: tuple[Tile, ...]

    @property
    def slots(self) -> int:
        return max(max(t.slots) + 1 for t in self.tiles)


@dataclass(frozen=True, eq=False)
class Program:
    graph: ir.Graph
    engine: Engine
    steps: tuple[Step, ...]
    views: dict[str, View]
    places: dict[str, Place]
    depth: int  # words per bank of each activation memory
    tiles: dict[str, TilePlan]  # per DDR GEMM step name

    @property
    def output_step(self) -> Step:
        return next(s for s in self.steps if s.output == self.graph.output)


# ----------------------------------------------------------------------------------------------
# Steps


def consumers(graph: ir.Graph) -> dict[str, list[ir.Op]]:
    users: dict[str, list[ir.Op]] = defaultdict(list)
    for op in graph.ops:
        for name in op.inputs:
            users[name].append(op)
    return users


@singledispatch
def takes_gelu(op: ir.Op) -> bool:
    """Whether ``op``'s requantization stage can apply a GELU that is its only consumer (the fusion rule)."""
    return False


@takes_gelu.register
def _(op: ir.Linear) -> bool:
    return True


def schedule(graph: ir.Graph) -> tuple[Step, ...]:
    """Graph ops in order; a linear layer whose only consumer is a GELU takes the GELU into its
    requantization stage (one table lookup per lane, docs/hardware.md); attention runs head by head."""
    return head_by_head(graph, fuse_gelus(graph))


def fuse_gelus(graph: ir.Graph) -> tuple[Step, ...]:
    users = consumers(graph)
    steps, fused = [], set()
    for op in graph.ops:
        if op.name in fused:
            continue
        follower = users.get(op.output, [])
        if takes_gelu(op) and op.output != graph.output and len(follower) == 1 and isinstance(follower[0], ir.Gelu):
            steps.append(Step((op, follower[0]), follower[0].output))
            fused.add(follower[0].name)
        else:
            steps.append(Step((op,), op.output))
    return tuple(steps)


MAP_OPS = (ir.Softmax, ir.Requantize)  # ops between QK^T and AV that map one attention map to another


def attention_chain(graph: ir.Graph, op: ir.Op, users: dict[str, list[ir.Op]]) -> tuple[ir.Op, ...] | None:
    """QK^T -> (softmax, requantizations) -> AV when each attention map has that one reader (so one head's
    maps can be computed end to end before the next head's), else None."""
    if not isinstance(op, ir.AttnScores):
        return None
    chain = [op]
    while not isinstance(chain[-1], ir.AttnContext):
        readers = users.get(chain[-1].output, [])
        if chain[-1].output == graph.output or len(readers) != 1:
            return None
        nxt = readers[0]
        if isinstance(nxt, ir.AttnContext) and (nxt.probs != chain[-1].output or nxt.heads != op.heads):
            return None
        if not isinstance(nxt, (ir.AttnContext, *MAP_OPS)):
            return None
        chain.append(nxt)
    return tuple(chain)


def head_by_head(graph: ir.Graph, steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """Every QK^T -> softmax -> AV chain runs one head end to end before the next (QK^T of head h, its
    softmax and requantizations, its AV), at the place of its AV step: only one head's score and
    probability maps are on chip at a time (head_sliced). The per-head steps are the same units on one
    head's slice; the AV of head h writes its columns of the context."""
    users = consumers(graph)
    chains = [c for c in (attention_chain(graph, s.op, users) for s in steps) if c is not None]
    moved = {op.name for c in chains for op in c}
    last = {c[-1].name: c for c in chains}
    out = []
    for step in steps:
        if step.op.name in last:
            chain = last[step.op.name]
            out += [Step((op,), op.output, h) for h in range(chain[0].heads) for op in chain]
        elif step.op.name not in moved:
            out.append(step)
    return tuple(out)


def head_sliced(steps: tuple[Step, ...]) -> frozenset[str]:
    """Attention maps computed head by head: on chip they hold one head (tokens x tokens), reused by each."""
    return frozenset(s.output for s in steps if s.head is not None and not isinstance(s.op, ir.AttnContext))


def fused_gelus(steps: tuple[Step, ...]) -> dict[str, ir.Gelu]:
    """Linear layer name -> the GELU its requantization applies."""
    return {s.op.name: s.gelu for s in steps if s.gelu is not None}


def gelu_table_entries(graph: ir.Graph) -> int:
    """Entries of every GELU table the accelerator holds (the largest table; smaller ones are zero padded),
    1 when there is no GELU."""
    return max([len(g.unit.values) for g in graph.ops_of(ir.Gelu)] or [1])


def image_patch(graph: ir.Graph) -> ir.PatchEmbed:
    """The patch embedding that reads the quantized image (the only consumer the hardware supports)."""
    users = consumers(graph)[graph.ops[0].output] if graph.ops else []
    if not graph.ops or not isinstance(graph.ops[0], ir.InputQuant):
        raise InputError(f"model '{graph.name}': the first op must quantize the input image")
    if len(users) != 1 or not isinstance(users[0], ir.PatchEmbed):
        raise InputError(f"model '{graph.name}': the quantized image must feed exactly one patch embedding")
    return users[0]


def tensor_views(graph: ir.Graph, sliced: frozenset[str] = frozenset()) -> dict[str, View]:
    """2-D views of every integer tensor as it is stored on chip: the image as patch rows (im2col), token
    tensors as they are, attention maps (heads, tokens, tokens) as heads * tokens rows, or as one head's
    tokens rows when ``sliced`` (head_sliced)."""
    patch = image_patch(graph)
    views = {}
    for name, spec in graph.tensors.items():
        if name == graph.input:
            continue
        shape = spec.shape
        if name == patch.input:
            c, h, w = shape
            p = patch.patch
            if h % p or w % p:
                raise InputError(f"layer '{patch.name}': image {h}x{w} is not a multiple of the patch {p}")
            views[name] = View((h // p) * (w // p), c * p * p)
        elif len(shape) == 2:
            views[name] = View(*shape)
        elif len(shape) == 3:
            views[name] = View(shape[1] if name in sliced else shape[0] * shape[1], shape[2])
        else:
            raise InputError(f"tensor '{name}': unsupported shape {shape}")
    return views


def image_lanes(patch: int, width: int, tm: int, word_bits: int) -> int:
    """Pixels the input loader places per cycle: a run of consecutive pixels inside one DDR word and one
    patch row, so they land in consecutive columns of one patch row, one per memory bank (at most tm)."""
    per_word = word_bits // 8
    return max(n for n in range(1, min(patch, per_word, tm) + 1)
               if patch % n == 0 and width % n == 0 and per_word % n == 0)


# ----------------------------------------------------------------------------------------------
# Tensor placement


def activation_bits(graph: ir.Graph, placed) -> int:
    """Element width of the activation memories: the widest tensor placed in them."""
    return max(ir.signed_bits(*graph.tensors[t].bounds) for t in placed)


def lifetimes(steps: tuple[Step, ...]) -> dict[str, tuple[int, int]]:
    """Tensor -> (first producing step, last consuming step), inclusive (head by head, one tensor is
    written by several steps)."""
    span: dict[str, list[int]] = {}
    for i, step in enumerate(steps):
        span.setdefault(step.output, [i, i])
        for op in step.ops:
            for name in op.inputs:
                if name in span:
                    span[name][1] = max(span[name][1], i)
    return {k: (v[0], v[1]) for k, v in span.items()}


def separated_pairs(steps: tuple[Step, ...]) -> list[tuple[str, str]]:
    """Tensor pairs a unit reads in the same cycle, which must therefore live in different memories:
    the GEMM input and its residual, the two inputs of an add."""
    pairs = []
    for step in steps:
        op = step.op
        if isinstance(op, ir.Linear) and op.residual is not None:
            pairs.append((op.input, op.residual))
        elif isinstance(op, ir.Add):
            pairs.append((op.a, op.b))
    return pairs


def first_fit(size: int, busy: list[tuple[int, int]]) -> int:
    """Lowest base where [base, base + size) overlaps none of the busy [start, end) ranges."""
    base = 0
    for start, end in sorted(busy):
        if base + size <= start:
            break
        base = max(base, end)
    return base


def place_tensors(steps: tuple[Step, ...], views: dict[str, View], output: str, tm: int
                  ) -> tuple[dict[str, Place], int]:
    """The shallower of two greedy placements (the first on a tie): tensors in production order, and
    largest first (which keeps a big tensor, the MLP hidden layer, from landing beside a smaller one its
    memory did not need). Returns the placements and the bank depth (words)."""
    order = list(dict.fromkeys(s.output for s in steps if s.output != output))
    by_size = sorted(order, key=lambda t: -views[t].rows * math.ceil(views[t].cols / tm))  # stable on ties
    tries, errors = [], []
    for names in (order, by_size):
        try:
            tries.append(place_in_order(names, steps, views, tm))
        except InputError as err:
            errors.append(err)
    if not tries:
        raise errors[0]
    return min(tries, key=lambda placed: placed[1])


def place_in_order(names: list[str], steps: tuple[Step, ...], views: dict[str, View], tm: int
                   ) -> tuple[dict[str, Place], int]:
    """Greedy placement of ``names`` in that order: a tensor goes to an allowed memory (not the one of a
    tensor it must be separated from) at the lowest free base over its lifetime, preferring the memory whose
    high-water mark grows least."""
    life = lifetimes(steps)
    apart: dict[str, set[str]] = defaultdict(set)
    for a, b in separated_pairs(steps):
        if a == b:
            raise InputError(f"tensor '{a}' is read twice in one cycle (an add of a tensor with itself)")
        apart[a].add(b)
        apart[b].add(a)
    places: dict[str, Place] = {}
    spans: dict[int, list[tuple[str, int, int]]] = defaultdict(list)  # mem -> (tensor, base, end)
    high = [0] * NUM_MEMORIES
    for name in names:
        view = views[name]
        stride = math.ceil(view.cols / tm)
        size = view.rows * stride
        lo, hi = life[name]
        banned = {places[p].mem for p in apart[name] if p in places}
        best = None
        for mem in range(NUM_MEMORIES):
            if mem in banned:
                continue
            busy = [(b, e) for t, b, e in spans[mem] if not (life[t][1] < lo or life[t][0] > hi)]
            base = first_fit(size, busy)
            key = (max(high[mem], base + size) - high[mem], base, mem)
            if best is None or key < best[0]:
                best = (key, mem, base)
        if best is None:
            raise InputError(f"tensor '{name}' cannot be placed apart from all of {sorted(apart[name])}")
        _, mem, base = best
        places[name] = Place(mem, base, stride)
        spans[mem].append((name, base, base + size))
        high[mem] = max(high[mem], base + size)
    return places, max(1, max(high))


# ----------------------------------------------------------------------------------------------
# Output tiles


def tile_count(m_fixed, m_pot, tn_fixed: int, tn_pot: int):
    """Output tiles when fixed rows go to fixed lanes and power-of-two rows to PoT lanes in parallel
    (works on NumPy arrays too)."""
    fixed = -(-m_fixed // tn_fixed)
    if tn_pot == 0:
        return fixed
    return np.maximum(fixed, -(-m_pot // tn_pot))


def scheme_slots(lanes: int, tm: int) -> int:
    """Store slots of one scheme's lanes: lane i stores in slot i // tm (power-of-two lanes after the
    fixed lanes' ceil(tn_fixed / tm) slots)."""
    return -(-lanes // tm)


def layer_slots(m_fixed, m_pot, tn_fixed: int, tn_pot: int, tm: int):
    """Store slots of a weight GEMM (its TilePlan.slots, the descriptor's D_SLOTS) in closed form, for the
    search (works on NumPy arrays too): the first tile holds the most lanes of each scheme; with
    power-of-two rows its PoT lanes store after the fixed lanes' scheme_slots(tn_fixed) slots."""
    fixed = scheme_slots(np.minimum(tn_fixed, m_fixed), tm)
    pot = scheme_slots(tn_fixed, tm) + scheme_slots(np.minimum(tn_pot, m_pot), tm)
    return np.where(np.asarray(m_pot) > 0, pot, fixed)


def bank_quota(count: int, tm: int, first: int) -> np.ndarray:
    """Rows per memory bank when ``count`` rows are dealt round robin over the tm banks from bank
    ``first`` on: the only counts whose round-robin order visits consecutive banks without a gap."""
    return count // tm + ((np.arange(tm) - first) % tm < count % tm)


def round_robin(rows: np.ndarray, tm: int, first: int) -> np.ndarray:
    """``rows`` in bank round-robin order from bank ``first``: the j-th row of every bank (ascending)
    before the (j+1)-th, banks in the order first, first + 1, ... (mod tm)."""
    banks = rows % tm
    nth = np.zeros(len(rows), np.int64)
    for b in range(tm):
        nth[banks == b] = np.arange(int((banks == b).sum()))
    return rows[np.lexsort(((banks - first) % tm, nth))]


def pot_row_order(errors: np.ndarray, tm: int) -> np.ndarray:
    """Rows in the order they become power-of-two (the first n of it: the n PoT rows), by increasing
    PoT error within bank quotas: the n-th PoT row comes from bank (m - n) % tm, so the m - n fixed
    rows and the n PoT rows both fill their banks round robin (bank_quota; plan_tiles needs that)."""
    m = len(errors)
    by_error = [list(r) for r in (np.flatnonzero(np.arange(m) % tm == b)[np.argsort(errors[b::tm], kind="stable")]
                                  for b in range(tm))]
    order = [by_error[(m - 1 - n) % tm].pop(0) for n in range(m)]
    return np.asarray(order, np.int64)


def plan_tiles(pot_mask: np.ndarray, tn_fixed: int, tn_pot: int, tm: int, layer: str = "") -> TilePlan:
    """Fixed rows go to the fixed lanes and power-of-two rows to the PoT lanes, each scheme's rows in
    bank round-robin order (fixed from bank 0, PoT from the bank after the last fixed row), tile after
    tile (tiles = the larger of the two counts). Lane i of a tile then holds the row of bank
    (rot + i) % tm for the tile's rotation rot: it stores in slot i // tm (PoT: after the fixed slots),
    so a store bank reads a fixed position of the lanes rotated by rot (hls/gemm_engine.h)."""
    rows = np.arange(len(pot_mask))
    fixed, pot = rows[~pot_mask], rows[pot_mask]
    if len(pot) and tn_pot == 0:
        raise InputError("power-of-two rows need power-of-two lanes (tn_pot > 0)")
    first_pot = len(fixed) % tm
    for what, chosen, first in (("fixed-point", fixed, 0), ("power-of-two", pot, first_pot)):
        have = np.bincount(chosen % tm, minlength=tm)
        want = bank_quota(len(chosen), tm, first)
        if np.any(have != want):
            bank = int(np.flatnonzero(have != want)[0])
            raise InputError(f"layer '{layer}': its {len(chosen)} {what} rows hold {have[bank]} rows of memory bank "
                             f"{bank} (row % {tm}), the tiles need {want[bank]}: choose power-of-two rows per bank "
                             "(leave pot_rows to `accelgen build`, or see docs/hardware.md)")
    fixed, pot = round_robin(fixed, tm, 0), round_robin(pot, tm, first_pot)
    count = tile_count(len(fixed), len(pot), tn_fixed, tn_pot)
    pot_slot0 = scheme_slots(tn_fixed, tm)
    tiles = []
    for t in range(count):
        f = tuple(int(r) for r in fixed[t * tn_fixed:(t + 1) * tn_fixed])
        p = tuple(int(r) for r in pot[t * tn_pot:(t + 1) * tn_pot]) if tn_pot else ()
        slots = tuple(i // tm for i in range(len(f))) + tuple(pot_slot0 + j // tm for j in range(len(p)))
        tiles.append(Tile(f, p, slots))
    return TilePlan(tuple(tiles))


def has_attention(graph: ir.Graph) -> bool:
    """Whether attention products run on the GEMM engine (their tiles need the fixed lanes' store slots)."""
    return bool(graph.ops_of(ir.AttnScores) or graph.ops_of(ir.AttnContext))


def slots_max(plans, attention: bool, tm: int, tn_fixed: int) -> int:
    """Store slots of the engine (the HLS SLOTS_MAX, the RTL tile's ring): the most a weight GEMM's tile
    plan uses, and with ``attention`` the attention tiles' fixed lanes."""
    slots = [p.slots for p in plans]
    if attention:
        slots.append(scheme_slots(tn_fixed, tm))
    return max(slots)


def pot_mask(weight: ir.Weight) -> np.ndarray:
    return np.zeros(weight.shape[0], bool) if weight.pot_rows is None else np.asarray(weight.pot_rows, bool)


# ----------------------------------------------------------------------------------------------
# Checks of what the hardware template supports


def regular_step(cols: tuple[int, ...], what: str, op: ir.Op) -> int:
    """The constant column step of per-head column offsets (0 for one head)."""
    step = cols[1] - cols[0] if len(cols) > 1 else 0
    if any(c != cols[0] + h * step for h, c in enumerate(cols)):
        raise InputError(f"layer '{op.name}': {what} column offsets {cols} are not evenly spaced")
    return step


def row_range(op: ir.Linear) -> tuple[int, int]:
    """(first row, count) of the rows a linear layer reads (a contiguous range)."""
    if op.rows is None:
        return 0, -1
    rows = tuple(op.rows)
    if rows != tuple(range(rows[0], rows[0] + len(rows))):
        raise InputError(f"layer '{op.name}': reads non-contiguous token rows {rows}")
    if op.residual is not None:
        raise InputError(f"layer '{op.name}': a residual input needs all token rows")
    return rows[0], len(rows)


@singledispatch
def check_op(op: ir.Op) -> None:
    """What the template supports of one op (its plan entry); an op type without one is not supported."""
    raise InputError(f"layer '{op.name}': the hardware template has no unit for {op.kind} ops")


@check_op.register(ir.InputQuant)
@check_op.register(ir.Softmax)  # the unit's checks span its layers (check_softmax_layers)
@check_op.register(ir.LayerNorm)  # (check_layernorm_layers)
@check_op.register(ir.Add)
@check_op.register(ir.Requantize)
def _(op) -> None:
    return None


@check_op.register
def _(op: ir.GemmOp) -> None:
    bits = op.weight.bits
    fixed = np.asarray(op.weight.values, np.int64)[~pot_mask(op.weight)]
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if bits not in FIXED_WEIGHT_BITS or fixed.min(initial=0) < lo or fixed.max(initial=0) > hi:
        raise InputError(f"layer '{op.name}': fixed-point weights must be 8 or 4-bit integers")


@check_op.register
def _(op: ir.Linear) -> None:
    row_range(op)
    check_op.dispatch(ir.GemmOp)(op)


@check_op.register
def _(op: ir.AttnScores) -> None:
    regular_step(op.q_cols, "query", op)
    regular_step(op.k_cols, "key", op)


@check_op.register
def _(op: ir.AttnContext) -> None:
    regular_step(op.v_cols, "value", op)


@check_op.register
def _(op: ir.Gelu) -> None:
    if len(op.unit.values) > MAX_GELU_ENTRIES:
        raise InputError(f"layer '{op.name}': GELU input has more than 8 bits")
    if op.unit.values.min() < -128 or op.unit.values.max() > 127:
        raise InputError(f"layer '{op.name}': GELU output does not fit 8 bits")


def check_supported(graph: ir.Graph, steps: tuple[Step, ...]) -> None:
    if not graph.is_integer():
        raise InputError(f"model '{graph.name}': code generation needs the integer graph")
    for name, spec in graph.tensors.items():
        if name in (graph.input, graph.output) or spec.bounds is None:
            continue
        if ir.signed_bits(*spec.bounds) > MAX_ACT_BITS:
            raise InputError(f"tensor '{name}': values {spec.bounds} need more than {MAX_ACT_BITS} bits on chip")
    out = next(s for s in steps if s.output == graph.output)
    if not isinstance(out.op, ir.Linear):
        raise InputError(f"model '{graph.name}': the output must come from a linear layer "
                         f"(got {out.op.kind} '{out.op.name}')")
    for op in graph.ops:
        check_op(op)
    check_softmax_layers(graph)
    check_layernorm_layers(graph)


class ActivationMemories:
    """The activation memories a graph's plan needs at any TM: NUM_MEMORIES memories of TM banks of
    ``depth(tm)`` words of ``bits`` bits (the placement depends on TM only, so the search prices it
    without building whole programs)."""

    def __init__(self, graph: ir.Graph):
        self.steps = schedule(graph)
        self.views = tensor_views(graph, head_sliced(self.steps))
        self.output = graph.output
        self._depth: dict[int, int] = {}
        self.bits = activation_bits(graph, [s.output for s in self.steps if s.output != graph.output])

    def depth(self, tm: int) -> int:
        if tm not in self._depth:
            self._depth[tm] = place_tensors(self.steps, self.views, self.output, tm)[1]
        return self._depth[tm]


@singledispatch
def step_tiles(op: ir.Op, engine: Engine) -> TilePlan | None:
    """How a step's output rows are dealt to tiles and lanes (None: its weights do not stream from DDR)."""
    return None


@step_tiles.register
def _(op: ir.GemmOp, engine: Engine) -> TilePlan:
    return plan_tiles(pot_mask(op.weight), engine.tn_fixed, engine.tn_pot, engine.tm)


def build_program(graph: ir.Graph, engine: Engine) -> Program:
    steps = schedule(graph)
    check_supported(graph, steps)
    views = tensor_views(graph, head_sliced(steps))
    places, depth = place_tensors(steps, views, graph.output, engine.tm)
    tiles = {s.name: t for s in steps if (t := step_tiles(s.op, engine)) is not None}
    return Program(graph, engine, steps, views, places, depth, tiles)
