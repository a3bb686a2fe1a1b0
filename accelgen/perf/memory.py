"""On-chip memory: how buffers map onto BRAM36 / URAM blocks and LUTs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..hw.memory import URAM_SHAPES, blocks_for


# Distributed (LUT) memories: a ROM/single-port RAM stores 64 bits per LUT6 (RAM64X1S); a simple dual-port
# buffer written while it is read needs RAM64M (4 LUTs for 3 bits of a 64-deep memory).
LUTROM_BITS_PER_LUT = 64
LUTRAM_SDP_LUTS_PER_BIT = 4 / 3


@dataclass(frozen=True)
class Blocks:
    bram36: int = 0
    uram: int = 0
    luts: float = 0.0

    def __add__(self, other: "Blocks") -> "Blocks":
        return Blocks(self.bram36 + other.bram36, self.uram + other.uram, self.luts + other.luts)


def banked_buffer(width_bits: int, depth: int, banks: int, memory: str) -> Blocks:
    """``banks`` parallel memories (array partitioning for parallel reads) of width x depth each, built
    from ``memory``: "bram", "uram", "lutram" (dual-port, written while read) or "lutrom" (tables). The kind
    follows the buffer's role or the design's choice, not its size, so every resource count grows
    monotonically with lanes and buffer sizes."""
    if memory == "lutrom":
        return Blocks(luts=banks * width_bits * math.ceil(depth / 64) * 64 / LUTROM_BITS_PER_LUT)
    if memory == "lutram":
        return Blocks(luts=banks * width_bits * math.ceil(depth / 64) * LUTRAM_SDP_LUTS_PER_BIT)
    if memory == "uram":
        return Blocks(uram=banks * blocks_for(width_bits, depth, URAM_SHAPES))
    return Blocks(bram36=banks * blocks_for(width_bits, depth))
