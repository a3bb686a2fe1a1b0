"""Export a Brevitas module to QONNX, the hand-off format the front end reads."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from brevitas.export import export_qonnx


def export_to_qonnx(model: torch.nn.Module, input_shape: tuple[int, ...], path: str | Path) -> Path:
    """Export ``model`` (eval mode) for a batch-1 input of ``input_shape`` (C, H, W) to ``path``."""
    path = Path(path)
    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        export_qonnx(model, input_t=torch.zeros(1, *input_shape), export_path=str(path), dynamo=False)
    return path
