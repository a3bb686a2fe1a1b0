// e2softmax.h -- the E2Softmax unit (docs/numerics.md section 5).
//
// Stage 1 (exponent, running maximum, shift-renormalised sum) consumes a row at one element per beat
// and keeps the row's exponents in a ping-pong row buffer; stage 2 (division in the log domain) reads
// the other half and emits one probability per beat. Both run in one II = 1 loop, stage 2 one row
// behind stage 1, so a row costs N beats after the first.
//
// Config: SM_N_MAX (longest row), SM_E_BITS (width of the exponent code e), SM_S_BITS (running sum),
// SM_EXP_FRAC (F), SM_RECIP_BITS (M), SM_SUM_FRAC (W), SM_CODE_MAX, SM_RECIP_FRAC, and the tables
// SM_POW[2^F] (TF) and SM_OUT[2^(M+F)] (P), emitted from accelgen/numerics/softmax.py.
#ifndef ACCELGEN_E2SOFTMAX_H
#define ACCELGEN_E2SOFTMAX_H

#include "accel_arena.h"
#include "accel_common.h"
#include "accel_desc.h"

namespace accel {

template <class C>
struct SoftmaxTypes {
    typedef ap_int<C::SM_E_BITS> e_t;      // exponent code e = floor(x * log2(e) * 2^F), and R << F
    typedef ap_int<C::SM_E_BITS + 2> d_t;  // d = (R << F) - e >= 1
    typedef ap_uint<C::SM_S_BITS> s_t;     // the running sum S
    typedef ap_uint<C::SM_SUM_FRAC + 1> term_t;
};

// e = floor(x * 2^-in_frac * 1.4375 * 2^F), with t = x + (x >> 1) - (x >> 4).
template <class C>
typename SoftmaxTypes<C>::e_t sm_exponent(ap_int<C::ACT_BITS> x, int in_frac) {
#pragma HLS INLINE
    typedef typename SoftmaxTypes<C>::e_t e_t;
    const e_t xe = x;
    const e_t t = xe + (xe >> 1) - (xe >> 4);
    // A right shift by in_frac - F or a left shift by F - in_frac: two one-way shifters by unsigned amounts.
    const bool right = in_frac >= C::SM_EXP_FRAC;
    const unsigned s = right ? in_frac - C::SM_EXP_FRAC : C::SM_EXP_FRAC - in_frac;
    return right ? e_t(t >> s) : e_t(t << s);
}

// R = one above the integer part of the running maximum m.
template <class C>
typename SoftmaxTypes<C>::e_t sm_ref(typename SoftmaxTypes<C>::e_t m) {
#pragma HLS INLINE
    return (m >> C::SM_EXP_FRAC) + 1;
}

// TF[d mod 2^F] >> min(d >> F, KMAX) with d = (R << F) - e.
template <class C>
typename SoftmaxTypes<C>::term_t sm_term(typename SoftmaxTypes<C>::e_t ref, typename SoftmaxTypes<C>::e_t e) {
#pragma HLS INLINE
    typedef SoftmaxTypes<C> S;
    const typename S::d_t d = (typename S::d_t(ref) << C::SM_EXP_FRAC) - e;
    const int frac = (d & ((1 << C::SM_EXP_FRAC) - 1)).to_int();
    const typename S::d_t kint = d >> C::SM_EXP_FRAC;
    const unsigned k = kint > C::SM_CODE_MAX ? C::SM_CODE_MAX : kint.to_int();  // d >= 1: kint >= 0
    return typename S::term_t(C::SM_POW[frac]) >> k;
}

// Running state of stage 1 over one row.
template <class C>
struct SoftmaxRun {
    typename SoftmaxTypes<C>::e_t max;
    typename SoftmaxTypes<C>::e_t ref;
    typename SoftmaxTypes<C>::s_t sum;
};

// Stage 1, one element: `first` starts a row.
template <class C>
void sm_accumulate(SoftmaxRun<C>& run, typename SoftmaxTypes<C>::e_t e, bool first) {
#pragma HLS INLINE
    typedef SoftmaxTypes<C> S;
    if (first) {
        run.max = e;
        run.ref = sm_ref<C>(e);
        run.sum = sm_term<C>(run.ref, e);
    } else {
        run.max = e > run.max ? e : run.max;
        const typename S::e_t ref = sm_ref<C>(run.max);
        const int step = (ref - run.ref).to_int();  // >= 0: the maximum only grows
        run.sum = shr_sat<C::SM_S_BITS>(run.sum, step) + sm_term<C>(ref, e);
        run.ref = ref;
    }
}

// Stage 2, one element: y = min((P[m * 2^F + frac] + 2^(sh-1)) >> sh, out_max), sh = k + L + 8 - out_frac.
template <class C>
ap_uint<16> sm_normalise(typename SoftmaxTypes<C>::e_t e, typename SoftmaxTypes<C>::e_t ref,
                         typename SoftmaxTypes<C>::s_t sum, int out_frac, int out_max) {
#pragma HLS INLINE
    typedef SoftmaxTypes<C> S;
    const unsigned lead = lead_one<C::SM_S_BITS>(sum);  // >= SM_RECIP_BITS: the row's largest term is in S
    const int mant = ((sum >> (lead - C::SM_RECIP_BITS)) & ((1 << C::SM_RECIP_BITS) - 1)).to_int();
    const typename S::d_t d = (typename S::d_t(ref) << C::SM_EXP_FRAC) - e;
    const int frac = (d & ((1 << C::SM_EXP_FRAC) - 1)).to_int();
    const typename S::d_t kint = d >> C::SM_EXP_FRAC;
    const unsigned k = kint > C::SM_CODE_MAX ? C::SM_CODE_MAX : kint.to_int();
    const ap_uint<64> num = C::SM_OUT[(mant << C::SM_EXP_FRAC) + frac];
    const unsigned sh = k + lead + C::SM_RECIP_FRAC - out_frac;  // >= 1 (docs/numerics.md section 5)
    const ap_uint<64> y = (num + (ap_uint<64>(1) << (sh - 1))) >> sh;
    return y > ap_uint<64>(out_max) ? ap_uint<16>(out_max) : ap_uint<16>(y);
}

// The unit over a tensor of rows x N (rows = heads * tokens of an attention map), SM_LANES consecutive
// elements of a row per beat (stage 1 chains their accumulation in index order), so a row costs
// ceil(N / SM_LANES) beats after the first.
template <class C>
void softmax_layer(act_t<C> mem[C::NMEM][C::TM][C::DEPTH], Desc d, ap_uint<32>& beats) {
    typedef SoftmaxTypes<C> S;
    static_assert(C::SM_LANES >= 1 && C::SM_LANES <= C::TM, "softmax lanes read consecutive banks");
    static typename S::e_t ebuf[2][C::SM_N_MAX];  // ping-pong row buffer of exponents
#pragma HLS ARRAY_PARTITION variable = ebuf complete dim = 1
#pragma HLS ARRAY_PARTITION variable = ebuf cyclic factor = C::SM_LANES dim = 2
    const int rows = d[D_ROWS];
    const int n = d[D_COLS];
    const TensorRef in = d.in();
    const TensorRef out = d.out();
    const int in_frac = d[D_SM_IN_FRAC];
    const int out_frac = d[D_SM_OUT_FRAC];
    const int out_max = d[D_SM_OUT_MAX];
    typename S::e_t ref[2];
    typename S::s_t sum[2];
#pragma HLS ARRAY_PARTITION variable = ref complete
#pragma HLS ARRAY_PARTITION variable = sum complete
    ref[0] = ref[1] = 0;
    sum[0] = sum[1] = 0;
    SoftmaxRun<C> run;
    run.max = run.ref = 0;
    run.sum = 0;
    const int per_row = ceil_div(n, C::SM_LANES);
    const int total = (rows + 1) * per_row;
    int r = 0, b = 0;
softmax_beats:
    for (int i = 0; i < total; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
// Stage 2 writes the row behind the one stage 1 reads, in another tensor.
#pragma HLS DEPENDENCE variable = mem inter false
        const int c0 = b * C::SM_LANES;
        const int count = min_int(n - c0, C::SM_LANES);
        // Stage 1: the beat's elements of row r (one bank each), accumulated in index order.
        act_t<C> xin[C::TM];
        window_read<C>(mem, in, r < rows ? r : 0, c0, r < rows ? n : 0, xin);
    softmax_lanes:
        for (int l = 0; l < C::SM_LANES; ++l) {
#pragma HLS UNROLL
            if (l < count && r < rows) {
                const typename S::e_t e = sm_exponent<C>(xin[l], in_frac);
                ebuf[r & 1][c0 + l] = e;
                sm_accumulate<C>(run, e, c0 + l == 0);
            }
        }
        if (b == per_row - 1 && r < rows) {
            ref[r & 1] = run.ref;
            sum[r & 1] = run.sum;
        }
        // Stage 2: row r - 1 from its buffered exponents and statistics.
        const int p = (r - 1) & 1;
        const typename S::e_t row_ref = ref[p];
        const typename S::s_t row_sum = sum[p];
        act_t<C> yout[C::TM];
    softmax_outputs:
        for (int l = 0; l < C::TM; ++l) {
#pragma HLS UNROLL
            yout[l] = l < C::SM_LANES && l < count && r >= 1
                          ? act_t<C>(sm_normalise<C>(ebuf[p][c0 + l], row_ref, row_sum, out_frac, out_max))
                          : act_t<C>(0);
        }
        if (r >= 1) window_write<C>(mem, out, r - 1, c0, count, yout);
        if (++b == per_row) {
            b = 0;
            ++r;
        }
    }
    beats = total;
}

}  // namespace accel

#endif  // ACCELGEN_E2SOFTMAX_H
