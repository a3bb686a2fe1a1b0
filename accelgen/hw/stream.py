"""Layout of the DDR parameter stream, in closed form: the bits, words and tile-buffer items each step's
blob region holds. The packer (codegen/pack.py) writes exactly these regions and the perf model prices
exactly these sizes; tests tie the two.

A GEMM region (patch embedding, linear layers) is one bit stream cut into items by the engine's gearbox
(hls/gemm_engine.h):

    [GELU table: GELU_ENTRIES entries of GELU_ENTRY_BITS, when a GELU is fused]
    for each output tile, for each lane in use (fixed-point rows first, then power-of-two rows):
        meta (META_BITS), biases (BIAS_BITS each: one, or one per row of the patch embedding's table),
        ceil(K / TM) weight vectors of TM elements (fixed rows: weight bits; PoT rows: POT_CODE_BITS),
        zero padded past K.

Other regions: the patch embedding's class-token rows (PREFIX_BITS each), AILayerNorm's D biases and,
from the next word, D gains, and an unfused GELU's table. Every region starts on a word boundary.

The functions take NumPy arrays as well as ints, so the design-space search prices whole menus at once.
"""

from __future__ import annotations

import numpy as np

from ..passes.mixed_scheme import POT_MAX_EXP
from .constants import (BIAS_BITS, GELU_ENTRY_BITS, IMAGE_PIXEL_BITS, ITEM_MIN_BITS, LN_BIAS_BITS, LN_GAIN_BITS,
                        META_BITS, POT_CODE_BITS, POT_ZERO_CODE, PREFIX_BITS, WEIGHT_ITEM_BITS)


def ceil_div(a, b):
    return -(-a // b)


def words_of(bits, word_bits: int):
    """Words a region of ``bits`` bits occupies (regions start on word boundaries)."""
    return ceil_div(bits, word_bits)


def region_bytes(bits, word_bits: int):
    """DDR bytes the accelerator reads for a region of ``bits`` bits: whole words."""
    return words_of(bits, word_bits) * (word_bits // 8)


def item_bits(tm: int) -> int:
    """Width of one tile-buffer item: a TM-wide weight vector, or at least one 64-bit field."""
    return max(ITEM_MIN_BITS, tm * WEIGHT_ITEM_BITS)


def biases_per_item(tm: int) -> int:
    """Biases of the patch embedding's table packed into one item."""
    return item_bits(tm) // BIAS_BITS


def gelu_items(entries) -> int:
    """Items of a fused GELU table (GELU_ENTRY_BITS-bit entries, META_BITS per item)."""
    return ceil_div(entries, META_BITS // GELU_ENTRY_BITS)


def bias_items(bias_rows, tm: int):
    """Bias items of one output row: one bias, or the table's ``bias_rows`` biases in groups."""
    return np.where(np.asarray(bias_rows) > 0, ceil_div(np.asarray(bias_rows), biases_per_item(tm)), 1)


def vectors(k, tm: int):
    """Weight vectors of one output row: the reduction length K in TM-wide steps."""
    return ceil_div(k, tm)


def row_bits(k, tm: int, element_bits, bias_rows):
    """Bits of one output row in a GEMM stream: meta, biases, zero-padded weight vectors."""
    biases = np.maximum(np.asarray(bias_rows), 1)
    return META_BITS + biases * BIAS_BITS + vectors(k, tm) * tm * np.asarray(element_bits)


def gemm_bits(m, k, m_pot, weight_bits, tm: int, bias_rows, gelu_entries):
    """Bits of a GEMM region: ``m`` output rows of which ``m_pot`` power-of-two, with a fused GELU table
    of ``gelu_entries`` entries (0: none)."""
    m, m_pot = np.asarray(m), np.asarray(m_pot)
    return (np.asarray(gelu_entries) * GELU_ENTRY_BITS + (m - m_pot) * row_bits(k, tm, weight_bits, bias_rows)
            + m_pot * row_bits(k, tm, POT_CODE_BITS, bias_rows))


def gemm_items(m, k, tm: int, bias_rows, gelu_entries):
    """Items the gearbox emits for a GEMM region, one per engine beat: the GELU table's, then per output
    row its meta, bias and weight-vector items."""
    gelu = np.where(np.asarray(gelu_entries) > 0, gelu_items(np.asarray(gelu_entries)), 0)
    return gelu + np.asarray(m) * (1 + bias_items(bias_rows, tm) + vectors(k, tm))


def prefix_bits(values: int) -> int:
    """Bits of the patch embedding's class-token rows (``values`` = rows x width)."""
    return values * PREFIX_BITS


def layernorm_parts(dim: int) -> tuple[int, int]:
    """Bits of the two word-aligned parts of an AILayerNorm region: the biases, then the gains."""
    return dim * LN_BIAS_BITS, dim * LN_GAIN_BITS


def image_bits(pixels: int) -> int:
    """Bits of one quantized image as the host writes it."""
    return pixels * IMAGE_PIXEL_BITS


def gelu_table_bits(entries: int) -> int:
    """Bits of an unfused GELU's table region."""
    return entries * GELU_ENTRY_BITS


def pot_codes(values: np.ndarray) -> np.ndarray:
    """Codes of power-of-two weights: (sign << exponent bits) | exponent; 0 -> POT_ZERO_CODE (sign 0)."""
    v = np.asarray(values, dtype=np.int64)
    mag = np.abs(v)
    exp = np.where(mag > 0, np.log2(np.maximum(mag, 1)).round().astype(np.int64), POT_ZERO_CODE)
    if np.any((mag > 0) & ((1 << np.minimum(exp, 62)) != mag)) or np.any((mag > 0) & (exp > POT_MAX_EXP)):
        raise ValueError("power-of-two row holds a value that is not 0 or +-2^e, e <= 6")
    return np.where(v < 0, 1 << (POT_CODE_BITS - 1), 0) | exp
