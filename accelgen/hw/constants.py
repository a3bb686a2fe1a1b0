"""Constants of the hardware template: field widths and encodings of the parameter stream, on-chip
memory organisation and the pipeline latencies of the units. The generated C++ config and Verilog
parameters receive them by emission (codegen), never as copied literals."""

from __future__ import annotations

from ..numerics.layernorm import GAIN_BITS
from ..numerics.primitives import MULT_BITS, RES_SHIFT_BITS
from ..passes.mixed_scheme import POT_MAX_EXP

# Parameter stream (hw/stream.py, hls/gemm_engine.h)
META_BITS = 64  # one output row's meta: channel | slot | shift | res_shift | mult | res_mult
BIAS_BITS = 64  # one requantization bias B
ITEM_MIN_BITS = META_BITS  # a tile-buffer item is max(META_BITS, TM * WEIGHT_ITEM_BITS) bits
# Fixed-point weight widths (the search's choices, perf/dse.py; design.json's weight_bits): wide, narrow
FIXED_WEIGHT_BITS = (8, 4)
WEIGHT_ITEM_BITS = max(FIXED_WEIGHT_BITS)  # widest weight element of a weight vector item (PoT codes are 4 bits)
GELU_ENTRY_BITS = 8  # GELU table entries (signed 8-bit outputs, 8-bit inputs)
MAX_GELU_ENTRIES = 1 << GELU_ENTRY_BITS
PREFIX_BITS = 16  # class-token rows of the patch embedding
LN_BIAS_BITS = 64  # AILayerNorm per-channel biases
LN_GAIN_BITS = GAIN_BITS  # AILayerNorm per-channel gains (the numerics' width)
IMAGE_PIXEL_BITS = 8  # the quantized image, as the host writes it
LOGIT_BITS = 64  # the logits, as the accelerator writes them
WORD_BITS_MIN = 64  # DDR words hold at least one 64-bit field
MAXI_BURST = 64  # beats of one m_axi burst (the interface pragmas' max_read/write_burst_length)
# Depth of every DATAFLOW FIFO (hls/*.h: the STREAM pragmas and the threaded C-sim's bounded streams): one
# whole burst, so a DDR reader issues its burst without waiting for the consumer
STREAM_DEPTH = MAXI_BURST

# Row meta fields: (first bit, bits)
META_CHANNEL = (0, 13)
META_SLOT = (13, 8)
META_SHIFT = (21, 6)
META_RES_SHIFT = (27, RES_SHIFT_BITS)  # the residual multiplier is res_mult << res_shift (numerics.primitives)
META_MULT = (32, 16)
META_RES_MULT = (48, 16)
META_FIELDS = {"channel": META_CHANNEL, "slot": META_SLOT, "shift": META_SHIFT, "res_shift": META_RES_SHIFT,
               "mult": META_MULT, "res_mult": META_RES_MULT}

# Requantization operands (hls/requant.h; the multiplier width MULT_BITS is the numerics')
SHIFT_BITS = 6  # requantization shifts are <= 62

# Power-of-two weights: 4-bit codes {sign, 3-bit exponent}; exponent POT_MAX_EXP + 1 means zero
POT_CODE_BITS = 4
POT_ZERO_CODE = POT_MAX_EXP + 1

# Fixed-point DSP packing (Xilinx WP486): x * ((w_a << PACK_SHIFT) + w_b)
PACK_SHIFT = 18
MAX_PACKED_OPERAND_BITS = PACK_SHIFT  # x and w widths must sum to at most the shift

# On-chip activation memories: operands read in the same cycle sit in different ones
NUM_MEMORIES = 2
MAX_ACT_BITS = 16  # on-chip activation element width limit (constant rows are packed as 16-bit values)

# Pipeline latencies (cycles beyond the loop-nest term) of the RTL units (rtl/*.v), as the perf model
# charges them and the RTL benches measure them
ADDER_TREE_LEVELS_PER_REGISTER = 2  # the lanes' adder trees register every 2 levels (lane_costs.json)
GEMM_LANE_PAD = 7  # lane latency rtl/gemm_tile.v pads every lane to: 4 + clog2(64) // 2 (TM <= 64)
GEMM_TILE_STAGES = 8  # rtl/gemm_tile.v besides the lanes: weight read 1, ring latch 1, requant 4, GELU 1,
# out queue 1
GEMM_PIPELINE = GEMM_TILE_STAGES + GEMM_LANE_PAD
GEMM_OUT_QUEUE_DEPTH = 32  # rtl/gemm_tile.v output queue (beats)
UNIT_OUT_QUEUE_DEPTH = 8  # the other units' output queues: more than the beats in flight
SOFTMAX_LATENCY = 17  # rtl/e2softmax.v: two row flows in series (maximum and codes; sum and outputs), benches
LAYERNORM_LATENCY = 16  # rtl/ailayernorm.v: sums (4) + variance, rsqrt (4) + queue + normalise (7) + queue
ELTWISE_LATENCY = 5  # rtl/eltwise_unit.v: requant 4 + out queue
ELTWISE_LANES = 1  # elements per beat of hls/eltwise.h (standalone add / requantize / GELU): the HLS unit the
# model prices; design.json's ew_lanes sizes only the RTL eltwise/GELU units (rtl/), so the search keeps it 1
GELU_LATENCY = ELTWISE_LATENCY  # rtl/gelu_unit.v is padded to the eltwise latency


def emitted() -> dict[str, int]:
    """The template constants the generated C++ config carries (every one the kernel headers read)."""
    return {
        "META_BITS": META_BITS, "BIAS_BITS": BIAS_BITS, "ITEM_MIN_BITS": ITEM_MIN_BITS,
        "WEIGHT_ITEM_BITS": WEIGHT_ITEM_BITS, "WBITS_WIDE": FIXED_WEIGHT_BITS[0],
        "WBITS_NARROW": FIXED_WEIGHT_BITS[1], "GELU_ENTRY_BITS": GELU_ENTRY_BITS, "POT_CODE_BITS": POT_CODE_BITS,
        "META_CHANNEL_AT": META_CHANNEL[0], "META_CHANNEL_BITS": META_CHANNEL[1],
        "META_SLOT_AT": META_SLOT[0], "META_SLOT_BITS": META_SLOT[1],
        "META_SHIFT_AT": META_SHIFT[0], "META_SHIFT_BITS": META_SHIFT[1],
        "META_RES_SHIFT_AT": META_RES_SHIFT[0], "META_RES_SHIFT_BITS": META_RES_SHIFT[1],
        "META_MULT_AT": META_MULT[0], "META_MULT_BITS": META_MULT[1],
        "META_RES_MULT_AT": META_RES_MULT[0], "META_RES_MULT_BITS": META_RES_MULT[1],
        "PACK_SHIFT": PACK_SHIFT, "NMEM": NUM_MEMORIES, "MULT_BITS": MULT_BITS, "SHIFT_BITS": SHIFT_BITS,
        "PREFIX_BITS": PREFIX_BITS, "LN_BIAS_BITS": LN_BIAS_BITS, "LN_GAIN_BITS": LN_GAIN_BITS,
        "IMAGE_PIXEL_BITS": IMAGE_PIXEL_BITS, "LOGIT_BITS": LOGIT_BITS, "STREAM_DEPTH": STREAM_DEPTH,
    }
