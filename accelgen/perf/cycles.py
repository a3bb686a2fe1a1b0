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


def load_cycles(ddr_bytes, bytes_per_cycle):
    """DDR cycles to stream ``ddr_bytes`` (works on NumPy arrays too)."""
    return np.ceil(ddr_bytes / bytes_per_cycle).astype(np.int64)


def gemm_cycles(compute_tile, load_total, tiles):
    """Double-buffered weight tiles: load tile 1; then each step computes tile i while tile i+1 loads
    (max of the two); then compute the last tile. A memory-bound layer takes its whole DDR time plus one
    tile's compute, however many lanes there are."""
    load_tile = load_total / tiles
    return np.ceil(load_tile + (tiles - 1) * np.maximum(compute_tile, load_tile) + compute_tile).astype(np.int64)


def gemm_timing(rows: int, k: int, tiles: int, tm: int, ddr_bytes: int, bytes_per_cycle: float) -> GemmTiming:
    compute = gemm_tile_compute(rows, k, tm)
    load = int(load_cycles(ddr_bytes, bytes_per_cycle))
    return GemmTiming(cycles=int(gemm_cycles(compute, load, tiles)), compute=tiles * compute, load=load, tiles=tiles)


def attention_cycles(rows: int, k: int, m: int, heads: int, tm: int, tn_fixed: int) -> int:
    """QK^T or AV: per head, ceil(m / tn_fixed) tiles on the fixed lanes, operands on chip."""
    return heads * ceil_div(m, tn_fixed) * gemm_tile_compute(rows, k, tm)


def softmax_cycles(rows: int, n: int, lanes: int) -> int:
    """Stage 1 of row r+1 overlaps stage 2 of row r: one extra row to drain, plus the pipeline."""
    return (rows + 1) * ceil_div(n, lanes) + SOFTMAX_LATENCY


def layernorm_cycles(tokens: int, d: int, lanes: int) -> int:
    return (tokens + 1) * ceil_div(d, lanes) + LAYERNORM_LATENCY


def eltwise_cycles(rows: int, k: int, lanes: int) -> int:
    return rows * ceil_div(k, lanes) + ELTWISE_LATENCY
