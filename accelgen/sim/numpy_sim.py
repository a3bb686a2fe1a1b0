"""The golden model: a bit-accurate NumPy interpreter of the integer graph, vectorised over the batch.

Every op calls the one definition of its arithmetic in ``accelgen.numerics``. GEMMs are exact: float32
BLAS in chunks small enough that every partial sum is an exactly representable integer (the chunk size
comes from the proven bounds of the operands), so the result equals int64 arithmetic.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .. import ir
from ..errors import InputError
from ..numerics.gelu import gelu_lookup
from ..numerics.gemm import exact_matmul
from ..numerics.layernorm import ailayernorm, layernorm_float_then_quantize
from ..numerics.primitives import quantize_float, requantize
from ..numerics.softmax import e2softmax, softmax_float_then_quantize

SOFTMAX_MODES = ("e2", "float")
LAYERNORM_MODES = ("ai", "float")


@dataclass(frozen=True)
class SimOptions:
    """Which implementation of the nonlinear units to run. The defaults are the hardware's; "float" runs
    the float-then-quantize reference forms, to measure what the integer units cost in accuracy."""

    softmax: str = "e2"
    layernorm: str = "ai"


@dataclass
class SimResult:
    logits: np.ndarray  # int64 (batch, classes) on the common output scale
    scale: float  # real value of one logit unit
    tensors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    def dequantized(self) -> np.ndarray:
        return self.logits.astype(np.float64) * self.scale


def max_abs(bounds: tuple[int, int]) -> int:
    return max(abs(bounds[0]), abs(bounds[1]))


def head_index(cols: tuple[int, ...], head_dim: int) -> np.ndarray:
    return np.asarray(cols)[:, None] + np.arange(head_dim)[None, :]


class NumpySimulator:
    def __init__(self, graph: ir.Graph, options: SimOptions = SimOptions()):
        if not graph.is_integer():
            raise ValueError("the simulator runs integer graphs (see accelgen.passes.to_integer)")
        if options.softmax not in SOFTMAX_MODES or options.layernorm not in LAYERNORM_MODES:
            raise InputError(f"unknown simulator options {options}")
        self.graph = graph
        self.options = options
        self.tensors = graph.tensors
        # GEMM weights transposed to (K, M) float32 once (exact: integers below 2^24)
        self.weights = {op.name: np.ascontiguousarray(op.weight.values.T.astype(np.float32))
                        for op in graph.ops_of(ir.GemmOp)}
        self.image_shape = graph.tensors[graph.input].shape
        last_use = {name: i for i, op in enumerate(graph.ops) for name in op.inputs}
        # tensors that can be dropped after op i (keeps the working set small on big batches)
        self.release = [[n for n in op.inputs if last_use[n] == i and n != graph.output] for i, op in
                        enumerate(graph.ops)]

    def check_input(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype not in (np.float32, np.float64):
            raise InputError(f"input images must be float32 (got dtype {images.dtype})")
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise InputError(f"input images must have shape (N, {', '.join(map(str, self.image_shape))}); "
                             f"got {images.shape}")
        if images.shape[0] == 0:
            raise InputError("input batch is empty")
        if not np.all(np.isfinite(images)):
            raise InputError("input images contain NaN or Inf values")
        return images.astype(np.float32)

    def run(self, images: np.ndarray, keep_tensors: bool = False, workers: int | None = None) -> SimResult:
        """Simulate a batch. The batch is split over ``workers`` threads (default: one per core); NumPy
        releases the GIL in its large operations, and BLAS is kept to one thread per worker (OpenBLAS'
        own threading is erratic on small shared machines). The results do not depend on the split."""
        images = self.check_input(images)
        workers = max(1, min(workers or os.cpu_count() or 1, len(images)))
        chunks = np.array_split(images, workers)
        with threadpool_limits(1, user_api="blas"):
            if workers == 1:
                parts = [self.run_chunk(images, keep_tensors)]
            else:
                with ThreadPoolExecutor(workers) as pool:
                    parts = list(pool.map(lambda c: self.run_chunk(c, keep_tensors), chunks))
        kept = {name: np.concatenate([p.tensors[name] for p in parts]) for name in parts[0].tensors}
        return SimResult(logits=np.concatenate([p.logits for p in parts]), scale=parts[0].scale, tensors=kept)

    def run_chunk(self, images: np.ndarray, keep_tensors: bool) -> SimResult:
        env: dict[str, np.ndarray] = {self.graph.input: images}
        kept: dict[str, np.ndarray] = {}
        for op, release in zip(self.graph.ops, self.release):
            env[op.output] = getattr(self, f"run_{op.kind}")(op, env)
            if keep_tensors:
                kept[op.output] = env[op.output]
            for name in release:
                del env[name]
        out = env[self.graph.output]
        logits = out.reshape(out.shape[0], -1)
        return SimResult(logits=logits, scale=self.tensors[self.graph.output].quant.scale, tensors=kept)

    # -- ops ------------------------------------------------------------------------------------

    def gemm(self, op: ir.GemmOp, x: np.ndarray, input_name: str) -> np.ndarray:
        return exact_matmul(x, self.weights[op.name], max_abs(self.tensors[input_name].bounds),
                            op.weight.max_abs, as_int=False)

    def run_input_quant(self, op: ir.InputQuant, env) -> np.ndarray:
        q = self.tensors[op.output].quant
        return quantize_float(env[self.graph.input], q.scale, q.qmin, q.qmax)

    def run_patch_embed(self, op: ir.PatchEmbed, env) -> np.ndarray:
        x = env[op.input]
        b, c, h, w = x.shape
        p = op.patch
        cols = x.reshape(b, c, h // p, p, w // p, p).transpose(0, 2, 4, 1, 3, 5).reshape(b, -1, c * p * p)
        y = requantize(self.gemm(op, cols, op.input), op.requant)
        if op.prefix_q is None:
            return y
        prefix = np.broadcast_to(op.prefix_q, (b,) + op.prefix_q.shape)
        return np.concatenate([prefix, y], axis=1)

    def run_linear(self, op: ir.Linear, env) -> np.ndarray:
        x = env[op.input]
        if op.rows is not None:
            x = x[:, list(op.rows), :]
        res = None if op.residual is None else env[op.residual]
        return requantize(self.gemm(op, x, op.input), op.requant, res)

    def run_attn_scores(self, op: ir.AttnScores, env) -> np.ndarray:
        q = env[op.q][:, :, head_index(op.q_cols, op.head_dim)].transpose(0, 2, 1, 3)
        k = env[op.k][:, :, head_index(op.k_cols, op.head_dim)].transpose(0, 2, 3, 1)
        acc = exact_matmul(q, k, max_abs(self.tensors[op.q].bounds), max_abs(self.tensors[op.k].bounds),
                           as_int=False)
        return requantize(acc, op.requant)

    def run_softmax(self, op: ir.Softmax, env) -> np.ndarray:
        x = env[op.input]
        if self.options.softmax == "float":
            return softmax_float_then_quantize(x, self.tensors[op.input].quant.scale, op.unit)
        return e2softmax(x, op.unit)

    def run_attn_context(self, op: ir.AttnContext, env) -> np.ndarray:
        p = env[op.probs]
        v = env[op.v][:, :, head_index(op.v_cols, op.head_dim)].transpose(0, 2, 1, 3)
        acc = exact_matmul(p, v, max_abs(self.tensors[op.probs].bounds), max_abs(self.tensors[op.v].bounds),
                           as_int=False)
        b, h, n, dh = acc.shape
        return requantize(acc.transpose(0, 2, 1, 3).reshape(b, n, h * dh), op.requant)

    def run_layernorm(self, op: ir.LayerNorm, env) -> np.ndarray:
        x = env[op.input]
        if self.options.layernorm == "float":
            q_in, q_out = self.tensors[op.input].quant, self.tensors[op.output].quant
            return layernorm_float_then_quantize(x, op.gamma, op.beta, op.eps, q_in.scale, q_out.scale,
                                                 q_out.qmin, q_out.qmax, q_out.zero_point)
        return ailayernorm(x, op.unit)

    def run_gelu(self, op: ir.Gelu, env) -> np.ndarray:
        return gelu_lookup(env[op.input], op.unit)

    def run_requantize(self, op: ir.Requantize, env) -> np.ndarray:
        return requantize(env[op.input], op.requant)

    def run_add(self, op: ir.Add, env) -> np.ndarray:
        return requantize(env[op.a], op.requant, env[op.b])
