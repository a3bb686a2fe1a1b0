"""The structures the generated HLS instantiates around the GEMM lanes, the units' logic and the weight /
activation buffers: the engine's store-side parameter and bias memories, its GELU tables and registers,
the rotations of the activation windows and of the store ring, the output buffer, the softmax / LayerNorm
row and token buffers, the descriptor RAM and registers, the DATAFLOW FIFOs and scalar channels with the
word -> field unpacking of their consumers, the GEMM gearbox and the m_axi adapters.

One list, from the facts the generated Config carries (``StructureFacts``); the perf model prices every
item (perf/resource_model.py: memories from their sizes in the storage hw/memory.py memory_kind picks,
which the generated config binds; the rest from Yosys fits of RTL equivalents, scripts/synth_structures.py)
and tests/test_structures.py ties the list to the generated project: every STREAM pragma, every m_axi
bundle and every partitioned array of hls/ is an item here (or priced with the part of the design that
holds it, ``PRICED_ELSEWHERE``), and nothing else is; every BIND_STORAGE and memory shape is the model's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..board import Board
from .descriptors import DESC_WORDS
from ..numerics.primitives import MULT_BITS
from .memory import memory_kind
from .constants import (BIAS_BITS, GELU_ENTRY_BITS, IMAGE_PIXEL_BITS, LN_BIAS_BITS, LN_GAIN_BITS,
                        META_RES_SHIFT, PREFIX_BITS, SHIFT_BITS, STREAM_DEPTH)
from .stream import biases_per_item, ceil_div, item_bits

MAXI_READ_OUTSTANDING = 8  # num_read_outstanding of the m_axi INTERFACE pragmas
# m_axi ports of the top function: (argument, bundle); the bundles map to the PS's HP ports in this order
MAXI_PORTS = (("params", "gmem0"), ("images", "gmem1"), ("logits", "gmem1"), ("dump", "gmem2"))
MAXI_WRITTEN = ("logits", "dump")  # the ports the kernel writes (the others it reads)
TOP = "accelgen_top"  # the generated top function (its m_axi ports are MAXI_PORTS)
DUMP_BITS = 64  # elements of the debug dump port
DESC_FIELD_BITS = 32  # one descriptor field (an int of the s_axilite `descs` array)
COLUMN_BITS = 32  # the output column of a store position's parameters (an int in LaneParams)
LANE_PARAM_BITS = 2 * MULT_BITS + META_RES_SHIFT[1] + SHIFT_BITS + COLUMN_BITS  # LaneParams: mult, res_mult,
# res_shift, shift, col
ROTATION_BITS = 2 * 32  # Rotation: the fixed and the power-of-two lanes' rotations (two ints)
INT_BITS = 32  # an int argument of a DATAFLOW process, an int field of a process's struct
TENSOR_REF_BITS = 3 * INT_BITS  # TensorRef (hls/accel_common.h): memory, base, stride
# The structs of gemm_layer's processes (hls/gemm_engine.h), each only the fields its process reads:
BLOB_REGION_BITS = 2 * INT_BITS  # BlobRegion (ddr_reader): off, words
TILE_GEOMETRY_BITS = 5 * INT_BITS  # TileGeometry: k, fixed_rows, pot_rows, wbits, bias_rows
GEARBOX_JOB_BITS = INT_BITS + 1 + TILE_GEOMETRY_BITS  # GearboxJob: words, gelu, tile
# GemmJob (gemm_engine): 18 ints, the tile geometry, the in / out / res / wt placements, 4 flags (has_res,
# to_output, clamp, gelu) and the scalar requantization: mult (mult_t), shift (shift_t), bias (bias_t)
GEMM_JOB_BITS = 18 * INT_BITS + TILE_GEOMETRY_BITS + 4 * TENSOR_REF_BITS + 4 + MULT_BITS + SHIFT_BITS + BIAS_BITS
FIELD_LOADS = 3  # call paths of load_fields_dataflow: the LayerNorm biases and gains, the GELU table

# Partitioned arrays of hls/ priced with the part of the design that holds them: (function, variable) ->
# where. The weight tiles and activation memories are perf/resource_model.py's buffers; the accumulators
# are in the lanes' Yosys cost, the rest in the units' (scripts/synth_units.py).
PRICED_ELSEWHERE = {
    ("gemm_engine", "wf"): "weight_buffers", ("gemm_engine", "wp"): "weight_buffers",
    ("gemm_engine", "acc"): "lanes", (TOP, "mem"): "activation_buffers",
    ("layernorm_layer", "gain"): "unit ailayernorm", ("layernorm_layer", "bias"): "unit ailayernorm",
    ("layernorm_layer", "stats"): "unit ailayernorm", ("softmax_layer", "ref"): "unit e2softmax",
    ("softmax_layer", "sum"): "unit e2softmax", ("softmax_layer", "e1"): "unit e2softmax",
    ("softmax_layer", "t2"): "unit e2softmax",
}


@dataclass(frozen=True)
class StructureFacts:
    """What the structures follow from: members of the generated Config (codegen/config.py HwConfig)."""

    tm: int
    word_bits: int
    slots_max: int
    bias_rows_max: int
    gelu_entries: int  # GELU_ENTRIES (1 when the model has no GELU)
    acc_bits: int
    out_rows: int
    out_cols: int
    out_bits: int
    max_steps: int
    img_lanes: int
    act_bits: int
    sm_lanes: int
    sm_n_max: int  # SM_N_MAX: the longest softmax row
    sm_e_bits: int  # SM_E_BITS: an exponent code
    sm_code_bits: int  # a code between the softmax's sum and output stages (SoftmaxUnit.code_bits)
    ln_lanes: int
    ln_d_max: int  # LN_D_MAX
    ln_x_bits: int  # LN_X_BITS: an element of the LayerNorm token buffer


@dataclass(frozen=True)
class Fifo:
    """An hls::stream of a DATAFLOW region, ``count`` instances (one per call path from the top)."""

    function: str
    variable: str
    width: int
    depth: int
    count: int = 1


@dataclass(frozen=True)
class ScalarChannel:
    """A scalar argument (by value or a scalar reference) of a process of DATAFLOW region ``region``: Vitis
    makes it a FIFO channel of the argument's width (UG1399 "Configuring Dataflow Memory Channels": scalar,
    pointer and reference parameters become FIFOs), 2 deep (its scalar propagation FIFOs take config_dataflow
    -fifo_depth, default 2: "Specifying Compiler-Created FIFO Depth"); ``count`` instances (one per call path
    of the region). One FIFO per argument: a struct is priced as one FIFO of its fields' total width."""

    region: str
    process: str
    argument: str
    width: int
    count: int = 1


