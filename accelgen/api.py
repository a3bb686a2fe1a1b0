"""The library API behind the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ir, progress
from .errors import InputError
from .model_source import ModelData, model_data_for, resolve_model_path
from .sim.numpy_sim import NumpySimulator, SimOptions, SimResult


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    graph: ir.Graph  # the integer graph the simulators run
    sources: dict  # IR tensor -> (ONNX tensor, index) for comparisons
    data: ModelData | None


def load_integer_model(model: str | Path | None, calibrate: np.ndarray | None = None) -> LoadedModel:
    """A QONNX file (all-8-bit fixed-point integer graph), or a build folder (exactly the built design).
    ``calibrate``: images whose float ranges narrow the formats accelgen chooses (not for a build folder,
    whose design.json fixes them)."""
    from .build_dir import is_build_dir, load_build
    from .frontend.importer import import_with_sources
    from .passes import to_integer
    from .sim.calibration import measure_ranges

    if model is not None and is_build_dir(model):
        if calibrate is not None:
            raise InputError(f"{model}: a build folder's design.json fixes its formats; --calibrate applies to "
                             "a model file")
        build = load_build(model)
        return LoadedModel(build.model_path, build.graph, build.sources, model_data_for(build.model_path))
    path = resolve_model_path(model)
    graph, sources = import_with_sources(path, None if calibrate is None else measure_ranges(path, calibrate))
    return LoadedModel(path, to_integer(graph), sources, model_data_for(path))


def load_images(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not a NumPy .npy array ({str(err).splitlines()[0]})") from None


def simulate(model: str | Path | None = None, images: np.ndarray | None = None,
             options: SimOptions = SimOptions()) -> SimResult:
    """Run the bit-accurate integer simulator. ``images``: float32 NCHW as fed to the Brevitas model
    (default: the model's shipped test images)."""
    loaded = load_integer_model(model)
    if images is None:
        if loaded.data is None:
            raise InputError(f"{loaded.path}: no input images given and the model ships none")
        images = loaded.data.images
    return NumpySimulator(loaded.graph, options).run(images)


PROGRESS_BATCH = 256  # images per simulator call when progress is reported


def run_in_batches(simulator: NumpySimulator, images: np.ndarray, batch: int = PROGRESS_BATCH) -> SimResult:
    """``simulator.run(images)`` a batch at a time, advancing the open progress bar; the logits are the same
    (every image is simulated independently)."""
    parts = []
    for start in range(0, len(images), batch):
        parts.append(simulator.run(images[start:start + batch]))
        progress.advance(len(parts[-1].logits))
    return SimResult(logits=np.concatenate([p.logits for p in parts]), scale=parts[0].scale)
