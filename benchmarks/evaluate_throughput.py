"""Images per second per core of `accelgen evaluate` beside Brevitas' own torch forward, in one run.

    python benchmarks/evaluate_throughput.py [--workers 2] [--tiny-images 48]

Models: the embedded digits model on all 1797 scikit-learn digits, and the deit_tiny preset (seeded weights)
on seeded random 224x224 images. ``accelgen evaluate`` runs as a user runs it (the command, a LocalCluster of
``--workers`` single-threaded processes) and computes, per image, both the integer design (NumPy simulator)
and the Brevitas/QONNX float reference (onnxruntime). Two rates: end to end (wall time of the command, with
Python, cluster and model start-up) and steady state (images of the chunks finished after the first one, over
the time between the first and the last chunk file). Brevitas' forward runs on one torch thread over the whole
batch; the simulator alone and the float reference alone run on one core too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from accelgen.api import load_integer_model
from accelgen.frontend.brevitas_export import export_to_qonnx
from accelgen.model_source import default_model_path
from accelgen.models.presets import build_preset
from accelgen.models.train_digits import load_trained
from accelgen.sim.numpy_sim import NumpySimulator
from accelgen.sim.reference import QonnxReference


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def evaluate_rates(onnx_path: Path, x: Path, y: Path, n: int, workers: int, out: Path) -> tuple[float, float]:
    """(end-to-end, steady-state) images/s per core of the `accelgen evaluate` command."""
    command = [str(Path(sys.executable).parent / "accelgen"), "--quiet", "evaluate", str(onnx_path), "--input", str(x),
               "--labels", str(y), "--out", str(out), "--workers", str(workers), "--chunk-size",
               str(max(1, n // (8 * workers))), "--force"]
    wall = seconds(lambda: subprocess.run(command, check=True, capture_output=True))
    finished = []
    for path in (out / "chunks").glob("*.npz"):
        with np.load(path) as chunk:
            finished.append((path.stat().st_mtime, int(chunk["stop"]) - int(chunk["start"])))
    finished.sort()
    steady = sum(size for _, size in finished[1:]) / (finished[-1][0] - finished[0][0])
    return n / wall / workers, steady / workers


def measure(name: str, model: torch.nn.Module, onnx_path: Path, images: np.ndarray, labels: np.ndarray,
            workers: int, folder: Path) -> dict:
    n = len(images)
    x, y = folder / f"{name}_x.npy", folder / f"{name}_y.npy"
    np.save(x, images)
    np.save(y, labels)
    end_to_end, steady = evaluate_rates(onnx_path, x, y, n, workers, folder / f"{name}_eval")
    xt = torch.from_numpy(images)
    model.eval()
    with torch.no_grad():
        model(xt[:2])
        torch_s = seconds(lambda: model(xt))
    sim = NumpySimulator(load_integer_model(onnx_path).graph)
    sim_s = seconds(lambda: sim.run(images, workers=1))
    ref = QonnxReference(onnx_path)
    ref_s = seconds(lambda: ref.run(images))
    return {"model": name, "images": n, "end_to_end": end_to_end, "steady": steady, "brevitas": n / torch_s,
            "simulator": n / sim_s, "reference": n / ref_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tiny-images", type=int, default=48)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = (digits.images.astype(np.float32) / 8.0 - 1.0)[:, None]
        rows.append(measure("digits", load_trained(), default_model_path(), images, digits.target.astype(np.int64),
                            args.workers, folder))
        tiny = build_preset("deit_tiny")
        path = export_to_qonnx(tiny, (3, 224, 224), folder / "deit_tiny.onnx")
        rng = np.random.default_rng(0)
        images = rng.standard_normal((args.tiny_images, 3, 224, 224)).astype(np.float32)
        rows.append(measure("deit_tiny", tiny, path, images, rng.integers(0, 1000, args.tiny_images), args.workers,
                            folder))
    print(f"torch {torch.__version__} (1 thread); numpy {np.__version__}; evaluate on {args.workers} worker processes")
    print("images/s per core; evaluate computes the integer design AND the float reference of every image")
    print("| model | images | evaluate end to end | evaluate steady state | Brevitas torch forward | simulator alone | "
          "float reference alone | steady evaluate / Brevitas |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['model']} | {r['images']} | {r['end_to_end']:.1f} | {r['steady']:.1f} | {r['brevitas']:.1f} | "
              f"{r['simulator']:.1f} | {r['reference']:.1f} | {r['steady'] / r['brevitas']:.2f} |")


if __name__ == "__main__":
    main()
