"""Where a model comes from: a QONNX file, the embedded default model, or a preset (exported on the fly)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ir
from .resources import default_model_dir

DEFAULT_MODEL = "vit_digits.onnx"
DEFAULT_DATA = "digits_test.npz"  # its test images ("images", float32 NCHW) and labels ("labels")


@dataclass(frozen=True)
class ModelData:
    """Labelled test images shipped with a model (float32 NCHW, int64 labels) and the measured accuracy
    of the Brevitas model on them."""

    images: np.ndarray
    labels: np.ndarray
    torch_accuracy: float | None


def default_model_path() -> Path:
    return default_model_dir() / DEFAULT_MODEL


def default_model_data() -> ModelData:
    folder = default_model_dir()
    with np.load(folder / DEFAULT_DATA) as data:
        images, labels = data["images"], data["labels"]
    meta = json.loads((folder / "meta.json").read_text())
    return ModelData(images, labels, meta.get("test_accuracy"))


def model_data_for(path: Path) -> ModelData | None:
    """The data shipped with a model, if any: the default model (or a copy of it, e.g. in a build folder)."""
    from .design import file_sha256

    same = path.resolve() == default_model_path().resolve() or (
        path.is_file() and path.stat().st_size == default_model_path().stat().st_size
        and file_sha256(path) == file_sha256(default_model_path()))
    return default_model_data() if same else None


def resolve_model_path(model: str | Path | None) -> Path:
    return default_model_path() if model is None else Path(model)


def load_graph(model: str | Path | None, calibration: dict | None = None) -> ir.Graph:
    from .frontend.importer import import_qonnx

    return import_qonnx(resolve_model_path(model), calibration)


def export_preset(name: str, folder: Path, seed: int = 0) -> Path:
    """Build the preset with seeded weights and export it to ``folder/<name>.onnx``."""
    from .frontend.brevitas_export import export_to_qonnx
    from .models.presets import build_preset

    model = build_preset(name, seed=seed)
    cfg = model.cfg
    return export_to_qonnx(model, (cfg.in_chans, cfg.img_size, cfg.img_size), folder / f"{name}.onnx")


def load_preset_graph(name: str, seed: int = 0) -> ir.Graph:
    from .frontend.importer import import_qonnx

    with tempfile.TemporaryDirectory() as tmp:
        return import_qonnx(export_preset(name, Path(tmp), seed))
