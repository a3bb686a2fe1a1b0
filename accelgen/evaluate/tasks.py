"""What a Dask worker runs: one chunk of images through the integer design and the float reference.

A task names the model and the images by path (every worker reads them, as on a cluster with a shared
filesystem) and carries the model's identity, which the worker checks before computing anything: a worker
that sees another file under the same path fails the chunk instead of mixing two models' results.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class ImageSource:
    """Images in a ``.npy`` file (memory-mapped, so a worker reads only its chunk), or one array of a
    ``.npz`` archive (the test images shipped with the default model)."""

    path: str
    member: str | None = None

    def read(self, start: int, stop: int) -> np.ndarray:
        if self.member is None:
            return np.load(self.path, mmap_mode="r", allow_pickle=False)[start:stop]
        with np.load(self.path, allow_pickle=False) as archive:
            return archive[self.member][start:stop]

    def shape_and_dtype(self) -> tuple[tuple[int, ...], np.dtype]:
        if self.member is None:
            array = np.load(self.path, mmap_mode="r", allow_pickle=False)
            return array.shape, array.dtype
        with np.load(self.path, allow_pickle=False) as archive:
            return archive[self.member].shape, archive[self.member].dtype


@dataclass(frozen=True)
class ChunkTask:
    index: int
    start: int  # first image
    stop: int  # one past the last image
    model: str  # QONNX file or build folder
    model_identity: str  # sha256 of the model (and of the design of a build folder)
    images: ImageSource


@dataclass(frozen=True)
class ChunkResult:
    index: int
    start: int
    stop: int
    logits: np.ndarray  # int64 (images, classes): the integer design, on its common output scale
    reference_logits: np.ndarray  # float32 (images, classes): the Brevitas/QONNX float reference


def model_identity(model: str | Path) -> str:
    """sha256 over the QONNX bytes and, for a build folder, its design.json."""
    from ..build_dir import DESIGN_FILE, MODEL_FILE, is_build_dir

    files = [Path(model) / MODEL_FILE, Path(model) / DESIGN_FILE] if is_build_dir(model) else [Path(model)]
    h = hashlib.sha256()
    for path in files:
        h.update(path.read_bytes())
    return h.hexdigest()


_loaded: dict[str, tuple] = {}  # per worker process: model identity -> (simulator, float reference)


def loaded_model(model: str, identity: str) -> tuple:
    if identity not in _loaded:
        from ..api import load_integer_model
        from ..sim.numpy_sim import NumpySimulator
        from ..sim.reference import QonnxReference

        if model_identity(model) != identity:
            raise InputError(f"{model}: differs on this worker from the model the evaluation was started with")
        loaded = load_integer_model(model)
        _loaded[identity] = (NumpySimulator(loaded.graph), QonnxReference(loaded.path))
    return _loaded[identity]


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Simulate images [start, stop) with the integer design (one thread) and the float reference."""
    simulator, reference = loaded_model(task.model, task.model_identity)
    try:
        images = simulator.check_input(task.images.read(task.start, task.stop))
    except InputError as err:
        raise InputError(f"{task.images.path} (images {task.start}..{task.stop - 1}): {err}") from None
    logits = simulator.run(images, workers=1).logits
    reference_logits, _ = reference.run(images)
    return ChunkResult(task.index, task.start, task.stop, logits.astype(np.int64),
                       reference_logits.astype(np.float32))
