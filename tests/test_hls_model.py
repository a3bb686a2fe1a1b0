"""Whole-model C simulation: the generated HLS project of real designs, compiled with g++ against the
hls4ml ap_types headers, equals the NumPy simulator bit for bit -- logits and every layer's output --
for the default model and the independently written tests/data/indep_digits.onnx, two designs each."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from csim_helpers import assert_beats_near_model, make_build

from accelgen import ir
from accelgen.build_dir import load_build
from accelgen.codegen.hls_project import render_hls_project, write_hls_project
from accelgen.design import Engine
from accelgen.errors import InputError, VerificationError
from accelgen.model_source import default_model_data, default_model_path
from accelgen.numerics.gelu import build_gelu_table
from accelgen.passes.bounds import prove_bounds
from accelgen.sim.csim import SANITIZE, compile_csim, run_csim
from accelgen.commands.csim import register

pytestmark = pytest.mark.csim

INDEP = Path(__file__).parent / "data" / "indep_digits.onnx"

# name -> (model, engine, fixed-point weight bits, power-of-two share of each layer's rows, board)
DESIGNS = {
    "default_8x8+4_packed": (default_model_path(), Engine(tm=8, tn_fixed=8, tn_pot=4, dsp_packing=True, sm_lanes=4,
                                                          ln_lanes=3), 8, 0.5,
                             "zcu102"),
    "default_3x5+3_4bit": (default_model_path(), Engine(tm=3, tn_fixed=5, tn_pot=3, dsp_packing=False), 4, 0.25,
                           "pynqz2"),
    "indep_8x8+4_packed": (INDEP, Engine(tm=8, tn_fixed=8, tn_pot=4, dsp_packing=True), 8, 0.5, "zcu102"),
    "indep_5x6+2_4bit_packed": (INDEP, Engine(tm=5, tn_fixed=6, tn_pot=2, dsp_packing=True, sm_lanes=5,
                                              ln_lanes=2), 4, 0.3, "kv260"),
}
LAYER_IMAGES = 96  # images of the layer-by-layer comparisons (the CLI test runs all 360 of the default model)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Every design's build folder with its HLS project written and its testbench compiled (two at a time)."""
    root = tmp_path_factory.mktemp("hls_builds")
    folders = {}
    for name, (model, engine, bits, share, board) in DESIGNS.items():
        folder = make_build(root / name, model, engine, bits, share, board)
        write_hls_project(load_build(folder), folder / "hls")
        folders[name] = folder
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        compiled = dict(zip(folders, pool.map(lambda f: compile_csim(f / "hls"), folders.values())))
    return {name: (folders[name], compiled[name]) for name in folders}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_whole_model_csim_equals_numpy_layer_by_layer(builds, name):
    folder, _ = builds[name]
    build = load_build(folder)
    images = default_model_data().images[:LAYER_IMAGES]
    result = run_csim(build, images, check_layers=True)
    assert result.mismatch is None, result.mismatch.message()
    assert result.logits.shape == (len(images), 10)
    assert len(result.tensors) == len(build.graph.ops) - 1 - sum(1 for op in build.graph.ops if op.kind == "gelu")
    assert result.beats > 0


@pytest.mark.parametrize("name", list(DESIGNS))
def test_hls_cycle_counter_agrees_with_the_perf_model(builds, name):
    """The generated design's beat count (its loops' trip counts) is what the perf model predicts for the
    design, within the band of csim_helpers.BEATS_OVER_MODEL, so the report's FPS is the generated
    accelerator's."""
    from accelgen.frontend.importer import import_qonnx
    from accelgen.perf.model import evaluate, profile

    folder, _ = builds[name]
    build = load_build(folder)
    modelled = evaluate(profile(import_qonnx(build.model_path)), build.design, build.board).beats
    counted = run_csim(build, default_model_data().images[:2]).beats / 2
    assert_beats_near_model(counted, modelled)


def test_csim_builds_are_clean_under_wall_wextra(builds):
    """No warning located in our sources (kernel headers, generated files) under -Wall -Wextra; the
    third-party ap_types headers come in through -isystem."""
    for name, (_, compiled) in builds.items():
        assert compiled.cached or compiled.warnings == (), f"{name}: {compiled.warnings}"


def test_csim_under_address_and_undefined_behaviour_sanitizers(builds, tmp_path):
    folder, _ = builds["indep_5x6+2_4bit_packed"]
    build = load_build(folder)
    result = run_csim(build, default_model_data().images[:6], check_layers=True, flags=SANITIZE,
                      binary=tmp_path / "tb_sanitized")
    assert result.mismatch is None


