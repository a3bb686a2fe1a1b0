"""The golden model: lowering, the accumulator-width proof, accuracy against the Brevitas model, and the
simulate command's input checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli

from accelgen import ir
from accelgen.api import load_integer_model
from accelgen.errors import InputError
from accelgen.frontend.importer import import_qonnx
from accelgen.passes import to_integer
from accelgen.passes.bounds import matmul_bounds
from accelgen.sim.numpy_sim import NumpySimulator, SimOptions

pytestmark = pytest.mark.sim
INDEPENDENT = Path(__file__).parent / "data" / "indep_digits.onnx"


@pytest.fixture(scope="module")
def digits():
    from accelgen.model_source import default_model_data

    return default_model_data()


@pytest.fixture(scope="module")
def default_int(default_model):
    return load_integer_model(default_model)


def brevitas_predictions(model, images) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(images)).numpy().argmax(1)


def test_integer_graph_has_no_floats_downstream(default_int):
    g = default_int.graph
    assert g.is_integer()
    for op in g.ops:
        rq = getattr(op, "requant", None)
        if rq is not None:
            assert rq.mult.dtype == rq.shift.dtype == rq.bias.dtype == np.int64
    probs = {op.output for op in g.ops_of(ir.Softmax)}
    assert all(g.tensors[p].quant.scale == 2.0 ** -8 for p in probs)
    assert all(g.tensors[op.output].quant.is_pow2 for op in g.ops_of(ir.AttnScores))


@pytest.mark.parametrize("which", ["default", "independent"])
def test_accuracy_within_one_point_and_97_percent_agreement(which, digits, default_model):
    """The issue's target: integer simulator vs the Brevitas torch model on the real digits test split."""
    from zoo import INDEPENDENT as CFG
    from zoo import ZooViT

    from accelgen.models.train_digits import load_trained

    if which == "default":
        model, path = load_trained(), default_model
    else:
        model = ZooViT(**CFG)
        model.load_state_dict(torch.load(INDEPENDENT.with_suffix(".pt"), weights_only=True))
        model, path = model.eval(), INDEPENDENT
    torch_pred = brevitas_predictions(model, digits.images)
    sim_pred = NumpySimulator(load_integer_model(path).graph).run(digits.images).predictions
    torch_acc = (torch_pred == digits.labels).mean()
    sim_acc = (sim_pred == digits.labels).mean()
    assert abs(sim_acc - torch_acc) <= 0.01
    assert (sim_pred == torch_pred).mean() >= 0.97


def test_float_reference_modes_run_and_differ_only_in_the_units(default_int, digits):
    x = digits.images[:40]
    base = NumpySimulator(default_int.graph).run(x, keep_tensors=True)
    soft = NumpySimulator(default_int.graph, SimOptions(softmax="float")).run(x, keep_tensors=True)
    first_softmax = default_int.graph.ops_of(ir.Softmax)[0].output
    first_ln = default_int.graph.ops_of(ir.LayerNorm)[0].output
    assert np.array_equal(base.tensors[first_ln], soft.tensors[first_ln])
    assert not np.array_equal(base.tensors[first_softmax], soft.tensors[first_softmax])


