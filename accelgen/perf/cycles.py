"""Cycle counts of the hardware template (docs/hardware.md), from its loop nests.

The pipeline depths below are the latencies of our RTL units (rtl/); the RTL benches measure cycles
per row / tile / token and check them against these functions (within 5%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GEMM_PIPELINE = 14  # rtl/gemm_tile.v: weight read 1, lanes padded to 7, requant 4, GELU 1, out queue 1
SOFTMAX_LATENCY = 12  # rtl/e2softmax.v: stage 1 (7) + statistics queue (1) + stage 2 (4) + out queue
LAYERNORM_LATENCY = 16  # rtl/ailayernorm.v: sums (4) + variance, rsqrt (4) + queue + normalise (7) + queue
ELTWISE_LATENCY = 5  # rtl/eltwise_unit.v: requant 4 + out queue (rtl/gelu_unit.v padded to the same)
ITEM_MIN_BITS = 64  # one tile-buffer item: a TM-wide weight vector, a 64-bit row meta, or packed biases
REQUANT_BYTES = 16  # per output row streamed with the weights: mult (2), shift (1), bias (8), pad
BIAS_TABLE_BYTES = 8  # per (row, channel) of the patch-embedding bias/position table
POT_CODE_BITS = 4


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class GemmTiming:
    cycles: int
    compute: int  # compute cycles of all tiles
    load: int  # DDR load cycles of all tiles
    tiles: int

    @property
    def bound(self) -> str:
        return "memory" if self.load > self.compute else "compute"


def gemm_tile_compute(rows: int, k: int, tm: int) -> int:
    """One output tile: every row streams ceil(k / tm) reduction steps, II = 1, plus the pipeline."""
    return rows * ceil_div(k, tm) + GEMM_PIPELINE


def gemm_tiles(m_fixed: int, m_pot: int, tn_fixed: int, tn_pot: int) -> int:
    """Output tiles when fixed rows go to fixed lanes and power-of-two rows to PoT lanes in parallel."""
    fixed = ceil_div(m_fixed, tn_fixed)
    if m_pot == 0:
        return fixed
    if tn_pot == 0:
        raise ValueError("power-of-two rows need power-of-two lanes")
    return max(fixed, ceil_div(m_pot, tn_pot))


def weight_bytes(m: int, k: int, m_pot: int, bits: int) -> int:
    """DDR bytes of one layer's weights: fixed rows at ``bits``, PoT rows as 4-bit codes, + requant."""
    return (m - m_pot) * ceil_div(k * bits, 8) + m_pot * ceil_div(k * POT_CODE_BITS, 8) + m * REQUANT_BYTES


def biases_per_item(tm: int) -> int:
    """64-bit biases of the patch-embedding table packed into one tile-buffer item."""
    return max(ITEM_MIN_BITS, tm * 8) // 64


def fill_items(m, k, tm: int, bias_rows):
    """Items a layer writes into the engine's tile buffers, one per cycle: per output row one meta item, its
    bias item(s) and ceil(k / tm) weight vectors (works on NumPy arrays too)."""
    bias_items = np.where(bias_rows > 0, -(-np.asarray(bias_rows) // biases_per_item(tm)), 1)
    return m * (1 + bias_items + ceil_div(k, tm))


def load_cycles(ddr_bytes, bytes_per_cycle):
    """DDR cycles to stream ``ddr_bytes`` (works on NumPy arrays too)."""
    return np.ceil(ddr_bytes / bytes_per_cycle).astype(np.int64)


def gemm_cycles(compute_tile, load_total, tiles):
    """Double-buffered weight tiles: load tile 1; then each step computes tile i while tile i+1 loads
    (max of the two); then compute the last tile. A memory-bound layer takes its whole DDR time plus one
    tile's compute, however many lanes there are."""
    load_total, tiles = np.asarray(load_total, np.int64), np.asarray(tiles, np.int64)
    memory_bound = load_total >= compute_tile * tiles
    return np.where(memory_bound, load_total + compute_tile, -(-load_total // tiles) + tiles * compute_tile)


def gemm_load(ddr_bytes, bytes_per_cycle, items):
    """A layer's weight stream is limited by DDR and by the tile buffers' one item per cycle."""
    return np.maximum(load_cycles(ddr_bytes, bytes_per_cycle), items)


def gemm_timing(rows: int, k: int, tiles: int, tm: int, ddr_bytes: int, bytes_per_cycle: float,
                items: int) -> GemmTiming:
    compute = gemm_tile_compute(rows, k, tm)
    load = int(gemm_load(ddr_bytes, bytes_per_cycle, items))
    return GemmTiming(cycles=int(gemm_cycles(compute, load, tiles)), compute=tiles * compute, load=load, tiles=tiles)


def attention_cycles(rows: int, k: int, m: int, heads: int, tm: int, tn_fixed: int, fill: int) -> int:
    """QK^T or AV: per head, ceil(m / tn_fixed) tiles on the fixed lanes, operands on chip; each tile's
    operand is first copied from the activation memory into the lanes (``fill`` cycles per head)."""
    return heads * (ceil_div(m, tn_fixed) * gemm_tile_compute(rows, k, tm) + fill)


def key_fill(k: int, m: int, tm: int) -> int:
    """QK^T: every key row (lane) takes ceil(k / tm) tm-wide reads."""
    return m * ceil_div(k, tm)


def value_fill(k: int, m: int, tm: int, tn_fixed: int) -> int:
    """AV: each tile reads its lanes' value columns one token row (tm columns per read) at a time."""
    full, rest = divmod(m, tn_fixed)
    return k * (full * ceil_div(tn_fixed, tm) + (ceil_div(rest, tm) if rest else 0))


def softmax_cycles(rows: int, n: int, lanes: int) -> int:
    """Stage 1 of row r+1 overlaps stage 2 of row r: one extra row to drain, plus the pipeline."""
    return (rows + 1) * ceil_div(n, lanes) + SOFTMAX_LATENCY


def layernorm_cycles(tokens: int, d: int, lanes: int) -> int:
    return (tokens + 1) * ceil_div(d, lanes) + LAYERNORM_LATENCY


def layernorm_param_cycles(d: int) -> int:
    """Loading a layer's per-channel biases and gains into the unit, one value per cycle."""
    return 2 * d


def image_lanes(patch: int, width: int, tm: int, word_bits: int) -> int:
    """Pixels the input loader places per cycle: a run of consecutive pixels inside one DDR word and one
    patch row, so they land in consecutive columns of one patch row, one per memory bank (at most tm)."""
    per_word = word_bits // 8
    return max(n for n in range(1, min(patch, per_word, tm) + 1)
               if patch % n == 0 and width % n == 0 and per_word % n == 0)


def input_cycles(rows: int, width: int, patch: int, tm: int, word_bits: int) -> int:
    """Loading one image of ``rows`` (channels x height) rows of ``width`` pixels from DDR."""
    return rows * width // image_lanes(patch, width, tm, word_bits)


def eltwise_cycles(rows: int, k: int, lanes: int) -> int:
    return rows * ceil_div(k, lanes) + ELTWISE_LATENCY
