"""The intermediate representation: typed, immutable dataclasses and their JSON round trip.

A ``Graph`` is a list of ops in execution order over named activation tensors (per image; the batch
dimension is implicit). Token tensors are (tokens, features); attention maps are (heads, tokens, tokens);
the image is (channels, height, width). Every activation tensor carries the QuantSpec of the Brevitas
quantizer that produced it, or one that accelgen chose (``passes.formats``) where the model leaves the
tensor in float; None only for the float logits (until lowering) and, straight out of the front end, for
the tensors ``passes.formats`` has yet to give a format.

The front end fills the model fields (integer weights, float scales, float LayerNorm/bias constants).
Lowering passes fill the integer fields (``requant``, ``unit``) with ``dataclasses.replace``; after
lowering, the simulators read only integer fields (``Graph.is_integer``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from .arrays import frozen_array


# ----------------------------------------------------------------------------------------------
# Quantization formats


@dataclass(frozen=True)
class QuantSpec:
    """Uniform quantizer: real = scale * (q - zero_point), q in [qmin, qmax]."""

    scale: float
    bits: int
    signed: bool
    narrow: bool = False
    zero_point: int = 0

    @property
    def qmin(self) -> int:
        if not self.signed:
            return 0
        return -(2 ** (self.bits - 1)) + (1 if self.narrow else 0)

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2 ** self.bits - 1 - (1 if self.narrow else 0)

    @property
    def is_pow2(self) -> bool:
        return self.scale > 0 and math.log2(self.scale) == round(math.log2(self.scale))


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    quant: QuantSpec | None
    bounds: tuple[int, int] | None = None  # proven range of the integer values (after lowering)


@dataclass(frozen=True, eq=False)
class Weight:
    """Integer weight matrix (out_features, in_features) with one float scale per output row.

    ``pot_rows`` marks rows in the power-of-two scheme (values 0 or +-2^p); None means all fixed-point.
    """

    values: np.ndarray
    scale: np.ndarray
    bits: int
    narrow: bool = True
    pot_rows: np.ndarray | None = None

    def __post_init__(self):
        values = np.asarray(self.values)
        if values.size and (values.min() < -128 or values.max() > 127):
            raise ValueError("weight integers must fit 8 bits")
        object.__setattr__(self, "values", frozen_array(values, np.int8))
        object.__setattr__(self, "scale", frozen_array(self.scale, np.float64))
        if self.pot_rows is not None:
            object.__setattr__(self, "pot_rows", frozen_array(self.pot_rows, bool))

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.values.shape)

    @property
    def max_abs(self) -> int:
        return int(np.abs(self.values.astype(np.int16)).max(initial=0))

    def dequantized(self) -> np.ndarray:
        return self.values * self.scale[:, None]


# ----------------------------------------------------------------------------------------------
# Integer parameters filled in by lowering


@dataclass(frozen=True, eq=False)
class Requant:
    """y = clamp((acc * mult + res * res_mult + bias) >> shift, qmin, qmax), per output channel.

    ``bias`` already holds the rounding constant 2^(shift-1) and the model bias on the same scale; it is
    (channels,) or, for the patch embedding with its position table, (rows, channels). ``qmin``/``qmax``
    are None for the model's output logits, which are not clamped. ``res_mult`` of a linear layer's residual
    holds 16 significant bits and may be wider (docs/numerics.md section 3; the hardware's 16-bit multiplier
    and left shift: numerics.primitives.split_residual_mult).
    """

    mult: np.ndarray
    shift: np.ndarray
    bias: np.ndarray
    qmin: int | None
    qmax: int | None
    res_mult: np.ndarray | None = None

    def __post_init__(self):
        for name in ("mult", "shift", "bias", "res_mult"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, frozen_array(value, np.int64))


@dataclass(frozen=True)
class Bounds:
    """Proven integer ranges (interval analysis) of a requantizing op: the exact accumulator and the
    pre-shift sum acc * mult + res * res_mult + bias."""

    acc_min: int
    acc_max: int
    sum_min: int
    sum_max: int

    @property
    def acc_bits(self) -> int:
        return signed_bits(self.acc_min, self.acc_max)

    @property
    def sum_bits(self) -> int:
        return signed_bits(self.sum_min, self.sum_max)


def signed_bits(lo: int, hi: int) -> int:
    """Bits of a two's-complement integer holding every value in [lo, hi]."""
    return max((v if v >= 0 else -v - 1).bit_length() + 1 for v in (int(lo), int(hi)))


