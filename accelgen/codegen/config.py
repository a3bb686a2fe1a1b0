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
from ..hw import stream
from ..hw.constants import MAX_PACKED_OPERAND_BITS, PACK_SHIFT, WORD_BITS_MIN
from ..hw.plan import Program, activation_bits, gelu_table_entries, image_lanes
from ..hw.structures import accumulator_bits, bias_rows_max
from ..hw.units import LayerNormUnit, SoftmaxUnit, layernorm_unit, softmax_unit
from ..numerics import layernorm as ln_numerics
from ..numerics.softmax import E2SoftmaxParams
from ..passes.mixed_scheme import POT_MAX_EXP


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
    sm: SoftmaxUnit
    ln: LayerNormUnit
    out_rows: int
    out_cols: int
    image_words: int
    dump_elems: int
    max_steps: int


def config_softmax(params: list[E2SoftmaxParams], max_row: int, lanes: int = 1) -> SoftmaxUnit:
    """The Config's E2Softmax unit (one with default parameters when the model has no softmax)."""
    return softmax_unit(params or [E2SoftmaxParams(in_bits=8, in_frac=8)], max_row, lanes)


def config_layernorm(layers: list[tuple[ln_numerics.AILayerNormParams, tuple[int, int]]], lanes: int = 1
                     ) -> LayerNormUnit:
    """The Config's AILayerNorm unit (a minimal one when the model has no LayerNorm)."""
    if not layers:
        return LayerNormUnit(lanes=lanes, max_dim=1, input_bits=8, variance_bits=1, eps_bits=1, bias_bits=1,
                             shift_bits=1, output_bits=8)
    return layernorm_unit(layers, lanes)


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
    kc = []
    for step in program.steps:
        op = step.op
        if isinstance(op, ir.GemmOp):
            kc.append(op.weight.shape[1])
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
        acc_bits=accumulator_bits(graph),
        sum_bits=max(op.bounds.sum_bits for op in requants),
        act_bits=activation_bits(graph, program.places),
        out_bits=bits_of_tensor(graph, graph.output),
        kc_max=max(math.ceil(k / tm) for k in kc),
        bias_rows_max=bias_rows_max(graph), slots_max=max(slots),
        gelu_entries=gelu_table_entries(graph),
        word_bits=word_bits, depth=program.depth,
        img_lanes=image_lanes(graph.ops_of(ir.PatchEmbed)[0].patch, image[-1], tm, word_bits),
        sm=config_softmax([s.unit for s in softmaxes],
                      max([graph.tensors[s.input].shape[-1] for s in softmaxes] or [1]), engine.sm_lanes),
        ln=config_layernorm([(op.unit, graph.tensors[op.input].bounds) for op in graph.ops_of(ir.LayerNorm)],
                        engine.ln_lanes),
        out_rows=out_view.rows, out_cols=out_view.cols,
        image_words=int(stream.words_of(stream.image_bits(int(np.prod(image))), word_bits)),
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
        c("SM_LANES", hw.sm.lanes), c("SM_N_MAX", hw.sm.max_row), c("SM_E_BITS", hw.sm.exponent_bits),
        c("SM_S_BITS", hw.sm.sum_bits), c("SM_EXP_FRAC", hw.sm.exp_frac), c("SM_RECIP_BITS", hw.sm.recip_bits),
        c("SM_SUM_FRAC", hw.sm.sum_frac), c("SM_CODE_MAX", hw.sm.code_max), c("SM_RECIP_FRAC", hw.sm.recip_frac),
        c("LN_LANES", hw.ln.lanes), c("LN_D_MAX", hw.ln.max_dim), c("LN_X_BITS", hw.ln.input_bits),
        c("LN_V_BITS", hw.ln.variance_bits), c("LN_RSQRT_FRAC", hw.ln.rsqrt_frac), c("LN_NORM_FRAC", hw.ln.norm_frac),
        c("LN_IDX_BITS", hw.ln.rsqrt_index_bits),
        c("OUT_ROWS", hw.out_rows), c("OUT_COLS", hw.out_cols), c("OUT_WORDS", math.ceil(hw.out_cols / hw.tm)),
        c("LOGIT_WORDS", math.ceil(hw.out_rows * hw.out_cols * template.LOGIT_BITS / hw.word_bits)),
        c("IMAGE_WORDS", hw.image_words), c("DUMP_ELEMS", max(hw.dump_elems, 1)), c("MAX_STEPS", hw.max_steps),
    ]


def config_tables(hw: HwConfig) -> list[Table]:
    """The nonlinear units' tables, verbatim from accelgen.numerics."""
    return [
        Table("SM_POW", hw.sm.pow_table),
        Table("SM_OUT", hw.sm.out_table),
        Table("LN_SQUARES", hw.ln.squares),
        Table("LN_RSQRT", hw.ln.rsqrt),
    ]
