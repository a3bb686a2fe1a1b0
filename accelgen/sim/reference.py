"""The Brevitas/QONNX float reference, run fast: the QONNX graph itself with every Quant node rewritten
into standard ONNX ops (x/s, Round = half to even, Clip, *s — QONNX's own definition), executed by
onnxruntime. Every Quant output becomes a graph output, so each IR tensor can be compared layer by layer.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..frontend.onnx_load import read_onnx


def quant_inputs(model: onnx.ModelProto) -> dict[str, str]:
    """Quant node output -> its (float) input: the value before rounding."""
    return {node.output[0]: node.input[0] for node in model.graph.node if node.op_type == "Quant"}


def _quant_to_standard(model: onnx.ModelProto) -> list[str]:
    """Rewrite Quant nodes in place; return the names of their outputs."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node
              if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"}
    known = {**inits, **consts}
    nodes, outputs, extra = [], [], []
    for node in model.graph.node:
        if node.op_type != "Quant":
            nodes.append(node)
            continue
        x, scale, zero, bits = node.input
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        b = int(np.asarray(known[bits]).reshape(-1)[0])
        signed, narrow = int(attrs.get("signed", 1)), int(attrs.get("narrow", 0))
        lo = (-(2 ** (b - 1)) + narrow) if signed else 0
        hi = (2 ** (b - 1) - 1) if signed else (2 ** b - 1 - narrow)
        p = node.output[0] + "__q"
        extra += [numpy_helper.from_array(np.array(lo, dtype=np.float32), p + "_lo"),
                  numpy_helper.from_array(np.array(hi, dtype=np.float32), p + "_hi")]
        nodes += [helper.make_node("Div", [x, scale], [p + "_div"]),
                  helper.make_node("Add", [p + "_div", zero], [p + "_zp"]),
                  helper.make_node("Round", [p + "_zp"], [p + "_r"]),
                  helper.make_node("Clip", [p + "_r", p + "_lo", p + "_hi"], [p + "_c"]),
                  helper.make_node("Sub", [p + "_c", zero], [p + "_s"]),
                  helper.make_node("Mul", [p + "_s", scale], [node.output[0]])]
        outputs.append(node.output[0])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(extra)
    return outputs


class QonnxReference:
    """Runs a QONNX file image by image (Brevitas exports bake batch 1 into reshapes)."""

    def __init__(self, path: str | Path, extra_outputs: tuple[str, ...] = ()):
        """``extra_outputs``: further (float) ONNX tensors to expose, e.g. the ones a model leaves
        unquantized and accelgen chose formats for."""
        import onnxruntime as ort

        model = read_onnx(path)
        quant_outputs = _quant_to_standard(model)
        final = model.graph.output[0].name
        del model.graph.output[:]
        for name in dict.fromkeys([final] + [q for q in quant_outputs + list(extra_outputs) if q != final]):
            model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        keep_ops = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
        del model.opset_import[:]
        model.opset_import.extend(keep_ops)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # no float re-association
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        self.input = model.graph.input[0].name
        self.outputs = [o.name for o in model.graph.output]

    def run(self, images: np.ndarray, keep: set[str] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Logits (batch, classes) and, for the ONNX tensors in ``keep``, their values stacked over images."""
        wanted = [self.outputs[0]] + sorted(keep or ())
        per_image = [self.session.run(wanted, {self.input: img[None].astype(np.float32)}) for img in images]
        logits = np.concatenate([r[0].reshape(1, -1) for r in per_image])
        tensors = {name: np.stack([r[i + 1] for r in per_image]) for i, name in enumerate(wanted[1:])}
        return logits, tensors
