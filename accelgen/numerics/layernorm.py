"""AILayerNorm (after SOLE, ICCAD 2023): exact sum(x); sum(x^2) from inputs compressed to 4 bits and
squared through a 16-entry table; 1/sqrt(var) from the leading one of the variance and a 64-entry table;
gamma, beta and the output scale folded into a per-channel integer gain and bias. See docs/numerics.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from ..arrays import frozen_array
from .primitives import RepresentationError, leading_one

SQUARES = tuple(q * q for q in range(16))  # the 16-entry square table
RSQRT_IDX_BITS = 5  # mantissa bits after the leading one that index the 1/sqrt table
RSQRT_FRAC = 15  # table entries are 2^15 / sqrt(v)
NORM_FRAC = 10  # the normalised value z = (x - mean) / std carries 10 fraction bits
GAIN_BITS = 16  # signed per-channel gain
MAX_OUT_SHIFT = 40


def rsqrt_table() -> tuple[int, ...]:
    """Entry [parity * 32 + m]: round(2^15 / sqrt(2^parity * (1 + (m + 0.5) / 32)))."""
    n = 2 ** RSQRT_IDX_BITS
    return tuple(round(2 ** RSQRT_FRAC / math.sqrt(2 ** parity * (1 + (m + 0.5) / n)))
                 for parity in (0, 1) for m in range(n))


RSQRT = rsqrt_table()
RSQRT_TABLE = np.asarray(RSQRT, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class AILayerNormParams:
    dim: int
    eps: int  # eps * dim^2 / s_in^2, added to the integer variance
    gain: np.ndarray  # (dim,) signed, GAIN_BITS wide: gamma / s_out * 2^(shift - NORM_FRAC)
    bias: np.ndarray  # (dim,) beta / s_out * 2^shift + 2^(shift - 1)
    shift: int
    out_min: int
    out_max: int

    def __post_init__(self):
        object.__setattr__(self, "gain", frozen_array(self.gain, np.int64))
        object.__setattr__(self, "bias", frozen_array(self.bias, np.int64))


def compressed_square(x: np.ndarray) -> np.ndarray:
    """x^2 from a 4-bit compressed magnitude: exact below 16; otherwise the 4 bits from the leading one
    (q = |x| >> s, s = lead - 3) squared through the table at the bucket midpoint: (q + 1/2)^2 * 4^s."""
    a = np.abs(x.astype(np.int64))
    s = np.maximum(leading_one(np.maximum(a, 1)) - 3, 0)
    q = a >> s
    sq = np.asarray(SQUARES, dtype=np.int64)[q]
    approx = ((sq + q) << (2 * s)) + (np.int64(1) << np.maximum(2 * s - 2, 0))
    return np.where(s == 0, sq, approx)


@lru_cache(maxsize=1)
def square_of_code() -> tuple[int, np.ndarray]:
    """(lowest code, compressed square of every 16-bit input code): stage 1 as one table lookup."""
    lo = -(2 ** 15)
    return lo, compressed_square(np.arange(lo, -lo))


@njit(cache=True, nogil=True)
def _inv_sqrt(v, rsqrt):  # pragma: no cover - compiled
    """(r, h) with 1/sqrt(v) ~= r * 2^-(RSQRT_FRAC + h) for v >= 1, v = 2^(2h + parity) * 1.m: r is the
    table entry for the parity and the RSQRT_IDX_BITS bits after the leading one."""
    lead = -1
    t = v
    while t > 0:
        t >>= 1
        lead += 1
    n = RSQRT_IDX_BITS
    m = (v >> (lead - n) if lead >= n else v << (n - lead)) & ((1 << n) - 1)
    return rsqrt[(lead & 1) * (1 << n) + m], lead >> 1


def inv_sqrt(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise (r, h) of ``_inv_sqrt`` for an array of v >= 1."""
    v = np.asarray(v, dtype=np.int64)
    pairs = [_inv_sqrt(int(x), RSQRT_TABLE) for x in v.reshape(-1)]
    r = np.array([a for a, _ in pairs], dtype=np.int64).reshape(v.shape)
    h = np.array([b for _, b in pairs], dtype=np.int64).reshape(v.shape)
    return r, h


def ailayernorm(x: np.ndarray, p: AILayerNormParams) -> np.ndarray:
    """Per token: stage 1 sums, then y = clamp((z * gain + bias) >> shift) with
    z = round((D x - sum x) * r / 2^(15 + h - 10))."""
    lo, squares = square_of_code()
    rows = np.ascontiguousarray(x, dtype=np.int64).reshape(-1, x.shape[-1])
    out = np.empty(rows.shape, dtype=np.int64)
    _ailayernorm_rows(rows, lo, squares, p.dim, p.eps, RSQRT_TABLE, p.gain, p.bias, p.shift, p.out_min, p.out_max,
                      out)
    return out.reshape(x.shape)


@njit(cache=True, nogil=True)
def _ailayernorm_rows(x, lo, squares, dim, eps, rsqrt, gain, bias, shift, out_min, out_max, out):  # pragma: no cover
    for t in range(x.shape[0]):
        sx = 0
        sq = 0
        for c in range(x.shape[1]):
            sx += x[t, c]
            sq += squares[x[t, c] - lo]
        var = max(dim * sq - sx * sx, 0) + eps
        r, h = _inv_sqrt(max(var, 1), rsqrt)
        sh = RSQRT_FRAC + h - NORM_FRAC
        rnd = 1 << (sh - 1)
        for c in range(x.shape[1]):
            z = ((dim * x[t, c] - sx) * r + rnd) >> sh
            out[t, c] = min(max((z * gain[c] + bias[c]) >> shift, out_min), out_max)


def fold_layernorm(gamma: np.ndarray, beta: np.ndarray, eps: float, in_scale: float, out_scale: float,
                   out_min: int, out_max: int) -> AILayerNormParams:
    """Integer parameters of a LayerNorm from int input (scale in_scale) to int output (scale out_scale)."""
    dim = len(gamma)
    g = np.asarray(gamma, dtype=np.float64) / out_scale
    gmax = float(np.max(np.abs(g))) or 1.0
    shift = min(MAX_OUT_SHIFT, NORM_FRAC + GAIN_BITS - 2 - math.floor(math.log2(gmax)))
    if shift < 1:
        raise RepresentationError(f"LayerNorm gain {gmax:.6g} is too large for {GAIN_BITS}-bit gains")
    gain = np.round(g * 2.0 ** (shift - NORM_FRAC)).astype(np.int64)
    bias = np.round(np.asarray(beta, dtype=np.float64) / out_scale * 2.0 ** shift).astype(np.int64)
    eps_int = int(round(eps * dim * dim / (in_scale * in_scale)))
    return AILayerNormParams(dim=dim, eps=eps_int, gain=gain, bias=bias + (1 << (shift - 1)), shift=shift,
                             out_min=out_min, out_max=out_max)


def layernorm_float_then_quantize(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                                  in_scale: float, out_scale: float, out_min: int, out_max: int,
                                  out_zero: int = 0) -> np.ndarray:
    """Reference alternative: exact LayerNorm of the dequantized input, then the same output format (an
    input offset cancels in x - mean)."""
    v = x.astype(np.float64) * in_scale
    mu = v.mean(axis=-1, keepdims=True)
    var = v.var(axis=-1, keepdims=True)
    y = (v - mu) / np.sqrt(var + eps) * gamma + beta
    return np.clip(np.round(y / out_scale) + out_zero, out_min, out_max).astype(np.int64)
