"""The image as the host hands it to the accelerator: the model's input quantization (the simulator's
InputQuant) applied on the host, IMAGE_PIXEL_BITS-bit signed pixels in NCHW order."""

from __future__ import annotations

import numpy as np

from .. import ir
from ..numerics.primitives import quantize_float
from .constants import IMAGE_PIXEL_BITS


def quantize_images(graph: ir.Graph, images: np.ndarray) -> np.ndarray:
    """Float32 NCHW ``images`` quantized as the host writes them."""
    q = graph.tensors[graph.ops[0].output].quant
    return quantize_float(images, q.scale, q.qmin, q.qmax).astype(np.dtype(f"int{IMAGE_PIXEL_BITS}"))
