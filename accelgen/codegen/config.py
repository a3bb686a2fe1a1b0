"""The compile-time configuration of the accelerator (the `Config` struct of accel_config.h): engine
sizes, integer widths proven from the graph's bounds, maxima over the layers, memory depth, and the
nonlinear units' tables taken verbatim from accelgen.numerics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import ir
from ..board import Board
from ..errors import InputError
from ..hw import constants as template
from ..hw.constants import MAX_PACKED_OPERAND_BITS, PACK_SHIFT, WORD_BITS_MIN
from ..hw.plan import Program, activation_bits, gelu_table_entries, image_lanes
from ..numerics import layernorm as ln_numerics
from ..numerics.softmax import RECIP_FRAC, E2SoftmaxParams
from ..passes.mixed_scheme import POT_MAX_EXP


@dataclass(frozen=True)
class SoftmaxHw:
    lanes: int  # elements of a row per beat (<= tm)
    n_max: int
    e_bits: int
    s_bits: int
    exp_frac: int
    recip_bits: int
    sum_frac: int
    code_max: int
    pow_table: tuple[int, ...]
    out_table: tuple[int, ...]


@dataclass(frozen=True)
class LayerNormHw:
    lanes: int  # channels of a token per beat (<= tm)
    d_max: int
    x_bits: int
    v_bits: int


@dataclass(frozen=True)
class HwConfig:
    tm: int
    tn_fixed: int
    tn_pot: int
    dsp_packing: bool
    x_bits: int  # GEMM activation operand (signed)
    w_bits: int  # fixed-lane weight operand (signed)
    acc_bits: int
    sum_bits: int  # requantization pre-shift sum
    act_bits: int  # on-chip activation element
    out_bits: int  # model output (logits)
    kc_max: int
    bias_rows_max: int
    slots_max: int
    gelu_entries: int
    word_bits: int
    img_lanes: int  # image pixels placed per beat (accelgen.hw.plan.image_lanes)
    depth: int
    sm: SoftmaxHw
    ln: LayerNormHw
    out_rows: int
    out_cols: int
    image_words: int
    dump_elems: int
    max_steps: int


def softmax_hw(params: list[E2SoftmaxParams], n_max: int, lanes: int = 1) -> SoftmaxHw:
    """Widths of the one E2Softmax unit serving every layer: the exponent code e = t >> (f - F) (or
    t << (F - f)) of a b-bit input needs b + 1 bits for t plus the left shift, and one more for R << F;
    the sum stays below 2^W * N."""
    p = params[0] if params else E2SoftmaxParams(in_bits=8, in_frac=8)
    e_bits = max([q.in_bits + 2 + max(0, q.exp_frac - q.in_frac) for q in params] or [p.in_bits + 2])
    return SoftmaxHw(lanes=lanes, n_max=max(n_max, 1), e_bits=e_bits, s_bits=p.sum_frac + 1 + max(n_max, 1).bit_length(),
                     exp_frac=p.exp_frac, recip_bits=p.recip_bits, sum_frac=p.sum_frac, code_max=p.code_max,
                     pow_table=tuple(p.pow_table), out_table=tuple(p.out_table))


def layernorm_hw(layers: list[tuple[ln_numerics.AILayerNormParams, tuple[int, int]]], lanes: int = 1) -> LayerNormHw:
    """Widths of the one AILayerNorm unit: the input width, and the variance D * Sq - Sx^2 + eps bounded
    by D^2 * (largest compressed square) + eps."""
    if not layers:
        return LayerNormHw(lanes=lanes, d_max=1, x_bits=8, v_bits=1)
    x_bits = max(ir.signed_bits(*b) for _, b in layers)
    v_max = 0
    for p, (lo, hi) in layers:
        sq = int(ln_numerics.compressed_square(np.arange(lo, hi + 1)).max(initial=0))
        v_max = max(v_max, p.dim * p.dim * sq + max(p.eps, 1))
    return LayerNormHw(lanes=lanes, d_max=max(p.dim for p, _ in layers), x_bits=x_bits, v_bits=v_max.bit_length())


def gemm_operands(program: Program) -> tuple[list[str], list[str]]:
    """(activation operands, on-chip weight operands) of every GEMM step."""
    xs, ws = [], []
    for step in program.steps:
        op = step.op
        if isinstance(op, ir.GemmOp):
            xs.append(op.input)
        elif isinstance(op, ir.AttnScores):
            xs.append(op.q)
            ws.append(op.k)
        elif isinstance(op, ir.AttnContext):
            xs.append(op.probs)
            ws.append(op.v)
    return xs, ws


def bits_of_tensor(graph: ir.Graph, name: str) -> int:
    return ir.signed_bits(*graph.tensors[name].bounds)


def hw_config(program: Program, board: Board, dump_elems: int) -> HwConfig:
    graph, engine = program.graph, program.engine
    tm = engine.tm
    xs, ws = gemm_operands(program)
    x_bits = max(bits_of_tensor(graph, t) for t in xs)
    weight_bits = [s.op.weight.bits for s in program.steps if isinstance(s.op, ir.GemmOp)]
    w_bits = max([8] + weight_bits + [bits_of_tensor(graph, t) for t in ws])
    if engine.dsp_packing:
        if not board.dsp.int8_packing:
            raise InputError(f"board '{board.name}': its {board.dsp.name} cannot pack two products per DSP "
                             f"(set dsp_packing to false)")
        if x_bits + w_bits > MAX_PACKED_OPERAND_BITS or w_bits + PACK_SHIFT + 1 > board.dsp.a_bits:
            raise InputError(f"dsp_packing: operands of {x_bits} x {w_bits} bits do not fit two products "
                             f"in one {board.dsp.name}")
    requants = [op for op in graph.ops if getattr(op, "bounds", None) is not None]
    gemms = [op for op in graph.ops if isinstance(op, ir.MATMUL_OPS)]
    kc = []
    bias_rows = [1]
    for step in program.steps:
        op = step.op
        if isinstance(op, ir.GemmOp):
            kc.append(op.weight.shape[1])
            if op.requant.bias.ndim > 1:
                bias_rows.append(op.requant.bias.shape[0])
        elif isinstance(op, ir.AttnScores):
            kc.append(op.head_dim)
        elif isinstance(op, ir.AttnContext):
            kc.append(graph.tensors[op.probs].shape[-1])
    slots = [p.slots for p in program.tiles.values()]
    if graph.ops_of(ir.AttnScores) or graph.ops_of(ir.AttnContext):
        slots.append(math.ceil((engine.tn_fixed + tm - 1) / tm))
    out_view = program.views[graph.output]
    softmaxes = graph.ops_of(ir.Softmax)
    image = graph.tensors[program.steps[0].output].shape
    word_bits = board.hp_ports.width_bits
    if word_bits < WORD_BITS_MIN or word_bits % 64:
        raise InputError(f"board '{board.name}': HP port width {word_bits} is not a multiple of 64 bits")
    return HwConfig(
        tm=tm, tn_fixed=engine.tn_fixed, tn_pot=engine.tn_pot, dsp_packing=engine.dsp_packing,
        x_bits=x_bits, w_bits=w_bits,
        acc_bits=max(op.bounds.acc_bits for op in gemms),
        sum_bits=max(op.bounds.sum_bits for op in requants),
        act_bits=activation_bits(graph, program.places),
        out_bits=bits_of_tensor(graph, graph.output),
        kc_max=max(math.ceil(k / tm) for k in kc),
        bias_rows_max=max(bias_rows), slots_max=max(slots),
        gelu_entries=gelu_table_entries(graph),
        word_bits=word_bits, depth=program.depth,
        img_lanes=image_lanes(graph.ops_of(ir.PatchEmbed)[0].patch, image[-1], tm, word_bits),
        sm=softmax_hw([s.unit for s in softmaxes],
                      max([graph.tensors[s.input].shape[-1] for s in softmaxes] or [1]), engine.sm_lanes),
        ln=layernorm_hw([(op.unit, graph.tensors[op.input].bounds) for op in graph.ops_of(ir.LayerNorm)],
                        engine.ln_lanes),
        out_rows=out_view.rows, out_cols=out_view.cols,
        image_words=math.ceil(int(np.prod(image)) * 8 / word_bits),
        dump_elems=dump_elems, max_steps=len(program.steps),
    )


@dataclass(frozen=True)
class Constant:
    name: str
    value: int
    ctype: str = "int"


@dataclass(frozen=True)
class Table:
    name: str
    values: tuple[int, ...]
    ctype: str = "std::uint32_t"


def config_constants(hw: HwConfig) -> list[Constant]:
    """Every scalar of the Config struct, in declaration order: the template's constants (hw/constants.py),
    then the design's."""
    c = Constant
    return [c(name, value) for name, value in template.emitted().items()] + [
        c("TM", hw.tm), c("TN_FIXED", hw.tn_fixed), c("TN_POT", hw.tn_pot),
        c("DSP_PACKING", int(hw.dsp_packing), "bool"),
        c("POT_MAX_EXP", POT_MAX_EXP),
        c("X_BITS", hw.x_bits), c("W_BITS", hw.w_bits), c("ACC_BITS", hw.acc_bits), c("SUM_BITS", hw.sum_bits),
        c("ACT_BITS", hw.act_bits), c("OUT_BITS", hw.out_bits),
        c("KC_MAX", hw.kc_max), c("BIAS_ROWS_MAX", hw.bias_rows_max), c("SLOTS_MAX", hw.slots_max),
        c("GELU_ENTRIES", hw.gelu_entries), c("WORD_BITS", hw.word_bits), c("IMG_LANES", hw.img_lanes),
        c("DEPTH", hw.depth),
        c("SM_LANES", hw.sm.lanes), c("SM_N_MAX", hw.sm.n_max), c("SM_E_BITS", hw.sm.e_bits), c("SM_S_BITS", hw.sm.s_bits),
        c("SM_EXP_FRAC", hw.sm.exp_frac), c("SM_RECIP_BITS", hw.sm.recip_bits), c("SM_SUM_FRAC", hw.sm.sum_frac),
        c("SM_CODE_MAX", hw.sm.code_max), c("SM_RECIP_FRAC", RECIP_FRAC),
        c("LN_LANES", hw.ln.lanes), c("LN_D_MAX", hw.ln.d_max), c("LN_X_BITS", hw.ln.x_bits), c("LN_V_BITS", hw.ln.v_bits),
        c("LN_RSQRT_FRAC", ln_numerics.RSQRT_FRAC), c("LN_NORM_FRAC", ln_numerics.NORM_FRAC),
        c("LN_IDX_BITS", ln_numerics.RSQRT_IDX_BITS),
        c("OUT_ROWS", hw.out_rows), c("OUT_COLS", hw.out_cols), c("OUT_WORDS", math.ceil(hw.out_cols / hw.tm)),
        c("LOGIT_WORDS", math.ceil(hw.out_rows * hw.out_cols * 64 / hw.word_bits)),
        c("IMAGE_WORDS", hw.image_words), c("DUMP_ELEMS", max(hw.dump_elems, 1)), c("MAX_STEPS", hw.max_steps),
    ]


def config_tables(hw: HwConfig) -> list[Table]:
    """The nonlinear units' tables, verbatim from accelgen.numerics."""
    return [
        Table("SM_POW", hw.sm.pow_table),
        Table("SM_OUT", hw.sm.out_table),
        Table("LN_SQUARES", tuple(ln_numerics.SQUARES)),
        Table("LN_RSQRT", tuple(ln_numerics.RSQRT)),
    ]
