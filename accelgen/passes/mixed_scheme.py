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
POT_LEVELS = np.array([0] + [2 ** e for e in range(POT_MAX_EXP + 1)], dtype=np.float64)


def _nearest_level(a: np.ndarray) -> np.ndarray:
    """Nearest of {0, 1, 2, 4, ..., 64} (linear distance; ties go to the smaller level)."""
    idx = np.searchsorted(POT_LEVELS, a)
    idx = np.clip(idx, 1, len(POT_LEVELS) - 1)
    lo, hi = POT_LEVELS[idx - 1], POT_LEVELS[idx]
    return np.where(a - lo <= hi - a, lo, hi)


def pot_quantize_rows(real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power-of-two rows: (integer values 0 / +-2^e, per-row scale) with the row's largest magnitude
    mapped to 2^6."""
    top = np.abs(real).max(axis=1)
    scale = np.where(top > 0, top / 2 ** POT_MAX_EXP, 1.0)
    mag = _nearest_level(np.abs(real) / scale[:, None])
    return (np.sign(real) * mag).astype(np.int64), scale


def fixed_quantize_rows(real: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric narrow-range fixed-point rows with a per-row scale."""
    qmax = 2 ** (bits - 1) - 1
    top = np.abs(real).max(axis=1)
    scale = np.where(top > 0, top / qmax, 1.0)
    return np.clip(np.round(real / scale[:, None]), -qmax, qmax).astype(np.int64), scale


def relative_row_error(real: np.ndarray, values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    err = ((values * scale[:, None] - real) ** 2).sum(axis=1)
    norm = (real ** 2).sum(axis=1)
    return np.where(norm > 0, err / np.where(norm > 0, norm, 1.0), 0.0)


def pot_row_errors(weight: ir.Weight) -> np.ndarray:
    """Relative squared error of each row if it were power-of-two (the cost of choosing it)."""
    real = weight.dequantized()
    values, scale = pot_quantize_rows(real)
    return relative_row_error(real, values, scale)


def choose_pot_rows(weight: ir.Weight, count: int) -> tuple[int, ...]:
    """The ``count`` rows that lose least as power-of-two (stable order by error, then index)."""
    order = np.argsort(pot_row_errors(weight), kind="stable")
    return tuple(sorted(int(i) for i in order[:count]))


def apply_scheme(weight: ir.Weight, bits: int, pot_rows: tuple[int, ...]) -> ir.Weight:
    """Re-quantize: rows in ``pot_rows`` to power-of-two, the others to ``bits``-bit fixed point (rows
    keep their model integers when ``bits`` equals the model's width)."""
    real = weight.dequantized()
    values = np.array(weight.values, dtype=np.int64)
    scale = np.array(weight.scale)
    if bits != weight.bits:
        values, scale = fixed_quantize_rows(real, bits)
    mask = np.zeros(weight.shape[0], dtype=bool)
    mask[list(pot_rows)] = True
    if mask.any():
        pv, ps = pot_quantize_rows(real[mask])
        values[mask], scale[mask] = pv, ps
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
