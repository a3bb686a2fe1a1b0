"""Parameters of the nonlinear units, one description for both back ends: the HLS config (SM_* / LN_*
members of Config) and the Verilog parameters of rtl/e2softmax.v and rtl/ailayernorm.v are rendered from
these dataclasses. One unit serves every layer of its kind, so its widths are the maxima over the layers;
per-layer scales are runtime configuration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ir
from ..numerics import layernorm as ln_numerics
from ..numerics.softmax import RECIP_FRAC, E2SoftmaxParams


def unsigned_bits(hi: int) -> int:
    return max(int(hi).bit_length(), 1)


@dataclass(frozen=True)
class SoftmaxUnit:
    """The E2Softmax unit (docs/numerics.md section 5)."""

    lanes: int  # row elements per beat
    max_row: int  # longest row (keys)
    input_bits: int
    exponent_bits: int  # the exponent code e = t >> (f - F) (or t << (F - f))
    sum_bits: int  # the row sum of the terms
    exp_frac: int  # F
    recip_bits: int
    sum_frac: int
    code_max: int
    output_bits: int
    pow_table: tuple[int, ...]
    out_table: tuple[int, ...]
    recip_frac: int = RECIP_FRAC

    @property
    def max_beats(self) -> int:
        return -(-self.max_row // self.lanes)

    @property
    def code_bits(self) -> int:
        """An element's code (min(d >> F, code_max), d mod 2^F) between the sum and the output stage."""
        return unsigned_bits(self.code_max) + self.exp_frac

    @property
    def pow_table_bits(self) -> int:
        return unsigned_bits(max(self.pow_table))

    @property
    def out_table_bits(self) -> int:
        return unsigned_bits(max(self.out_table))


def softmax_unit(params: list[E2SoftmaxParams], max_row: int, lanes: int) -> SoftmaxUnit:
    """The unit for softmax layers with ``params`` (their table parameters are the first's): the exponent
    code of a b-bit input needs b + 1 bits for t plus the left shift, and one more for R << F; the sum
    stays below 2^(sum_frac + 1) * N."""
    p = params[0]
    max_row = max(max_row, 1)
    return SoftmaxUnit(
        lanes=lanes, max_row=max_row, input_bits=max(q.in_bits for q in params),
        exponent_bits=max(q.in_bits + 2 + max(0, q.exp_frac - q.in_frac) for q in params),
        sum_bits=p.sum_frac + 1 + max_row.bit_length(), exp_frac=p.exp_frac, recip_bits=p.recip_bits,
        sum_frac=p.sum_frac, code_max=p.code_max, output_bits=p.out_bits, pow_table=tuple(p.pow_table),
        out_table=tuple(p.out_table))


@dataclass(frozen=True)
class LayerNormUnit:
    """The AILayerNorm unit (docs/numerics.md section 6)."""

    lanes: int  # channels of a token per beat
    max_dim: int
    input_bits: int
    variance_bits: int  # D * Sq - Sx^2 + eps
    eps_bits: int
    bias_bits: int
    shift_bits: int
    output_bits: int
    gain_bits: int = ln_numerics.GAIN_BITS
    rsqrt_frac: int = ln_numerics.RSQRT_FRAC
    norm_frac: int = ln_numerics.NORM_FRAC
    rsqrt_index_bits: int = ln_numerics.RSQRT_IDX_BITS
    squares: tuple[int, ...] = ln_numerics.SQUARES
    rsqrt: tuple[int, ...] = ln_numerics.RSQRT

    @property
    def max_beats(self) -> int:
        return -(-self.max_dim // self.lanes)

    @property
    def square_bits(self) -> int:
        return unsigned_bits(max(self.squares))

    @property
    def rsqrt_bits(self) -> int:
        return unsigned_bits(max(self.rsqrt))


def layernorm_unit(layers: list[tuple[ln_numerics.AILayerNormParams, tuple[int, int]]], lanes: int) -> LayerNormUnit:
    """The unit for LayerNorm layers given as (parameters, input bounds): the variance D * Sq - Sx^2 + eps
    is bounded by D^2 * (largest compressed square) + eps."""
    v_max = 0
    for p, (lo, hi) in layers:
        sq = int(ln_numerics.compressed_square(np.arange(lo, hi + 1)).max(initial=0))
        v_max = max(v_max, p.dim * p.dim * sq + max(p.eps, 1))
    units = [p for p, _ in layers]
    return LayerNormUnit(
        lanes=lanes, max_dim=max(p.dim for p in units), input_bits=max(ir.signed_bits(*b) for _, b in layers),
        variance_bits=v_max.bit_length(), eps_bits=unsigned_bits(max(p.eps for p in units)),
        bias_bits=max(ir.signed_bits(int(p.bias.min()), int(p.bias.max())) for p in units),
        shift_bits=unsigned_bits(max(p.shift for p in units)),
        output_bits=max(ir.signed_bits(p.out_min, p.out_max) for p in units))
