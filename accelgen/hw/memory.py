"""On-chip memory blocks of the parts, and what the plan's activation banks are built from."""

from __future__ import annotations

import math

from ..board import Board
from .constants import NUM_MEMORIES

# (width bits, depth) aspect ratios of one block
BRAM36_SHAPES = ((72, 512), (36, 1024), (18, 2048), (9, 4096), (4, 8192), (2, 16384), (1, 32768))
URAM_SHAPES = ((72, 4096),)
LUTRAM_MAX_DEPTH = 256  # banks up to this deep are LUT RAM (RAM256X1D), deeper ones block RAM / URAM


def blocks_for(width_bits: int, depth: int, shapes=BRAM36_SHAPES) -> int:
    """Blocks of one memory of ``width_bits`` x ``depth`` (best aspect ratio)."""
    return min(math.ceil(width_bits / w) * math.ceil(depth / d) for w, d in shapes)


def activation_memory_kind(bits: int, depth: int, banks: int, bram36: int, uram: int) -> str:
    """What the activation banks are built from (emitted as their storage binding in the generated top):
    LUT RAM when shallow; else block RAM or URAM, whichever takes the smaller share of the part's
    ``bram36`` / ``uram`` blocks (URAM has no narrow aspect ratio, so narrow banks waste most of it)."""
    if depth <= LUTRAM_MAX_DEPTH:
        return "lutram"
    if uram == 0:
        return "bram"
    share_bram = banks * blocks_for(bits, depth) / max(bram36, 1)
    share_uram = banks * blocks_for(bits, depth, URAM_SHAPES) / uram
    return "uram" if share_uram < share_bram else "bram"


def activation_storage(bits: int, depth: int, tm: int, board: Board) -> str:
    """The storage of a design's NUM_MEMORIES x ``tm`` activation banks on ``board``."""
    return activation_memory_kind(bits, depth, NUM_MEMORIES * tm, board.resources["bram36"], board.resources["uram"])
