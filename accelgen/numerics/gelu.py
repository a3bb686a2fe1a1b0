"""Integer GELU: a table over every input code (2^bits entries), computed once here and emitted verbatim.

For 8-bit inputs the table is exactly "GELU in float, then quantize" of every possible input, so it costs
no accuracy against the float-then-quantize form (ties aside) and 256 entries fit in one LUTRAM/BRAM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import frozen_array

if TYPE_CHECKING:  # the IR imports the numerics, never the other way round
    from ..ir import QuantSpec


@dataclass(frozen=True, eq=False)
class GeluTable:
    in_min: int
    values: np.ndarray  # values[i] = output code for input code in_min + i

    def __post_init__(self):
        object.__setattr__(self, "values", frozen_array(self.values, np.int64))


def gelu_float(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def build_gelu_table(in_spec: QuantSpec, out_spec: QuantSpec, approximate: str = "none") -> GeluTable:
    """T[q - qmin] = clamp(round(GELU((q - z_in) s_in) / s_out) + z_out) for every input code q."""
    codes = np.arange(in_spec.qmin, in_spec.qmax + 1)
    y = gelu_float((codes - in_spec.zero_point) * in_spec.scale, approximate) / out_spec.scale
    return GeluTable(in_min=in_spec.qmin,
                     values=np.clip(np.round(y) + out_spec.zero_point, out_spec.qmin, out_spec.qmax))


def gelu_lookup(x: np.ndarray, table: GeluTable) -> np.ndarray:
    return table.values[x.astype(np.int64) - table.in_min]
