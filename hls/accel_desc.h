// accel_desc.h -- the runtime layer descriptors of the accelerator.
//
// The host writes one descriptor per step (DESC_WORDS 32-bit words) into the s_axilite register
// file; run_network copies the running step's words into registers (load_desc), from which every unit
// reads its dimensions, tensor placements, DDR offsets and integer parameters, so one instance of each
// unit serves all layers. The field order below is mirrored by accelgen/hw/descriptors.py (FIELDS); a
// test checks that the two lists agree.
#ifndef ACCELGEN_ACCEL_DESC_H
#define ACCELGEN_ACCEL_DESC_H

#include "accel_common.h"

namespace accel {

// Step kinds (field D_KIND).
enum StepKind {
    K_INPUT = 1,      // quantized image from DDR -> im2col rows of the patch embedding
    K_GEMM = 2,       // patch embedding / linear layer: weights from DDR
    K_QK = 3,         // attention scores per head: "weights" are the key rows (on chip)
    K_AV = 4,         // attention context per head: "weights" are the value columns (on chip)
    K_SOFTMAX = 5,    // E2Softmax over rows
    K_LAYERNORM = 6,  // AILayerNorm per token
    K_GELU = 7,       // GELU table (when not fused into the preceding GEMM)
    K_REQUANT = 8,    // y = requant(x)
    K_ADD = 9         // y = requant(a, b)
};

// Descriptor fields (word index within a descriptor).
enum DescField {
    D_KIND = 0,
    D_ROWS,        // rows processed (GEMM: tokens; softmax: heads * tokens)
    D_COLS,        // output columns (GEMM: output channels; softmax: tokens; LayerNorm: channels)
    D_OUT_MEM,     // output tensor placement
    D_OUT_BASE,
    D_OUT_STRIDE,
    D_OUT_ROW0,    // first output row (patch embedding: after the constant prefix rows)
    D_OUT_COL0,    // first output column
    D_OUT_HROW,    // output row step per head (QK^T)
    D_OUT_HCOL,    // output column step per head (AV)
    D_TO_OUTPUT,   // 1: results go to the logits buffer instead of the activation memory
    D_CLAMP,       // 1: clamp to [D_QMIN, D_QMAX]
    D_QMIN,
    D_QMAX,
    D_IN_MEM,      // input (GEMM: the activation operand x) placement
    D_IN_BASE,
    D_IN_STRIDE,
    D_IN_ROW0,     // first input row read
    D_IN_COL0,     // first input column read
    D_IN_HROW,     // input row step per head (AV: probability rows)
    D_IN_HCOL,     // input column step per head (QK^T: query columns)
    D_K,           // reduction length
    D_W_MEM,       // on-chip second operand of QK^T / AV (keys / values)
    D_W_BASE,
    D_W_STRIDE,
    D_W_COL0,
    D_W_HCOL,
    D_HEADS,
    D_RES,         // 1: a residual / second input
    D_RES_MEM,
    D_RES_BASE,
    D_RES_STRIDE,
    D_MULT,        // scalar requantization (attention, requantize, add)
    D_SHIFT,
    D_RES_MULT,
    D_BIAS_LO,     // 64-bit bias, low / high 32 bits
    D_BIAS_HI,
    D_PARAM_OFF,   // this step's region in the parameter blob (DDR words)
    D_PARAM_WORDS,
    D_FIXED_ROWS,  // output rows in the fixed-point scheme
    D_POT_ROWS,    // output rows in the power-of-two scheme
    D_WBITS,       // fixed-point weight bits (8 or 4)
    D_BIAS_ROWS,   // 0: one bias per channel; else rows of the per-(row, channel) bias table
    D_SLOTS,       // store slots per row (accelgen/hw/plan.py plan_tiles)
    D_GELU,        // 1: GELU table fused into the requantization stage
    D_GELU_MIN,    // input code of table entry 0
    D_PREFIX_ROWS, // constant rows written before the GEMM rows (class token)
    D_PREFIX_OFF,  // their offset in the parameter blob (DDR words)
    D_IMG_C,       // input image geometry and patch size
    D_IMG_H,
    D_IMG_W,
    D_PATCH,
    D_SM_IN_FRAC,  // E2Softmax: input scale 2^-in_frac, output scale 2^-out_frac, clamp
    D_SM_OUT_FRAC,
    D_SM_OUT_MAX,
    D_LN_EPS_LO,   // AILayerNorm: 64-bit integer epsilon, output shift
    D_LN_EPS_HI,
    D_LN_SHIFT,
    D_DUMP,        // 1: copy the output tensor to the debug port
    D_DUMP_OFF,    // element offset of this step's tensor within one image's dump
    D_DUMP_ROWS,   // the whole output tensor as rows x cols (from row 0, column 0)
    D_DUMP_COLS,
    DESC_WORDS
};

// A step's descriptor as the units read it: DESC_WORDS registers (run_network copies the step's words out
// of the s_axilite `descs` RAM into them once per step; nothing else reads `descs`).
typedef int desc_regs_t[DESC_WORDS];

// The step's words descs[step * DESC_WORDS ..) into the registers: a pipelined loop, one word per beat
// (the s_axilite RAM has one read port on the kernel side, so an unrolled copy would take as many cycles
// and add a select per word). Its DESC_WORDS beats per step are not in the beat count, which (like the perf
// model) counts the units' loops only (docs/hls.md).
template <class C>
void load_desc(const int descs[C::MAX_STEPS * DESC_WORDS], int step, desc_regs_t& d) {
desc_copy:
    for (int i = 0; i < DESC_WORDS; ++i) {
#pragma HLS PIPELINE II = 1
        d[i] = descs[step * DESC_WORDS + i];
    }
}

// The 64-bit field held in words lo_field (low 32 bits) and hi_field.
inline ap_int<64> desc_wide(const desc_regs_t& d, int lo_field, int hi_field) {
    ap_int<64> v = 0;
    v.range(31, 0) = ap_uint<32>(static_cast<unsigned>(d[lo_field]));
    v.range(63, 32) = ap_uint<32>(static_cast<unsigned>(d[hi_field]));
    return v;
}

// The tensor placement whose memory, base and stride are the words mem_field, mem_field + 1, mem_field + 2.
static_assert(D_OUT_BASE == D_OUT_MEM + 1 && D_OUT_STRIDE == D_OUT_MEM + 2, "out placement words");
static_assert(D_IN_BASE == D_IN_MEM + 1 && D_IN_STRIDE == D_IN_MEM + 2, "in placement words");
static_assert(D_RES_BASE == D_RES_MEM + 1 && D_RES_STRIDE == D_RES_MEM + 2, "res placement words");
static_assert(D_W_BASE == D_W_MEM + 1 && D_W_STRIDE == D_W_MEM + 2, "w placement words");
inline TensorRef desc_tensor(const desc_regs_t& d, int mem_field) {
    return TensorRef{d[mem_field], d[mem_field + 1], d[mem_field + 2]};
}

}  // namespace accel

#endif  // ACCELGEN_ACCEL_DESC_H
