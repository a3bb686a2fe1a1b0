"""Named configurations of the ViT family and builders with seeded weights (for performance work)."""

from __future__ import annotations

from dataclasses import replace

import torch
from brevitas.graph.calibrate import calibration_mode

from ..errors import InputError
from .vit import QuantViT, ViTConfig, init_weights

PRESETS: dict[str, ViTConfig] = {
    "deit_tiny": ViTConfig(embed_dim=192, depth=12, num_heads=3, mlp_dim=768),
    "deit_small": ViTConfig(embed_dim=384, depth=12, num_heads=6, mlp_dim=1536),
    "deit_base": ViTConfig(embed_dim=768, depth=12, num_heads=12, mlp_dim=3072),
    # The embedded default model: 8x8 digits, 1 channel, 2x2 patches -> 16 patches + class token.
    "digits": ViTConfig(img_size=8, patch_size=2, in_chans=1, embed_dim=32, depth=2, num_heads=2, mlp_dim=64,
                        num_classes=10),
}


def preset_config(name: str, weight_bits: int = 8, act_bits: int = 8) -> ViTConfig:
    if name not in PRESETS:
        raise InputError(f"unknown model preset '{name}' (known presets: {', '.join(sorted(PRESETS))})")
    for what, bits in (("weight", weight_bits), ("activation", act_bits)):
        if not 2 <= bits <= 8:
            raise InputError(f"{what} bit width {bits} is not supported (use 2..8)")
    return replace(PRESETS[name], weight_bits=weight_bits, act_bits=act_bits)


def build_preset(name: str, weight_bits: int = 8, act_bits: int = 8, seed: int = 0,
                 calibration_batches: int = 2) -> QuantViT:
    """The preset with seeded random weights; activation scales calibrated on seeded random images."""
    cfg = preset_config(name, weight_bits, act_bits)
    torch.manual_seed(seed)
    model = QuantViT(cfg)
    init_weights(model, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model.eval()
    with torch.no_grad(), calibration_mode(model):
        for _ in range(calibration_batches):
            model(torch.randn(2, cfg.in_chans, cfg.img_size, cfg.img_size, generator=gen))
    return model.eval()
