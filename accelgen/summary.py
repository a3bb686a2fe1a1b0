"""Model summary (`accelgen inspect`): shape of the ViT and per-layer MACs, parameters and bit widths."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import singledispatch

from . import ir


@singledispatch
def op_macs(op: ir.Op, graph: ir.Graph) -> int:
    """Multiply-accumulates per image (0 for ops that do not multiply)."""
    return 0


@op_macs.register
def _(op: ir.PatchEmbed, graph: ir.Graph) -> int:
    rows = graph.tensors[op.output].shape[0] - op.num_prefix
    return rows * op.weight.values.size


@op_macs.register
def _(op: ir.Linear, graph: ir.Graph) -> int:
    return graph.tensors[op.output].shape[0] * op.weight.values.size


@op_macs.register
def _(op: ir.AttnScores, graph: ir.Graph) -> int:
    heads, n_q, n_k = graph.tensors[op.output].shape
    return heads * n_q * n_k * op.head_dim


@op_macs.register
def _(op: ir.AttnContext, graph: ir.Graph) -> int:
    heads, n_q, n_k = graph.tensors[op.probs].shape
    return heads * n_q * n_k * op.head_dim


@singledispatch
def op_params(op: ir.Op) -> int:
    return 0


@op_params.register
def _(op: ir.GemmOp) -> int:
    n = op.weight.values.size + (0 if op.bias is None else op.bias.size)
    if isinstance(op, ir.PatchEmbed):
        n += (0 if op.prefix is None else op.prefix.size) + (0 if op.pos is None else op.pos.size)
    return n


@op_params.register
def _(op: ir.LayerNorm) -> int:
    return op.gamma.size + op.beta.size


def weight_bits(op: ir.Op) -> int | None:
    weight = getattr(op, "weight", None)
    return None if weight is None else weight.bits


@dataclass(frozen=True)
class LayerSummary:
    name: str
    op: str
    weight_bits: int | None
    act_bits: int | None
    macs: int
    params: int
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelSummary:
    model: str
    input_shape: tuple[int, ...]
    embed_dim: int
    depth: int
    num_heads: int
    mlp_dim: int
    tokens: int
    num_classes: int
    patch_size: int
    total_macs: int
    total_params: int
    layers: tuple[LayerSummary, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def _consumers(graph: ir.Graph, tensor: str) -> list[ir.Op]:
    return [op for op in graph.ops if tensor in op.inputs]


def summarize(graph: ir.Graph) -> ModelSummary:
    embed = graph.ops_of(ir.PatchEmbed)[0]
    scores = graph.ops_of(ir.AttnScores)
    mlp = [op for op in graph.ops_of(ir.Linear)
           if any(isinstance(c, ir.Gelu) for c in _consumers(graph, op.output))]
    layers = tuple(
        LayerSummary(name=op.name, op=op.kind, weight_bits=weight_bits(op),
                     act_bits=None if graph.tensors[op.output].quant is None else graph.tensors[op.output].quant.bits,
                     macs=op_macs(op, graph), params=op_params(op), output_shape=graph.tensors[op.output].shape)
        for op in graph.ops)
    return ModelSummary(
        model=graph.name, input_shape=graph.tensors[graph.input].shape, embed_dim=embed.weight.shape[0],
        depth=len(graph.ops_of(ir.Softmax)), num_heads=scores[0].heads if scores else 0,
        mlp_dim=mlp[0].weight.shape[0] if mlp else 0, tokens=graph.tensors[embed.output].shape[0],
        num_classes=graph.tensors[graph.output].shape[-1], patch_size=embed.patch,
        total_macs=sum(l.macs for l in layers), total_params=sum(l.params for l in layers), layers=layers)


def format_summary(s: ModelSummary) -> str:
    head = [
        f"model        {s.model}",
        f"input        {'x'.join(map(str, s.input_shape))} (patch {s.patch_size}, {s.tokens} tokens incl. class token)",
        f"embed_dim    {s.embed_dim}    depth {s.depth}    heads {s.num_heads}    mlp_dim {s.mlp_dim}    "
        f"classes {s.num_classes}",
        f"total        {s.total_macs:,} MACs/image    {s.total_params:,} parameters",
        "",
    ]
    rows = [("layer", "op", "w bits", "a bits", "output", "MACs", "params")]
    for l in s.layers:
        rows.append((l.name, l.op, "-" if l.weight_bits is None else str(l.weight_bits),
                     "float" if l.act_bits is None else str(l.act_bits), "x".join(map(str, l.output_shape)),
                     f"{l.macs:,}", f"{l.params:,}"))
    return "\n".join(head + format_table(rows, right=(2, 3, 5, 6)))


def format_table(rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> list[str]:
    """Plain-text table: first row is the header; columns in ``right`` are right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
