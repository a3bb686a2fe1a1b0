// gemm_lanes.h -- the products of the GEMM engine's lanes, modelled as the hardware forms them.
//
// Fixed-point lane: TM products x * w on DSPs, summed by an adder tree.
// Packed pair (Engine.dsp_packing): two fixed lanes a, b share the activation; one multiplier forms
//   P = x * ((w_a << SH) + w_b) = x*w_a * 2^SH + x*w_b          (the DSP48E2 pre-adder, Xilinx WP486)
// and the two products are split from P: the low XB+WB bits are x*w_b (signed), the field above SH is
// x*w_a minus a borrow when x*w_b < 0, and adding back P[SH-1] (the sign of the low field) corrects it.
// Exact whenever SH >= XB + WB (checked at compile time).
// Power-of-two lane: a 4-bit code {s, e[2:0]} (e = 7: zero) selects x * (+-2^e), formed as the shifted
// activation XOR-ed with the sign and the sign added as a carry-in of the adder tree (no multiplier).
// All three produce exact integers on the same scale (per-row scales live in the requantization), so
// the two schemes' partial sums align by sign extension into the common accumulator.
#ifndef ACCELGEN_GEMM_LANES_H
#define ACCELGEN_GEMM_LANES_H

#include "accel_common.h"

namespace accel {

// Power-of-two weight codes {sign, exponent} of CODE_BITS bits (Config::POT_CODE_BITS).
template <int CODE_BITS>
using pot_code_t = ap_uint<CODE_BITS>;

template <int XB, int WB>
ap_int<XB + WB> fixed_product(ap_int<XB> x, ap_int<WB> w) {
#pragma HLS INLINE
    return x * w;
}

// Both products of one DSP shared by lanes a and b.
template <int XB, int WB, int SH>
void packed_products(ap_int<XB> x, ap_int<WB> wa, ap_int<WB> wb, ap_int<XB + WB>& pa, ap_int<XB + WB>& pb) {
#pragma HLS INLINE
    static_assert(SH >= XB + WB, "packing needs the low product to fit below the shift");
    const ap_int<WB + SH + 1> packed = (ap_int<WB + SH + 1>(wa) << SH) + ap_int<WB + SH + 1>(wb);  // pre-adder
    const ap_int<WB + SH + 1 + XB> p = packed * x;                                                 // one multiply
#pragma HLS BIND_OP variable = p op = mul impl = dsp
    const ap_int<XB + WB> low = p.range(XB + WB - 1, 0);
    const ap_int<XB + WB> high = p.range(SH + XB + WB - 1, SH);
    pb = low;
    pa = high + ap_int<2>(p[SH - 1] ? 1 : 0);
}

// x * (+-2^e) for a power-of-two code, less the sign's +1: the shifted activation XOR-ed with the sign
// (x * -2^e - 1 when negative); exponents above EMAX (the code EMAX + 1) encode zero. pot_dot adds the
// signs of its terms as the adder tree's carry-in.
template <int XB, int EMAX, int CODE_BITS>
ap_int<XB + EMAX + 1> pot_flipped(ap_int<XB> x, pot_code_t<CODE_BITS> code) {
#pragma HLS INLINE
    typedef ap_int<XB + EMAX + 1> p_t;
    const int exp_bits = CODE_BITS - 1;
    const ap_uint<exp_bits> e = code.range(exp_bits - 1, 0);
    const p_t shifted = e > EMAX ? p_t(0) : p_t(p_t(x) << e);
    return shifted ^ (code[exp_bits] ? p_t(-1) : p_t(0));
}

// Dot products of one reduction step (TM elements).
template <int TM, int XB, int WB>
ap_int<XB + WB + bits_for(TM)> fixed_dot(const ap_int<XB> x[TM], const ap_int<WB> w[TM]) {
#pragma HLS INLINE
    ap_int<XB + WB + bits_for(TM)> sum = 0;
fixed_tree:
    for (int i = 0; i < TM; ++i) {
#pragma HLS UNROLL
        sum += fixed_product<XB, WB>(x[i], w[i]);
    }
    return sum;
}

template <int TM, int XB, int WB, int SH>
void packed_dot(const ap_int<XB> x[TM], const ap_int<WB> wa[TM], const ap_int<WB> wb[TM],
                ap_int<XB + WB + bits_for(TM)>& sa, ap_int<XB + WB + bits_for(TM)>& sb) {
#pragma HLS INLINE
    ap_int<XB + WB + bits_for(TM)> suma = 0, sumb = 0;
packed_tree:
    for (int i = 0; i < TM; ++i) {
#pragma HLS UNROLL
        ap_int<XB + WB> pa, pb;
        packed_products<XB, WB, SH>(x[i], wa[i], wb[i], pa, pb);
        suma += pa;
        sumb += pb;
    }
    sa = suma;
    sb = sumb;
}

template <int TM, int XB, int EMAX, int CODE_BITS>
ap_int<XB + EMAX + 1 + bits_for(TM)> pot_dot(const ap_int<XB> x[TM], const pot_code_t<CODE_BITS> c[TM]) {
#pragma HLS INLINE
    ap_int<XB + EMAX + 1 + bits_for(TM)> sum = 0;
    ap_uint<bits_for(TM)> carry = 0;  // the negative terms' +1s
pot_tree:
    for (int i = 0; i < TM; ++i) {
#pragma HLS UNROLL
        sum += pot_flipped<XB, EMAX, CODE_BITS>(x[i], c[i]);
        carry += c[i][CODE_BITS - 1];
    }
    return sum + carry;
}

}  // namespace accel

#endif  // ACCELGEN_GEMM_LANES_H
