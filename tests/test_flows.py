"""The ViTs Brevitas users actually export (tests/flows.py, exported by tests/data/train_flows.py): every
flow imports, simulates within 1 point of the Brevitas model with >= 97% top-1 agreement, and builds into an
HLS project whose C-simulation equals the simulator exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from accelgen import ir
from accelgen.api import load_integer_model
from accelgen.frontend.importer import import_qonnx
from accelgen.sim.numpy_sim import NumpySimulator

FLOWS_DIR = Path(__file__).parent / "data" / "flows"
META = json.loads((FLOWS_DIR / "flows.json").read_text())
FLOWS = [name for name, entry in META.items() if isinstance(entry, dict) and "brevitas_predictions" in entry]
CSIM_IMAGES = 8


@pytest.fixture(scope="module")
def digits():
    from accelgen.model_source import default_model_data

    return default_model_data()


def test_every_float_arch_and_flow_is_covered():
    """torchvision- and timm-style ViTs through layerwise and ptq_common's layerwise; torchvision through
    both fx flows (Brevitas' own fx flow cannot align the timm models' residual scales: recorded), and the
    hand-written QAT ViT with a float residual stream."""
    assert {"torchvision-layerwise", "torchvision-fx", "torchvision-ptq_layerwise", "torchvision-ptq_fx",
            "timm_sdpa-layerwise", "timm_sdpa-ptq_layerwise", "timm_softmax-layerwise",
            "timm_softmax-ptq_layerwise", "qat-float_residual", "qat-asymmetric"} <= set(FLOWS)
    assert all("Residual handler" in META[f"{arch}-{flow}"]["brevitas_error"]
               for arch in ("timm_sdpa", "timm_softmax") for flow in ("fx", "ptq_fx"))


@pytest.mark.sim
@pytest.mark.parametrize("name", FLOWS)
def test_flow_simulates_within_one_point_and_97_percent_agreement(name, digits):
    graph = load_integer_model(FLOWS_DIR / f"{name}.onnx").graph
    pred = NumpySimulator(graph).run(digits.images).predictions
    brevitas = np.asarray(META[name]["brevitas_predictions"])
    assert abs((pred == digits.labels).mean() - META[name]["brevitas_accuracy"]) <= 0.01 + 1e-9
    assert (pred == brevitas).mean() >= 0.97


@pytest.mark.sim
@pytest.mark.parametrize("name", ["torchvision-layerwise", "timm_sdpa-layerwise", "qat-float_residual"])
def test_float_tensors_get_formats_the_units_accept(name):
    graph = import_qonnx(FLOWS_DIR / f"{name}.onnx")
    chosen = graph.meta["chosen"]
    assert chosen, "a layerwise export leaves the residual stream in float"
    for tensor, entry in chosen.items():
        spec = graph.tensors[tensor].quant
        bits = {"gemm operand": 8, "gelu input": 8, "scores": 16, "probabilities": 8, "stream": 16}[entry["role"]]
        assert spec.bits == bits, (tensor, entry["role"], spec)
    roles = {entry["role"] for entry in chosen.values()}
    assert {"stream", "gelu input"} <= roles


@pytest.mark.csim
@pytest.mark.parametrize("name", FLOWS)
def test_flow_builds_and_csim_equals_simulate(name, digits, tmp_path):
    images = tmp_path / "images.npy"
    np.save(images, digits.images[:CSIM_IMAGES])
    out = tmp_path / "build"
    built = run_cli("build", "--model", str(FLOWS_DIR / f"{name}.onnx"), "--board", "zcu102", "--fps", "30",
                    "--out", str(out))
    assert built.returncode == 0, built.stderr
    csim = run_cli("csim", str(out), "--input", str(images))
    assert csim.returncode == 0, csim.stderr
    assert "logits equal to the NumPy simulator" in csim.stdout


def test_chosen_formats_keep_attention_on_the_engine():
    """q, k and v that a model leaves in float become 8-bit GEMM operands; the scores 16-bit powers of two."""
    graph = import_qonnx(FLOWS_DIR / "timm_sdpa-layerwise.onnx")
    for op in graph.ops_of(ir.AttnScores):
        assert graph.tensors[op.q].quant.bits == graph.tensors[op.k].quant.bits == 8
        assert graph.tensors[op.output].quant.bits == 16 and graph.tensors[op.output].quant.is_pow2


def test_asymmetric_quantizers_keep_their_zero_points():
    """ShiftedUint8ActPerTensorFloat inputs of the MLP: the zero point folds into the reading layer's bias."""
    graph = import_qonnx(FLOWS_DIR / "qat-asymmetric.onnx")
    fc1 = [op for op in graph.ops_of(ir.Linear) if op.name.endswith("fc1")]
    assert fc1 and all(graph.tensors[op.input].quant.zero_point != 0 for op in fc1)


def test_unsupported_pattern_error_names_node_expectation_and_change(tmp_path):
    import onnx

    model = onnx.load(FLOWS_DIR / "timm_sdpa-layerwise.onnx")
    gelu = next(node for node in model.graph.node if node.op_type == "Gelu")
    gelu.op_type = "Tanh"
    onnx.save(model, tmp_path / "tanh.onnx")
    result = run_cli("inspect", str(tmp_path / "tanh.onnx"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert gelu.name in result.stderr and "unsupported operation Tanh" in result.stderr
    assert "use nn.GELU" in result.stderr


@pytest.mark.sim
def test_calibrated_formats_are_recorded_and_rebuilt(digits, tmp_path):
    """--calibrate narrows the chosen formats; design.json keeps the measured ranges, so simulating the build
    folder (and rebuilding from its design.json) uses exactly those formats."""
    import json as json_lib

    from accelgen.passes.formats import chosen_formats

    model = FLOWS_DIR / "timm_sdpa-layerwise.onnx"
    images = tmp_path / "calibration.npy"
    np.save(images, digits.images[:64])
    out = tmp_path / "build"
    assert run_cli("build", "--model", str(model), "--board", "zcu102", "--fps", "30", "--out", str(out),
                   "--calibrate", str(images)).returncode == 0
    ranges = json_lib.loads((out / "design.json").read_text())["calibration"]
    assert ranges and all(lo <= hi for lo, hi in ranges.values())
    calibrated = load_integer_model(model, np.load(images)).graph
    built = load_integer_model(out).graph
    static = load_integer_model(model).graph
    for c in chosen_formats(calibrated):
        assert built.tensors[c.tensor].quant == c.spec
        assert c.spec.scale <= static.tensors[c.tensor].quant.scale
    report = json_lib.loads((out / "report.json").read_text())
    assert {f["tensor"] for f in report["chosen_formats"]} == {c.tensor for c in chosen_formats(calibrated)}
    assert all(f["snr_db"] is not None for f in report["chosen_formats"])
