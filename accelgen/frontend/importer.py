"""QONNX -> ir.Graph by abstract interpretation.

The walk visits the ONNX nodes in order and keeps an abstract value per ONNX tensor (see values.py).
Float computations (GEMM accumulations, LayerNorm, softmax, ...) stay *pending* until the Quant node that
follows them closes them into one IR op with that quantizer as its output format. This accepts the many
ways people write the same ViT with Brevitas layers (fused or separate q/k/v, manual attention or
QuantMultiheadAttention, scaling before or after QK^T, any reshape/permute sequence), and rejects anything
else with one line naming the node.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from .. import ir
from ..errors import InputError
from ..passes.formats import choose_formats
from .onnx_load import QUANT_OPS, read_onnx
from .values import (
    Act,
    AddComp,
    Const,
    ContextComp,
    GemmComp,
    Image,
    Pending,
    QConst,
    ScoresComp,
    UnaryComp,
    Value,
    identity_index,
    is_identity,
)

LAYOUT_OPS = {"Reshape", "Transpose", "Gather", "Slice", "Split", "Squeeze", "Unsqueeze", "Flatten"}
PASSTHROUGH_OPS = {"Identity", "Dropout"}
MAX_BITS = 8


def module_name(node: onnx.NodeProto) -> str:
    """'/blocks.0/attn/qkv/MatMul' -> 'blocks.0.attn.qkv' (the Brevitas module that made the node)."""
    parts: list[str] = []
    for part in (p for p in node.name.strip("/").split("/") if p):
        if parts and part.startswith(parts[-1] + "."):  # torch names a container's child "<container>.<i>"
            parts[-1] = part
        else:
            parts.append(part)
    for stop in ("act_quant", "weight_quant", "input_quant", "bias_quant", "output_quant", "export_handler"):
        if stop in parts:
            parts = parts[: parts.index(stop)]
            break
    else:
        parts = parts[:-1]
    return ".".join(parts) or (node.output[0] if node.output else node.op_type)


class Importer:
    def __init__(self, model: onnx.ModelProto, path: Path):
        self.path = path
        self.model = model
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
        self.values: dict[str, Value] = {}
        self.tensors: dict[str, ir.TensorSpec] = {}
        self.ops: list[ir.Op] = []
        self.input_name = ""
        self.sources: dict[str, tuple[str, np.ndarray]] = {}

    # -- helpers -----------------------------------------------------------------------------

    def fail(self, node: onnx.NodeProto | None, message: str) -> InputError:
        where = f"node '{node.name or node.output[0]}' ({node.op_type}): " if node is not None else ""
        return InputError(f"{self.path}: {where}{message}")

    def value(self, node: onnx.NodeProto, name: str) -> Value:
        if name not in self.values:
            raise self.fail(node, f"input '{name}' is not produced by any supported node")
        return self.values[name]

    def const(self, node: onnx.NodeProto, name: str) -> np.ndarray:
        v = self.value(node, name)
        if not isinstance(v, Const):
            raise self.fail(node, f"input '{name}' must be a constant")
        return v.value

    def attr(self, node: onnx.NodeProto, name: str, default=None):
        for a in node.attribute:
            if a.name == name:
                value = onnx.helper.get_attribute_value(a)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def unique_tensor(self, base: str) -> str:
        name, i = base, 1
        while name in self.tensors:
            i += 1
            name = f"{base}_{i}"
        return name

    def add_op(self, op: ir.Op, spec: ir.TensorSpec) -> None:
        """Register the op (made unique by name: several ops can come from one module) and its output."""
        taken = {o.name for o in self.ops}
        name, i = op.name, 1
        if name in taken:
            name = f"{op.name}.{op.kind}"
        while name in taken:
            i += 1
            name = f"{op.name}.{op.kind}{i}"
        self.tensors[spec.name] = spec
        self.ops.append(replace(op, name=name))

    def producer(self, tensor: str) -> ir.Op | None:
        return next((o for o in self.ops if o.output == tensor), None)

    def shape_of(self, tensor: str) -> tuple[int, ...]:
        return self.tensors[tensor].shape

    # -- walk --------------------------------------------------------------------------------

    def run(self) -> ir.Graph:
        graph = self.model.graph
        inits = {i.name for i in graph.initializer}
        for init in graph.initializer:
            self.values[init.name] = Const(numpy_helper.to_array(init))
        inputs = [i for i in graph.input if i.name not in inits]
        if len(inputs) != 1:
            raise self.fail(None, f"expected one image input, found {len(inputs)}")
        dims = inputs[0].type.tensor_type.shape.dim
        shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
        if len(shape) != 4 or shape[0] != 1:
            raise self.fail(None, f"input '{inputs[0].name}' has shape {shape}; expected (1, C, H, W) "
                                  "(export with a batch-1 image)")
        self.input_name = "image"
        self.tensors["image"] = ir.TensorSpec("image", tuple(shape[1:]), None)
        self.values[inputs[0].name] = Image(shape)
        for node in graph.node:
            self.visit(node)
        if len(graph.output) != 1:
            raise self.fail(None, f"expected one output (the logits), found {len(graph.output)}")
        out = self.finish_output(graph.output[0].name)
        return ir.Graph(name=self.path.stem, input="image", output=out, tensors=dict(self.tensors),
                        ops=tuple(self.ops), meta={"source_file": self.path.name})

    def visit(self, node: onnx.NodeProto) -> None:
        op = node.op_type
        if op == "Shape":
            self.values[node.output[0]] = Const(np.array(self.static_shape(node), dtype=np.int64))
        elif op not in QUANT_OPS and all(isinstance(self.values.get(n), Const) for n in node.input if n):
            self.fold(node)
        elif op in PASSTHROUGH_OPS:
            self.values[node.output[0]] = self.value(node, node.input[0])
        elif op == "Constant":
            self.values[node.output[0]] = Const(numpy_helper.to_array(self.attr(node, "value")))
        elif op in LAYOUT_OPS:
            self.layout(node)
        elif op == "Quant":
            self.values[node.output[0]] = self.quant(node)
        else:
            handler = getattr(self, f"op_{op}", None)
            if handler is None:
                raise self.fail(node, f"unsupported operation {op}: accelgen maps Conv (patch embedding), "
                                      "MatMul/Gemm, Add, Mul/Div by constants, Concat (class token), "
                                      "LayerNormalization, Softmax, Gelu and layout ops (replace it in the model, "
                                      "e.g. use nn.GELU / nn.LayerNorm instead of an explicit formula)")
            self.values[node.output[0]] = handler(node)

    def static_shape(self, node: onnx.NodeProto) -> tuple[int, ...]:
        v = self.value(node, node.input[0])
        shape = {Const: lambda: v.value.shape, QConst: lambda: v.values.shape, Image: lambda: v.shape}.get(
            type(v), lambda: v.index.shape)()
        start, end = self.attr(node, "start", 0), self.attr(node, "end", None)
        return tuple(shape)[start:end]

    def fold(self, node: onnx.NodeProto) -> None:
        """Evaluate a node whose inputs are all constants (Brevitas' shape arithmetic, class-token expand)."""
        feeds = {n: self.values[n].value for n in node.input if n}
        try:
            outs = ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds)
        except Exception as err:
            raise self.fail(node, f"cannot evaluate constant expression ({err})") from None
        for name, out in zip(node.output, outs):
            self.values[name] = Const(np.asarray(out))

    # -- layout ops: applied to index arrays by the ONNX reference runtime --------------------

    def layout(self, node: onnx.NodeProto) -> None:
        src = self.value(node, node.input[0])
        if isinstance(src, Image):
            raise self.fail(node, "layout operations on the float input image are not supported")
        if isinstance(src, QConst):
            scale = np.asarray(src.scale)
            if node.op_type == "Transpose" and scale.ndim == src.values.ndim:  # the usual weight transpose
                perm = self.attr(node, "perm", list(range(scale.ndim))[::-1])
                self.values[node.output[0]] = QConst(np.transpose(src.values, perm), np.transpose(scale, perm),
                                                     src.spec)
                return
            values = self.run_node(node, np.asarray(src.values))
            scales = [scale] * len(values) if scale.size == 1 else \
                self.run_node(node, np.broadcast_to(scale, src.values.shape).copy())
            for name, v, s in zip(node.output, values, scales):
                self.values[name] = QConst(v, s, src.spec)
            return
        data = src.value if isinstance(src, Const) else src.index
        for name, out in zip(node.output, self.run_node(node, data)):
            if isinstance(src, Const):
                self.values[name] = Const(out)
            elif isinstance(src, Act):
                self.values[name] = Act(src.tensor, out, src.factor)
            else:
                self.values[name] = Pending(src.comp, out, src.factor)

    def run_node(self, node: onnx.NodeProto, data: np.ndarray) -> list[np.ndarray]:
        feeds = {node.input[0]: data}
        for name in node.input[1:]:
            if name:
                feeds[name] = self.const(node, name)
        try:
            return ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds)
        except Exception as err:
            raise self.fail(node, f"cannot evaluate layout operation ({err})") from None

    # -- quantizers --------------------------------------------------------------------------

    def quant_spec(self, node: onnx.NodeProto) -> tuple[ir.QuantSpec, np.ndarray]:
        scale = np.asarray(self.const(node, node.input[1]))
        zero = np.asarray(self.const(node, node.input[2]))
        bits = float(np.asarray(self.const(node, node.input[3])).reshape(-1)[0])
        if zero.size != 1 or float(zero.reshape(-1)[0]) != round(float(zero.reshape(-1)[0])):
            raise self.fail(node, "the zero point must be one integer per tensor (use a per-tensor quantizer)")
        if bits != int(bits):
            raise self.fail(node, f"fractional bit width {bits} is not supported")
        mode = self.attr(node, "rounding_mode", "ROUND")
        if mode not in ("ROUND", "HALF_EVEN"):
            raise self.fail(node, f"rounding mode {mode} is not supported (use ROUND)")
        if np.any(scale <= 0):
            raise self.fail(node, "quantizer scale must be positive")
        spec = ir.QuantSpec(scale=float(scale.reshape(-1)[0]), bits=int(bits),
                            signed=bool(self.attr(node, "signed", 1)), narrow=bool(self.attr(node, "narrow", 0)),
                            zero_point=int(round(float(zero.reshape(-1)[0]))))
        if spec.zero_point and not spec.signed and not spec.narrow:
            # the same grid in signed codes (q - 2^(b-1)), the form the hardware's 8-bit units hold
            spec = replace(spec, signed=True, zero_point=spec.zero_point - 2 ** (spec.bits - 1))
        return spec, scale

    def quant(self, node: onnx.NodeProto) -> Value:
        spec, scale = self.quant_spec(node)
        src = self.value(node, node.input[0])
        if spec.zero_point and isinstance(src, (Const, Image)):
            raise self.fail(node, "asymmetric quantization of a weight or of the input image is not supported "
                                  "(use a symmetric quantizer there, e.g. Int8WeightPerTensorFloat / "
                                  "Int8ActPerTensorFloat)")
        if isinstance(src, Const):
            # same arithmetic as Brevitas/QONNX (in the tensor's own float32), so the integers agree exactly
            values = np.clip(np.round(src.value / scale.astype(src.value.dtype)), spec.qmin, spec.qmax)
            return QConst(values.astype(np.int8 if spec.bits <= 8 else np.int64), scale.astype(np.float64), spec)
        if scale.size != 1:
            raise self.fail(node, "per-channel activation quantization is not supported")
        if spec.bits > MAX_BITS or spec.bits < 2:
            raise self.fail(node, f"activation bit width {spec.bits} is not supported (2..{MAX_BITS})")
        name = self.unique_tensor(module_name(node))
        if isinstance(src, Image):
            c, h, w = src.shape[1:]
            self.add_op(ir.InputQuant(name=name, output=name), ir.TensorSpec(name, (c, h, w), spec))
            return self.record(node, Act(name, identity_index(src.shape)))
        if isinstance(src, Act):
            if src.factor == 1.0 and self.tensors[src.tensor].quant == spec:
                return src  # re-quantizing to the same format (e.g. a layer's input_quant): no-op
            self.add_op(ir.Requantize(name=module_name(node), output=name, input=src.tensor, factor=src.factor),
                        ir.TensorSpec(name, self.shape_of(src.tensor), spec))
            return self.record(node, Act(name, src.index))
        return self.record(node, self.close(node, src, spec, name))

    def materialize(self, node, name: str) -> Value:
        """The value of input ``name``, with a pending float computation closed into an IR op whose output
        format accelgen chooses (``passes.formats``): the model leaves that tensor in float."""
        v = self.value(node, name)
        if not isinstance(v, Pending):
            return v
        act = self.close(node, v, None, self.unique_tensor(v.comp.node + ".out"))
        self.sources.setdefault(act.tensor, (name, act.index))
        self.values[name] = act
        return act

    def record(self, node, act: Act) -> Act:
        """Remember which ONNX tensor (and where in it) an IR tensor was read from."""
        self.sources[act.tensor] = (node.output[0], act.index)
        return act

    # -- closing pending computations into IR ops -----------------------------------------

    def close(self, node, pend: Pending, spec: ir.QuantSpec | None, name: str) -> Act:
        comp = pend.comp
        if isinstance(comp, GemmComp):
            return self.close_gemm(node, pend, spec, name)
        # a per-tensor quantizer commutes with layout ops: the op computes (and quantizes) the whole
        # canonical result, and the quantizer's view of it (e.g. one row of a LayerNorm) stays a view
        if isinstance(comp, ScoresComp):
            heads = comp.shape[0]
            op = ir.AttnScores(name=comp.node, output=name, q=comp.q, k=comp.k, heads=heads,
                               head_dim=comp.head_dim, q_cols=comp.q_cols, k_cols=comp.k_cols,
                               factor=pend.factor)
        else:
            if pend.factor != 1.0:
                raise self.fail(node, f"a constant scale after {type(comp).__name__} is not supported")
            if isinstance(comp, ContextComp):
                op = ir.AttnContext(name=comp.node, output=name, probs=comp.probs, v=comp.v,
                                    heads=len(comp.v_cols), head_dim=comp.head_dim, v_cols=comp.v_cols)
            elif isinstance(comp, AddComp):
                op = ir.Add(name=comp.node, output=name, a=comp.a, b=comp.b)
            elif comp.op == "softmax":
                op = ir.Softmax(name=comp.node, output=name, input=comp.input)
            elif comp.op == "layernorm":
                op = ir.LayerNorm(name=comp.node, output=name, input=comp.input, **comp.params)
            else:
                op = ir.Gelu(name=comp.node, output=name, input=comp.input, **comp.params)
        self.add_op(op, ir.TensorSpec(name, comp.shape, spec))
        return Act(name, pend.index)

    def close_gemm(self, node, pend: Pending, spec: ir.QuantSpec | None, name: str) -> Act:
        comp: GemmComp = pend.comp
        rows, cols = comp.shape
        col_map = self.token_columns(pend.index, rows, cols)
        f = pend.factor
        full = np.array_equal(col_map, np.arange(cols))
        if comp.residual is not None and (not full or f != 1.0):
            raise self.fail(node, "a residual add must cover the whole layer output, unscaled")
        if full or node is None:
            op_name = comp.node
        elif spec is None:  # a column block the model leaves in float (e.g. q of a fused qkv)
            op_name = f"{comp.node}[{col_map.min()}:{col_map.max() + 1}]"
        else:
            op_name = f"{comp.node}:{module_name(node).split('.')[-1]}"
        values = comp.weight if full else comp.weight[col_map]
        weight = ir.Weight(values, comp.w_scale[col_map] * f, comp.w_spec.bits, comp.w_spec.narrow)
        bias = None if comp.bias is None else comp.bias[col_map] * f
        out_spec = ir.TensorSpec(name, (rows, len(col_map)), spec)
        if comp.patch:
            op = ir.PatchEmbed(name=op_name, output=name, input=comp.input, weight=weight, bias=bias,
                               patch=comp.patch,
                               prefix=None if comp.prefix is None else comp.prefix[:, col_map] * f,
                               pos=None if comp.addend is None else comp.addend[:, col_map] * f)
        else:
            if comp.addend is not None:  # a per-token table (rows, channels) as the bias
                if comp.rows is not None or comp.residual is not None:
                    raise self.fail(node, "a constant table added to a linear layer that reads selected rows "
                                          "or has a residual input is not supported")
                bias = comp.addend[:, col_map] * f + (0.0 if bias is None else bias)
            op = ir.Linear(name=op_name, output=name, input=comp.input, weight=weight, bias=bias,
                           rows=comp.rows, residual=comp.residual)
        self.add_op(op, out_spec)
        inverse = np.empty(cols, dtype=np.int64)
        inverse[col_map] = np.arange(len(col_map))
        r, c = np.divmod(pend.index, cols)
        return Act(name, r * len(col_map) + inverse[c])

    @staticmethod
    def token_columns(index: np.ndarray, rows: int, cols: int) -> np.ndarray:
        """The canonical columns selected by a view whose one axis walks the canonical rows in order and
        whose remaining axes (flattened in order) pick the same columns for every row; all columns for
        any other view (e.g. an NCHW convolution output): a per-tensor quantizer commutes with layout."""
        r, c = np.divmod(index, cols)
        for axis in range(index.ndim):
            if index.shape[axis] != rows:
                continue
            r_t = np.moveaxis(r, axis, 0).reshape(rows, -1)
            c_t = np.moveaxis(c, axis, 0).reshape(rows, -1)
            if np.all(r_t == np.arange(rows)[:, None]) and np.all(c_t == c_t[0]):
                col_map = c_t[0]
                if len(np.unique(col_map)) == len(col_map):
                    return col_map
        return np.arange(cols)

    # -- compute ops ----------------------------------------------------------------------------

    def op_Conv(self, node) -> Value:
        x, w = self.value(node, node.input[0]), self.value(node, node.input[1])
        if not isinstance(x, Act) or self.tensors[x.tensor].shape != tuple(x.index.shape[1:]) or \
                not is_identity(x.index, self.tensors[x.tensor].shape):
            raise self.fail(node, "only a patch-embedding convolution on the quantized input image is supported")
        if not isinstance(w, QConst):
            raise self.fail(node, "convolution weight is not quantized")
        kernel = list(self.attr(node, "kernel_shape", w.values.shape[2:]))
        strides = list(self.attr(node, "strides", [1, 1]))
        pads = list(self.attr(node, "pads", [0, 0, 0, 0]))
        if kernel[0] != kernel[1] or strides != kernel or any(pads) or self.attr(node, "group", 1) != 1 or \
                any(d != 1 for d in self.attr(node, "dilations", [1, 1])):
            raise self.fail(node, "only a patch embedding (square kernel = stride, no padding, no groups) "
                                  "is supported")
        patch = kernel[0]
        c, h, wd = self.tensors[x.tensor].shape
        if h % patch or wd % patch:
            raise self.fail(node, f"image {h}x{wd} is not a multiple of the patch size {patch}")
        d = w.values.shape[0]
        gh, gw = h // patch, wd // patch
        weight, w_scale = self.weight_rows(node, w.values.reshape(d, -1), np.asarray(w.scale).reshape(-1, 1)
                                           if np.size(w.scale) > 1 else w.scale, w.spec)
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = self.dequant_const(node, node.input[2]).reshape(d)
        comp = GemmComp(node=module_name(node), shape=(gh * gw, d), input=x.tensor, weight=weight,
                        w_scale=w_scale, w_spec=w.spec, bias=bias, patch=patch)
        # ONNX output (1, D, gh, gw): element (d, y, x) is canonical (patch y*gw+x, channel d)
        index = (np.arange(gh * gw).reshape(1, 1, gh, gw) * d + np.arange(d).reshape(1, d, 1, 1))
        return Pending(comp, index.astype(np.int64))

    def weight_rows(self, node, values: np.ndarray, scale: np.ndarray, spec: ir.QuantSpec):
        """Weights (M, K) and a scale broadcastable to them -> (values, per-row scale (M,))."""
        if spec.bits > MAX_BITS:
            raise self.fail(node, f"weight bit width {spec.bits} is not supported (2..{MAX_BITS})")
        scale = np.asarray(scale, dtype=np.float64)
        scale = scale.reshape((1,) * (2 - scale.ndim) + scale.shape) if scale.ndim < 2 else scale
        if scale.ndim == 2 and scale.shape[1] > 1 and np.all(scale == scale[:, :1]):
            scale = scale[:, :1]  # a per-row scale that a layout op broadcast
        if scale.ndim != 2 or scale.shape[1] != 1:
            raise self.fail(node, "weight scales must be per tensor or per output channel")
        return values, np.broadcast_to(scale[:, 0], (values.shape[0],)).copy()

    def dequant_const(self, node, name: str) -> np.ndarray:
        v = self.value(node, name)
        if isinstance(v, QConst):
            return v.dequant().astype(np.float64)
        if isinstance(v, Const):
            return np.asarray(v.value, dtype=np.float64)
        raise self.fail(node, f"'{name}' must be a constant")

    def gemm(self, node, a: Value, values: np.ndarray, scale: np.ndarray, spec: ir.QuantSpec) -> Pending:
        """Pending GEMM of activation view ``a`` (..., K) with weights (M, K)."""
        if not isinstance(a, Act):
            raise self.fail(node, "input of the linear layer is not quantized (add a QuantIdentity "
                                  "or an input_quant)")
        m, k = values.shape
        if a.index.shape[-1] != k:
            raise self.fail(node, f"inner dimension {a.index.shape[-1]} does not match weight {values.shape}")
        t_rows, t_cols = self.shape_of(a.tensor)[-2:] if len(self.shape_of(a.tensor)) == 2 else (0, 0)
        if not t_cols:
            raise self.fail(node, "linear layer input must be a tokens x features tensor")
        r, c = np.divmod(a.index.reshape(-1, k), t_cols)
        if not (np.all(c == c[0]) and np.all(r == r[:, :1])) or len(np.unique(c[0])) != k:
            raise self.fail(node, "cannot map the linear layer input to tokens x features")
        weight, w_scale = self.weight_rows(node, values, scale, spec)
        if np.array_equal(c[0], np.arange(t_cols)):
            full = weight
        else:
            full = np.zeros((m, t_cols), dtype=weight.dtype)
            full[:, c[0]] = weight
        row_list = r[:, 0]
        rows = None if np.array_equal(row_list, np.arange(t_rows)) else tuple(int(i) for i in row_list)
        comp = GemmComp(node=module_name(node), shape=(len(row_list), m), input=a.tensor, weight=full,
                        w_scale=w_scale * a.factor, w_spec=spec, rows=rows)
        return Pending(comp, identity_index(a.index.shape[:-1] + (m,)))

    def op_MatMul(self, node) -> Value:
        a, b = self.materialize(node, node.input[0]), self.materialize(node, node.input[1])
        if isinstance(b, QConst):
            vals = np.asarray(b.values)
            if vals.ndim != 2:
                raise self.fail(node, "weight must be a matrix")
            return self.gemm(node, a, vals.T, np.asarray(b.scale).T, b.spec)
        if isinstance(a, Act) and isinstance(b, Act):
            return self.attention_matmul(node, a, b)
        raise self.fail(node, "expected an activation times a quantized weight, or two activations; got "
                              f"{type(a).__name__} x {type(b).__name__} (quantize the constant operand with a "
                              "Brevitas weight quantizer)")

    def op_Gemm(self, node) -> Value:
        a, b = self.materialize(node, node.input[0]), self.value(node, node.input[1])
        if not isinstance(b, QConst) or self.attr(node, "transA", 0):
            raise self.fail(node, "only x @ W^T with a quantized weight W is supported")
        vals, scale = np.asarray(b.values), np.asarray(b.scale)
        if not self.attr(node, "transB", 0):
            vals, scale = vals.T, scale.T
        pend = self.gemm(node, a, vals, scale, b.spec)
        alpha, beta = float(self.attr(node, "alpha", 1.0)), float(self.attr(node, "beta", 1.0))
        if len(node.input) > 2 and node.input[2]:
            pend = self.add_const(node, pend, beta / alpha * self.dequant_const(node, node.input[2]))
        return Pending(pend.comp, pend.index, pend.factor * alpha)

    def head_columns(self, node, index: np.ndarray, tensor: str, row_axis: int) -> tuple[tuple[int, ...], int]:
        """For a per-head view (heads..., a, b) of a tokens x features tensor, the first feature column
        of every head (each head must read all tokens in order and a contiguous run of columns)."""
        n_rows, n_cols = self.shape_of(tensor)
        mats = index.reshape((-1,) + index.shape[-2:])
        if row_axis == 1:
            mats = mats.transpose(0, 2, 1)
        starts = []
        for mat in mats:
            r, c = np.divmod(mat, n_cols)
            if mat.shape[0] != n_rows or not np.all(r == np.arange(n_rows)[:, None]) or \
                    not np.all(c == c[0]) or not np.array_equal(c[0], c[0, 0] + np.arange(mat.shape[1])):
                raise self.fail(node, "unsupported attention head layout (each head must be a contiguous "
                                      "block of features over all tokens)")
            starts.append(int(c[0, 0]))
        return tuple(starts), mats.shape[2]

    def attention_matmul(self, node, a: Act, b: Act) -> Pending:
        if any(self.tensors[x.tensor].quant.zero_point for x in (a, b) if self.tensors[x.tensor].quant):
            raise self.fail(node, "attention operands (q, k, v, probabilities) must be quantized symmetrically "
                                  "(zero point 0): use e.g. Int8ActPerTensorFloat / Uint8ActPerTensorFloat there")
        lead = a.index.shape[:-2]
        if b.index.shape[:-2] != lead:
            raise self.fail(node, "batched matmul operands must have the same head dimensions")
        factor = a.factor * b.factor
        if len(self.shape_of(a.tensor)) == 2:  # q @ k^T
            q_cols, dh = self.head_columns(node, a.index, a.tensor, row_axis=0)
            k_cols, dh_k = self.head_columns(node, b.index, b.tensor, row_axis=1)
            if dh != dh_k:
                raise self.fail(node, "query and key head widths differ")
            n_q, n_k = self.shape_of(a.tensor)[0], self.shape_of(b.tensor)[0]
            comp = ScoresComp(node=module_name(node), shape=(len(q_cols), n_q, n_k), q=a.tensor, k=b.tensor,
                              q_cols=q_cols, k_cols=k_cols, head_dim=dh)
            return Pending(comp, identity_index(a.index.shape[:-1] + (n_k,)), factor)
        heads, n, _ = self.shape_of(a.tensor)
        if not is_identity(a.index, self.shape_of(a.tensor)):
            raise self.fail(node, "attention probabilities must be used in their own layout")
        v_cols, dh = self.head_columns(node, b.index, b.tensor, row_axis=0)
        if len(v_cols) != heads:
            raise self.fail(node, "number of value heads does not match the attention map")
        comp = ContextComp(node=module_name(node), shape=(n, heads * dh), probs=a.tensor, v=b.tensor,
                           v_cols=v_cols, head_dim=dh)
        h_idx = np.arange(heads).reshape(heads, 1, 1)
        index = np.arange(n).reshape(1, n, 1) * (heads * dh) + h_idx * dh + np.arange(dh).reshape(1, 1, dh)
        if factor != 1.0:
            raise self.fail(node, "a constant scale on the attention-times-value operands is not supported")
        return Pending(comp, index.reshape(a.index.shape[:-2] + (n, dh)).astype(np.int64))

    def add_const(self, node, pend: Pending, const: np.ndarray) -> Pending:
        comp = pend.comp
        if not isinstance(comp, GemmComp) or comp.residual is not None:
            raise self.fail(node, f"a constant can be added to a linear layer's or convolution's output, not to a "
                                  f"{type(comp).__name__} (quantize the result first, e.g. with a QuantIdentity)")
        canon = self.canonical(pend, const / pend.factor)
        if np.all(canon == canon[:1]) and comp.prefix is None:
            bias = canon[0] if comp.bias is None else comp.bias + canon[0]
            return pend.with_comp(bias=bias)
        return pend.with_comp(addend=canon if comp.addend is None else comp.addend + canon)

    @staticmethod
    def canonical(pend: Pending, const: np.ndarray) -> np.ndarray:
        """A constant broadcast to a pending view, in the canonical layout of the computation."""
        canon = np.zeros(pend.comp.shape)
        canon.reshape(-1)[pend.index.reshape(-1)] = np.broadcast_to(const, pend.index.shape).reshape(-1)
        return canon

    def op_Add(self, node) -> Value:
        vals = [self.value(node, n) for n in node.input]
        kinds = {type(v).__name__: i for i, v in enumerate(vals)}
        if ("Pending" in kinds or "Act" in kinds) and ("Const" in kinds or "QConst" in kinds):
            const = node.input[kinds.get("Const", kinds.get("QConst"))]
            pend = vals[kinds["Pending"]] if "Pending" in kinds else self.identity_pending(node, vals[kinds["Act"]])
            return self.add_const(node, pend, self.dequant_const(node, const))
        if "Pending" in kinds and "Act" in kinds and self.is_residual(vals[kinds["Pending"]], vals[kinds["Act"]]):
            return self.pending_residual(vals[kinds["Pending"]], vals[kinds["Act"]])
        a, b = (self.materialize(node, n) for n in node.input)
        if isinstance(a, Act) and isinstance(b, Act):
            if self.shape_of(a.tensor) != self.shape_of(b.tensor) or not np.array_equal(a.index, b.index) or \
                    a.factor != 1.0 or b.factor != 1.0:
                raise self.fail(node, "elementwise add of two tensors with different layouts")
            comp = AddComp(node=module_name(node), shape=self.shape_of(a.tensor), a=a.tensor, b=b.tensor)
            return Pending(comp, a.index)
        raise self.fail(node, f"expected a sum of two activations, or of an activation and a constant; got "
                              f"{' + '.join(type(v).__name__ for v in vals)}")

    def is_residual(self, pend: Pending, skip: Act) -> bool:
        """A linear layer's output plus a tensor of its layout: the linear layer's residual input."""
        comp = pend.comp
        return isinstance(comp, GemmComp) and comp.residual is None and not comp.patch and pend.factor == 1.0 \
            and skip.factor == 1.0 and self.shape_of(skip.tensor) == comp.shape and \
            np.array_equal(pend.index, skip.index)

    @staticmethod
    def pending_residual(pend: Pending, skip: Act) -> Pending:
        return pend.with_comp(residual=skip.tensor)

    def scale_by(self, node, value: Value, factor: float) -> Value:
        if isinstance(value, Act):
            return Act(value.tensor, value.index, value.factor * factor)
        if isinstance(value, Pending):
            if isinstance(value.comp, GemmComp) and value.comp.residual is not None:
                raise self.fail(node, "a constant scale after a residual add is not supported")
            return Pending(value.comp, value.index, value.factor * factor)
        raise self.fail(node, f"expected an activation to scale by a constant, got {type(value).__name__}")

    def scalar(self, node, name: str) -> float | None:
        v = self.values.get(name)
        if isinstance(v, Const) and np.asarray(v.value).size == 1:
            return float(np.asarray(v.value).reshape(-1)[0])
        return None

    def op_Mul(self, node) -> Value:
        for i in (0, 1):
            s = self.scalar(node, node.input[1 - i])
            if s is not None:
                return self.scale_by(node, self.value(node, node.input[i]), s)
        raise self.fail(node, "only multiplication by a scalar constant is supported")

    def op_Div(self, node) -> Value:
        s = self.scalar(node, node.input[1])
        if s is None or s == 0:
            raise self.fail(node, "only division by a nonzero scalar constant is supported")
        return self.scale_by(node, self.value(node, node.input[0]), 1.0 / s)

    def op_Concat(self, node) -> Value:
        vals = [self.value(node, n) for n in node.input]
        dyn = [i for i, v in enumerate(vals) if not isinstance(v, (Const, QConst))]
        if len(dyn) != 1 or dyn[0] == 0 or not (isinstance(vals[dyn[0]], Act) or (
                isinstance(vals[dyn[0]], Pending) and isinstance(vals[dyn[0]].comp, GemmComp)
                and vals[dyn[0]].comp.patch)):
            raise self.fail(node, "expected constant tokens (a class token) prepended to the patch tokens; "
                                  f"got {len(dyn)} computed inputs (concatenate only the class token and the "
                                  "patches, class token first)")
        x = vals[dyn[0]]
        axis = self.attr(node, "axis") % x.index.ndim
        shape = list(x.index.shape)
        d = shape[-1]
        consts = [self.dequant_const(node, n) for n in node.input[:dyn[0]]]
        rows = np.concatenate([np.broadcast_to(c, c.shape[:axis] + (c.shape[axis], d)).reshape(-1, d)
                               for c in consts])
        shape[axis] += len(rows)
        if isinstance(x, Act):
            pend = self.table_add_pending(node, x, rows)
            return Pending(pend.comp, identity_index(tuple(shape)))
        comp: GemmComp = x.comp
        if not is_identity(x.index, comp.shape) or x.index.shape[axis] != comp.shape[0]:
            raise self.fail(node, "constant tokens must be prepended along the token axis")
        rows = rows / x.factor
        prefix = rows if comp.prefix is None else np.concatenate([rows, comp.prefix])
        addend = None if comp.addend is None else np.concatenate([np.zeros((len(rows), d)), comp.addend])
        new = replace(comp, shape=(comp.shape[0] + len(rows), d), prefix=prefix, addend=addend)
        return Pending(new, identity_index(tuple(shape)), x.factor)

    def table_add_pending(self, node, act: Act, rows: np.ndarray) -> Pending:
        """Quantized patch tokens that a ``cat`` puts ``k`` constant rows (class token) in front of: the
        patch embedding (and the requantizations after it) get k leading zero rows (zero stays zero through
        every requantization), and an identity linear layer adds the constant rows, and the position table
        that usually follows, as its per-token bias table. Exact: no rounding of the model is dropped."""
        n, d = self.shape_of(act.tensor)
        k = len(rows)
        if act.factor != 1.0 or not is_identity(act.index, (n, d)):
            raise self.fail(node, "expected the class token prepended along the token axis of a tokens x "
                                  "features tensor")
        chain, op = [], self.producer(act.tensor)
        while isinstance(op, ir.Requantize):
            chain.append(op)
            op = self.producer(op.input)
        if not isinstance(op, ir.PatchEmbed) or op.prefix is not None:
            raise self.fail(node, "only the patch embedding's tokens can get a class token (concatenate it "
                                  "right after the patch convolution and its quantizers)")
        grown = {o.output for o in chain} | {op.output}
        pos = np.zeros((n + k, d)) if op.pos is None else np.concatenate([np.zeros((k, d)), op.pos])
        self.ops[self.ops.index(op)] = replace(op, prefix=np.zeros((k, d)), pos=pos)
        for name in grown:
            self.tensors[name] = replace(self.tensors[name], shape=(n + k, d))
        for name, v in self.values.items():  # views of the grown tensors move down by k rows
            if isinstance(v, Act) and v.tensor in grown:
                self.values[name] = Act(v.tensor, v.index + k * d, v.factor)
        for name in grown & self.sources.keys():
            onnx_name, index = self.sources[name]
            self.sources[name] = (onnx_name, index + k * d)
        pend = self.identity_pending(node, Act(act.tensor, identity_index((n + k, d))))
        return pend.with_comp(addend=np.concatenate([rows, np.zeros((n, d))]))

    def identity_pending(self, node, act: Act) -> Pending:
        """A quantized tokens x features tensor as the pending output of an identity linear layer (8-bit
        identity weights of scale 1), so that constants added to it become that layer's bias (table)."""
        shape = self.shape_of(act.tensor)
        if len(shape) != 2 or act.factor != 1.0:
            raise self.fail(node, "a constant can be added to a quantized tokens x features tensor only (add it "
                                  "before the quantizer, e.g. to the linear layer's output)")
        d = shape[1]
        comp = GemmComp(node=module_name(node), shape=shape, input=act.tensor, weight=np.eye(d, dtype=np.int8),
                        w_scale=np.ones(d), w_spec=ir.QuantSpec(1.0, 8, True, narrow=True))
        return Pending(comp, act.index)

    def unary_input(self, node, what: str) -> Act:
        x = self.materialize(node, node.input[0])
        if not isinstance(x, Act) or x.factor != 1.0:
            raise self.fail(node, f"{what} input must be an activation tensor, got "
                                  f"{'a scaled activation' if isinstance(x, Act) else type(x).__name__} "
                                  f"(put a QuantIdentity right before the {what})")
        if not is_identity(x.index, self.shape_of(x.tensor)):
            raise self.fail(node, f"{what} must be applied to a tensor in its own layout")
        return x

    def op_LayerNormalization(self, node) -> Value:
        x = self.unary_input(node, "LayerNorm")
        if self.attr(node, "axis", -1) not in (-1, x.index.ndim - 1):
            raise self.fail(node, "LayerNorm must normalize the last (feature) axis")
        d = self.shape_of(x.tensor)[-1]
        gamma = self.dequant_const(node, node.input[1]).reshape(-1)
        beta = self.dequant_const(node, node.input[2]).reshape(-1) if len(node.input) > 2 and node.input[2] \
            else np.zeros(d)
        comp = UnaryComp(node=module_name(node), shape=self.shape_of(x.tensor), op="layernorm", input=x.tensor,
                         params={"gamma": np.broadcast_to(gamma, (d,)), "beta": np.broadcast_to(beta, (d,)),
                                 "eps": float(self.attr(node, "epsilon", 1e-5))})
        return Pending(comp, x.index)

    def op_Softmax(self, node) -> Value:
        x = self.unary_input(node, "Softmax")
        if self.attr(node, "axis", -1) not in (-1, x.index.ndim - 1) or len(self.shape_of(x.tensor)) != 3:
            raise self.fail(node, "softmax must run over the keys of an attention map")
        spec = self.tensors[x.tensor].quant
        if spec is not None and not spec.is_pow2:
            # E2Softmax shifts by its input scale: the model's scores (kept exactly) are requantized to a
            # power-of-two format that accelgen chooses, fine enough to hold every model code (16 bits)
            name = self.unique_tensor(x.tensor + ".pow2")
            self.add_op(ir.Requantize(name=name, output=name, input=x.tensor),
                        ir.TensorSpec(name, self.shape_of(x.tensor), None))
            x = Act(name, x.index)
        return Pending(UnaryComp(node=module_name(node), shape=self.shape_of(x.tensor), op="softmax",
                                 input=x.tensor), x.index)

    def op_Gelu(self, node) -> Value:
        x = self.unary_input(node, "GELU")
        return Pending(UnaryComp(node=module_name(node), shape=self.shape_of(x.tensor), op="gelu", input=x.tensor,
                                 params={"approximate": self.attr(node, "approximate", "none")}), x.index)

    # -- output -------------------------------------------------------------------------------

    def finish_output(self, name: str) -> str:
        v = self.values.get(name)
        if isinstance(v, Pending):
            v = self.close(None, v, None, self.unique_tensor("logits"))
            self.sources[v.tensor] = (name, v.index)
        if not isinstance(v, Act):
            raise self.fail(None, f"output '{name}' is not computed by the model's layers")
        return v.tensor


