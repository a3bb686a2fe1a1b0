"""QONNX front end: the IR must reproduce the Brevitas module exactly (integer weights, scales, shapes)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from zoo import ZOO

from accelgen import ir
from accelgen.frontend.importer import import_qonnx
from accelgen.summary import summarize

pytestmark = pytest.mark.sim


def torch_int_weight(module) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    qw = module.quant_weight()
    w = qw.int().detach().numpy().astype(np.int64).reshape(qw.value.shape[0], -1)
    s = np.broadcast_to(qw.scale.detach().numpy().astype(np.float64).reshape(-1), (w.shape[0],))
    b = None if module.bias is None else module.bias.detach().numpy().astype(np.float64)
    return w, s, b


def act_quant_of(module):
    return getattr(module, "act_quant", None) or module.input_quant


def check_ir_against_torch(graph: ir.Graph, model: torch.nn.Module) -> None:
    """Every IR weight row is a row of the Brevitas integer weight (same value, same scale up to the
    op's constant factor, same bias); every row of every Brevitas weight is used exactly once; every
    quantized IR tensor has the scale and bit width of its Brevitas quantizer."""
    modules = dict(model.named_modules())
    used: dict[str, set] = {}
    for op in graph.ops_of(ir.GemmOp):
        mod_name = op.name.split(":")[0]
        w, s, b = torch_int_weight(modules[mod_name])
        rows = {tuple(r): j for j, r in enumerate(w)}
        assert len(rows) == len(w), "test needs distinct weight rows"
        idx = np.array([rows[tuple(r)] for r in op.weight.values])
        ratio = op.weight.scale / s[idx]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
        assert op.weight.bits == int(modules[mod_name].quant_weight().bit_width)
        if b is not None:
            np.testing.assert_allclose(op.bias, b[idx] * ratio[0], rtol=1e-6, atol=1e-12)
        else:
            assert op.bias is None or not np.any(op.bias)
        taken = used.setdefault(mod_name, set())
        assert not taken & set(idx.tolist())
        taken.update(idx.tolist())
    for mod_name, taken in used.items():
        assert taken == set(range(torch_int_weight(modules[mod_name])[0].shape[0])), mod_name
    for spec in graph.tensors.values():
        if spec.quant is None or spec.name not in modules:
            continue
        quant = act_quant_of(modules[spec.name])
        assert spec.quant.scale == pytest.approx(float(quant.scale()), rel=1e-6), spec.name
        assert spec.quant.bits == int(quant.bit_width())
    for op in graph.ops_of(ir.LayerNorm):
        ln = modules[op.name]
        np.testing.assert_array_equal(op.gamma, ln.weight.detach().numpy().astype(np.float64))
        np.testing.assert_array_equal(op.beta, ln.bias.detach().numpy().astype(np.float64))
        assert op.eps == pytest.approx(ln.eps)


def check_embedding(graph: ir.Graph, cls: torch.Tensor, pos: torch.Tensor) -> None:
    embed = graph.ops_of(ir.PatchEmbed)[0]
    d = embed.weight.shape[0]
    np.testing.assert_array_equal(embed.prefix, cls.detach().numpy().reshape(-1, d).astype(np.float64))
    np.testing.assert_array_equal(embed.pos, pos.detach().numpy().reshape(-1, d).astype(np.float64))


def check_shape(graph: ir.Graph, embed_dim, depth, heads, mlp, tokens, classes) -> None:
    s = summarize(graph)
    assert (s.embed_dim, s.depth, s.num_heads, s.mlp_dim, s.tokens, s.num_classes) == \
        (embed_dim, depth, heads, mlp, tokens, classes)
    for op in graph.ops_of(ir.AttnScores):
        assert op.heads == heads and op.head_dim == embed_dim // heads
        assert op.q_cols == op.k_cols == tuple(h * op.head_dim for h in range(heads))


def test_default_model_matches_its_brevitas_module(default_model):
    from accelgen.models.train_digits import accuracy, digits_split, load_trained

    meta = json.loads((default_model.parent / "meta.json").read_text())
    model = load_trained(default_model.parent)
    cfg = model.cfg
    graph = import_qonnx(default_model)
    check_shape(graph, cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.mlp_dim, cfg.tokens, cfg.num_classes)
    check_ir_against_torch(graph, model)
    check_embedding(graph, model.cls_token, model.pos_embed)
    _, _, x_te, y_te = digits_split()
    with np.load(default_model.parent / "digits_test.npz") as data:
        np.testing.assert_array_equal(data["images"], x_te)
        np.testing.assert_array_equal(data["labels"], y_te)
    assert accuracy(model, x_te, y_te) == pytest.approx(meta["test_accuracy"], abs=1e-4)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_models_import_exactly(name, zoo_exports):
    model, path = zoo_exports[name]
    kwargs, _ = ZOO[name]
    graph = import_qonnx(path)
    tokens = (kwargs["img"] // kwargs["patch"]) ** 2 + 1
    check_shape(graph, kwargs["dim"], kwargs["depth"], kwargs["heads"], kwargs["mlp"], tokens, kwargs["classes"])
    check_ir_against_torch(graph, model)
    check_embedding(graph, model.cls, model.pos)


@pytest.mark.xdist_group("presets")  # one worker exports each preset once
@pytest.mark.parametrize("name", ["digits", "deit_tiny", "deit_small", "deit_base"])
def test_presets_import_exactly(name, preset_export):
    model, path = preset_export(name)
    cfg = model.cfg
    graph = import_qonnx(path)
    check_shape(graph, cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.mlp_dim, cfg.tokens, cfg.num_classes)
    check_ir_against_torch(graph, model)
    check_embedding(graph, model.cls_token, model.pos_embed)


@pytest.mark.xdist_group("presets")
def test_preset_sizes_match_published_shapes(preset_export):
    """DeiT-T/S/B: 5.7/22/86 M parameters and 1.25/4.6/17.6 GMAC per 224x224 image."""
    expected = {"deit_tiny": (5.7e6, 1.25e9), "deit_small": (22e6, 4.6e9), "deit_base": (86e6, 17.6e9)}
    for name, (params, macs) in expected.items():
        s = summarize(import_qonnx(preset_export(name)[1]))
        assert s.total_params == pytest.approx(params, rel=0.02)
        assert s.total_macs == pytest.approx(macs, rel=0.02)


def test_four_bit_preset_keeps_bit_widths(tmp_path):
    from accelgen.frontend.brevitas_export import export_to_qonnx
    from accelgen.models.presets import build_preset

    model = build_preset("digits", weight_bits=4, act_bits=4)
    graph = import_qonnx(export_to_qonnx(model, (1, 8, 8), tmp_path / "d4.onnx"))
    check_ir_against_torch(graph, model)
    assert {op.weight.bits for op in graph.ops_of(ir.GemmOp)} == {4}
    probs = {op.output for op in graph.ops_of(ir.Softmax)}
    for spec in graph.tensors.values():
        if spec.quant is not None:
            assert spec.quant.bits == (8 if spec.name in probs else 4)


def test_ir_json_round_trip(default_model):
    graph = import_qonnx(default_model)
    text = ir.to_json(graph)
    again = ir.from_json(text)
    assert ir.to_json(again) == text
    for a, b in zip(graph.ops, again.ops):
        assert type(a) is type(b) and a.name == b.name
        if isinstance(a, ir.GemmOp):
            np.testing.assert_array_equal(a.weight.values, b.weight.values)
            np.testing.assert_array_equal(a.weight.scale, b.weight.scale)


def test_ir_is_immutable(default_model):
    graph = import_qonnx(default_model)
    op = graph.ops_of(ir.Linear)[0]
    with pytest.raises(ValueError):
        op.weight.values[0, 0] = 1
    with pytest.raises(AttributeError):
        op.name = "x"  # type: ignore[misc]


def test_import_is_deterministic(default_model):
    assert ir.to_json(import_qonnx(default_model)) == ir.to_json(import_qonnx(default_model))
