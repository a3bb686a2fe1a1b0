// requant.h -- dyadic requantization (docs/numerics.md section 3).
//
//   total = acc * m + ((res * r) << e) + B   exact in SUM bits (the bound proven per layer by interval analysis)
//   y     = clamp(total >> k, qmin, qmax)   (no clamp for the logits)
//
// r << e is the residual multiplier (16 significant bits beside the accumulator's, e = 0 for an add).
// The three products are added modulo 2^SUM; since the true total fits SUM bits, the wrapped sum equals
// it, so individual terms may exceed SUM bits (a large bias offsetting a large product) without error.
#ifndef ACCELGEN_REQUANT_H
#define ACCELGEN_REQUANT_H

#include "accel_common.h"

namespace accel {

typedef ap_uint<16> mult_t;  // multipliers are unsigned, normalised to [2^15, 2^16)
typedef ap_uint<6> shift_t;  // k <= 46
typedef ap_int<64> bias_t;   // B (model bias on the pre-shift scale + rounding constant)

typedef ap_uint<5> res_shift_t;  // e <= 31 (Config::META_RES_SHIFT_BITS)

template <int SUM, int ACC, int RES>
ap_int<SUM> requant_total(ap_int<ACC> acc, mult_t mult, ap_int<RES> res, mult_t res_mult, res_shift_t res_shift,
                          bias_t bias) {
#pragma HLS INLINE
    const ap_int<SUM> a = acc * ap_int<17>(mult);
    const ap_int<SUM> r = ap_int<SUM>(res * ap_int<17>(res_mult)) << res_shift;
    const ap_int<SUM> b = bias;
    return ap_int<SUM>(a + r + b);
}

template <int SUM>
ap_int<SUM> requant_shift_clamp(ap_int<SUM> total, shift_t shift, bool clamp, int qmin, int qmax) {
#pragma HLS INLINE
    ap_int<SUM> y = total >> shift;
    if (clamp) {
        if (y < qmin) y = qmin;
        if (y > qmax) y = qmax;
    }
    return y;
}

template <int SUM, int ACC, int RES>
ap_int<SUM> requant(ap_int<ACC> acc, mult_t mult, ap_int<RES> res, mult_t res_mult, res_shift_t res_shift, bias_t bias,
                    shift_t shift, bool clamp, int qmin, int qmax) {
#pragma HLS INLINE
    return requant_shift_clamp<SUM>(requant_total<SUM, ACC, RES>(acc, mult, res, res_mult, res_shift, bias), shift,
                                    clamp, qmin, qmax);
}

}  // namespace accel

#endif  // ACCELGEN_REQUANT_H
