"""A configurable pre-norm Vision Transformer built only from standard Brevitas layers.

Every matmul/linear input passes through an activation quantizer (QuantIdentity); LayerNorm, GELU and
Softmax stay float between quantizers, exactly as a Brevitas user writes a quantized ViT. The softmax
input uses a power-of-two (fixed-point) scale and the softmax output the constant scale 2^-8, which is
what the integer E2Softmax unit consumes and produces (docs/numerics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import brevitas.nn as qnn
import torch
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8ActPerTensorFloat,
    Int8WeightPerChannelFloat,
    Uint8ActPerTensorFixedPoint,
)
from torch import nn


class SoftmaxOutputQuant(Uint8ActPerTensorFixedPoint):
    """Unsigned 8-bit probabilities on the constant scale 2^-8."""

    scaling_impl_type = ScalingImplType.CONST
    scaling_const = 1.0
    max_val = 1.0


@dataclass(frozen=True)
class ViTConfig:
    img_size: int = 224
    patch_size: int = 16
    in_chans: int = 3
    embed_dim: int = 192
    depth: int = 12
    num_heads: int = 3
    mlp_dim: int = 768
    num_classes: int = 1000
    weight_bits: int = 8
    act_bits: int = 8
    bias: bool = True

    @property
    def num_patches(self) -> int:
        return (self.img_size // self.patch_size) ** 2

    @property
    def tokens(self) -> int:
        return self.num_patches + 1


def _act(bits: int, quant=Int8ActPerTensorFloat) -> qnn.QuantIdentity:
    return qnn.QuantIdentity(act_quant=quant, bit_width=bits)


def _linear(cfg: ViTConfig, n_in: int, n_out: int) -> qnn.QuantLinear:
    return qnn.QuantLinear(n_in, n_out, bias=cfg.bias, weight_quant=Int8WeightPerChannelFloat,
                           weight_bit_width=cfg.weight_bits)


class Attention(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.num_heads = cfg.num_heads
        self.head_dim = cfg.embed_dim // cfg.num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = _linear(cfg, cfg.embed_dim, 3 * cfg.embed_dim)
        self.q_quant, self.k_quant, self.v_quant = (_act(cfg.act_bits) for _ in range(3))
        self.score_quant = _act(cfg.act_bits, Int8ActPerTensorFixedPoint)
        self.prob_quant = qnn.QuantIdentity(act_quant=SoftmaxOutputQuant)
        self.out_quant = _act(cfg.act_bits)
        self.proj = _linear(cfg, cfg.embed_dim, cfg.embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = self.q_quant(qkv[0]), self.k_quant(qkv[1]), self.v_quant(qkv[2])
        scores = self.score_quant((q @ k.transpose(-2, -1)) * self.scale)
        probs = self.prob_quant(scores.softmax(dim=-1))
        out = (probs @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(self.out_quant(out))


class Block(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.embed_dim)
        self.norm1_quant = _act(cfg.act_bits)
        self.attn = Attention(cfg)
        self.res1_quant = _act(cfg.act_bits)
        self.norm2 = nn.LayerNorm(cfg.embed_dim)
        self.norm2_quant = _act(cfg.act_bits)
        self.fc1 = _linear(cfg, cfg.embed_dim, cfg.mlp_dim)
        self.gelu_in_quant = _act(cfg.act_bits)
        self.gelu = nn.GELU()
        self.gelu_out_quant = _act(cfg.act_bits)
        self.fc2 = _linear(cfg, cfg.mlp_dim, cfg.embed_dim)
        self.res2_quant = _act(cfg.act_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res1_quant(x + self.attn(self.norm1_quant(self.norm1(x))))
        h = self.gelu_out_quant(self.gelu(self.gelu_in_quant(self.fc1(self.norm2_quant(self.norm2(x))))))
        return self.res2_quant(x + self.fc2(h))


class QuantViT(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        self.input_quant = _act(cfg.act_bits)
        self.patch_embed = qnn.QuantConv2d(cfg.in_chans, cfg.embed_dim, cfg.patch_size, stride=cfg.patch_size,
                                           bias=cfg.bias, weight_quant=Int8WeightPerChannelFloat,
                                           weight_bit_width=cfg.weight_bits)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.tokens, cfg.embed_dim))
        self.embed_quant = _act(cfg.act_bits)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.embed_dim)
        self.norm_quant = _act(cfg.act_bits)
        self.head = _linear(cfg, cfg.embed_dim, cfg.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(self.input_quant(x)).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.embed_quant(x)
        for block in self.blocks:
            x = block(x)
        x = self.norm_quant(self.norm(x))
        return self.head(x[:, 0])


def init_weights(model: nn.Module, seed: int) -> None:
    """Seeded ViT-style initialisation (normal(0, 0.02) weights and embeddings, zero biases)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith(("cls_token", "pos_embed")) or (name.endswith("weight") and p.dim() > 1):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
            elif p.dim() == 1 and "norm" in name.split(".")[-2]:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name.endswith("bias"):
                p.zero_()
