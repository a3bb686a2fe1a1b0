"""The command line: inspect, boards, and one-line errors with exit code 2 for every kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from conftest import run_cli
from onnx import TensorProto, helper

pytestmark = pytest.mark.sim


def assert_user_error(proc, code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_inspect_default_model_json_from_any_directory(tmp_path):
    proc = run_cli("inspect", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("embed_dim", "depth", "num_heads", "mlp_dim", "tokens", "num_classes", "total_macs",
                "total_params", "layers"):
        assert key in data
    assert (data["embed_dim"], data["depth"], data["num_heads"], data["tokens"], data["num_classes"]) == \
        (32, 2, 2, 17, 10)
    assert data["total_macs"] == sum(layer["macs"] for layer in data["layers"])
    for layer in data["layers"]:
        assert {"name", "op", "weight_bits", "act_bits", "macs", "params"} <= set(layer)
    assert len({layer["name"] for layer in data["layers"]}) == len(data["layers"])


def test_inspect_table_lists_every_layer(default_model):
    proc = run_cli("inspect", str(default_model))
    assert proc.returncode == 0
    data = json.loads(run_cli("inspect", "--json").stdout)
    for layer in data["layers"]:
        assert layer["name"] in proc.stdout
    assert f"{data['total_macs']:,}" in proc.stdout


def test_boards_table_and_unknown_board():
    proc = run_cli("boards")
    assert proc.returncode == 0
    for name in ("zcu102", "zcu104", "kv260", "ultra96v2", "pynqz2"):
        assert name in proc.stdout
    assert_user_error(run_cli("boards", "zcu999"), 2, "zcu999", "zcu102", "pynqz2")


def test_missing_file(tmp_path):
    assert_user_error(run_cli("inspect", str(tmp_path / "nope.onnx")), 2, "nope.onnx", "no such file")


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_text("this is not a model\n" * 10)
    assert_user_error(run_cli("inspect", str(path)), 2, "model.onnx")


def test_truncated_file(tmp_path, default_model):
    data = default_model.read_bytes()
    for cut in (len(data) // 2, len(data) - 7):
        path = tmp_path / f"cut{cut}.onnx"
        path.write_bytes(data[:cut])
        assert_user_error(run_cli("inspect", str(path)), 2, path.name)


def test_float_model_without_quantizers(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 2, stride=2), torch.nn.Flatten(), torch.nn.Linear(256, 3))
    path = tmp_path / "float.onnx"
    torch.onnx.export(model, (torch.zeros(1, 1, 16, 16),), str(path), dynamo=False)
    assert_user_error(run_cli("inspect", str(path)), 2, "float.onnx", "no quantizers")


def test_unsupported_op_names_node_and_type(tmp_path, default_model):
    model = onnx.load(str(default_model))
    gelu = next(n for n in model.graph.node if n.op_type == "Gelu")
    gelu.op_type = "Tanh"
    del gelu.attribute[:]
    path = tmp_path / "tanh.onnx"
    onnx.save(model, str(path))
    assert_user_error(run_cli("inspect", str(path)), 2, "tanh.onnx", gelu.name, "Tanh", "unsupported")


def test_unsupported_structure_names_node(tmp_path):
    """A quantized model that is not a ViT: a Conv with padding."""
    import brevitas.nn as qnn

    model = torch.nn.Sequential(qnn.QuantIdentity(), qnn.QuantConv2d(1, 4, 3, padding=1), torch.nn.Flatten(),
                                qnn.QuantIdentity(), qnn.QuantLinear(64 * 4, 3, bias=True))
    from accelgen.frontend.brevitas_export import export_to_qonnx

    path = export_to_qonnx(model.eval(), (1, 8, 8), tmp_path / "cnn.onnx")
    proc = run_cli("inspect", str(path))
    assert_user_error(proc, 2, "cnn.onnx", "Conv", "patch embedding")


def test_non_image_input_is_rejected(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])
    inits = [helper.make_tensor(n, TensorProto.FLOAT, [], [v]) for n, v in (("s", 0.1), ("z", 0.0), ("b", 8.0))]
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain="qonnx.custom_op.general", signed=1,
                            narrow=0, rounding_mode="ROUND")
    graph = helper.make_graph([node], "g", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    path = tmp_path / "vec.onnx"
    onnx.save(model, str(path))
    assert_user_error(run_cli("inspect", str(path)), 2, "vec.onnx", "(1, C, H, W)")


def test_directory_instead_of_file(tmp_path):
    assert_user_error(run_cli("inspect", str(tmp_path)), 2, "directory")


def test_numpy_is_not_a_model(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(3))
    assert_user_error(run_cli("inspect", str(path)), 2, "x.npy")
