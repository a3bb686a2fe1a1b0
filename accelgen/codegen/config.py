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
from ..hw.constants import WORD_BITS_MIN
from ..hw.structures import StructureFacts, structures
from ..hw.plan import Program, activation_bits, gelu_table_entries, image_lanes, has_attention, scheme_slots, slots_max
from ..hw.units import GemmUnit, LayerNormUnit, SoftmaxUnit, config_units, gemm_unit, tensor_bits
from ..passes.mixed_scheme import POT_MAX_EXP


@dataclass(frozen=True)
class HwConfig:
    gemm: GemmUnit  # the GEMM engine (hw/units.py, also the RTL tile's parameters)
    weight_memory: str  # the ping-pong weight banks' storage, as the model prices it (design.json)
    sum_bits: int  # requantization pre-shift sum
    act_bits: int  # on-chip activation element
    out_bits: int  # model output (logits)
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


def hw_config(program: Program, board: Board, dump_elems: int) -> HwConfig:
    graph, engine = program.graph, program.engine
    tm = engine.tm
    requants = [op for op in graph.ops if getattr(op, "bounds", None) is not None]
    out_view = program.views[graph.output]
    image = graph.tensors[program.steps[0].output].shape
    word_bits = board.hp_ports.width_bits
    units = config_units(graph, engine.sm_lanes, engine.ln_lanes)
    if word_bits < WORD_BITS_MIN or word_bits % 64:
        raise InputError(f"board '{board.name}': HP port width {word_bits} is not a multiple of 64 bits")
    return HwConfig(
        gemm=gemm_unit(graph, engine, board), weight_memory=engine.weight_memory,
        sum_bits=max(op.bounds.sum_bits for op in requants),
        act_bits=activation_bits(graph, program.places),
        out_bits=tensor_bits(graph, graph.output),
        slots_max=slots_max(program.tiles.values(), has_attention(graph), tm, engine.tn_fixed),
        gelu_entries=gelu_table_entries(graph),
        word_bits=word_bits, depth=program.depth,
        img_lanes=image_lanes(graph.ops_of(ir.PatchEmbed)[0].patch, image[-1], tm, word_bits),
        sm=units[0], ln=units[1],
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
    c, g = Constant, hw.gemm
    return [c(name, value) for name, value in template.emitted().items()] + [
        c("TM", g.tm), c("TN_FIXED", g.fixed_lanes), c("TN_POT", g.pot_lanes),
        c("DSP_PACKING", int(g.dsp_packing), "bool"),
        c("POT_MAX_EXP", POT_MAX_EXP),
        c("X_BITS", g.input_bits), c("W_BITS", g.weight_bits), c("ACC_BITS", g.acc_bits), c("SUM_BITS", hw.sum_bits),
        c("ACT_BITS", hw.act_bits), c("OUT_BITS", hw.out_bits),
        c("KC_MAX", g.max_k_beats), c("BIAS_ROWS_MAX", g.max_bias_rows),
        c("BIAS_PER_ITEM", stream.biases_per_item(g.tm)), c("SLOTS_MAX", hw.slots_max),
        c("FIXED_SLOTS", scheme_slots(g.fixed_lanes, g.tm)),
        c("GELU_ENTRIES", hw.gelu_entries), c("WORD_BITS", hw.word_bits), c("IMG_LANES", hw.img_lanes),
        c("DEPTH", hw.depth),
        c("SM_LANES", hw.sm.lanes), c("SM_N_MAX", hw.sm.max_row), c("SM_E_BITS", hw.sm.exponent_bits),
        c("SM_S_BITS", hw.sm.sum_bits), c("SM_EXP_FRAC", hw.sm.exp_frac), c("SM_RECIP_BITS", hw.sm.recip_bits),
        c("SM_SUM_FRAC", hw.sm.sum_frac), c("SM_CODE_MAX", hw.sm.code_max), c("SM_RECIP_FRAC", hw.sm.recip_frac),
        c("LN_LANES", hw.ln.lanes), c("LN_D_MAX", hw.ln.max_dim), c("LN_X_BITS", hw.ln.input_bits),
        c("LN_V_BITS", hw.ln.variance_bits), c("LN_RSQRT_FRAC", hw.ln.rsqrt_frac), c("LN_NORM_FRAC", hw.ln.norm_frac),
        c("LN_IDX_BITS", hw.ln.rsqrt_index_bits),
        c("OUT_ROWS", hw.out_rows), c("OUT_COLS", hw.out_cols), c("OUT_WORDS", math.ceil(hw.out_cols / g.tm)),
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


def config_facts(hw: HwConfig) -> StructureFacts:
    """The facts of hw/structures.py as the generated Config states them."""
    return StructureFacts(tm=hw.gemm.tm, word_bits=hw.word_bits, slots_max=hw.slots_max,
                          bias_rows_max=hw.gemm.max_bias_rows, gelu_entries=hw.gelu_entries, acc_bits=hw.gemm.acc_bits,
                          out_rows=hw.out_rows, out_cols=hw.out_cols, out_bits=hw.out_bits, max_steps=hw.max_steps,
                          img_lanes=hw.img_lanes, sm_lanes=hw.sm.lanes, sm_n_max=hw.sm.max_row,
                          sm_e_bits=hw.sm.exponent_bits, sm_code_bits=hw.sm.code_bits, ln_lanes=hw.ln.lanes,
                          ln_d_max=hw.ln.max_dim, ln_x_bits=hw.ln.input_bits, act_bits=hw.act_bits)


def storage_macros(hw: HwConfig, board: Board) -> list[tuple[str, str]]:
    """(macro, storage) of every memory hls/ binds with a macro (the BIND_STORAGE impl: a pragma option
    cannot be a constexpr member), as the perf model prices it: the weight banks' design.json choice, then
    the memories of hw/structures.py."""
    return [("ACCEL_WEIGHT_MEMORY", hw.weight_memory)] + [
        (m.macro, m.storage) for m in structures(config_facts(hw), board).memories if m.macro]