@dataclass(frozen=True)
class Memory:
    """A memory array: ``banks`` partitions of ``width`` x ``depth`` in ``storage``. The generated config
    defines ``macro`` as that storage and hls/ binds the array to it (BIND_STORAGE ram_s2p impl = macro);
    without a macro the storage is the role's (the descriptor table is the s_axilite adapter's block RAM)."""

    function: str
    variable: str
    width: int
    depth: int
    banks: int
    storage: str
    macro: str | None


def bound(function: str, variable: str, width: int, depth: int, banks: int, macro: str, board: Board) -> Memory:
    """A memory bound to the storage hw/memory.py memory_kind picks for its shape on ``board``."""
    return Memory(function, variable, width, depth, banks, memory_kind(width, depth, board), macro)


@dataclass(frozen=True)
class Registers:
    """A completely partitioned array (registers)."""

    function: str
    variable: str
    bits: int


@dataclass(frozen=True)
class Select:
    """``count`` N:1 selects of ``width`` bits: a runtime index into a completely partitioned array (the
    store's lane select of the latched accumulators; a field of a word, next_field)."""

    what: str
    inputs: int
    width: int
    count: int = 1


@dataclass(frozen=True)
class Rotator:
    """``count`` rotations of ``inputs`` values of ``width`` bits by a runtime amount (window_rotate,
    hls/accel_arena.h, in ceil(clog2(inputs) / 2) radix-4 stages as rtl/rotator.v), inlined into ``function``
    (directly or through window_read / window_write)."""

    function: str
    what: str
    inputs: int
    width: int
    count: int = 1