def import_qonnx(path: str | Path, calibration: dict | None = None) -> ir.Graph:
    """Read a QONNX file (e.g. from brevitas.export.export_qonnx) into an ir.Graph; ``calibration``: real
    ranges measured on images for the tensors the model leaves in float (see ``passes.formats``)."""
    return import_with_sources(path, calibration)[0]


def import_with_sources(path: str | Path, calibration: dict | None = None) -> tuple[ir.Graph, dict]:
    """The graph, and where each IR tensor was read from: the ONNX tensor name and, for each element of
    that ONNX tensor, its flat index in the IR tensor."""
    graph, sources = import_unformatted(path)
    return choose_formats(graph, calibration), sources


def import_unformatted(path: str | Path) -> tuple[ir.Graph, dict]:
    """The graph before ``passes.formats``: tensors the model leaves in float have no format yet."""
    path = Path(path)
    importer = Importer(read_onnx(path), path)
    graph = importer.run()
    _check_vit(graph, path)
    return graph, importer.sources


def _check_vit(graph: ir.Graph, path: Path) -> None:
    if not graph.ops_of(ir.PatchEmbed):
        raise InputError(f"{path}: not a Vision Transformer: no patch-embedding convolution found")
    if not graph.ops_of(ir.Softmax):
        raise InputError(f"{path}: not a Vision Transformer: no attention (softmax) found")
    if graph.tensors[graph.output].shape[0] != 1:
        raise InputError(f"{path}: the output must be the logits of one token (e.g. the class token)")
    for op in graph.ops_of(ir.AttnScores):
        if not math.isfinite(op.factor):
            raise InputError(f"{path}: node '{op.name}': non-finite attention scale")
