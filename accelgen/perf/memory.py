"""On-chip memory: how buffers map onto BRAM36 / URAM blocks and LUTs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..hw.memory import URAM_SHAPES, blocks_for, lutram_luts

LUTROM_BITS_PER_LUT = 64  # a ROM stores 64 bits per LUT6 (RAM64X1S)


@dataclass(frozen=True)
class Blocks:
    bram36: int = 0
    uram: int = 0
    luts: float = 0.0

    def __add__(self, other: "Blocks") -> "Blocks":
        return Blocks(self.bram36 + other.bram36, self.uram + other.uram, self.luts + other.luts)


def banked_buffer(width_bits: int, depth: int, banks: int, memory: str) -> Blocks:
    """``banks`` parallel memories (array partitioning for parallel reads) of width x depth each, built
    from ``memory``: "bram", "uram", "lutram" (dual-port, written while read) or "lutrom" (tables); the kind
    is the design's choice (weight banks) or hw/memory.py memory_kind's."""
    if memory == "lutrom":
        return Blocks(luts=banks * width_bits * math.ceil(depth / 64) * 64 / LUTROM_BITS_PER_LUT)
    if memory == "lutram":
        return Blocks(luts=banks * lutram_luts(width_bits, depth))
    if memory == "uram":
        return Blocks(uram=banks * blocks_for(width_bits, depth, URAM_SHAPES))
    return Blocks(bram36=banks * blocks_for(width_bits, depth))
