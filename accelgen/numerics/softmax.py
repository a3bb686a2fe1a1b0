"""E2Softmax (after SOLE, ICCAD 2023): base-2 exponent by shifts, log2-quantized exponentials summed
relative to the row's maximum, and division in the log domain by the leading one of the sum with a
mantissa correction. Shifts, adds and two small constant tables; no multiplier.

accelgen's exact definition (docs/numerics.md) generalises SOLE's 4-bit code by ``exp_frac`` fraction
bits of the exponent (exp_frac = 0 is SOLE's integer power of two) and ``recip_bits`` mantissa bits of
the sum (1 in SOLE); both are chosen by measuring accuracy. SOLE keeps a running maximum and rescales
the sum by a shift whenever it grows; accelgen sums relative to the row's final maximum instead, so the
result is an associative integer sum (a tree across lanes in hardware, independent of the lane count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .primitives import leading_one

SUM_FRAC = 15  # a term is 2^(15 - d / 2^exp_frac) with d >= 1
CODE_MAX = 15  # integer part of the exponent code is 4 bits: k = min(d >> exp_frac, 15)
OUT_BITS = 8  # unsigned probability, scale 2^-out_frac
OUT_FRAC = 8
RECIP_FRAC = 8  # reciprocal constants are Q0.8


@dataclass(frozen=True)
class E2SoftmaxParams:
    in_bits: int  # signed input width
    in_frac: int  # input scale is 2^-in_frac
    exp_frac: int = 2  # fraction bits of the exponent code
    recip_bits: int = 2  # mantissa bits of the sum used for the division correction
    sum_frac: int = SUM_FRAC
    code_max: int = CODE_MAX
    out_bits: int = OUT_BITS
    out_frac: int = OUT_FRAC  # output scale is 2^-out_frac
    out_max: int = 2 ** OUT_BITS - 1  # clamp (the model's probability range)

    @property
    def out_scale(self) -> float:
        return 2.0 ** -self.out_frac

    @property
    def pow_table(self) -> tuple[int, ...]:
        """TF[f] = round(2^(sum_frac - f / 2^exp_frac)): the exponential of the code's fraction."""
        n = 2 ** self.exp_frac
        return tuple(round(2.0 ** (self.sum_frac - f / n)) for f in range(n))

    @property
    def recip_table(self) -> tuple[int, ...]:
        """C[m] = round(2^8 * 2 / (lo + hi)) for the sum's mantissa interval [lo, hi) = 1 + [m, m+1)/2^bits:
        centres the row sum of the outputs on 1."""
        n = 2 ** self.recip_bits
        return tuple(round(2 ** RECIP_FRAC * 2 / (2 + (2 * m + 1) / n)) for m in range(n))

    @property
    def out_table(self) -> tuple[int, ...]:
        """P[m * 2^exp_frac + f] = TF[f] * C[m]: the only products, precomputed."""
        return tuple(c * t for c in self.recip_table for t in self.pow_table)


def output_format(model_scale: float, model_qmax: int) -> tuple[int, int]:
    """(out_frac, out_max): the power-of-two output scale whose 8 bits cover the model's probability
    range (up to half an output step), and that range as the clamp. A model quantizing probabilities on
    [0, 1] with scale 1/255 gets 2^-8 and 255."""
    top = model_scale * model_qmax
    frac = math.floor(math.log2(2 ** OUT_BITS / top))
    return frac, min(2 ** OUT_BITS - 1, round(top * 2 ** frac))


def log2e_mul(x: np.ndarray) -> np.ndarray:
    """x * log2(e) ~= x + x/2 - x/16 (= 1.4375 x) with arithmetic (flooring) shifts."""
    return x + (x >> 1) - (x >> 4)


def exponents(x: np.ndarray, p: E2SoftmaxParams) -> np.ndarray:
    """Fixed-point base-2 exponent e = floor(x * scale * log2(e) * 2^exp_frac) of every input (int32:
    inputs are at most 16 bits)."""
    t = log2e_mul(x.astype(np.int32))
    s = p.in_frac - p.exp_frac
    return t >> s if s >= 0 else t << -s


def _terms(d: np.ndarray, p: E2SoftmaxParams) -> np.ndarray:
    """TF[d mod 2^F] >> min(d >> F, code_max): the sum term of an element at distance d (>= 1)."""
    table = np.asarray(p.pow_table, dtype=np.int32)
    return np.take(table, d & (2 ** p.exp_frac - 1)) >> np.minimum(d >> p.exp_frac, p.code_max)


@lru_cache(maxsize=64)
def _tables(p: E2SoftmaxParams) -> tuple[int, np.ndarray, np.ndarray]:
    """(lowest input, exponent of every input code, sum term of every possible distance d).

    Pure precomputation of the functions above, so the simulator does one lookup per element instead
    of a dozen array passes; the arithmetic is unchanged (tests compare with the literal definition)."""
    lo = -(2 ** (p.in_bits - 1))
    e = exponents(np.arange(lo, -lo), p)
    d_max = (((int(e.max()) >> p.exp_frac) + 1) << p.exp_frac) - int(e.min())
    return lo, e.astype(np.int64), _terms(np.arange(d_max + 1, dtype=np.int32), p).astype(np.int64)


def _statistics(x: np.ndarray, p: E2SoftmaxParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, d, S) of rows ``x`` (..., N): R = (max e >> F) + 1 per row, d = (R << F) - e (>= 1) per element,
    and S = the sum of the row's terms TF[d mod 2^F] >> min(d >> F, code_max) (any order: integers)."""
    lo, exp_of_x, terms_of_d = _tables(p)
    e = exp_of_x[np.asarray(x, dtype=np.int64) - lo]
    ref = (e.max(axis=-1) >> p.exp_frac) + 1
    d = (ref[..., None] << p.exp_frac) - e
    return ref, d, terms_of_d[d].sum(axis=-1)


def row_statistics(x: np.ndarray, p: E2SoftmaxParams) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``x``: (reference exponent R, sum S of the terms relative to R)."""
    ref, _, s = _statistics(x, p)
    return ref, s


def e2softmax(x: np.ndarray, p: E2SoftmaxParams) -> np.ndarray:
    """Integer softmax over the last axis: y = min((P[m, d mod 2^F] + 2^(sh-1)) >> sh, out_max) with
    sh = min(d >> F, code_max) + L + 8 - o, clamped to 26 (every P < 2^24, so larger shifts give 0)."""
    _, d, s = _statistics(x, p)
    lead = leading_one(s)
    mant = (s >> (lead - p.recip_bits)) & ((1 << p.recip_bits) - 1)
    sh = np.minimum(np.minimum(d >> p.exp_frac, p.code_max) + (lead + RECIP_FRAC - p.out_frac)[..., None], 26)
    num = np.asarray(p.out_table, dtype=np.int64)[(mant[..., None] << p.exp_frac) + (d & ((1 << p.exp_frac) - 1))]
    return np.minimum((num + (1 << (sh - 1))) >> sh, p.out_max)


def softmax_float_then_quantize(x: np.ndarray, in_scale: float, p: E2SoftmaxParams) -> np.ndarray:
    """Reference alternative: exact softmax of the dequantized input, then the same output format."""
    z = x.astype(np.float64) * in_scale
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    prob = z / z.sum(axis=-1, keepdims=True)
    return np.clip(np.round(prob * 2.0 ** p.out_frac), 0, p.out_max).astype(np.int64)
