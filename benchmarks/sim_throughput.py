"""Throughput of the NumPy golden model against Brevitas' own torch forward, in one run.

    python benchmarks/sim_throughput.py [--repeats 3]

Models: the deit_tiny preset (seeded weights; batch 1 and 16) and the embedded digits model (batch 360).
Also the bound of doing only the model's GEMMs exactly with float32 BLAS (chunked as numerics.gemm does).
Prints images/s and the ratios simulator / Brevitas and simulator / GEMM bound.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from accelgen import ir
from accelgen.frontend.brevitas_export import export_to_qonnx
from accelgen.frontend.importer import import_qonnx
from accelgen.model_source import default_model_data, default_model_path
from accelgen.models.presets import build_preset
from accelgen.models.train_digits import load_trained
from accelgen.numerics.gemm import exact_matmul
from accelgen.passes import to_integer
from accelgen.sim.numpy_sim import NumpySimulator, max_abs


def best_rate(fn, batch: int, repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return batch / min(times)


def gemm_bound(graph: ir.Graph, batch: int, repeats: int) -> float:
    """Images/s of only the model's matrix products, exact, on random operands of the right ranges."""
    rng = np.random.default_rng(0)
    jobs = []
    for op in graph.ops:
        if isinstance(op, ir.GemmOp):
            rows = graph.tensors[op.output].shape[0] - (op.num_prefix if isinstance(op, ir.PatchEmbed) else 0)
            k = op.weight.shape[1]
            x = rng.integers(-127, 128, size=(batch, rows, k))
            jobs.append((x, op.weight.values.T.astype(np.float32), max_abs(graph.tensors[op.input].bounds),
                         op.weight.max_abs))
        elif isinstance(op, (ir.AttnScores, ir.AttnContext)):
            heads, n, _ = graph.tensors[op.output if isinstance(op, ir.AttnScores) else op.probs].shape
            k = op.head_dim if isinstance(op, ir.AttnScores) else n
            m = n if isinstance(op, ir.AttnScores) else op.head_dim
            a = rng.integers(-127, 128, size=(batch, heads, n, k))
            b = rng.integers(-127, 128, size=(batch, heads, k, m)).astype(np.float32)
            jobs.append((a, b, 255, 127))

    def run():
        for x, w, mx, mw in jobs:
            exact_matmul(x, w, mx, mw)

    return best_rate(run, batch, repeats)


def measure(name: str, model: torch.nn.Module, graph: ir.Graph, images: np.ndarray, batch: int,
            repeats: int) -> dict:
    x = images[:batch]
    sim = NumpySimulator(graph)
    xt = torch.from_numpy(x)
    with torch.no_grad():
        torch_rate = best_rate(lambda: model(xt), batch, repeats)
    sim_rate = best_rate(lambda: sim.run(x), batch, repeats)
    bound = gemm_bound(graph, batch, repeats)
    return {"model": name, "batch": batch, "brevitas": torch_rate, "simulator": sim_rate, "gemm_bound": bound}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    tiny = build_preset("deit_tiny")
    with tempfile.TemporaryDirectory() as tmp:
        graph = to_integer(import_qonnx(export_to_qonnx(tiny, (3, 224, 224), Path(tmp) / "deit_tiny.onnx")))
    images = np.random.default_rng(0).standard_normal((16, 3, 224, 224)).astype(np.float32)
    for batch in (1, 16):
        rows.append(measure("deit_tiny", tiny, graph, images, batch, args.repeats))
    data = default_model_data()
    digits = to_integer(import_qonnx(default_model_path()))
    rows.append(measure("digits", load_trained(), digits, data.images, len(data.images), args.repeats))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print(f"{'model':10s} {'batch':>5s} {'Brevitas img/s':>15s} {'simulator img/s':>16s} {'GEMM bound':>11s} "
          f"{'sim/Brevitas':>13s} {'sim/bound':>10s}")
    for r in rows:
        print(f"{r['model']:10s} {r['batch']:5d} {r['brevitas']:15.2f} {r['simulator']:16.2f} {r['gemm_bound']:11.2f} "
              f"{r['simulator'] / r['brevitas']:13.2f} {r['simulator'] / r['gemm_bound']:10.2f}")


if __name__ == "__main__":
    main()