@dataclass(frozen=True)
class Gearbox:
    word_bits: int
    item_bits: int


@dataclass(frozen=True)
class MaxiBundle:
    bundle: str
    width: int
    read: bool
    write: bool


@dataclass(frozen=True)
class Structures:
    fifos: tuple[Fifo, ...]
    channels: tuple[ScalarChannel, ...]
    memories: tuple[Memory, ...]
    registers: tuple[Registers, ...]
    selects: tuple[Select, ...]
    rotators: tuple[Rotator, ...]
    gearbox: Gearbox
    bundles: tuple[MaxiBundle, ...]


# Word -> field unpackers (next_field): consumer, field bits (the image loader's field is IMG_LANES pixels)
def unpackers(f: StructureFacts) -> tuple[tuple[str, int], ...]:
    return (("layernorm biases", LN_BIAS_BITS), ("layernorm gains", LN_GAIN_BITS), ("gelu table", GELU_ENTRY_BITS),
            ("image pixels", IMAGE_PIXEL_BITS * f.img_lanes), ("class-token rows", PREFIX_BITS))


def scalar_channels() -> tuple[ScalarChannel, ...]:
    """The scalar arguments of every DATAFLOW process call of hls/ (the regions of ``structures``' FIFOs)."""
    def region(name: str, count: int, *args: tuple[str, str, int]) -> tuple[ScalarChannel, ...]:
        return tuple(ScalarChannel(name, process, arg, width, count) for process, arg, width in args)

    burst = (("burst_words", "off", INT_BITS), ("burst_words", "words", INT_BITS))
    return (*region("gemm_layer", 1, ("ddr_reader", "blob", BLOB_REGION_BITS), ("gearbox", "job", GEARBOX_JOB_BITS),
                    ("gemm_engine", "g", GEMM_JOB_BITS), ("gemm_engine", "beats_out", INT_BITS)),
            *region("load_fields_dataflow", FIELD_LOADS, *burst, ("unpack_fields", "n", INT_BITS)),
            *region("image_dataflow", 1, *burst, ("image_placer", "out", TENSOR_REF_BITS),
                    *(("image_placer", a, INT_BITS) for a in ("beats", "height", "width", "patch"))),
            *region("const_dataflow", 1, *burst, ("const_placer", "out", TENSOR_REF_BITS),
                    ("const_placer", "n", INT_BITS), ("const_placer", "cols", INT_BITS)))