# ----------------------------------------------------------------------------------------------
# Ops


@dataclass(frozen=True, eq=False)
class Op:
    name: str
    output: str
    kind: ClassVar[str] = "op"

    @property
    def inputs(self) -> tuple[str, ...]:
        return ()

    @property
    def is_lowered(self) -> bool:
        return True


@dataclass(frozen=True, eq=False)
class InputQuant(Op):
    """Float image -> integer image (the only float-consuming op; it runs on the host)."""

    kind: ClassVar[str] = "input_quant"


@dataclass(frozen=True, eq=False)
class RequantOp(Op):
    """An op whose integer form is an exact sum followed by a dyadic requantization."""

    requant: Requant | None = None
    bounds: Bounds | None = None

    @property
    def is_lowered(self) -> bool:
        return self.requant is not None and self.bounds is not None


@dataclass(frozen=True, eq=False)
class UnaryOp(Op):
    """An op on one tensor whose integer form is a unit with its own parameters (``unit``)."""

    input: str = ""
    unit: Any = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)

    @property
    def is_lowered(self) -> bool:
        return self.unit is not None


@dataclass(frozen=True, eq=False)
class GemmOp(RequantOp):
    """Common part of the ops that run on the GEMM engine with a constant weight."""

    input: str = ""
    weight: Weight = None
    bias: np.ndarray | None = None  # float, on the real scale of the output

    def __post_init__(self):
        if self.bias is not None:
            object.__setattr__(self, "bias", frozen_array(self.bias, np.float64))

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)


@dataclass(frozen=True, eq=False)
class PatchEmbed(GemmOp):
    """Conv(kernel = stride = patch) as a GEMM over patches, then prepend constant rows (class token)
    and add the position table, then quantize. Weight columns are ordered (channel, ky, kx)."""

    patch: int = 0
    prefix: np.ndarray | None = None  # float rows (prefix_rows, channels) placed before the patches
    pos: np.ndarray | None = None  # float (tokens, channels) added to every token
    prefix_q: np.ndarray | None = None  # integer prefix rows after lowering
    kind: ClassVar[str] = "patch_embed"

    def __post_init__(self):
        super().__post_init__()
        for name in ("prefix", "pos"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, frozen_array(getattr(self, name), np.float64))
        if self.prefix_q is not None:
            object.__setattr__(self, "prefix_q", frozen_array(self.prefix_q, np.int64))

    @property
    def num_prefix(self) -> int:
        return 0 if self.prefix is None else self.prefix.shape[0]

    @property
    def is_lowered(self) -> bool:
        return super().is_lowered and (self.prefix is None or self.prefix_q is not None)


@dataclass(frozen=True, eq=False)
class Linear(GemmOp):
    """y = x[rows] @ W^T + b (+ residual), then quantize (or float logits when out quant is None)."""

    rows: tuple[int, ...] | None = None  # token rows read from the input (None: all)
    residual: str | None = None
    kind: ClassVar[str] = "linear"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,) if self.residual is None else (self.input, self.residual)


@dataclass(frozen=True, eq=False)
class AttnScores(RequantOp):
    """Per head h: S[h] = factor * q[:, q_cols[h]:+head_dim] @ k[:, k_cols[h]:+head_dim]^T."""

    q: str = ""
    k: str = ""
    heads: int = 0
    head_dim: int = 0
    q_cols: tuple[int, ...] = ()
    k_cols: tuple[int, ...] = ()
    factor: float = 1.0
    kind: ClassVar[str] = "attn_scores"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.q, self.k)


@dataclass(frozen=True, eq=False)
class AttnContext(RequantOp):
    """Per head h: out[:, h*head_dim:+head_dim] = P[h] @ v[:, v_cols[h]:+head_dim]."""

    probs: str = ""
    v: str = ""
    heads: int = 0
    head_dim: int = 0
    v_cols: tuple[int, ...] = ()
    kind: ClassVar[str] = "attn_context"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.probs, self.v)


