"""The integer numerics: properties (hypothesis) and equality with literal scalar readings of
docs/numerics.md, written here independently of the vectorised implementation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelgen import ir
from accelgen.numerics.gelu import build_gelu_table, gelu_float, gelu_lookup
from accelgen.numerics.gemm import exact_matmul
from accelgen.numerics.layernorm import (
    RSQRT,
    SQUARES,
    ailayernorm,
    compressed_square,
    fold_layernorm,
    layernorm_float_then_quantize,
)
from accelgen.numerics.primitives import (
    MULT_BITS,
    RepresentationError,
    dyadic,
    leading_one,
    quantize_float,
    requantize,
    rounding_bias,
)
from accelgen.numerics.softmax import E2SoftmaxParams, e2softmax, output_format, softmax_float_then_quantize

pytestmark = pytest.mark.unit


# -- dyadic requantization ------------------------------------------------------------------------

@given(st.floats(min_value=1e-9, max_value=1e4, allow_nan=False))
def test_dyadic_is_normalised_and_accurate(real):
    m, k = dyadic(real)
    assert 2 ** (MULT_BITS - 1) <= m < 2 ** MULT_BITS and k >= 0
    assert abs(m / 2 ** k - real) / real <= 2.0 ** -MULT_BITS


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan, 1e6, 1e-20])
def test_dyadic_rejects_unrepresentable(bad):
    with pytest.raises(RepresentationError):
        dyadic(bad)


@settings(max_examples=300)
@given(acc=st.integers(-2 ** 30, 2 ** 30), real=st.floats(1e-6, 10.0), bias=st.floats(-100, 100),
       res=st.integers(-128, 127), res_real=st.floats(1e-3, 4.0))
def test_requantize_rounds_half_up_and_saturates(acc, real, bias, res, res_real):
    """y = clamp(floor(acc*m/2^k + res*r/2^k + B/2^k)) with B holding round(bias*2^k) + 2^(k-1)."""
    k = dyadic(max(real, res_real))[1]
    m, r = round(real * 2 ** k), round(res_real * 2 ** k)
    rq = ir.Requant(mult=[m], shift=[k], bias=rounding_bias(np.array([k]), np.array([bias])), qmin=-128, qmax=127,
                    res_mult=[r])
    y = int(requantize(np.array([acc]), rq, np.array([res]))[0])
    exact = Fraction(acc * m + res * r + round(bias * 2 ** k), 2 ** k) + Fraction(1, 2)
    assert y == max(-128, min(127, math.floor(exact)))


def test_requantize_is_monotone_in_the_accumulator():
    rq = ir.Requant(mult=[40000], shift=[20], bias=rounding_bias(np.array([20]), np.array([0.3])), qmin=-128,
                    qmax=127)
    y = requantize(np.arange(-2 ** 16, 2 ** 16, 7), rq)
    assert np.all(np.diff(y) >= 0)


def test_leading_one_exhaustive_small_and_powers():
    v = np.arange(1, 1 << 16)
    assert np.array_equal(leading_one(v), np.array([x.bit_length() - 1 for x in v.tolist()]))
    p = np.array([1 << i for i in range(52)] + [(1 << i) - 1 for i in range(2, 52)], dtype=np.int64)
    assert np.array_equal(leading_one(p), np.array([int(x).bit_length() - 1 for x in p]))


def test_input_quantization_matches_brevitas_rounding():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1000.0, -1000.0], dtype=np.float32)
    assert quantize_float(x, 1.0, -128, 127).tolist() == [0, 2, 2, 0, -2, 127, -128]


# -- exact GEMM -----------------------------------------------------------------------------------

@pytest.mark.parametrize("xmax,wmax,k", [(127, 127, 700), (127, 127, 3000), (255, 127, 5000), (2 ** 15, 127, 300),
                                         (2 ** 20, 2 ** 12, 50)])
def test_exact_matmul_equals_int64(xmax, wmax, k):
    rng = np.random.default_rng(k)
    x = rng.integers(-xmax, xmax + 1, size=(3, 5, k))
    w = rng.integers(-wmax, wmax + 1, size=(k, 7))
    x[0, 0] = xmax
    w[:, 0] = wmax
    assert np.array_equal(exact_matmul(x, w, xmax, wmax), x @ w)


# -- E2Softmax ---------------------------------------------------------------------------------

def e2softmax_spec(row: list[int], p: E2SoftmaxParams) -> list[int]:
    """docs/numerics.md section 5, read literally, one element at a time."""
    fr = 2 ** p.exp_frac
    tf = [round(2.0 ** (p.sum_frac - i / fr)) for i in range(fr)]
    cm = [round(2 ** 8 * 2 / (2 + (2 * m + 1) / 2 ** p.recip_bits)) for m in range(2 ** p.recip_bits)]
    es = []
    for x in row:
        t = x + (x >> 1) - (x >> 4)
        s = p.in_frac - p.exp_frac
        es.append(t >> s if s >= 0 else t << -s)
    ref = (max(es) >> p.exp_frac) + 1
    total = 0
    for e in es:
        d = (ref << p.exp_frac) - e
        total += tf[d & (fr - 1)] >> min(d >> p.exp_frac, p.code_max)
    lead = total.bit_length() - 1
    m = (total >> (lead - p.recip_bits)) & (2 ** p.recip_bits - 1)
    out = []
    for e in es:
        d = (ref << p.exp_frac) - e
        k, f = min(d >> p.exp_frac, p.code_max), d & (fr - 1)
        sh = k + lead + 8 - p.out_frac
        out.append(min((tf[f] * cm[m] + (1 << (sh - 1))) >> sh, p.out_max))
    return out


rows = st.lists(st.integers(-128, 127), min_size=1, max_size=40)


@settings(max_examples=200)
@given(row=rows, in_frac=st.integers(0, 10), exp_frac=st.integers(0, 3), recip_bits=st.integers(1, 3))
def test_e2softmax_equals_the_literal_spec(row, in_frac, exp_frac, recip_bits):
    p = E2SoftmaxParams(in_bits=8, in_frac=in_frac, exp_frac=exp_frac, recip_bits=recip_bits)
    assert e2softmax(np.array([row]), p)[0].tolist() == e2softmax_spec(row, p)


def test_e2softmax_does_not_depend_on_the_order_of_a_row():
    """The sum is taken relative to the row's maximum, so any order of summation (any lane count, any
    adder tree) gives the same integers; a running maximum with shift renormalisation (SOLE) does not:
    on these 16-bit rows it changes some outputs by up to 18 steps."""
    rng = np.random.default_rng(0)
    p = E2SoftmaxParams(in_bits=16, in_frac=8)
    x = np.round(rng.normal(0, 1024, (300, 197))).astype(np.int64)
    y = e2softmax(x, p)
    for _ in range(3):
        perm = rng.permutation(x.shape[1])
        assert np.array_equal(e2softmax(x[:, perm], p), y[:, perm])


@settings(max_examples=200)
@given(row=st.lists(st.integers(-128, 127), min_size=2, max_size=200), in_frac=st.integers(2, 7))
def test_e2softmax_rows_sum_to_one_within_bound(row, in_frac):
    """With the default 2 mantissa bits, every row sums to 1 within [0.8, 1.25] (the mantissa correction
    is exact to +-11%; output rounding and renormalisation truncation add the rest)."""
    p = E2SoftmaxParams(in_bits=8, in_frac=in_frac)
    y = e2softmax(np.array([row]), p)[0]
    assert 0.8 <= y.sum() * p.out_scale <= 1.25
    assert y.min() >= 0 and y.max() <= p.out_max


@settings(max_examples=100)
@given(row=rows, in_frac=st.integers(0, 8))
def test_e2softmax_is_monotone_and_ties_agree(row, in_frac):
    p = E2SoftmaxParams(in_bits=8, in_frac=in_frac)
    x = np.array(row)
    y = e2softmax(x[None], p)[0]
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(y[order]) >= 0)
    for v in set(row):
        assert len(set(y[x == v].tolist())) == 1


def test_e2softmax_extreme_rows():
    p = E2SoftmaxParams(in_bits=8, in_frac=4)
    equal = e2softmax(np.full((1, 10), 37), p)[0]
    assert len(set(equal.tolist())) == 1 and 0.8 <= equal.sum() * p.out_scale <= 1.25
    one_huge = np.full((1, 16), -128)
    one_huge[0, 5] = 127
    y = e2softmax(one_huge, p)[0]
    assert y[5] >= 200 and y.sum() - y[5] == 0
    assert e2softmax(np.full((1, 1), -128), p)[0, 0] >= 200


def test_e2softmax_close_to_float_softmax_on_wide_logits():
    rng = np.random.default_rng(1)
    p = E2SoftmaxParams(in_bits=8, in_frac=4)
    x = rng.integers(-128, 128, size=(4000, 64))
    err = np.abs(e2softmax(x, p) - softmax_float_then_quantize(x, 2.0 ** -4, p)) * p.out_scale
    assert err.max() <= 0.08 and err.mean() <= 0.002


def test_softmax_output_format_follows_the_model_range():
    assert output_format(1 / 255, 255) == (8, 255)
    assert output_format(2 ** -8, 255) == (8, 255)
    frac, top = output_format(0.00066, 255)
    assert frac == 10 and top == round(0.00066 * 255 * 1024)


# -- AILayerNorm -------------------------------------------------------------------------------------

def test_compressed_square_exhaustive():
    for a in range(-128, 128):
        m = abs(a)
        if m < 16:
            expect = m * m
        else:
            s = m.bit_length() - 4
            q = m >> s
            expect = ((SQUARES[q] + q) << (2 * s)) + (1 << (2 * s - 2))
        assert int(compressed_square(np.array([a]))[0]) == expect
        assert abs(expect - m * m) <= 0.14 * m * m + 1e-9


def test_rsqrt_table_is_accurate():
    for parity in (0, 1):
        for i in range(32):
            v = 2 ** parity * (1 + (i + 0.5) / 32)
            assert abs(RSQRT[parity * 32 + i] / 2 ** 15 - 1 / math.sqrt(v)) <= 2 ** -15


def ailayernorm_spec(x: list[int], p) -> list[int]:
    """docs/numerics.md section 6, read literally."""
    sx = sum(x)
    sq = sum(int(compressed_square(np.array([v]))[0]) for v in x)
    v = max(max(p.dim * sq - sx * sx, 0) + p.eps, 1)
    lead = v.bit_length() - 1
    h, par = lead >> 1, lead & 1
    i = ((v >> (lead - 5)) if lead >= 5 else (v << (5 - lead))) & 31
    r = RSQRT[par * 32 + i]
    sh = 15 + h - 10
    out = []
    for c, xc in enumerate(x):
        z = ((p.dim * xc - sx) * r + (1 << (sh - 1))) >> sh
        out.append(max(p.out_min, min(p.out_max, (z * int(p.gain[c]) + int(p.bias[c])) >> p.shift)))
    return out


@settings(max_examples=100)
@given(x=st.lists(st.integers(-128, 127), min_size=2, max_size=48), seed=st.integers(0, 1000))
def test_ailayernorm_equals_the_literal_spec(x, seed):
    rng = np.random.default_rng(seed)
    d = len(x)
    p = fold_layernorm(rng.uniform(-2, 2, d), rng.uniform(-1, 1, d), 1e-5, 0.02, 0.03, -128, 127)
    assert ailayernorm(np.array([x]), p)[0].tolist() == ailayernorm_spec(x, p)


@pytest.mark.parametrize("spread", [4, 20, 60])
def test_ailayernorm_error_bound_on_realistic_tokens(spread):
    """On Gaussian-like tokens: >= 97% of outputs within 1 LSB of float LayerNorm, >= 99.5% within 2,
    none beyond 5."""
    rng = np.random.default_rng(spread)
    x = np.clip(np.round(rng.standard_normal((2000, 192)) * spread), -128, 127).astype(np.int64)
    g, b = rng.uniform(0.5, 1.5, 192), rng.uniform(-0.5, 0.5, 192)
    p = fold_layernorm(g, b, 1e-5, 0.05, 0.03, -128, 127)
    err = np.abs(ailayernorm(x, p) - layernorm_float_then_quantize(x, g, b, 1e-5, 0.05, 0.03, -128, 127))
    assert (err <= 1).mean() >= 0.97 and (err <= 2).mean() >= 0.995 and err.max() <= 5


def test_ailayernorm_constant_token_gives_beta():
    p = fold_layernorm(np.ones(8), np.linspace(-1, 1, 8), 1e-5, 0.05, 0.01, -128, 127)
    y = ailayernorm(np.full((1, 8), -128), p)[0]
    assert np.array_equal(y, np.round(np.linspace(-1, 1, 8) / 0.01).clip(-128, 127))


# -- GELU ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("approx", ["none", "tanh"])
def test_gelu_table_is_float_then_quantize_for_every_code(approx):
    import torch

    inp, out = ir.QuantSpec(0.04, 8, True), ir.QuantSpec(0.03, 8, True)
    table = build_gelu_table(inp, out, approx)
    codes = np.arange(-128, 128)
    ref = torch.nn.functional.gelu(torch.tensor(codes * 0.04, dtype=torch.float64), approximate=approx)
    expect = np.clip(np.round(ref.numpy() / 0.03), -128, 127)
    assert np.array_equal(gelu_lookup(codes, table), expect)
    assert np.allclose(gelu_float(codes * 0.04, approx), ref.numpy())
