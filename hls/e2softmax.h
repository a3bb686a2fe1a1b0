// e2softmax.h -- the E2Softmax unit (docs/numerics.md section 5).
//
// Three row stages in one II = 1 loop, each one row behind the previous: stage 1 computes the
// exponents of a row into a ping-pong row buffer and reduces the row's maximum; stage 2 re-reads them
// with the reference R, writes each element's code (k, frac) into a second ping-pong buffer and sums
// the terms; stage 3 reads the codes with the row's sum and emits one probability per element. Every
// reduction across lanes is a tree with one carried compare or add, so a row costs ceil(N / lanes)
// beats whatever the lane count, and a layer (rows + 2) rows of beats.
//
// Config: SM_N_MAX (longest row), SM_E_BITS (width of the exponent code e), SM_S_BITS (row sum),
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
    typedef ap_uint<bits_for(C::SM_CODE_MAX) + C::SM_EXP_FRAC> code_t;  // (min(d >> F, KMAX) << F) | frac
    typedef ap_uint<C::SM_S_BITS> s_t;     // the row sum S
    typedef ap_uint<C::SM_SUM_FRAC + 1> term_t;
    // Row buffers hold whole beats: stage 2 reads every lane of a row's last beat (the lanes past the row
    // end are discarded), so each lane keeps its own cyclic bank.
    static constexpr int ROW_SLOTS = (C::SM_N_MAX + C::SM_LANES - 1) / C::SM_LANES * C::SM_LANES;
};

// Pairwise reduction of v[OFF .. OFF+N-1] by `op`: a balanced tree of depth ceil(log2 N), not a chain.
// Recursion through a templated struct with a size-one termination, the form UG1399 ("Using Templates
// for Recursion") synthesizes; every level is inlined.
template <int N, int OFF = 0>
struct SoftmaxTree {
    template <class T, class Op>
    static T reduce(const T v[], Op op) {
#pragma HLS INLINE
        return op(SoftmaxTree<N / 2, OFF>::reduce(v, op), SoftmaxTree<N - N / 2, OFF + N / 2>::reduce(v, op));
    }
};

template <int OFF>
struct SoftmaxTree<1, OFF> {
    template <class T, class Op>
    static T reduce(const T v[], Op) {
#pragma HLS INLINE
        return v[OFF];
    }
};

struct SoftmaxMax {
    template <class T>
    T operator()(T a, T b) const {
#pragma HLS INLINE
        return a > b ? a : b;
    }
};