@dataclass(frozen=True, eq=False)
class Softmax(UnaryOp):
    """Softmax over the last axis of an attention map; ``unit``: numerics.softmax.E2SoftmaxParams."""

    kind: ClassVar[str] = "softmax"


@dataclass(frozen=True, eq=False)
class LayerNorm(UnaryOp):
    """LayerNorm over the features of each token; ``unit``: numerics.layernorm.AILayerNormParams."""

    gamma: np.ndarray = None
    beta: np.ndarray = None
    eps: float = 1e-5
    kind: ClassVar[str] = "layernorm"

    def __post_init__(self):
        object.__setattr__(self, "gamma", frozen_array(self.gamma, np.float64))
        object.__setattr__(self, "beta", frozen_array(self.beta, np.float64))


@dataclass(frozen=True, eq=False)
class Gelu(UnaryOp):
    """GELU; ``unit``: numerics.gelu.GeluTable."""

    approximate: str = "none"
    kind: ClassVar[str] = "gelu"


@dataclass(frozen=True, eq=False)
class Requantize(RequantOp):
    """Quantize an already quantized tensor (times a constant factor) to another format."""

    input: str = ""
    factor: float = 1.0
    kind: ClassVar[str] = "requantize"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input,)


@dataclass(frozen=True, eq=False)
class Add(RequantOp):
    """Elementwise sum of two quantized tensors, then quantize (mult applies to a, res_mult to b)."""

    a: str = ""
    b: str = ""
    kind: ClassVar[str] = "add"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.a, self.b)


OP_TYPES: dict[str, type[Op]] = {
    cls.kind: cls for cls in (InputQuant, PatchEmbed, Linear, AttnScores, AttnContext, Softmax, LayerNorm, Gelu, Requantize,
                Add)
}
MATMUL_OPS = (PatchEmbed, Linear, AttnScores, AttnContext)


# ----------------------------------------------------------------------------------------------
# Graph


@dataclass(frozen=True, eq=False)
class Graph:
    name: str
    input: str  # the image tensor (float, channels x height x width)
    output: str
    tensors: dict[str, TensorSpec]
    ops: tuple[Op, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def op(self, name: str) -> Op:
        for op in self.ops:
            if op.name == name:
                return op
        raise KeyError(name)

    def producer(self, tensor: str) -> Op:
        for op in self.ops:
            if op.output == tensor:
                return op
        raise KeyError(tensor)

    def replace_ops(self, ops) -> "Graph":
        return dataclasses.replace(self, ops=tuple(ops))

    def is_integer(self) -> bool:
        return all(op.is_lowered for op in self.ops)

    def ops_of(self, cls) -> list:
        return [op for op in self.ops if isinstance(op, cls)]


# ----------------------------------------------------------------------------------------------
# JSON round trip (arrays as base64 of their little-endian bytes, so the text is exact and compact)


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return {"__array__": arr.dtype.str, "shape": list(arr.shape),
                "data": base64.b64encode(arr.tobytes()).decode("ascii")}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if dataclasses.is_dataclass(value):
        out = {"__type__": type(value).__name__}
        for f in fields(value):
            out[f.name] = _encode(getattr(value, f.name))
        return out
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _registry() -> dict[str, type]:
    from .numerics.gelu import GeluTable
    from .numerics.layernorm import AILayerNormParams
    from .numerics.softmax import E2SoftmaxParams

    types = {cls.__name__: cls for cls in OP_TYPES.values()}
    for cls in (QuantSpec, TensorSpec, Weight, Requant, Bounds, Graph, E2SoftmaxParams, AILayerNormParams,
                GeluTable):
        types[cls.__name__] = cls
    return types


def _decode(value: Any, types: dict[str, type]) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            arr = np.frombuffer(base64.b64decode(value["data"]), dtype=np.dtype(value["__array__"]))
            return arr.reshape(value["shape"]).copy()
        if "__tuple__" in value:
            return tuple(_decode(v, types) for v in value["__tuple__"])
        if "__type__" in value:
            cls = types[value["__type__"]]
            return cls(**{k: _decode(v, types) for k, v in value.items() if k != "__type__"})
        return {k: _decode(v, types) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, types) for v in value]
    return value


def to_json(obj: Any) -> str:
    return json.dumps(_encode(obj), indent=1, sort_keys=True)


def from_json(text: str) -> Any:
    return _decode(json.loads(text), _registry())
