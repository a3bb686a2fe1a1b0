"""Layer descriptors of a program: one per step, filled per op kind (hls/accel_desc.h)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

import numpy as np

from .. import ir
from ..hw.plan import Place, Program, Step, head_sliced, row_range, regular_step
from ..hw.descriptors import KINDS, encode, split64
from .pack import Blob


@dataclass(frozen=True)
class DumpEntry:
    """Where one output tensor lands in an image's debug dump (64-bit elements, row-major); ``step``
    names the op(s) that write it."""

    step: str
    tensor: str
    offset: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


def dump_layout(program: Program) -> tuple[tuple[DumpEntry, ...], int]:
    """Every step's output except the host-quantized image, in step order (a tensor written head by head
    once); returns (entries, total)."""
    entries, offset = [], 0
    for step in program.steps[1:]:
        if any(e.tensor == step.output for e in entries):
            continue
        shape = tuple(program.graph.tensors[step.output].shape)
        entries.append(DumpEntry(step.op_names, step.output, offset, shape))
        offset += int(np.prod(shape))
    return tuple(entries), offset


@dataclass(frozen=True)
class Ctx:
    program: Program
    blob: Blob
    dumps: dict[str, DumpEntry]  # by tensor
    sliced: frozenset[str]  # tensors stored one head at a time (hw/plan.py head_sliced)

    def place(self, tensor: str, prefix: str) -> dict[str, int]:
        p: Place = self.program.places[tensor]
        return {f"{prefix}_MEM": p.mem, f"{prefix}_BASE": p.base, f"{prefix}_STRIDE": p.stride}

    def region(self, step: Step, kind: str) -> dict[str, int]:
        r = self.blob.region(step.name, kind)
        return {"D_PARAM_OFF": r.offset, "D_PARAM_WORDS": r.words}


def scalar_requant(rq: ir.Requant) -> dict[str, int]:
    lo, hi = split64(int(rq.bias.ravel()[0]))
    fields = {"D_MULT": int(rq.mult[0]), "D_SHIFT": int(rq.shift[0]), "D_BIAS_LO": lo, "D_BIAS_HI": hi}
    if rq.res_mult is not None:
        fields["D_RES_MULT"] = int(rq.res_mult[0])
    return fields | clamp(rq)


def clamp(rq: ir.Requant) -> dict[str, int]:
    if rq.qmin is None:
        return {"D_CLAMP": 0}
    return {"D_CLAMP": 1, "D_QMIN": int(rq.qmin), "D_QMAX": int(rq.qmax)}


@singledispatch
def op_fields(op: ir.Op, step: Step, ctx: Ctx) -> dict[str, int]:
    raise NotImplementedError(f"no descriptor for {op.kind}")


@op_fields.register
def _(op: ir.InputQuant, step: Step, ctx: Ctx):
    c, h, w = ctx.program.graph.tensors[op.output].shape
    patch = next(o for o in ctx.program.graph.ops if isinstance(o, ir.PatchEmbed) and o.input == op.output)
    return {"D_KIND": KINDS["K_INPUT"], "D_IMG_C": c, "D_IMG_H": h, "D_IMG_W": w, "D_PATCH": patch.patch}


def gemm_fields(op: ir.GemmOp, step: Step, ctx: Ctx, rows: int) -> dict[str, int]:
    plan = ctx.program.tiles[step.name]
    pot = int(plan_pot_rows(op))
    fields = {"D_KIND": KINDS["K_GEMM"], "D_ROWS": rows, "D_COLS": op.weight.shape[0], "D_K": op.weight.shape[1],
              "D_HEADS": 1, "D_FIXED_ROWS": op.weight.shape[0] - pot, "D_POT_ROWS": pot,
              "D_WBITS": op.weight.bits, "D_SLOTS": plan.slots,
              "D_BIAS_ROWS": op.requant.bias.shape[0] if op.requant.bias.ndim > 1 else 0}
    return fields | ctx.place(op.input, "D_IN") | ctx.region(step, "gemm") | clamp(op.requant)


def plan_pot_rows(op: ir.GemmOp) -> int:
    return 0 if op.weight.pot_rows is None else int(np.count_nonzero(op.weight.pot_rows))


@op_fields.register
def _(op: ir.PatchEmbed, step: Step, ctx: Ctx):
    patches = ctx.program.views[op.input].rows
    fields = gemm_fields(op, step, ctx, patches) | {"D_OUT_ROW0": op.num_prefix}
    if op.prefix_q is not None:
        fields |= {"D_PREFIX_ROWS": op.prefix_q.shape[0], "D_PREFIX_OFF": ctx.blob.region(step.name, "prefix").offset}
    return fields


@op_fields.register
def _(op: ir.Linear, step: Step, ctx: Ctx):
    first, count = row_range(op)
    rows = ctx.program.views[op.input].rows if count < 0 else count
    fields = gemm_fields(op, step, ctx, rows) | {"D_IN_ROW0": first}
    if op.residual is not None:
        fields |= {"D_RES": 1} | ctx.place(op.residual, "D_RES")
    if step.gelu is not None:
        fields |= {"D_GELU": 1, "D_GELU_MIN": step.gelu.unit.in_min}
    if op.output == ctx.program.graph.output:
        fields |= {"D_TO_OUTPUT": 1}
    return fields


def head_range(op: ir.AttnScores | ir.AttnContext, step: Step) -> tuple[int, int]:
    """(first head, heads) of an attention step: all heads, or the one it runs (head by head)."""
    return (0, op.heads) if step.head is None else (step.head, 1)


@op_fields.register
def _(op: ir.AttnScores, step: Step, ctx: Ctx):
    tokens = ctx.program.graph.tensors[op.q].shape[0]
    first, heads = head_range(op, step)
    return ({"D_KIND": KINDS["K_QK"], "D_ROWS": tokens, "D_COLS": ctx.program.graph.tensors[op.k].shape[0],
             "D_K": op.head_dim, "D_HEADS": heads, "D_OUT_HROW": tokens,
             "D_IN_COL0": op.q_cols[first], "D_IN_HCOL": regular_step(op.q_cols, "query", op),
             "D_W_COL0": op.k_cols[first], "D_W_HCOL": regular_step(op.k_cols, "key", op)}
            | ctx.place(op.q, "D_IN") | ctx.place(op.k, "D_W") | scalar_requant(op.requant))


@op_fields.register
def _(op: ir.AttnContext, step: Step, ctx: Ctx):
    _, tokens, keys = ctx.program.graph.tensors[op.probs].shape
    first, heads = head_range(op, step)
    return ({"D_KIND": KINDS["K_AV"], "D_ROWS": tokens, "D_COLS": op.head_dim, "D_K": keys, "D_HEADS": heads,
             "D_IN_HROW": tokens, "D_OUT_COL0": first * op.head_dim, "D_OUT_HCOL": op.head_dim,
             "D_W_COL0": op.v_cols[first], "D_W_HCOL": regular_step(op.v_cols, "value", op)}
            | ctx.place(op.probs, "D_IN") | ctx.place(op.v, "D_W") | scalar_requant(op.requant))


def unit_shape(op: ir.Op, ctx: Ctx, tensor: str) -> dict[str, int]:
    view = ctx.program.views[tensor]
    return {"D_ROWS": view.rows, "D_COLS": view.cols} | ctx.place(tensor, "D_IN")


@op_fields.register
def _(op: ir.Softmax, step: Step, ctx: Ctx):
    p = op.unit
    return {"D_KIND": KINDS["K_SOFTMAX"], "D_SM_IN_FRAC": p.in_frac, "D_SM_OUT_FRAC": p.out_frac,
            "D_SM_OUT_MAX": p.out_max} | unit_shape(op, ctx, op.input)


@op_fields.register
def _(op: ir.LayerNorm, step: Step, ctx: Ctx):
    p = op.unit
    lo, hi = split64(p.eps)
    return ({"D_KIND": KINDS["K_LAYERNORM"], "D_LN_EPS_LO": lo, "D_LN_EPS_HI": hi, "D_LN_SHIFT": p.shift,
             "D_QMIN": p.out_min, "D_QMAX": p.out_max}
            | unit_shape(op, ctx, op.input) | ctx.region(step, "layernorm"))


@op_fields.register
def _(op: ir.Gelu, step: Step, ctx: Ctx):
    return ({"D_KIND": KINDS["K_GELU"], "D_GELU_MIN": op.unit.in_min} | unit_shape(op, ctx, op.input)
            | ctx.region(step, "gelu"))


@op_fields.register
def _(op: ir.Requantize, step: Step, ctx: Ctx):
    return {"D_KIND": KINDS["K_REQUANT"]} | unit_shape(op, ctx, op.input) | scalar_requant(op.requant)


@op_fields.register
def _(op: ir.Add, step: Step, ctx: Ctx):
    return ({"D_KIND": KINDS["K_ADD"], "D_RES": 1} | unit_shape(op, ctx, op.a) | ctx.place(op.b, "D_RES")
            | scalar_requant(op.requant))


def step_fields(step: Step, ctx: Ctx) -> dict[str, int]:
    """All descriptor fields of one step: the op's own, the output placement and the dump slot."""
    fields = op_fields(step.op, step, ctx)
    if step.output in ctx.program.places:
        fields |= ctx.place(step.output, "D_OUT")
    return fields | dump_fields(step, ctx)


def dump_fields(step: Step, ctx: Ctx) -> dict[str, int]:
    """The step's output view into its tensor's dump slot: a head-sliced map at its head's offset; a tensor
    written head by head in columns (the attention context) once complete, after its last head."""
    dump = ctx.dumps.get(step.output)
    if dump is None or (step.head is not None and step.output not in ctx.sliced and step.head != step.op.heads - 1):
        return {}
    view = ctx.program.views[step.output]
    offset = dump.offset + (step.head * view.rows * view.cols if step.output in ctx.sliced else 0)
    return {"D_DUMP": 1, "D_DUMP_OFF": offset, "D_DUMP_ROWS": view.rows, "D_DUMP_COLS": view.cols}


def descriptors(program: Program, blob: Blob, dumps: tuple[DumpEntry, ...]) -> tuple[tuple[int, ...], ...]:
    ctx = Ctx(program, blob, {d.tensor: d for d in dumps}, head_sliced(program.steps))
    return tuple(encode(step_fields(step, ctx)) for step in program.steps)