def structures(f: StructureFacts, board: Board) -> Structures:
    w, item = f.word_bits, item_bits(f.tm)
    per_item = biases_per_item(f.tm)
    fifos = (Fifo("gemm_layer", "words", w, STREAM_DEPTH), Fifo("gemm_layer", "items", item, STREAM_DEPTH),
             Fifo("load_fields_dataflow", "words", w, STREAM_DEPTH, FIELD_LOADS),
             Fifo("image_dataflow", "image_words", w, STREAM_DEPTH), Fifo("const_dataflow", "words", w, STREAM_DEPTH))
    # the units' ping-pong buffers: both halves and every lane's cyclic bank (a row / token padded to whole
    # beats) are separate memories
    sm_depth, ln_depth = ceil_div(f.sm_n_max, f.sm_lanes), ceil_div(f.ln_d_max, f.ln_lanes)
    memories = (
        bound("gemm_engine", "sp", LANE_PARAM_BITS, 2 * f.slots_max, f.tm, "ACCEL_STORE_PARAMS_MEMORY", board),
        bound("gemm_engine", "bias", BIAS_BITS, 2 * f.slots_max * ceil_div(f.bias_rows_max, per_item),
              f.tm * per_item, "ACCEL_BIAS_MEMORY", board),
        bound("gemm_engine", "gelu", GELU_ENTRY_BITS, f.gelu_entries, f.tm, "ACCEL_GELU_MEMORY", board),
        bound("run_network", "outbuf", f.out_bits, f.out_rows * ceil_div(f.out_cols, f.tm), f.tm,
              "ACCEL_OUTBUF_MEMORY", board),
        bound("eltwise_layer", "table", GELU_ENTRY_BITS, f.gelu_entries, 1, "ACCEL_ELTWISE_TABLE_MEMORY", board),
        bound("softmax_layer", "ebuf", f.sm_e_bits, sm_depth, 2 * f.sm_lanes, "ACCEL_SOFTMAX_EXP_MEMORY", board),
        bound("softmax_layer", "cbuf", f.sm_code_bits, sm_depth, 2 * f.sm_lanes, "ACCEL_SOFTMAX_CODE_MEMORY",
              board),
        bound("layernorm_layer", "xbuf", f.ln_x_bits, ln_depth, 2 * f.ln_lanes, "ACCEL_LAYERNORM_X_MEMORY", board),
        Memory(TOP, "descs", DESC_FIELD_BITS, f.max_steps * DESC_WORDS, 1, "bram", None),
    )
    registers = (Registers("run_network", "d", DESC_WORDS * DESC_FIELD_BITS),  # the running step's descriptor
                 Registers("gemm_engine", "sel", 2 * f.slots_max * f.tm),
                 Registers("gemm_engine", "ring", f.slots_max * f.tm * f.acc_bits),
                 Registers("gemm_engine", "rot", 2 * ROTATION_BITS))
    # engine_latch: each ring slot takes its group of TM lanes through the tile's rotation (a rotator), or
    # each position shifts in from the next slot after a store (2:1)
    selects = (Select("store ring shift", 2, f.acc_bits, f.slots_max * f.tm),
               *(Select(f"unpack {what}", w // bits, bits) for what, bits in unpackers(f)))
    bundles = tuple(MaxiBundle(b, DUMP_BITS if b == dict(MAXI_PORTS)["dump"] else w,
                               any(p not in MAXI_WRITTEN for p, q in MAXI_PORTS if q == b),
                               any(p in MAXI_WRITTEN for p, q in MAXI_PORTS if q == b))
                    for b in dict.fromkeys(q for _, q in MAXI_PORTS))
    return Structures(fifos, scalar_channels(), memories, registers, selects, rotators(f), Gearbox(w, item), bundles)


def rotators(f: StructureFacts) -> tuple[Rotator, ...]:
    """Every runtime rotation of hls/: one per window_read / window_write / window_rotate call."""
    def window(function: str, what: str) -> Rotator:  # TM activations of a window_read / window_write
        return Rotator(function, what, f.tm, f.act_bits)

    return (window("engine_reads", "operand window"),
            Rotator("engine_latch", "store ring", f.tm, f.acc_bits, f.slots_max),
            window("fill_from_arena", "attention key window"), window("fill_from_arena", "attention value window"),
            window("softmax_layer", "softmax input window"), window("softmax_layer", "softmax output window"),
            window("layernorm_layer", "layernorm input window"), window("layernorm_layer", "layernorm output window"),
            window("image_placer", "image window"))


def feature(kind: str, params: dict) -> float:
    """The size a structure's cost grows with, from its RTL equivalent's parameters (the x of the fits in
    perf/structure_costs.json): FIFO width; the gearbox's shifters B * clog2(B), B = word + item bits;
    (select inputs - 1) x width; a rotator's selects N * ceil(clog2(N) / 2) * W (one per bit and radix-4
    stage); an m_axi side's port width."""
    if kind == "fifo":
        return params["W"]
    if kind == "gearbox":
        b = params["WB"] + params["IB"]
        return b * (b - 1).bit_length()
    if kind == "select":
        return (params["N"] - 1) * params["W"]
    if kind == "rotator":
        return params["N"] * -(-(params["N"] - 1).bit_length() // 2) * params["W"]
    return params["W"]
