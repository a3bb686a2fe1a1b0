"""Independently written Brevitas ViTs of unusual shape, as other people write them.

They differ from accelgen.models.vit on purpose: separate q/k/v projections, odd head counts, scaling
before QK^T, non-power-of-two softmax-input scales, no biases, RGB input, `unbind`-style splitting,
torch's channels-last token layout, and Brevitas' own QuantMultiheadAttention.
"""

from __future__ import annotations

import brevitas.nn as qnn
import torch
from brevitas.quant import (
    Int8ActPerTensorFloat,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFloat,
    Uint8ActPerTensorFloat,
)
from torch import nn


def act(bits: int = 8, quant=Int8ActPerTensorFloat) -> qnn.QuantIdentity:
    return qnn.QuantIdentity(act_quant=quant, bit_width=bits)


class SeparateQKVAttention(nn.Module):
    """Separate q/k/v projections, q scaled before QK^T, timm-like unbind-free reshapes."""

    def __init__(self, dim: int, heads: int, bias: bool, bits: int):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        lin = dict(bias=bias, weight_quant=Int8WeightPerTensorFloat, weight_bit_width=bits)
        self.q, self.k, self.v = (qnn.QuantLinear(dim, dim, **lin) for _ in range(3))
        self.qq, self.kq, self.vq = act(bits), act(bits), act(bits)
        self.sq = act(bits)  # non power-of-two softmax input scale
        self.pq = act(8, Uint8ActPerTensorFloat)
        self.oq = act(bits)
        self.proj = qnn.QuantLinear(dim, dim, **lin)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.hd).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q = self.qq(self.split(self.q(x)) * self.hd ** -0.5)
        k = self.kq(self.split(self.k(x)))
        v = self.vq(self.split(self.v(x)))
        p = self.pq(self.sq(q @ k.transpose(-1, -2)).softmax(-1))
        return self.proj(self.oq((p @ v).permute(0, 2, 1, 3).reshape(b, n, d)))


class UnbindAttention(nn.Module):
    """Fused qkv split with unbind (as timm does), scale applied to the scores."""

    def __init__(self, dim: int, heads: int, bias: bool, bits: int):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.qkv = qnn.QuantLinear(dim, 3 * dim, bias=bias, weight_quant=Int8WeightPerChannelFloat,
                                   weight_bit_width=bits)
        self.qq, self.kq, self.vq, self.sq, self.oq = (act(bits) for _ in range(5))
        self.pq = act(8, Uint8ActPerTensorFloat)
        self.proj = qnn.QuantLinear(dim, dim, bias=bias, weight_quant=Int8WeightPerChannelFloat,
                                    weight_bit_width=bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4).unbind(0)
        s = self.sq((self.qq(q) @ self.kq(k).transpose(-2, -1)) / self.hd ** 0.5)
        o = self.pq(s.softmax(dim=-1)) @ self.vq(v)
        return self.proj(self.oq(o.transpose(1, 2).flatten(2)))


class MHAAttention(nn.Module):
    """Brevitas' QuantMultiheadAttention (batch first)."""

    def __init__(self, dim: int, heads: int, bias: bool, bits: int):
        super().__init__()
        self.mha = qnn.QuantMultiheadAttention(dim, heads, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mha(x, x, x, need_weights=False)[0]


class ZooBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int, attn_cls, bias: bool, bits: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.in1, self.in2 = act(bits), act(bits)
        self.attn = attn_cls(dim, heads, bias, bits)
        self.r1, self.r2 = act(bits), act(bits)
        lin = dict(bias=bias, weight_quant=Int8WeightPerChannelFloat, weight_bit_width=bits)
        self.mlp = nn.Sequential(qnn.QuantLinear(dim, mlp, **lin), act(bits), nn.GELU(), act(bits),
                                 qnn.QuantLinear(mlp, dim, **lin))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.r1(x + self.attn(self.in1(self.ln1(x))))
        return self.r2(x + self.mlp(self.in2(self.ln2(x))))


class ZooViT(nn.Module):
    def __init__(self, img: int, patch: int, chans: int, dim: int, depth: int, heads: int, mlp: int,
                 classes: int, attn_cls=SeparateQKVAttention, bias: bool = True, bits: int = 8):
        super().__init__()
        self.inq = act(bits)
        self.embed = qnn.QuantConv2d(chans, dim, patch, stride=patch, bias=bias,
                                     weight_quant=Int8WeightPerChannelFloat, weight_bit_width=bits)
        n = (img // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.eq = act(bits)
        self.blocks = nn.Sequential(*[ZooBlock(dim, heads, mlp, attn_cls, bias, bits) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.lq = act(bits)
        self.fc = qnn.QuantLinear(dim, classes, bias=bias, weight_quant=Int8WeightPerChannelFloat,
                                  weight_bit_width=bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(self.inq(x))
        t = t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, t.shape[1])  # channels-last tokens
        t = self.eq(torch.cat((self.cls.expand(t.shape[0], -1, -1), t), dim=1) + self.pos)
        t = self.lq(self.ln(self.blocks(t)))
        return self.fc(t[:, 0])


ZOO = {
    # name: (constructor kwargs, input shape)
    "separate_qkv_3heads_rgb": (dict(img=12, patch=4, chans=3, dim=24, depth=2, heads=3, mlp=40, classes=5,
                                     attn_cls=SeparateQKVAttention, bias=False), (3, 12, 12)),
    "unbind_5heads": (dict(img=8, patch=2, chans=1, dim=40, depth=1, heads=5, mlp=64, classes=10,
                           attn_cls=UnbindAttention), (1, 8, 8)),
    "quant_mha": (dict(img=8, patch=4, chans=1, dim=16, depth=2, heads=2, mlp=32, classes=3,
                       attn_cls=MHAAttention), (1, 8, 8)),
    "unbind_4bit": (dict(img=8, patch=2, chans=1, dim=24, depth=1, heads=3, mlp=48, classes=10,
                         attn_cls=UnbindAttention, bits=4), (1, 8, 8)),
}


def build_zoo_model(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    kwargs, shape = ZOO[name]
    torch.manual_seed(seed)
    model = ZooViT(**kwargs)
    from brevitas.graph.calibrate import calibration_mode

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad(), calibration_mode(model):
        model(torch.randn(4, *shape, generator=gen))
    return model.eval(), shape

# The independently written ViT trained on digits (tests/data/train_independent.py): different width,
# depth and heads from the default model, separate q/k/v, per-tensor weights, non-power-of-two scores.
INDEPENDENT = dict(img=8, patch=2, chans=1, dim=40, depth=3, heads=5, mlp=80, classes=10,
                   attn_cls=SeparateQKVAttention, bias=True)
