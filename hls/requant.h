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

// The operand widths are the template's (accelgen/hw/constants.py), emitted into the Config.
template <class C>
using mult_t = ap_uint<C::MULT_BITS>;  // multipliers are unsigned, normalised to [2^(MULT_BITS-1), 2^MULT_BITS)
template <class C>
using shift_t = ap_uint<C::SHIFT_BITS>;
template <class C>
using bias_t = ap_int<C::BIAS_BITS>;  // B (model bias on the pre-shift scale + rounding constant)

template <class C>
using res_shift_t = ap_uint<C::META_RES_SHIFT_BITS>;  // the residual multiplier is res_mult << res_shift

template <class C, int SUM, int ACC, int RES>
ap_int<SUM> requant_total(ap_int<ACC> acc, mult_t<C> mult, ap_int<RES> res, mult_t<C> res_mult,
                          res_shift_t<C> res_shift, bias_t<C> bias) {
#pragma HLS INLINE
    const ap_int<SUM> a = acc * ap_int<C::MULT_BITS + 1>(mult);
    const ap_int<SUM> r = ap_int<SUM>(res * ap_int<C::MULT_BITS + 1>(res_mult)) << res_shift;
    const ap_int<SUM> b = bias;
    return ap_int<SUM>(a + r + b);
}

template <class C, int SUM>
ap_int<SUM> requant_shift_clamp(ap_int<SUM> total, shift_t<C> shift, bool clamp, int qmin, int qmax) {
#pragma HLS INLINE
    ap_int<SUM> y = total >> shift;
    if (clamp) {
        if (y < qmin) y = qmin;
        if (y > qmax) y = qmax;
    }
    return y;
}

template <class C, int SUM, int ACC, int RES>
ap_int<SUM> requant(ap_int<ACC> acc, mult_t<C> mult, ap_int<RES> res, mult_t<C> res_mult, res_shift_t<C> res_shift,
                    bias_t<C> bias, shift_t<C> shift, bool clamp, int qmin, int qmax) {
#pragma HLS INLINE
    return requant_shift_clamp<C, SUM>(requant_total<C, SUM, ACC, RES>(acc, mult, res, res_mult, res_shift, bias),
                                       shift, clamp, qmin, qmax);
}

}  // namespace accel

#endif  // ACCELGEN_REQUANT_H
