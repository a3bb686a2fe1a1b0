"""The ViTs Brevitas users actually export: plain-torch ViTs shaped like torchvision's and timm's, quantized
by each Brevitas flow (layerwise PTQ, fx-graph PTQ, brevitas_examples' ptq_common backends), and a
hand-written QAT ViT that quantizes only the inputs of linear layers and matmuls (float residual stream).

torchvision and timm themselves do not load against the CPU torch here, so these mirror their structure:
- torchvision ``VisionTransformer``: ``conv_proj``, ``class_token`` cat, ``encoder.pos_embedding`` add,
  ``encoder.layers.encoder_layer_i`` with ``ln_1``/``self_attention`` (nn.MultiheadAttention)/``ln_2``/``mlp``,
  ``encoder.ln``, ``heads.head`` on the class token;
- timm ``VisionTransformer``: ``patch_embed.proj``, ``cls_token``/``pos_embed``, ``blocks.i`` with
  ``norm1``/``attn`` (fused ``qkv``, then F.scaled_dot_product_attention or explicit softmax)/``norm2``/``mlp``
  (``fc1``, GELU, ``fc2``), ``norm``, ``head`` on the class token.
"""

from __future__ import annotations

from collections import OrderedDict

import brevitas.nn as qnn
import torch
import torch.nn.functional as F
from brevitas.quant import (
    Int8ActPerTensorFloat,
    Int8WeightPerTensorFloat,
    ShiftedUint8ActPerTensorFloat,
    Uint8ActPerTensorFloat,
)
from torch import nn

IMG, PATCH, DIM, HEADS, MLP, DEPTH, CLASSES = 8, 2, 32, 2, 64, 2, 10
TOKENS = (IMG // PATCH) ** 2 + 1


# ----------------------------------------------------------------------------------------------
# torchvision-style


class TvEncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(DIM, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(DIM, HEADS, batch_first=True)
        self.ln_2 = nn.LayerNorm(DIM, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(DIM, MLP), nn.GELU(), nn.Linear(MLP, DIM))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class TvEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, TOKENS, DIM).normal_(std=0.02))
        self.layers = nn.Sequential(OrderedDict((f"encoder_layer_{i}", TvEncoderBlock()) for i in range(DEPTH)))
        self.ln = nn.LayerNorm(DIM, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(x + self.pos_embedding))


class TorchvisionViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_proj = nn.Conv2d(1, DIM, PATCH, stride=PATCH)
        self.class_token = nn.Parameter(torch.zeros(1, 1, DIM))
        self.encoder = TvEncoder()
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(DIM, CLASSES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = self.conv_proj(x)
        x = x.reshape(n, DIM, -1).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


# ----------------------------------------------------------------------------------------------
# timm-style


class TimmAttention(nn.Module):
    def __init__(self, fused: bool):
        super().__init__()
        self.fused = fused
        self.head_dim = DIM // HEADS
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, HEADS, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            q = q * self.scale
            x = (q @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class TimmMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(DIM, MLP), nn.GELU(), nn.Linear(MLP, DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TimmBlock(nn.Module):
    def __init__(self, fused: bool):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(DIM, eps=1e-6), nn.LayerNorm(DIM, eps=1e-6)
        self.attn = TimmAttention(fused)
        self.mlp = TimmMlp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(1, DIM, PATCH, stride=PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class TimmViT(nn.Module):
    def __init__(self, fused: bool = True):
        super().__init__()
        self.patch_embed = PatchEmbed()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
        self.pos_embed = nn.Parameter(torch.randn(1, TOKENS, DIM) * 0.02)
        self.blocks = nn.Sequential(*[TimmBlock(fused) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(DIM, eps=1e-6)
        self.head = nn.Linear(DIM, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# ----------------------------------------------------------------------------------------------
# hand-written QAT: QuantIdentity only before linear layers and matmuls, float residual stream


def qid(quant=Int8ActPerTensorFloat) -> qnn.QuantIdentity:
    return qnn.QuantIdentity(act_quant=quant)


def qlinear(i: int, o: int) -> qnn.QuantLinear:
    return qnn.QuantLinear(i, o, bias=True, weight_quant=Int8WeightPerTensorFloat)


class QatAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.head_dim = DIM // HEADS
        self.qkv_in, self.qkv = qid(), qlinear(DIM, 3 * DIM)
        self.q_quant, self.k_quant, self.v_quant = qid(), qid(), qid()
        self.attn_quant = qid(Uint8ActPerTensorFloat)
        self.proj_in, self.proj = qid(), qlinear(DIM, DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(self.qkv_in(x)).reshape(b, n, 3, HEADS, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        scores = self.q_quant(q * self.head_dim ** -0.5) @ self.k_quant(k).transpose(-2, -1)
        x = self.attn_quant(scores.softmax(dim=-1)) @ self.v_quant(v)
        return self.proj(self.proj_in(x.transpose(1, 2).reshape(b, n, c)))


class QatBlock(nn.Module):
    def __init__(self, asymmetric: bool = False):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(DIM, eps=1e-6), nn.LayerNorm(DIM, eps=1e-6)
        self.attn = QatAttention()
        self.fc1_in, self.fc1 = qid(ShiftedUint8ActPerTensorFloat if asymmetric else Int8ActPerTensorFloat), \
            qlinear(DIM, MLP)
        self.fc2_in, self.fc2 = qid(ShiftedUint8ActPerTensorFloat if asymmetric else Int8ActPerTensorFloat), \
            qlinear(MLP, DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(self.fc2_in(F.gelu(self.fc1(self.fc1_in(self.norm2(x))))))


class QatFloatResidualViT(nn.Module):
    """``asymmetric``: the MLP inputs use ShiftedUint8ActPerTensorFloat (a zero point) as in many QAT ViTs."""

    def __init__(self, asymmetric: bool = False):
        super().__init__()
        self.in_quant = qid()
        self.patch = qnn.QuantConv2d(1, DIM, PATCH, stride=PATCH, bias=True, weight_quant=Int8WeightPerTensorFloat)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
        self.pos_embed = nn.Parameter(torch.randn(1, TOKENS, DIM) * 0.02)
        self.blocks = nn.Sequential(*[QatBlock(asymmetric) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(DIM, eps=1e-6)
        self.head_in, self.head = qid(), qlinear(DIM, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(self.in_quant(x)).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(self.head_in(x[:, 0]))


# ----------------------------------------------------------------------------------------------
# the Brevitas flows


def layerwise(model: nn.Module) -> nn.Module:
    from brevitas.graph.quantize import layerwise_quantize

    return layerwise_quantize(model)


def fx_graph(model: nn.Module) -> nn.Module:
    from brevitas.graph.quantize import preprocess_for_quantize, quantize

    return quantize(preprocess_for_quantize(model))


def ptq_common(backend: str):
    def flow(model: nn.Module) -> nn.Module:
        from brevitas.graph.quantize import preprocess_for_quantize
        from brevitas_examples.imagenet_classification.ptq.ptq_common import quantize_model

        if backend == "fx":
            model = preprocess_for_quantize(model)
        return quantize_model(model, backend=backend, weight_bit_width=8, act_bit_width=8, bias_bit_width=32,
                              weight_quant_granularity="per_channel", act_quant_percentile=99.999,
                              act_quant_type="sym", scale_factor_type="float_scale", quant_format="int")

    return flow


FLOAT_ARCHS = {"torchvision": TorchvisionViT, "timm_sdpa": lambda: TimmViT(fused=True),
               "timm_softmax": lambda: TimmViT(fused=False)}
FLOWS = {"layerwise": layerwise, "fx": fx_graph, "ptq_layerwise": ptq_common("layerwise"),
         "ptq_fx": ptq_common("fx")}