struct SoftmaxAdd {
    template <class T>
    T operator()(T a, T b) const {
#pragma HLS INLINE
        return a + b;
    }
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

// R = one above the integer part of the row's maximum m.
template <class C>
typename SoftmaxTypes<C>::e_t sm_ref(typename SoftmaxTypes<C>::e_t m) {
#pragma HLS INLINE
    return (m >> C::SM_EXP_FRAC) + 1;
}

// The code of an element: (min(d >> F, KMAX) << F) | (d & (2^F - 1)) with d = (R << F) - e >= 1.
template <class C>
typename SoftmaxTypes<C>::code_t sm_code(typename SoftmaxTypes<C>::e_t ref, typename SoftmaxTypes<C>::e_t e) {
#pragma HLS INLINE
    typedef SoftmaxTypes<C> S;
    const typename S::d_t d = (typename S::d_t(ref) << C::SM_EXP_FRAC) - e;
    const typename S::d_t kint = d >> C::SM_EXP_FRAC;  // d >= 1: kint >= 0
    const unsigned k = kint > C::SM_CODE_MAX ? C::SM_CODE_MAX : kint.to_int();
    return (typename S::code_t(k) << C::SM_EXP_FRAC) | typename S::code_t(d & ((1 << C::SM_EXP_FRAC) - 1));
}

// The sum term of a code: TF[frac] >> k.
template <class C>
typename SoftmaxTypes<C>::term_t sm_term(typename SoftmaxTypes<C>::code_t code) {
#pragma HLS INLINE
    typedef SoftmaxTypes<C> S;
    const unsigned k = (code >> C::SM_EXP_FRAC).to_uint();
    return typename S::term_t(C::SM_POW[(code & ((1 << C::SM_EXP_FRAC) - 1)).to_uint()]) >> k;
}

// Stage 3, one element: y = min((P[m * 2^F + frac] + 2^(sh-1)) >> sh, out_max), sh = k + L + 8 - out_frac.
template <class C>
ap_uint<16> sm_normalise(typename SoftmaxTypes<C>::code_t code, typename SoftmaxTypes<C>::s_t sum, int out_frac,
                         int out_max) {
#pragma HLS INLINE
    const unsigned lead = lead_one<C::SM_S_BITS>(sum);  // >= SM_RECIP_BITS: the row's largest term is in S
    const unsigned mant = ((sum >> (lead - C::SM_RECIP_BITS)) & ((1 << C::SM_RECIP_BITS) - 1)).to_uint();
    const unsigned k = (code >> C::SM_EXP_FRAC).to_uint();
    const unsigned frac = (code & ((1 << C::SM_EXP_FRAC) - 1)).to_uint();
    const ap_uint<64> num = C::SM_OUT[(mant << C::SM_EXP_FRAC) + frac];
    const unsigned sh = k + lead + C::SM_RECIP_FRAC - out_frac;  // >= 1 (docs/numerics.md section 5)
    const ap_uint<64> y = (num + (ap_uint<64>(1) << (sh - 1))) >> sh;
    return y > ap_uint<64>(out_max) ? ap_uint<16>(out_max) : ap_uint<16>(y);
}

// The unit over a tensor of rows x N (rows = heads * tokens of an attention map), SM_LANES consecutive
// elements of a row per beat: beat b of row r (stage 1), row r - 1 (stage 2) and row r - 2 (stage 3).
template <class C>
void softmax_layer(act_t<C> mem[C::NMEM][C::TM][C::DEPTH], const desc_regs_t& d, ap_uint<32>& beats) {
    typedef SoftmaxTypes<C> S;
    static_assert(C::SM_LANES >= 1 && C::SM_LANES <= C::TM, "softmax lanes read consecutive banks");
    static typename S::e_t ebuf[2][S::ROW_SLOTS];     // exponents: stage 1 writes row r, stage 2 reads row r - 1
    static typename S::code_t cbuf[2][S::ROW_SLOTS];  // codes: stage 2 writes row r - 1, stage 3 reads row r - 2
#pragma HLS ARRAY_PARTITION variable = ebuf complete dim = 1
#pragma HLS ARRAY_PARTITION variable = ebuf cyclic factor = C::SM_LANES dim = 2
#pragma HLS ARRAY_PARTITION variable = cbuf complete dim = 1
#pragma HLS ARRAY_PARTITION variable = cbuf cyclic factor = C::SM_LANES dim = 2
ACCEL_PRAGMA(HLS BIND_STORAGE variable = ebuf type = ram_s2p impl = ACCEL_SOFTMAX_EXP_MEMORY)
ACCEL_PRAGMA(HLS BIND_STORAGE variable = cbuf type = ram_s2p impl = ACCEL_SOFTMAX_CODE_MEMORY)
    const int rows = d[D_ROWS];
    const int n = d[D_COLS];
    const TensorRef in = desc_tensor(d, D_IN_MEM);
    const TensorRef out = desc_tensor(d, D_OUT_MEM);
    const int in_frac = d[D_SM_IN_FRAC];
    const int out_frac = d[D_SM_OUT_FRAC];
    const int out_max = d[D_SM_OUT_MAX];
    typename S::e_t ref[2];  // R of rows r - 1 and r (stage 1 writes, stage 2 reads)
    typename S::s_t sum[2];  // S of rows r - 2 and r - 1 (stage 2 writes, stage 3 reads)
#pragma HLS ARRAY_PARTITION variable = ref complete
#pragma HLS ARRAY_PARTITION variable = sum complete
    ref[0] = ref[1] = 0;
    sum[0] = sum[1] = 0;
    typename S::e_t run_max = 0;
    typename S::s_t run_sum = 0;
    const typename S::e_t e_min = typename S::e_t(1) << (C::SM_E_BITS - 1);  // the most negative e
    const int per_row = ceil_div(n, C::SM_LANES);
    const int total = (rows + 2) * per_row;
    int r = 0, b = 0;
softmax_beats:
    for (int i = 0; i < total; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
// Stage 3 writes the row two behind the one stage 1 reads, in another tensor.
#pragma HLS DEPENDENCE variable = mem inter false
        const int c0 = b * C::SM_LANES;
        const int count = min_int(n - c0, C::SM_LANES);
        const bool first = b == 0;
        const bool last = b == per_row - 1;
        // Stage 1: the beat's elements of row r (one bank each): exponents, and their maximum by a tree.
        act_t<C> xin[C::TM];
        window_read<C>(mem, in, r < rows ? r : 0, c0, r < rows ? n : 0, xin);
        typename S::e_t e1[C::SM_LANES];
#pragma HLS ARRAY_PARTITION variable = e1 complete
    softmax_exponents:
        for (int l = 0; l < C::SM_LANES; ++l) {
#pragma HLS UNROLL
            const typename S::e_t e = sm_exponent<C>(xin[l], in_frac);
            if (l < count && r < rows) ebuf[r & 1][c0 + l] = e;
            e1[l] = l < count ? e : e_min;
        }
        const typename S::e_t beat_max = SoftmaxTree<C::SM_LANES>::reduce(e1, SoftmaxMax());
        run_max = first || beat_max > run_max ? beat_max : run_max;
        if (last && r < rows) ref[r & 1] = sm_ref<C>(run_max);
        // Stage 2: row r - 1 from its buffered exponents and R: codes, and the sum of their terms by a tree.
        const int p2 = (r - 1) & 1;
        const typename S::e_t row_ref = ref[p2];
        typename S::s_t t2[C::SM_LANES];  // terms, as wide as the sum: the tree adds in s_t
#pragma HLS ARRAY_PARTITION variable = t2 complete
    softmax_terms:
        for (int l = 0; l < C::SM_LANES; ++l) {
#pragma HLS UNROLL
            const typename S::code_t code = sm_code<C>(row_ref, ebuf[p2][c0 + l]);
            const bool live = l < count && r >= 1 && r <= rows;
            if (live) cbuf[p2][c0 + l] = code;
            t2[l] = live ? typename S::s_t(sm_term<C>(code)) : typename S::s_t(0);
        }
        const typename S::s_t beat_sum = SoftmaxTree<C::SM_LANES>::reduce(t2, SoftmaxAdd());
        run_sum = (first ? typename S::s_t(0) : run_sum) + beat_sum;
        if (last && r >= 1 && r <= rows) sum[p2] = run_sum;
        // Stage 3: row r - 2 from its buffered codes and sum.
        const int p3 = r & 1;  // (r - 2) & 1
        const typename S::s_t row_sum = sum[p3];
        act_t<C> yout[C::TM];
    softmax_outputs:
        for (int l = 0; l < C::TM; ++l) {
#pragma HLS UNROLL
            yout[l] = l < C::SM_LANES && l < count && r >= 2
                          ? act_t<C>(sm_normalise<C>(cbuf[p3][c0 + l], row_sum, out_frac, out_max))
                          : act_t<C>(0);
        }
        if (r >= 2) window_write<C>(mem, out, r - 2, c0, count, yout);
        if (++b == per_row) {
            b = 0;
            ++r;
        }
    }
    beats = total;
}

}  // namespace accel

#endif  // ACCELGEN_E2SOFTMAX_H
