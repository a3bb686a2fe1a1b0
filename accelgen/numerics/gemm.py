"""Exact integer matrix products, computed with BLAS where that is provably exact.

A float32 GEMM is exact when every partial sum is an integer below 2^24 in magnitude, whatever the
summation order; so K is split into chunks of at most floor(2^24 / (max|x| * max|w|)) terms and the chunk
results are added in int64. float64 (2^53) is the fallback, int64 matmul (slow, no BLAS) the last resort.
"""

from __future__ import annotations

import numpy as np

F32_EXACT = 2 ** 24
F64_EXACT = 2 ** 53


def exact_matmul(x: np.ndarray, w: np.ndarray, max_abs_x: int, max_abs_w: int, as_int: bool = True) -> np.ndarray:
    """x (..., N, K) @ w (..., K, M) exactly, as int64 (batch axes broadcast as in ``@``).
    ``max_abs_x`` / ``max_abs_w`` must bound every element's magnitude. With ``as_int=False`` a single
    float32 product is returned as it is (its values are exact integers), saving a conversion."""
    k = x.shape[-1]
    term = int(max_abs_x) * int(max_abs_w)
    if term == 0:
        return np.zeros(np.broadcast_shapes(x.shape[:-1], w.shape[:-2] + (1,)) + (w.shape[-1],), dtype=np.int64)
    chunk = F32_EXACT // term
    if chunk >= 1:
        # C-contiguous float32 operands: BLAS cannot take strided (e.g. per-head transposed) views
        xf = np.ascontiguousarray(x, dtype=np.float32)
        wf = np.ascontiguousarray(w, dtype=np.float32)
        if chunk >= k:
            product = xf @ wf
            return product.astype(np.int64) if as_int else product
        acc = None
        for start in range(0, k, chunk):
            part = (xf[..., start:start + chunk] @ wf[..., start:start + chunk, :]).astype(np.int64)
            acc = part if acc is None else acc + part
        return acc
    if term * k < F64_EXACT:
        return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.astype(np.int64)
