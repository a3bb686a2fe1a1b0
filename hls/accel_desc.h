// accel_desc.h -- the runtime layer descriptors of the accelerator.
//
// The host writes one descriptor per step (DESC_WORDS 32-bit words) into the s_axilite register
// file; every unit reads its dimensions, tensor placements, DDR offsets and integer parameters from it,
// so one instance of each unit serves all layers. The field order below is mirrored by
// accelgen/codegen/descriptors.py (FIELDS); a test checks that the two lists agree.
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

// Read-only view of one descriptor.
struct Desc {
    const int* w;
    int operator[](int field) const { return w[field]; }
    ap_int<64> wide(int lo_field, int hi_field) const {
        ap_int<64> v = 0;
        v.range(31, 0) = ap_uint<32>(static_cast<unsigned>(w[lo_field]));
        v.range(63, 32) = ap_uint<32>(static_cast<unsigned>(w[hi_field]));
        return v;
    }
    TensorRef out() const { return TensorRef{w[D_OUT_MEM], w[D_OUT_BASE], w[D_OUT_STRIDE]}; }
    TensorRef in() const { return TensorRef{w[D_IN_MEM], w[D_IN_BASE], w[D_IN_STRIDE]}; }
    TensorRef res() const { return TensorRef{w[D_RES_MEM], w[D_RES_BASE], w[D_RES_STRIDE]}; }
    TensorRef wt() const { return TensorRef{w[D_W_MEM], w[D_W_BASE], w[D_W_STRIDE]}; }
};

}  // namespace accel

#endif  // ACCELGEN_ACCEL_DESC_H
