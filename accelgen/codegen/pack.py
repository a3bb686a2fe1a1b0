"""The DDR parameter blob: every step's constants in exactly the layout the accelerator reads.

The blob is a sequence of words (Config::WORD_BITS bits, stored little-endian: bit i of a region is bit
i % W of its word i // W). Regions start on word boundaries; their layout and closed-form sizes are
described in accelgen/hw/stream.py (the perf model prices those sizes; tests tie them to what is packed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import singledispatch

import numpy as np

from .. import ir
from ..hw.constants import (BIAS_BITS, GELU_ENTRY_BITS, LN_BIAS_BITS, LN_GAIN_BITS, META_BITS, META_FIELDS,
                            POT_CODE_BITS, PREFIX_BITS)
from ..hw.plan import Program, Step, TilePlan, pot_mask
from ..hw.stream import pot_codes
from ..numerics.primitives import split_residual_mult
from .config import HwConfig


@dataclass(frozen=True)
class Region:
    step: str
    kind: str
    offset: int  # words
    words: int


@dataclass(frozen=True)
class Blob:
    word_bits: int
    data: bytes
    regions: tuple[Region, ...]

    @property
    def words(self) -> int:
        return len(self.data) * 8 // self.word_bits

    def region(self, step: str, kind: str) -> Region:
        for r in self.regions:
            if r.step == step and r.kind == kind:
                return r
        raise KeyError((step, kind))

    def to_map(self) -> dict:
        """JSON-ready map of the regions (for the host driver and for humans)."""
        return {"word_bits": self.word_bits, "words": self.words, "bytes": len(self.data),
                "regions": [{"step": r.step, "kind": r.kind, "offset": r.offset, "words": r.words}
                            for r in self.regions]}


# ----------------------------------------------------------------------------------------------
# Bits


def bits_of(values, width: int) -> np.ndarray:
    """Two's-complement bits (LSB first) of each value, concatenated: uint8 array of len(values) * width."""
    arr = np.asarray(values)
    if arr.dtype == object or width > 63:
        mask = (1 << width) - 1
        words = np.array([int(v) & mask for v in arr.ravel()], dtype=np.uint64)
    else:
        words = (arr.ravel().astype(np.int64) & ((1 << width) - 1)).astype(np.uint64)
    shifts = np.arange(width, dtype=np.uint64)
    return ((words[:, None] >> shifts) & np.uint64(1)).astype(np.uint8).ravel()


def pad_to_words(bits: np.ndarray, word_bits: int) -> np.ndarray:
    return np.concatenate([bits, np.zeros((-len(bits)) % word_bits, np.uint8)])


def to_bytes(bits: np.ndarray) -> bytes:
    return np.packbits(bits, bitorder="little").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """Bits of a blob (inverse of to_bytes)."""
    return np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")


def value_of(bits: np.ndarray, signed: bool) -> int:
    v = sum(int(b) << i for i, b in enumerate(bits))
    return v - (1 << len(bits)) if signed and bits[-1] else v


# ----------------------------------------------------------------------------------------------
# Field encodings


def meta_word(chan: int, slot: int, shift: int, mult: int, res_mult: int) -> int:
    """A row's meta; ``res_mult`` as the numerics hold it (res_mult << res_shift, split here)."""
    res_mult, res_shift = split_residual_mult(res_mult)
    values = {"channel": chan, "slot": slot, "shift": shift, "res_shift": res_shift, "mult": mult,
              "res_mult": res_mult}
    word = 0
    for what, (at, bits) in META_FIELDS.items():
        if not 0 <= values[what] < 2 ** bits:
            raise ValueError(f"row meta: {what} {values[what]} does not fit {bits} bits")
        word |= values[what] << at
    return word


def gelu_entries(table, entries: int) -> np.ndarray:
    values = np.asarray(table.values, dtype=np.int64)
    return np.concatenate([values, np.zeros(entries - len(values), np.int64)])


# ----------------------------------------------------------------------------------------------
# Regions


@dataclass(frozen=True)
class GemmRows:
    """What the engine needs of one GEMM layer, independent of the IR (also used by kernel tests)."""

    values: np.ndarray  # (M, K) integers
    pot: np.ndarray  # (M,) bool
    weight_bits: int
    mult: np.ndarray  # (M,)
    shift: np.ndarray  # (M,)
    bias: np.ndarray  # (M,) or (rows, M)
    res_mult: np.ndarray  # (M,)