def test_reference_equals_qonnx_execution(default_model, digits):
    """Our fast QONNX reference (Quant rewritten to standard ops) equals qonnx's own execute_onnx."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    from accelgen.sim.reference import QonnxReference

    ours, _ = QonnxReference(default_model).run(digits.images[:3])
    wrapper = ModelWrapper(str(default_model)).transform(InferShapes())
    name_in, name_out = wrapper.graph.input[0].name, wrapper.graph.output[0].name
    for i in range(3):
        theirs = execute_onnx(wrapper, {name_in: digits.images[i:i + 1]})[name_out]
        np.testing.assert_array_equal(ours[i:i + 1], theirs)


def test_accumulator_bounds_hold_on_extreme_inputs(default_int):
    """The proven accumulator range is reached exactly by the worst-case input and never exceeded."""
    g = default_int.graph
    for op in g.ops_of(ir.Linear):
        w = op.weight.values.astype(np.int64)
        lo_in, hi_in = g.tensors[op.input].bounds
        worst_hi = np.where(w > 0, hi_in, lo_in)
        worst_lo = np.where(w > 0, lo_in, hi_in)
        acc_hi = (w * worst_hi).sum(axis=1)
        acc_lo = (w * worst_lo).sum(axis=1)
        lo, hi = matmul_bounds(w, lo_in, hi_in)
        assert np.array_equal(acc_hi, hi) and np.array_equal(acc_lo, lo)
        assert op.bounds.acc_max == hi.max() and op.bounds.acc_min == lo.min()
        rng = np.random.default_rng(0)
        x = rng.integers(lo_in, hi_in + 1, size=(200, w.shape[1]))
        acc = x @ w.T
        assert acc.max() <= op.bounds.acc_max and acc.min() >= op.bounds.acc_min
        assert op.bounds.sum_bits <= 63


def test_simulated_tensors_stay_within_proven_bounds(default_int, digits):
    result = NumpySimulator(default_int.graph).run(digits.images, keep_tensors=True)
    for name, values in result.tensors.items():
        lo, hi = default_int.graph.tensors[name].bounds
        assert values.min() >= lo and values.max() <= hi, name


def test_simulation_is_deterministic_and_batch_independent(default_int, digits):
    sim = NumpySimulator(default_int.graph)
    a = sim.run(digits.images[:32]).logits
    b = np.concatenate([sim.run(digits.images[i:i + 1]).logits for i in range(32)])
    assert a.dtype == np.int64 and np.array_equal(a, b)


def test_unrepresentable_scale_names_the_layer(default_model):
    g = import_qonnx(default_model)
    op = g.ops_of(ir.Linear)[0]
    tiny = ir.Weight(op.weight.values, op.weight.scale * 1e-30, op.weight.bits)
    bad = g.replace_ops(o if o is not op else type(op)(**{**op.__dict__, "weight": tiny}) for o in g.ops)
    with pytest.raises(InputError, match=op.name):
        to_integer(bad)


def test_simulate_cli_writes_int64_and_dequant(tmp_path, digits):
    x = tmp_path / "x.npy"
    np.save(x, digits.images[:10])
    proc = run_cli("simulate", "--input", str(x), "--output", str(tmp_path / "y.npy"))
    assert proc.returncode == 0, proc.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.int64 and y.shape == (10, 10)
    proc = run_cli("simulate", "--input", str(x), "--output", str(tmp_path / "f.npy"), "--dequant")
    f = np.load(tmp_path / "f.npy")
    assert f.dtype == np.float32 and np.array_equal(f.argmax(1), y.argmax(1))


def test_simulate_cli_compare_prints_layers_and_agreement():
    proc = run_cli("simulate", "--compare")
    assert proc.returncode == 0, proc.stderr
    assert "SNR" in proc.stdout and "top-1 agreement" in proc.stdout and "blocks.1.fc2" in proc.stdout


@pytest.mark.parametrize("make,needle", [
    (lambda d: d[:, :, :4], "shape"),
    (lambda d: d.astype(np.int32), "dtype"),
    (lambda d: np.where(np.arange(d.size).reshape(d.shape) == 3, np.nan, d).astype(np.float32), "NaN"),
    (lambda d: d[:0], "empty"),
])
def test_simulate_cli_bad_inputs(tmp_path, digits, make, needle):
    x = tmp_path / "x.npy"
    np.save(x, make(digits.images[:4]))
    proc = run_cli("simulate", "--input", str(x))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert needle in proc.stderr and "x.npy" in proc.stderr and "Traceback" not in proc.stderr


def test_inspect_and_simulate_json_agree_on_layers(default_int):
    data = json.loads(run_cli("inspect", "--json").stdout)
    assert [layer["name"] for layer in data["layers"]] == [op.name for op in default_int.graph.ops]


def test_library_entry_point_simulate(default_int, digits):
    import accelgen

    result = accelgen.simulate(images=digits.images[:8])
    assert np.array_equal(result.logits, NumpySimulator(default_int.graph).run(digits.images[:8]).logits)
