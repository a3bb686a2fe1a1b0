"""On-chip memory blocks of the parts, and the one rule that picks what each memory is built from."""

from __future__ import annotations

import math

from ..board import Board

# (width bits, depth) aspect ratios of one block
BRAM36_SHAPES = ((72, 512), (36, 1024), (18, 2048), (9, 4096), (4, 8192), (2, 16384), (1, 32768))
URAM_SHAPES = ((72, 4096),)
LUTRAM_MAX_DEPTH = 256  # LUT RAM up to this deep (RAM256X1D); deeper needs read multiplexers not priced here
# A simple dual-port LUT RAM (written while it is read) is RAM64M: 4 LUTs for 3 bits of a 64-deep memory.
LUTRAM_SDP_LUTS_PER_BIT = 4 / 3
STORAGE_KINDS = ("lutram", "bram", "uram")  # the order ties are broken in


def blocks_for(width_bits: int, depth: int, shapes=BRAM36_SHAPES) -> int:
    """Blocks of one memory of ``width_bits`` x ``depth`` (best aspect ratio)."""
    return min(math.ceil(width_bits / w) * math.ceil(depth / d) for w, d in shapes)


def lutram_luts(width_bits: int, depth: int) -> float:
    """LUTs of one simple dual-port LUT RAM of ``width_bits`` x ``depth``."""
    return width_bits * math.ceil(depth / 64) * LUTRAM_SDP_LUTS_PER_BIT


def memory_kind(width_bits: int, depth: int, board: Board) -> str:
    """The storage of a simple dual-port memory of ``width_bits`` x ``depth`` on ``board`` (the model prices
    it, the generated config binds it): of LUT RAM (when at most LUTRAM_MAX_DEPTH deep), block RAM and URAM
    (when the part has any), the kind whose count takes the smallest share of the part's total of that kind
    -- LUTs, BRAM36 or URAM blocks; ties go to the earlier of STORAGE_KINDS. Shallow narrow memories land in
    LUT RAM, deep or wide ones in block RAM, and a memory leans to the part's more plentiful resource. Banks
    of a partitioned array scale every kind alike, so they take the kind of one bank. Each kind's count
    grows with width and depth, so the chosen share does too (the search's resources grow with the design
    measured in shares of the part, though a memory's LUTs may turn into BRAM as it grows)."""
    res = board.resources
    shares = {"lutram": lutram_luts(width_bits, depth) / res["lut"] if depth <= LUTRAM_MAX_DEPTH else None,
              "bram": blocks_for(width_bits, depth) / max(res["bram36"], 1),
              "uram": blocks_for(width_bits, depth, URAM_SHAPES) / res["uram"] if res["uram"] else None}
    return min((k for k in STORAGE_KINDS if shares[k] is not None), key=lambda k: shares[k])

