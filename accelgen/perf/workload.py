"""What each op asks of the hardware: the loop bounds the cost model needs, read off the IR once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

from .. import ir


@dataclass(frozen=True)
class Work:
    """One op as the hardware sees it.

    ``unit`` is the hardware unit that runs it: "gemm" (weights from DDR), "attn" (GEMM engine, fixed
    lanes, operands on chip), "input" (the image loader), "softmax", "layernorm", "eltwise", or "fused" (no
    cycles of its own).
    For GEMMs: ``rows`` x ``k`` @ ``k`` x ``m`` per head; for softmax: ``rows`` rows of ``k`` elements; for
    LayerNorm: ``rows`` tokens of ``k`` channels; for eltwise: ``rows`` x ``k`` elements; for the input:
    ``rows`` (channels x height) image rows of ``k`` pixels, cut into patches of ``m`` pixels.
    """

    name: str
    kind: str
    unit: str
    rows: int
    k: int
    m: int = 0
    heads: int = 1
    ddr_bytes: int = 0  # activation bytes it reads from DDR (the image; other activations stay on chip)

    @property
    def macs(self) -> int:
        return self.rows * self.k * self.m * self.heads if self.unit in ("gemm", "attn") else 0


@singledispatch
def op_work(op: ir.Op, graph: ir.Graph) -> Work:
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
def _(op: ir.InputQuant, graph: ir.Graph) -> Work:
    c, h, w = _shape(graph, op.output)
    patch = next(p.patch for p in graph.ops_of(ir.PatchEmbed))
    return Work(op.name, op.kind, "input", rows=c * h, k=w, m=patch, ddr_bytes=_bytes(graph, op.output))


@op_work.register
def _(op: ir.PatchEmbed, graph: ir.Graph) -> Work:
    m, k = op.weight.shape
    rows = _shape(graph, op.output)[0] - op.num_prefix
    return Work(op.name, op.kind, "gemm", rows=rows, k=k, m=m)


@op_work.register
def _(op: ir.Linear, graph: ir.Graph) -> Work:
    m, k = op.weight.shape
    return Work(op.name, op.kind, "gemm", rows=_shape(graph, op.output)[0], k=k, m=m)


@op_work.register
def _(op: ir.AttnScores, graph: ir.Graph) -> Work:
    heads, n_q, n_k = _shape(graph, op.output)
    return Work(op.name, op.kind, "attn", rows=n_q, k=op.head_dim, m=n_k, heads=heads)


@op_work.register
def _(op: ir.AttnContext, graph: ir.Graph) -> Work:
    heads, n_q, n_k = _shape(graph, op.probs)
    return Work(op.name, op.kind, "attn", rows=n_q, k=n_k, m=op.head_dim, heads=heads)


@op_work.register
def _(op: ir.Softmax, graph: ir.Graph) -> Work:
    heads, n_q, n_k = _shape(graph, op.input)
    return Work(op.name, op.kind, "softmax", rows=heads * n_q, k=n_k)


@op_work.register
def _(op: ir.LayerNorm, graph: ir.Graph) -> Work:
    n, d = _shape(graph, op.output)
    return Work(op.name, op.kind, "layernorm", rows=n, k=d)


@op_work.register
def _(op: ir.Gelu, graph: ir.Graph) -> Work:
    producer = graph.producer(op.input)
    n, d = _shape(graph, op.output)
    unit = "fused" if isinstance(producer, ir.GemmOp) else "eltwise"
    return Work(op.name, op.kind, unit, rows=n, k=d)


@op_work.register
def _(op: ir.Requantize, graph: ir.Graph) -> Work:
    shape = _shape(graph, op.output)
    return Work(op.name, op.kind, "eltwise", rows=shape[0], k=_bytes(graph, op.output) // shape[0])


@op_work.register
def _(op: ir.Add, graph: ir.Graph) -> Work:
    shape = _shape(graph, op.output)
    return Work(op.name, op.kind, "eltwise", rows=shape[0], k=_bytes(graph, op.output) // shape[0])


def workload(graph: ir.Graph) -> tuple[Work, ...]:
    return tuple(op_work(op, graph) for op in graph.ops)
