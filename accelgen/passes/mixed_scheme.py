"""Mixed-scheme weight quantization (post-training, after Mix-and-Match / Auto-ViT-Acc).

Per output row a weight matrix is either fixed-point (``bits``-bit integers on DSP lanes) or power-of-two
(values 0 or +-2^e, e in 0..6, on LUT shift-add lanes; a 4-bit code: sign and 3-bit exponent, exponent 7
meaning zero). Rows are chosen for power-of-two where they lose least, measured as the relative squared
error of re-quantizing the row. The result is an ordinary integer graph: power-of-two rows are integers
+-2^e with their own scale, so the simulator computes exactly what the hardware will.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import ir

POT_MAX_EXP = 6  # codes 0..6 are exponents, 7 is zero


def _nearest_level(a: np.ndarray) -> np.ndarray:
    """Nearest of {0, 1, 2, 4, ..., 64} for 0 <= a <= 64 (linear distance; ties go to the smaller level):
    with a = m * 2^p, m in [0.5, 1), the candidates are 2^(p-1) and 2^p, split at m = 0.75."""
    m, p = np.frexp(a)
    level = np.ldexp(np.ones_like(a), np.where(m <= 0.75, p - 1, p))
    return np.where(a <= 0.5, 0.0, np.clip(level, 1.0, 2.0 ** POT_MAX_EXP))


def _magnitudes(weight: ir.Weight, rows=slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """|q| of the selected rows and each row's largest |q| (at least 1)."""
    q = np.abs(np.asarray(weight.values[rows], dtype=np.int16))
    return q, np.maximum(q.max(axis=1, initial=0), 1)


def pot_rows_of(weight: ir.Weight, rows) -> tuple[np.ndarray, np.ndarray]:
    """Power-of-two re-quantization of ``rows``: (integers 0 / +-2^e, per-row scale), the row's largest
    magnitude mapped to 2^6. Computed from the integers, so it depends only on q and the row maximum."""
    q, top = _magnitudes(weight, rows)
    level = _nearest_level(q * (2.0 ** POT_MAX_EXP) / top[:, None])
    values = (np.sign(weight.values[rows]) * level).astype(np.int64)
    return values, weight.scale[rows] * top / 2 ** POT_MAX_EXP


def fixed_rows_of(weight: ir.Weight, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric narrow-range ``bits``-bit re-quantization of every row, per-row scale."""
    qmax = 2 ** (bits - 1) - 1
    q, top = _magnitudes(weight)
    mag = np.round(q * qmax / top[:, None])
    return (np.sign(weight.values) * mag).astype(np.int64), weight.scale * top / qmax


def _error_table(fn, qmax: int) -> np.ndarray:
    """T[m, a] = squared error of re-quantizing magnitude a in a row whose largest magnitude is m."""
    m = np.arange(qmax + 1)[:, None].clip(min=1)
    a = np.arange(qmax + 1)[None, :].astype(np.float64)
    return (fn(a, m) - a) ** 2


def _row_errors(weight: ir.Weight, fn) -> np.ndarray:
    """Relative squared error per row (the scale cancels, so integer tables suffice)."""
    qmax = 2 ** (weight.bits - 1)
    q, top = _magnitudes(weight)
    table = _error_table(fn, qmax)
    err = np.take(table.ravel(), top[:, None].astype(np.int64) * (qmax + 1) + q).sum(axis=1)
    norm = (q.astype(np.float64) ** 2).sum(axis=1)
    return np.where(norm > 0, err / np.where(norm > 0, norm, 1.0), 0.0)


def pot_row_errors(weight: ir.Weight) -> np.ndarray:
    """Relative squared error of each row if it were power-of-two (the cost of choosing it)."""
    return _row_errors(weight, lambda a, m: _nearest_level(a * 2.0 ** POT_MAX_EXP / m) * m / 2 ** POT_MAX_EXP)


def fixed_row_errors(weight: ir.Weight, bits: int) -> np.ndarray:
    """Relative squared error of each row re-quantized to ``bits``-bit fixed point."""
    qmax = 2 ** (bits - 1) - 1
    return _row_errors(weight, lambda a, m: np.round(a * qmax / m) * m / qmax)


def choose_pot_rows(weight: ir.Weight, count: int, tm: int) -> tuple[int, ...]:
    """The ``count`` rows that lose least as power-of-two within the per-bank quotas of an engine with
    ``tm`` memory banks (hw/plan.pot_row_order: the tiles deal each scheme's rows round robin over banks)."""
    from ..hw.plan import pot_row_order  # hw/ reads this module's constants

    return tuple(sorted(int(i) for i in pot_row_order(pot_row_errors(weight), tm)[:count]))


def apply_scheme(weight: ir.Weight, bits: int, pot_rows: tuple[int, ...]) -> ir.Weight:
    """Re-quantize: rows in ``pot_rows`` to power-of-two, the others to ``bits``-bit fixed point (rows
    keep their model integers when ``bits`` equals the model's width)."""
    values, scale = np.array(weight.values, dtype=np.int64), np.array(weight.scale)
    if bits != weight.bits:
        values, scale = fixed_rows_of(weight, bits)
    mask = np.zeros(weight.shape[0], dtype=bool)
    mask[list(pot_rows)] = True
    if mask.any():
        values[mask], scale[mask] = pot_rows_of(weight, mask)
    return ir.Weight(values, scale, bits, weight.narrow, pot_rows=mask if mask.any() else None)


def apply_weight_schemes(graph: ir.Graph, choices: dict[str, tuple[int, tuple[int, ...]]]) -> ir.Graph:
    """Pure pass: ``choices`` maps a GEMM op name to (fixed-point bits, power-of-two rows)."""
    ops = []
    for op in graph.ops:
        if isinstance(op, ir.GemmOp) and op.name in choices:
            bits, rows = choices[op.name]
            op = replace(op, weight=apply_scheme(op.weight, bits, rows), requant=None, bounds=None)
        ops.append(op)
    return graph.replace_ops(ops)
