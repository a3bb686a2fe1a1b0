"""What each op asks of the hardware: the loop bounds the cost model needs, read off the IR once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import singledispatch

from .. import ir
from ..hw import stream
from ..hw.plan import fused_gelus, gelu_table_entries, schedule


@dataclass(frozen=True)
class Work:
    """One op as the hardware sees it.

    ``unit`` is the hardware unit that runs it: "gemm" (weights from DDR), "attn" (GEMM engine, fixed
    lanes, operands on chip), "input" (the image loader), "softmax", "layernorm", "eltwise", or "fused" (no
    cycles of its own).
    For GEMMs: ``rows`` x ``k`` @ ``k`` x ``m`` per head; for softmax: ``rows`` rows of ``k`` elements per
    step; for LayerNorm: ``rows`` tokens of ``k`` channels; for eltwise: ``rows`` x ``k`` elements per step;
    softmax and eltwise run ``heads`` steps (one per head when the plan runs their attention head by head,
    hw/plan.py head_by_head). For the input: ``rows`` (channels x height) image rows of ``k`` pixels, cut
    into patches of ``m`` pixels.
    """

    name: str
    kind: str
    unit: str
    rows: int
    k: int
    m: int = 0
    heads: int = 1
    ddr_parts: tuple[int, ...] = ()  # bits of the word-aligned DDR regions it reads besides GEMM weights
    op: ir.Op | None = field(default=None, compare=False, repr=False)  # the IR op (its type prices it)

    def ddr_bytes(self, word_bits: int) -> int:
        return sum(int(stream.region_bytes(bits, word_bits)) for bits in self.ddr_parts)

    @property
    def macs(self) -> int:
        return self.rows * self.k * self.m * self.heads if self.unit in ("gemm", "attn") else 0


@dataclass(frozen=True)
class Context:
    graph: ir.Graph
    fused: frozenset[str]  # GELUs fused into their linear layer (hw/plan.py)
    per_head: frozenset[str]  # ops the plan runs one head per step (hw/plan.py head_by_head)
    gelu_entries: int  # entries of every GELU table


@singledispatch
def op_work(op: ir.Op, ctx: Context) -> Work:
    raise NotImplementedError(op.kind)


def _shape(graph: ir.Graph, name: str) -> tuple[int, ...]:
    return graph.tensors[name].shape


def _bytes(graph: ir.Graph, name: str) -> int:
    q = graph.tensors[name].quant
    bits = 8 if q is None else q.bits
    size = 1
    for d in graph.tensors[name].shape:
        size *= d
    return size * ((bits + 7) // 8)


@op_work.register
def _(op: ir.InputQuant, ctx: Context) -> Work:
    c, h, w = _shape(ctx.graph, op.output)
    patch = next(p.patch for p in ctx.graph.ops_of(ir.PatchEmbed))
    return Work(op.name, op.kind, "input", rows=c * h, k=w, m=patch, ddr_parts=(stream.image_bits(c * h * w),))


@op_work.register
def _(op: ir.PatchEmbed, ctx: Context) -> Work:
    m, k = op.weight.shape
    rows = _shape(ctx.graph, op.output)[0] - op.num_prefix
    prefix = () if op.prefix_q is None else (stream.prefix_bits(op.prefix_q.size),)
    return Work(op.name, op.kind, "gemm", rows=rows, k=k, m=m, ddr_parts=prefix)


@op_work.register
def _(op: ir.Linear, ctx: Context) -> Work:
    m, k = op.weight.shape
    return Work(op.name, op.kind, "gemm", rows=_shape(ctx.graph, op.output)[0], k=k, m=m)


@op_work.register
def _(op: ir.AttnScores, ctx: Context) -> Work:
    heads, n_q, n_k = _shape(ctx.graph, op.output)
    return Work(op.name, op.kind, "attn", rows=n_q, k=op.head_dim, m=n_k, heads=heads)


@op_work.register
def _(op: ir.AttnContext, ctx: Context) -> Work:
    heads, n_q, n_k = _shape(ctx.graph, op.probs)
    return Work(op.name, op.kind, "attn", rows=n_q, k=n_k, m=op.head_dim, heads=heads)


@op_work.register
def _(op: ir.Softmax, ctx: Context) -> Work:
    heads, n_q, n_k = _shape(ctx.graph, op.input)
    if op.name in ctx.per_head:
        return Work(op.name, op.kind, "softmax", rows=n_q, k=n_k, heads=heads)
    return Work(op.name, op.kind, "softmax", rows=heads * n_q, k=n_k)


@op_work.register
def _(op: ir.LayerNorm, ctx: Context) -> Work:
    n, d = _shape(ctx.graph, op.output)
    return Work(op.name, op.kind, "layernorm", rows=n, k=d, ddr_parts=stream.layernorm_parts(d))


@op_work.register
def _(op: ir.Gelu, ctx: Context) -> Work:
    n, d = _shape(ctx.graph, op.output)
    if op.name in ctx.fused:
        return Work(op.name, op.kind, "fused", rows=n, k=d)
    return Work(op.name, op.kind, "eltwise", rows=n, k=d, ddr_parts=(stream.gelu_table_bits(ctx.gelu_entries),))


@op_work.register
def _(op: ir.Requantize, ctx: Context) -> Work:
    shape = _shape(ctx.graph, op.output)
    if op.name in ctx.per_head:  # one step per head: shape[1] tokens of one head's map
        rows = shape[0] * shape[1]
        return Work(op.name, op.kind, "eltwise", rows=shape[1], k=_bytes(ctx.graph, op.output) // rows,
                    heads=shape[0])
    return Work(op.name, op.kind, "eltwise", rows=shape[0], k=_bytes(ctx.graph, op.output) // shape[0])


@op_work.register
def _(op: ir.Add, ctx: Context) -> Work:
    shape = _shape(ctx.graph, op.output)
    return Work(op.name, op.kind, "eltwise", rows=shape[0], k=_bytes(ctx.graph, op.output) // shape[0])


def workload(graph: ir.Graph) -> tuple[Work, ...]:
    steps = schedule(graph)
    fused = frozenset(g.name for g in fused_gelus(steps).values())
    per_head = frozenset(s.op.name for s in steps if s.head is not None)
    ctx = Context(graph, fused, per_head, gelu_table_entries(graph))
    return tuple(replace(op_work(op, ctx), op=op) for op in graph.ops)
