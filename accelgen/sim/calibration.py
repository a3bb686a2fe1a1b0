"""Calibration of the formats accelgen chooses, and what those formats cost.

``measure_ranges`` runs the model's float reference on images and records the real range of every tensor
the model leaves in float; ``passes.formats`` narrows its proven ranges to them. The ranges (not the images)
go into design.json, so a rebuild chooses the same formats. ``chosen_format_costs`` measures the SNR of
every chosen tensor against the float reference, end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..frontend.importer import import_unformatted, import_with_sources
from ..passes import to_integer
from ..passes.formats import chosen_formats
from .compare import compare, to_ir_layout
from .reference import QonnxReference


def measure_ranges(path: str | Path, images: np.ndarray) -> dict[str, list[float]]:
    """Tensor -> [min, max] of its real values on ``images``, for every tensor the model leaves in float."""
    if len(images) == 0:
        raise InputError(f"{path}: calibration needs at least one image")
    graph, sources = import_unformatted(path)
    floats = [name for name, spec in graph.tensors.items()
              if spec.quant is None and name in sources and name != graph.output]
    reference = QonnxReference(path, tuple(sorted({sources[name][0] for name in floats})))
    _, values = reference.run(images, keep={sources[name][0] for name in floats})
    ranges = {}
    for name in floats:
        onnx_name, index = sources[name]
        real = to_ir_layout(values[onnx_name], index, graph.tensors[name].shape)
        ranges[name] = [float(np.nanmin(real)), float(np.nanmax(real))]
    return ranges


@dataclass(frozen=True)
class FormatCost:
    tensor: str
    role: str
    bits: int
    scale: float
    proven: tuple[float, float]
    calibrated: tuple[float, float] | None
    snr_db: float | None  # end to end against the float reference (None: no images)


def chosen_format_costs(path: str | Path, calibration: dict | None, images: np.ndarray | None) -> list[FormatCost]:
    """Every format accelgen chose for the model, with its SNR on ``images`` when given."""
    graph, sources = import_with_sources(path, calibration)
    snr = {}
    if images is not None and graph.meta.get("chosen"):
        reference = QonnxReference(path, tuple(sorted({name for name, _ in sources.values()})))
        snr = {layer.tensor: layer.snr_db for layer in compare(to_integer(graph), sources, reference, images).layers}
    return [FormatCost(c.tensor, c.role, c.spec.bits, c.spec.scale, c.proven, c.calibrated, snr.get(c.tensor))
            for c in chosen_formats(graph)]


def format_costs_lines(costs: list[FormatCost]) -> list[str]:
    from ..summary import format_table

    if not costs:
        return ["formats chosen by accelgen: none (the model quantizes every tensor)"]
    rows = [("tensor", "role", "bits", "scale", "proven range", "calibrated", "SNR dB")]
    for c in costs:
        rows.append((c.tensor, c.role, str(c.bits), f"{c.scale:.4g}", f"[{c.proven[0]:.3g}, {c.proven[1]:.3g}]",
                     "-" if c.calibrated is None else f"[{c.calibrated[0]:.3g}, {c.calibrated[1]:.3g}]",
                     "-" if c.snr_db is None else f"{c.snr_db:.1f}"))
    return ["formats chosen by accelgen (tensors the model leaves in float):"] + format_table(rows, right=(2, 6))