def test_vitis_style_testbench_run_passes_on_its_test_vectors(builds):
    """Without arguments (as Vitis csim/cosim runs it) the testbench checks its own test vectors."""
    folder, compiled = builds["default_8x8+4_packed"]
    proc = subprocess.run([str(compiled.binary)], cwd=folder / "hls", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout


def test_cosim_arguments_run_the_first_image_against_its_logits(builds):
    """The argument list run_hls.tcl gives cosim_design: the test vectors, limited to one image."""
    from accelgen.vitis import flow

    folder, compiled = builds["default_8x8+4_packed"]
    proc = subprocess.run([str(compiled.binary), *flow.cosim_arguments().split()], cwd=folder / "hls",
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"tb_accel: {flow.COSIM_IMAGES} images" in proc.stdout and "PASS (10 logits equal)" in proc.stdout


def csim_cli(*argv: str) -> int:
    """The csim subcommand as the CLI runs it (argument parsing, then the command)."""
    parser = argparse.ArgumentParser(prog="accelgen")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_csim_command_default_model_all_test_images(builds, tmp_path, capsys):
    folder, _ = builds["default_8x8+4_packed"]
    out = tmp_path / "logits.npy"
    assert csim_cli("csim", str(folder), "--output", str(out)) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("csim: 360 images, logits equal to the NumPy simulator"), line
    assert np.load(out).shape == (360, 10)


def test_csim_command_needs_input_for_other_models(builds, tmp_path):
    folder, _ = builds["indep_8x8+4_packed"]
    with pytest.raises(InputError, match="--input is required"):
        csim_cli("csim", str(folder))
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(InputError, match="bad.npy"):
        csim_cli("csim", str(folder), "--input", str(bad))
    good = tmp_path / "good.npy"
    np.save(good, default_model_data().images[:5])
    assert csim_cli("csim", str(folder), "--input", str(good)) == 0


def test_a_wrong_weight_is_reported_at_its_layer(builds, tmp_path):
    """Corrupt one weight of one layer in the blob: the command exits with a one-line message naming
    that layer (found from the layer-by-layer dump) and the first differing index."""
    folder, _ = builds["default_8x8+4_packed"]
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    regions = json.loads((broken / "hls" / "params.json").read_text())["blob"]["regions"]
    region = next(r for r in regions if r["step"] == "blocks.0.fc2" and r["kind"] == "gemm")
    blob = bytearray((broken / "hls" / "params.bin").read_bytes())
    bit = region["offset"] * 128 + 64 + 64 + 7  # sign bit of the first weight of the first lane
    blob[bit // 8] ^= 1 << (bit % 8)
    (broken / "hls" / "params.bin").write_bytes(bytes(blob))
    result = run_csim(load_build(broken), default_model_data().images[:16])
    assert result.mismatch is not None and result.mismatch.step == "blocks.0.fc2"
    few = tmp_path / "few.npy"
    np.save(few, default_model_data().images[:16])
    with pytest.raises(VerificationError) as err:
        csim_cli("csim", str(broken), "--input", str(few))
    message = str(err.value)
    assert "\n" not in message and "'blocks.0.fc2'" in message and "index (" in message


def test_render_is_deterministic_and_self_contained(builds):
    folder, _ = builds["indep_5x6+2_4bit_packed"]
    build = load_build(folder)
    first = render_hls_project(build.graph, build.design, build.board)
    second = render_hls_project(build.graph, build.design, build.board)
    assert first == second
    for name, content in first.items():
        on_disk = (folder / "hls" / name).read_bytes()
        assert on_disk == (content if isinstance(content, bytes) else content.encode()), name


def with_elementwise_ops(graph):
    """The default model with a standalone requantize, add and (unfused) GELU after the patch embedding."""
    embed = graph.ops[1]
    spec = graph.tensors[embed.output]
    names = ("x_requant", "x_add", "x_gelu")
    tensors = dict(graph.tensors) | {n: replace(spec, name=n, bounds=None) for n in names}
    one = dict(shift=[15], qmin=-128, qmax=127)
    new = (ir.Requantize(name="extra.requant", output="x_requant", input=embed.output,
                         requant=ir.Requant(mult=[40000], bias=[1 << 14], **one)),
           ir.Add(name="extra.add", output="x_add", a="x_requant", b=embed.output,
                  requant=ir.Requant(mult=[2 ** 15], res_mult=[50000], bias=[1 << 14], **one)),
           ir.Gelu(name="extra.gelu", output="x_gelu", input="x_add",
                   unit=build_gelu_table(spec.quant, spec.quant)))
    rest = []
    for op in graph.ops[2:]:
        if getattr(op, "input", None) == embed.output:
            op = replace(op, input="x_gelu")
        if getattr(op, "residual", None) == embed.output:
            op = replace(op, residual="x_gelu")
        rest.append(op)
    return prove_bounds(replace(graph, ops=graph.ops[:2] + new + tuple(rest), tensors=tensors))


def test_standalone_elementwise_ops_csim(builds, tmp_path):
    """Requantize, add and an unfused GELU (absent from the two ViTs) through the elementwise unit."""
    folder, _ = builds["default_8x8+4_packed"]
    base = load_build(folder)
    graph = with_elementwise_ops(base.graph)
    assert {"requantize", "add", "gelu"} <= {op.kind for op in graph.ops[:6]}
    build = SimpleNamespace(folder=tmp_path, graph=graph, design=base.design, board=base.board)
    result = run_csim(build, default_model_data().images[:24], check_layers=True)
    assert result.mismatch is None, result.mismatch.message()
    assert {"x_requant", "x_add", "x_gelu"} <= set(result.tensors)


def test_a_stale_project_is_refused(builds, tmp_path):
    folder, _ = builds["indep_8x8+4_packed"]
    stale = tmp_path / "stale"
    shutil.copytree(folder, stale)
    design = load_build(stale).design
    (stale / "design.json").write_text(replace(design, clock_mhz=design.clock_mhz + 50).to_json())
    with pytest.raises(InputError, match="another design"):
        run_csim(load_build(stale), default_model_data().images[:2])
