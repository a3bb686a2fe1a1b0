"""Accuracy of the integer golden model against the Brevitas model on the real digits test split.

    python benchmarks/accuracy_table.py

For the embedded default model and the independently written one (tests/data/indep_digits.onnx):
1. the integer units against their "float then quantize" forms (the cost of E2Softmax and AILayerNorm);
2. E2Softmax variants: exponent fraction bits F x mantissa bits M (F=0, M=1 is SOLE's 4-bit code);
3. mixed-scheme weights: share of power-of-two rows (the rows that lose least) x fixed-point bits.
Then for every Brevitas-flow export (tests/data/flows): Brevitas accuracy, integer accuracy and agreement
with the formats accelgen chose from proven ranges, and with formats calibrated on 512 training images.
Accuracy is top-1 on the 360 test images; agreement is top-1 agreement with the Brevitas model.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from zoo import INDEPENDENT, ZooViT  # noqa: E402

from accelgen import ir  # noqa: E402
from accelgen.design import Design, Engine, LayerChoice, integer_graph  # noqa: E402
from accelgen.frontend.importer import import_qonnx  # noqa: E402
from accelgen.model_source import default_model_data, default_model_path  # noqa: E402
from accelgen.models.train_digits import load_trained  # noqa: E402
from accelgen.passes import to_integer  # noqa: E402
from accelgen.passes.mixed_scheme import choose_pot_rows  # noqa: E402
from accelgen.sim.numpy_sim import NumpySimulator, SimOptions  # noqa: E402


def models():
    indep = ZooViT(**INDEPENDENT)
    indep.load_state_dict(torch.load(ROOT / "tests/data/indep_digits.pt", weights_only=True))
    yield "default (dim 32, depth 2, 2 heads)", load_trained(), default_model_path()
    yield "independent (dim 40, depth 3, 5 heads)", indep.eval(), ROOT / "tests/data/indep_digits.onnx"


def score(graph: ir.Graph, data, ref_pred, options=SimOptions()) -> str:
    pred = NumpySimulator(graph, options).run(data.images).predictions
    return f"{100 * (pred == data.labels).mean():.2f}% / {100 * (pred == ref_pred).mean():.2f}%"


def with_softmax(graph: ir.Graph, exp_frac: int, recip_bits: int) -> ir.Graph:
    return graph.replace_ops(replace(op, unit=replace(op.unit, exp_frac=exp_frac, recip_bits=recip_bits))
                             if isinstance(op, ir.Softmax) else op for op in graph.ops)


def chosen_summary(graph: ir.Graph) -> str:
    """'5 x 16-bit stream, ...': how many tensors of each role and width accelgen chose formats for."""
    from collections import Counter

    from accelgen.passes.formats import chosen_formats

    counts = Counter((c.role, c.spec.bits) for c in chosen_formats(graph))
    return ", ".join(f"{n} x {bits}-bit {role}" for (role, bits), n in sorted(counts.items())) or "none"


def flows_table(data) -> None:
    import json

    import numpy as np

    from accelgen.models.train_digits import digits_split
    from accelgen.sim.calibration import measure_ranges

    folder = ROOT / "tests/data/flows"
    meta = json.loads((folder / "flows.json").read_text())
    calibration_images = digits_split()[0][:512]
    print("\n## Brevitas flows\n\n| export | Brevitas | proven ranges: accuracy / agreement | calibrated: "
          "accuracy / agreement | formats chosen |\n|---|---|---|---|---|")
    for name, entry in meta.items():
        if not isinstance(entry, dict) or "brevitas_predictions" not in entry:
            continue
        path = folder / f"{name}.onnx"
        ref_pred = np.asarray(entry["brevitas_predictions"])
        graph = import_qonnx(path)
        calibrated = import_qonnx(path, measure_ranges(path, calibration_images))
        print(f"| {name} | {100 * entry['brevitas_accuracy']:.2f}% | {score(to_integer(graph), data, ref_pred)} | "
              f"{score(to_integer(calibrated), data, ref_pred)} | {chosen_summary(graph)} |")


def main() -> None:
    warnings.simplefilter("ignore")
    data = default_model_data()
    for name, model, path in models():
        with torch.no_grad():
            ref_pred = model(torch.from_numpy(data.images)).numpy().argmax(1)
        print(f"\n## {name}: Brevitas float {100 * (ref_pred == data.labels).mean():.2f}%\n")
        graph = import_qonnx(path)
        integer = to_integer(graph)
        print("| softmax | LayerNorm | accuracy / agreement |\n|---|---|---|")
        for sm, ln in itertools.product(("e2", "float"), ("ai", "float")):
            print(f"| {sm} | {ln} | {score(integer, data, ref_pred, SimOptions(sm, ln))} |")
        print("\n| E2Softmax F (exponent fraction bits) | M (mantissa bits) | accuracy / agreement |\n|---|---|---|")
        for f, m in itertools.product((0, 1, 2, 3), (1, 2)):
            print(f"| {f} | {m} | {score(with_softmax(integer, f, m), data, ref_pred)} |")
        print("\n| PoT rows | fixed bits | accuracy / agreement |\n|---|---|---|")
        for share, bits in itertools.product((0.0, 0.25, 0.5, 0.75, 1.0), (8, 4)):
            engine = Engine(8, 8, 8, True)
            layers = tuple(LayerChoice(op.name, bits, choose_pot_rows(op.weight, int(round(share * op.weight.shape[0])),
                                                                      engine.tm))
                           for op in graph.ops_of(ir.GemmOp))
            design = Design("m", "-", "zcu102", 200.0, engine, layers)
            print(f"| {share:.0%} | {bits} | {score(integer_graph(graph, design), data, ref_pred)} |")
    flows_table(data)


if __name__ == "__main__":
    main()
