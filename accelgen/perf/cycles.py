"""Cycle counts of the hardware template (docs/hardware.md), from its loop nests.

The pipeline depths are the latencies of our RTL units (accelgen/hw/constants.py); the RTL benches measure
cycles per row / tile / token and check them against these functions (within 5%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hw.constants import ELTWISE_LATENCY, GEMM_PIPELINE, LAYERNORM_LATENCY, SOFTMAX_LATENCY
from ..hw.descriptors import DESC_WORDS
from ..hw.plan import image_lanes
from ..hw.stream import ceil_div


@dataclass(frozen=True)
class GemmTiming:
    cycles: int
    compute: int  # compute cycles of all tiles
    load: int  # DDR load cycles of all tiles
    tiles: int

    @property
    def bound(self) -> str:
        return "memory" if self.load > self.compute else "compute"


def gemm_tile_compute(rows: int, k: int, tm: int, slots: int = 1):
    """One output tile: every row streams ceil(k / tm) reduction steps, II = 1, plus the pipeline; a row
    also takes ``slots`` store beats, overlapped with the next row's reduction (a row takes the larger of
    the two), and the last row's slots - 1 further store beats follow the pipeline."""
    kc = ceil_div(k, tm)
    return (rows - 1) * np.maximum(kc, slots) + kc + GEMM_PIPELINE + slots - 1


def descriptor_cycles(steps: int) -> int:
    """Every step first copies its DESC_WORDS descriptor words from the s_axilite table into registers,
    one word per cycle (hls/accel_desc.h load_desc)."""
    return steps * DESC_WORDS


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
                items: int, slots: int) -> GemmTiming:
    compute = int(gemm_tile_compute(rows, k, tm, slots))
    load = int(gemm_load(ddr_bytes, bytes_per_cycle, items))
    return GemmTiming(cycles=int(gemm_cycles(compute, load, tiles)), compute=tiles * compute, load=load, tiles=tiles)


def attention_cycles(rows: int, k: int, m: int, heads: int, tm: int, tn_fixed: int, fill: int) -> int:
    """QK^T or AV: per head, ceil(m / tn_fixed) tiles on the fixed lanes, operands on chip; each tile's
    operand is first copied from the activation memory into the lanes (``fill`` cycles per head). A tile
    of l lanes stores in ceil(l / tm) slots (hls/gemm_engine.h: the last tile may hold fewer lanes)."""
    full, last = divmod(m, tn_fixed)
    tiles = full * gemm_tile_compute(rows, k, tm, ceil_div(tn_fixed, tm))
    if last:
        tiles += gemm_tile_compute(rows, k, tm, ceil_div(last, tm))
    return heads * (int(tiles) + fill)


def key_fill(k: int, m: int, tm: int) -> int:
    """QK^T: every key row (lane) takes ceil(k / tm) tm-wide reads."""
    return m * ceil_div(k, tm)


def value_fill(k: int, m: int, tm: int, tn_fixed: int) -> int:
    """AV: each tile reads its lanes' value columns one token row (tm columns per read) at a time."""
    full, rest = divmod(m, tn_fixed)
    return k * (full * ceil_div(tn_fixed, tm) + (ceil_div(rest, tm) if rest else 0))


def softmax_cycles(rows: int, n: int, lanes: int) -> int:
    """Three row stages (maximum, sum relative to it, outputs; docs/numerics.md section 5) overlap one row
    apart: two extra rows to drain, plus the pipeline."""
    return (rows + 2) * ceil_div(n, lanes) + SOFTMAX_LATENCY


def layernorm_cycles(tokens: int, d: int, lanes: int) -> int:
    return (tokens + 1) * ceil_div(d, lanes) + LAYERNORM_LATENCY


def layernorm_param_cycles(d: int) -> int:
    """Loading a layer's per-channel biases and gains into the unit, one value per cycle."""
    return 2 * d


def input_cycles(rows: int, width: int, patch: int, tm: int, word_bits: int) -> int:
    """Loading one image of ``rows`` (channels x height) rows of ``width`` pixels from DDR."""
    return rows * width // image_lanes(patch, width, tm, word_bits)


def eltwise_cycles(rows: int, k: int, lanes: int) -> int:
    return rows * ceil_div(k, lanes) + ELTWISE_LATENCY