def gemm_rows(op: ir.GemmOp) -> GemmRows:
    rq = op.requant
    res = np.zeros_like(rq.mult) if rq.res_mult is None else rq.res_mult
    return GemmRows(np.asarray(op.weight.values, np.int64), pot_mask(op.weight), op.weight.bits, rq.mult,
                    rq.shift, rq.bias, res)


def gemm_stream(rows: GemmRows, plan: TilePlan, tm: int, gelu: np.ndarray | None = None) -> np.ndarray:
    """The bit stream of a GEMM region (module docstring), built a scheme at a time: every row of a
    scheme has the same length (meta, biases, weight vectors)."""
    m, k = rows.values.shape
    kc = math.ceil(k / tm)
    padded = np.zeros((m, kc * tm), np.int64)
    padded[:, :k] = rows.values
    order = [(row, slot, lane >= len(tile.fixed)) for tile in plan.tiles
             for lane, (row, slot) in enumerate(zip(tile.fixed + tile.pot, tile.slots))]
    for row, _, is_pot in order:
        if bool(rows.pot[row]) != is_pot:
            raise ValueError(f"row {row} is on a lane of the other scheme")
    if not order:
        return np.zeros(0, np.uint8) if gelu is None else bits_of(gelu, GELU_ENTRY_BITS)
    ids = np.array([row for row, _, _ in order])
    metas = [meta_word(row, slot, int(rows.shift[row]), int(rows.mult[row]), int(rows.res_mult[row]))
             for row, slot, _ in order]
    biases = rows.bias[:, ids].T if rows.bias.ndim > 1 else rows.bias[ids, None]
    head = np.concatenate([bits_of(np.array(metas, dtype=object), META_BITS).reshape(len(order), META_BITS),
                           bits_of(np.asarray(biases, dtype=object), BIAS_BITS).reshape(len(order), -1)], axis=1)
    pot = np.array([is_pot for _, _, is_pot in order])
    body = {False: bits_of(padded[ids[~pot]], rows.weight_bits).reshape(-1, kc * tm * rows.weight_bits),
            True: bits_of(pot_codes(padded[ids[pot]]), POT_CODE_BITS).reshape(-1, kc * tm * POT_CODE_BITS)}
    position = np.where(pot, np.cumsum(pot) - 1, np.cumsum(~pot) - 1)
    parts = [] if gelu is None else [bits_of(gelu, GELU_ENTRY_BITS)]
    for i, is_pot in enumerate(pot):
        parts += [head[i], body[bool(is_pot)][position[i]]]
    return np.concatenate(parts)


def layernorm_stream(unit, word_bits: int) -> np.ndarray:
    biases = pad_to_words(bits_of(np.asarray(unit.bias, dtype=object), LN_BIAS_BITS), word_bits)
    return np.concatenate([biases, bits_of(unit.gain, LN_GAIN_BITS)])


@singledispatch
def step_regions(op: ir.Op, step: Step, program: Program, hw: HwConfig) -> list[tuple[str, np.ndarray]]:
    """(kind, bits) of the regions one step reads from the blob."""
    return []


@step_regions.register
def _(op: ir.GemmOp, step: Step, program: Program, hw: HwConfig):
    gelu = None if step.gelu is None else gelu_entries(step.gelu.unit, hw.gelu_entries)
    regions = [("gemm", gemm_stream(gemm_rows(op), program.tiles[step.name], hw.gemm.tm, gelu))]
    if isinstance(op, ir.PatchEmbed) and op.prefix_q is not None:
        regions.append(("prefix", bits_of(np.asarray(op.prefix_q, np.int64).ravel(), PREFIX_BITS)))
    return regions


@step_regions.register
def _(op: ir.LayerNorm, step: Step, program: Program, hw: HwConfig):
    return [("layernorm", layernorm_stream(op.unit, hw.word_bits))]


@step_regions.register
def _(op: ir.Gelu, step: Step, program: Program, hw: HwConfig):
    return [("gelu", bits_of(gelu_entries(op.unit, hw.gelu_entries), GELU_ENTRY_BITS))]


def pack_program(program: Program, hw: HwConfig) -> Blob:
    chunks, regions, offset = [], [], 0
    for step in program.steps:
        for kind, bits in step_regions(step.op, step, program, hw):
            bits = pad_to_words(bits, hw.word_bits)
            words = len(bits) // hw.word_bits
            regions.append(Region(step.name, kind, offset, words))
            chunks.append(bits)
            offset += words
    data = to_bytes(np.concatenate(chunks)) if chunks else b""
    return Blob(hw.word_bits, data, tuple(regions))
