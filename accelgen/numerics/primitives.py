"""Integer primitives: rounding shifts, dyadic multipliers, requantization, leading-one detection."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

if TYPE_CHECKING:  # the IR imports the numerics, never the other way round
    from ..ir import Requant

MULT_BITS = 16  # requantization multipliers are unsigned, normalised to [2^15, 2^16)
MAX_SHIFT = 62  # int64 arithmetic; the bounds pass proves no intermediate reaches 2^63


class RepresentationError(ValueError):
    """A real-valued constant cannot be represented in the chosen integer format."""


def dyadic(real: float, mult_bits: int = MULT_BITS) -> tuple[int, int]:
    """(m, k) with m * 2^-k ~= real, m in [2^(mult_bits-1), 2^mult_bits), k >= 0 (real > 0)."""
    if not (real > 0 and math.isfinite(real)):
        raise RepresentationError(f"multiplier {real!r} is not a positive finite number")
    k = mult_bits - 1 - math.floor(math.log2(real))
    m = round(real * 2.0 ** k)
    if m == 2 ** mult_bits:
        m //= 2
        k -= 1
    if k < 0:
        raise RepresentationError(f"multiplier {real:.6g} is too large for a {mult_bits}-bit dyadic form")
    if k > MAX_SHIFT - mult_bits:
        raise RepresentationError(f"multiplier {real:.6g} is too small (shift {k} > {MAX_SHIFT - mult_bits})")
    return int(m), int(k)


def dyadic_at(real: float, shift: int) -> int:
    """round(real * 2^shift): a second multiplier sharing an existing shift (the second operand of an add)."""
    return int(round(real * 2.0 ** shift))


RES_SHIFT_BITS = 5  # a residual multiplier is a 16-bit integer shifted left by at most 31


def residual_mult(real: float, shift: int) -> int:
    """real * 2^shift rounded to MULT_BITS significant bits: m << e with m < 2^MULT_BITS and e < 2^RES_SHIFT_BITS
    (the residual term keeps 16 bits of precision beside an accumulator multiplier that sets ``shift``)."""
    v = real * 2.0 ** shift
    e = 0
    while v >= 2.0 ** (MULT_BITS + e):
        e += 1
    m = round(v / 2.0 ** e)
    if m == 2 ** MULT_BITS:
        m, e = m // 2, e + 1
    if e >= 2 ** RES_SHIFT_BITS:
        raise RepresentationError(f"residual multiplier {real:.6g} needs a shift of {e} at shift {shift} "
                                  f"(at most {2 ** RES_SHIFT_BITS - 1})")
    return int(m) << e


def split_residual_mult(r: int) -> tuple[int, int]:
    """(m, e) with r = m << e, m < 2^MULT_BITS: the hardware's form of a residual_mult value."""
    e = max(0, int(r).bit_length() - MULT_BITS)
    if (int(r) >> e) << e != int(r):
        raise RepresentationError(f"residual multiplier {r} has more than {MULT_BITS} significant bits")
    return int(r) >> e, e


def rounding_bias(shift: np.ndarray | int, value: np.ndarray | float = 0.0) -> np.ndarray:
    """round(value * 2^shift) + 2^(shift-1): a bias on the pre-shift scale that also rounds half up."""
    shift = np.asarray(shift, dtype=np.int64)
    scaled = np.round(np.asarray(value, dtype=np.float64) * np.exp2(shift.astype(np.float64)))
    if np.any(np.abs(scaled) >= 2.0 ** MAX_SHIFT):
        raise RepresentationError(f"bias {np.max(np.abs(value)):.6g} does not fit in 63 bits at this scale")
    return scaled.astype(np.int64) + (np.int64(1) << np.maximum(shift - 1, 0)) * (shift > 0)


def shift_right(x: np.ndarray, shift: np.ndarray | int) -> np.ndarray:
    """Arithmetic shift right (floor division by 2^shift); shift may be an array."""
    return np.right_shift(x, shift)


def requantize(acc: np.ndarray, rq: Requant, res: np.ndarray | None = None) -> np.ndarray:
    """y = clamp((acc * mult + res * res_mult + bias) >> shift, qmin, qmax), channels on the last axis.

    ``acc`` holds exact integers (int64, or float32 straight from an exact BLAS product); parameters of
    size 1 apply to every channel; a 2-D ``bias`` (rows, channels) repeats over the leading axes."""
    channels = acc.shape[-1]
    rows = acc.reshape(-1, channels)

    def per_channel(v):
        return np.ascontiguousarray(np.broadcast_to(v, (channels,)), dtype=np.int64)

    bias = rq.bias.reshape(-1, rq.bias.shape[-1]) if rq.bias.ndim > 1 else rq.bias.reshape(1, -1)
    bias = np.ascontiguousarray(np.broadcast_to(bias, (bias.shape[0], channels)), dtype=np.int64)
    lo, hi = (np.iinfo(np.int64).min, np.iinfo(np.int64).max) if rq.qmin is None else (rq.qmin, rq.qmax)
    out = np.empty(rows.shape, dtype=np.int64)
    if res is None:
        _requant_rows(rows, per_channel(rq.mult), per_channel(rq.shift), bias, lo, hi, out)
    else:
        _requant_res_rows(rows, res.reshape(rows.shape), per_channel(rq.mult), per_channel(rq.res_mult),
                          per_channel(rq.shift), bias, lo, hi, out)
    return out.reshape(acc.shape)


@njit(cache=True, nogil=True)
def _requant_rows(acc, mult, shift, bias, lo, hi, out):  # pragma: no cover - compiled
    nb = bias.shape[0]
    for r in range(acc.shape[0]):
        b = bias[r % nb]
        for c in range(acc.shape[1]):
            out[r, c] = min(max((np.int64(acc[r, c]) * mult[c] + b[c]) >> shift[c], lo), hi)


@njit(cache=True, nogil=True)
def _requant_res_rows(acc, res, mult, res_mult, shift, bias, lo, hi, out):  # pragma: no cover - compiled
    nb = bias.shape[0]
    for r in range(acc.shape[0]):
        b = bias[r % nb]
        for c in range(acc.shape[1]):
            t = np.int64(acc[r, c]) * mult[c] + np.int64(res[r, c]) * res_mult[c] + b[c]
            out[r, c] = min(max(t >> shift[c], lo), hi)


def leading_one(x: np.ndarray) -> np.ndarray:
    """floor(log2(x)) for integers 1 <= x < 2^53 (the position of the most significant set bit)."""
    _, exp = np.frexp(np.asarray(x, dtype=np.float64))
    return exp.astype(np.int64) - 1


def quantize_float(x: np.ndarray, scale: float, qmin: int, qmax: int) -> np.ndarray:
    """Brevitas/QONNX quantization of float32 data: clamp(round_half_even(x / scale)) in float32."""
    q = np.round(np.asarray(x, dtype=np.float32) / np.float32(scale))
    return np.clip(q, qmin, qmax).astype(np.int64)
