"""The numerics' constants against values written out from docs/numerics.md by an independent reading (not
by importing the formulas of the implementation); exact equality, no tolerances. The tables reach C++ and
Verilog verbatim, so a wrong entry would make all three simulation levels agree on the wrong answer."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from accelgen import ir
from accelgen.numerics import layernorm
from accelgen.numerics.gelu import build_gelu_table
from accelgen.numerics.layernorm import RSQRT, SQUARES
from accelgen.numerics.primitives import dyadic, rounding_bias
from accelgen.numerics.softmax import E2SoftmaxParams

pytestmark = pytest.mark.unit

# Section 6: RSQ[p * 32 + i] = round(2^15 / sqrt(2^p * (1 + (i + 0.5) / 32))), worked out to 50 digits.
RSQ_LITERAL = (
    32515, 32026, 31558, 31111, 30682, 30270, 29874, 29494, 29127, 28774, 28434, 28105, 27787, 27480, 27183,
    26895, 26617, 26346, 26084, 25830, 25583, 25342, 25109, 24882, 24660, 24445, 24235, 24031, 23831, 23637,
    23447, 23262,
    22992, 22646, 22315, 21999, 21695, 21404, 21124, 20855, 20596, 20346, 20106, 19873, 19649, 19431, 19221,
    19018, 18821, 18630, 18444, 18264, 18090, 17920, 17755, 17594, 17438, 17285, 17137, 16992, 16851, 16714,
    16579, 16448,
)
# Section 6: SQ[i] = i^2, 16 entries.
SQ_LITERAL = (0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196, 225)
# Section 5, defaults F = 2, M = 2 (the values the document lists).
TF_LITERAL = (32768, 27554, 23170, 19484)
C_LITERAL = (228, 186, 158, 137)
P_LITERAL = (7471104, 6282312, 5282760, 4442352, 6094848, 5125044, 4309620, 3624024, 5177344, 4353532,
             3660860, 3078472, 4489216, 3774898, 3174290, 2669308)
# Section 7 for a 4-bit input of scale 1/2 and an 8-bit output of scale 1/16: codes -8..7 are x = -4..3.5;
# GELU(x) / (1/16) rounded: e.g. GELU(-1) = -0.1587 -> -2.54 -> -3, GELU(3.5) = 3.4992 -> 55.99 -> 56.
GELU_LITERAL = (0, 0, 0, 0, -1, -2, -3, -2, 0, 6, 13, 22, 31, 40, 48, 56)
# Section 3: M -> (m, k) with k = 15 - floor(log2 M), m = round(M 2^k) (2^16 becomes 2^15, k - 1).
DYADIC_LITERAL = {0.3: (39322, 17), 1.0: (32768, 15), 0.7: (45875, 16), 1.99999: (32768, 14),
                  1.5 * 2.0 ** -20: (49152, 35)}
# Section 3: B = round(b 2^k) + 2^(k-1).
BIAS_LITERAL = {(17, 0.25): 98304, (10, -0.3): 205, (4, 0.0): 8}


def tables_against_literals(rsq, squares, tf, c, p) -> list[str]:
    """Names of the tables that differ from the literal values of the documentation."""
    pairs = {"RSQ": (rsq, RSQ_LITERAL), "SQ": (squares, SQ_LITERAL), "TF": (tf, TF_LITERAL),
             "C": (c, C_LITERAL), "P": (p, P_LITERAL)}
    return [name for name, (ours, literal) in pairs.items() if tuple(ours) != literal]


def test_tables_equal_the_documented_values():
    sm = E2SoftmaxParams(in_bits=8, in_frac=4)
    assert tables_against_literals(RSQRT, SQUARES, sm.pow_table, sm.recip_table, sm.out_table) == []


def test_an_rsqrt_table_rounded_with_int_is_caught(monkeypatch):
    """Mutation: the inverse-square-root table built with int() instead of round()."""
    monkeypatch.setattr(layernorm, "round", int, raising=False)
    truncated = layernorm.rsqrt_table()
    sm = E2SoftmaxParams(in_bits=8, in_frac=4)
    assert truncated != RSQ_LITERAL
    assert tables_against_literals(truncated, SQUARES, sm.pow_table, sm.recip_table, sm.out_table) == ["RSQ"]


def test_gelu_table_equals_the_documented_values():
    table = build_gelu_table(ir.QuantSpec(0.5, 4, True), ir.QuantSpec(1 / 16, 8, True))
    assert table.in_min == -8
    assert tuple(int(v) for v in table.values) == GELU_LITERAL


@pytest.mark.parametrize("real", sorted(DYADIC_LITERAL))
def test_dyadic_multipliers_equal_the_documented_values(real):
    assert dyadic(real) == DYADIC_LITERAL[real]


@pytest.mark.parametrize("shift, value", sorted(BIAS_LITERAL))
def test_rounding_biases_equal_the_documented_values(shift, value):
    assert int(rounding_bias(shift, value)) == BIAS_LITERAL[(shift, value)]


# ----------------------------------------------------------------------------------------------
# Every multiplier, shift and bias of real models, against section 3 read independently (exact rationals)


def documented_dyadic(real: Fraction) -> tuple[int, int]:
    """k = 15 - floor(log2 M), m = round(M 2^k); if m = 2^16 then m = 2^15, k = k - 1."""
    floor_log2 = real.numerator.bit_length() - real.denominator.bit_length()
    if Fraction(2) ** floor_log2 > real:
        floor_log2 -= 1
    k = 15 - floor_log2
    m = round(real * Fraction(2) ** k)
    return (2 ** 15, k - 1) if m == 2 ** 16 else (m, k)


def sixteen_significant_bits(v: Fraction) -> int:
    """v rounded at 2^e, e = max(0, floor(log2 v) - 15): r_c of docs/numerics.md section 3."""
    e = 0
    while v >= 2 ** (16 + e):
        e += 1
    r = round(v / 2 ** e)
    return 2 ** 15 * 2 ** (e + 1) if r == 2 ** 16 else r * 2 ** e


def documented_requant(m_real: list[Fraction], bias_real: np.ndarray, res_real: Fraction | None):
    """(m, k, B, r) per channel by docs/numerics.md section 3."""
    out = []
    for c, real in enumerate(m_real):
        m, k = documented_dyadic(real)
        r = None if res_real is None else sixteen_significant_bits(res_real * 2 ** k)
        bias = [round(Fraction(float(b)) * 2 ** k) + (2 ** (k - 1) if k > 0 else 0)
                for b in np.atleast_2d(bias_real)[:, c]]
        out.append((m, k, bias, r))
    return out


def linear_constants(graph: ir.Graph, op: ir.Linear):
    s_in, out = Fraction(graph.tensors[op.input].quant.scale), graph.tensors[op.output].quant
    reals = [s_in * Fraction(float(s)) for s in op.weight.scale]
    s_out = min(reals) if out is None else Fraction(out.scale)
    bias = np.zeros(op.weight.shape[0]) if op.bias is None else op.bias
    res = None if op.residual is None else Fraction(graph.tensors[op.residual].quant.scale) / s_out
    return documented_requant([r / s_out for r in reals], bias / float(s_out), res)


@pytest.mark.sim
@pytest.mark.parametrize("which", ["default", "flows/torchvision-fx", "flows/timm_sdpa-layerwise"])
def test_linear_layer_constants_follow_the_documentation(which, default_model):
    from pathlib import Path

    from accelgen.frontend.importer import import_qonnx
    from accelgen.passes import to_integer

    path = default_model if which == "default" else Path(__file__).parent / "data" / f"{which}.onnx"
    graph = import_qonnx(path)
    lowered = to_integer(graph)
    for op in graph.ops_of(ir.Linear):
        rq = lowered.op(op.name).requant
        for c, (m, k, bias, r) in enumerate(linear_constants(graph, op)):
            assert (int(rq.mult[c]), int(rq.shift[c])) == (m, k), (op.name, c)
            assert list(np.atleast_2d(rq.bias.T)[c] if rq.bias.ndim > 1 else [rq.bias[c]]) == bias, (op.name, c)
            if r is not None:
                assert int(rq.res_mult[c]) == r, (op.name, c)


def test_documented_dyadic_reading_is_itself_exact():
    """The independent reading gives the literal examples (so it is not a copy of a broken formula)."""
    for real, expected in DYADIC_LITERAL.items():
        assert documented_dyadic(Fraction(real)) == expected
    assert math.isclose(39322 * 2.0 ** -17, 0.3, rel_tol=2 ** -16)
