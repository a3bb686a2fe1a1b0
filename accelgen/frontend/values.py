"""Abstract values of the front end's walk over a QONNX graph.

Every activation is tracked as a *view*: an integer array of the ONNX tensor's shape whose entries are flat
indices into a canonical array (an IR tensor, or a pending float computation). Layout ops (Reshape,
Transpose, Gather, Slice, Split, ...) are applied to that index array by the ONNX reference runtime, so
the importer learns exactly where every element of q, k, v, heads and tokens lives, whatever sequence of
layout ops a model uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..ir import QuantSpec


@dataclass(frozen=True, eq=False)
class Const:
    value: np.ndarray


@dataclass(frozen=True, eq=False)
class QConst:
    """A Quant node applied to a constant: integer values with a (broadcastable) float scale."""

    values: np.ndarray
    scale: np.ndarray
    spec: QuantSpec

    def dequant(self) -> np.ndarray:
        return self.values * self.scale


@dataclass(frozen=True, eq=False)
class Image:
    """The float graph input (batch, channels, height, width)."""

    shape: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Act:
    """A view of a quantized IR tensor; the real value is ``factor * dequant(tensor)``."""

    tensor: str
    index: np.ndarray
    factor: float = 1.0


# ----------------------------------------------------------------------------------------------
# Pending float computations: closed (turned into an IR op) by the Quant node that follows them.


@dataclass(frozen=True, eq=False)
class Comp:
    """Base of pending computations; ``shape`` is the canonical layout of the result."""

    node: str  # module name of the node that started it (becomes the IR op name)
    shape: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class GemmComp(Comp):
    """x[rows] @ W^T with W (M, K) already in the input tensor's column order (PatchEmbed when patch > 0)."""

    input: str = ""
    weight: np.ndarray = None  # int (M, K)
    w_scale: np.ndarray = None  # (M,)
    w_spec: QuantSpec = None
    rows: tuple[int, ...] | None = None
    bias: np.ndarray | None = None  # (M,) float
    addend: np.ndarray | None = None  # (rows, M) float, e.g. the position table
    prefix: np.ndarray | None = None  # (k, M) constant rows placed first (class token)
    residual: str | None = None
    patch: int = 0


@dataclass(frozen=True, eq=False)
class ScoresComp(Comp):
    q: str = ""
    k: str = ""
    q_cols: tuple[int, ...] = ()
    k_cols: tuple[int, ...] = ()
    head_dim: int = 0


@dataclass(frozen=True, eq=False)
class ContextComp(Comp):
    probs: str = ""
    v: str = ""
    v_cols: tuple[int, ...] = ()
    head_dim: int = 0


@dataclass(frozen=True, eq=False)
class UnaryComp(Comp):
    """Softmax / LayerNorm / Gelu over an IR tensor (same canonical layout as the input)."""

    op: str = ""
    input: str = ""
    params: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class AddComp(Comp):
    a: str = ""
    b: str = ""


@dataclass(frozen=True, eq=False)
class Pending:
    comp: Comp
    index: np.ndarray
    factor: float = 1.0

    def with_comp(self, **changes) -> "Pending":
        return replace(self, comp=replace(self.comp, **changes))


Value = Const | QConst | Image | Act | Pending


def identity_index(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


def is_identity(index: np.ndarray, canonical: tuple[int, ...]) -> bool:
    """The view covers the canonical array element for element, in order (size-1 axes aside)."""
    dims = tuple(d for d in index.shape if d != 1)
    canon = tuple(d for d in canonical if d != 1)
    return dims == canon and np.array_equal(index.ravel(), np.arange(index.size))
