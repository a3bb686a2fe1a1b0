"""Read-only NumPy arrays for the immutable dataclasses of the IR and of the numerics (a leaf module both
import, so neither imports the other for it)."""

from __future__ import annotations

from typing import Any

import numpy as np


def frozen_array(a: Any, dtype=None) -> np.ndarray:
    """A read-only copy, so immutable dataclasses really are immutable."""
    arr = np.array(a, dtype=dtype, copy=True)
    arr.flags.writeable = False
    return arr
