"""Host side of the accelerator's DDR formats: input quantization and image packing, logit unpacking.

The input quantization is the simulator's InputQuant (Brevitas/QONNX: clamp(round_half_even(x / scale)) in
float32), re-implemented here because the board has no accelgen; a test ties the two together.
"""

from __future__ import annotations

import numpy as np

from .design_data import DeployError, DesignData, InputQuant


def check_images(images, data: DesignData) -> np.ndarray:
    """Float NCHW images of the design's shape, as float32 (what the simulator accepts, it accepts)."""
    images = np.asarray(images)
    if images.dtype not in (np.float32, np.float64):
        raise DeployError(f"images must be float32 (got dtype {images.dtype})")
    if images.ndim != 4 or images.shape[1:] != data.image_shape:
        raise DeployError(f"images must have shape (N, {', '.join(map(str, data.image_shape))}); got {images.shape}")
    if images.shape[0] == 0:
        raise DeployError("images: the batch is empty")
    if not np.all(np.isfinite(images)):
        raise DeployError("images contain NaN or Inf values")
    return images.astype(np.float32)


def quantize(images: np.ndarray, quant: InputQuant) -> np.ndarray:
    """int8 codes of float32 images."""
    codes = np.round(np.asarray(images, dtype=np.float32) / np.float32(quant.scale))
    return np.clip(codes, quant.qmin, quant.qmax).astype(np.int8)


def pack_images(codes: np.ndarray, data: DesignData) -> np.ndarray:
    """Rows of the image buffer (uint8, image_words words per image): code e of an image is byte e."""
    rows = np.zeros((len(codes), data.image_words * data.word_bytes), dtype=np.uint8)
    rows[:, :data.image_elems] = codes.reshape(len(codes), -1).view(np.uint8)
    return rows


def logit_row_elems(data: DesignData) -> int:
    """int64 elements per image in the logit buffer (logit_words words of word_bits bits)."""
    return data.logit_words * data.word_bits // 64


def unpack_logits(rows: np.ndarray, data: DesignData) -> np.ndarray:
    """int64 logits (images, classes) from rows of the logit buffer (int64 elements, little-endian words)."""
    return np.asarray(rows, dtype=np.int64)[:, :data.logit_count].copy()
