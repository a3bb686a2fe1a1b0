// ailayernorm.h -- the AILayerNorm unit (docs/numerics.md section 6).
//
// Stage 1 (per token: exact sum of x, sum of 4-bit compressed squares) and stage 2 (1/sqrt of the
// variance from its leading one and a 64-entry table, then normalise, gain, bias, shift, clamp) run in
// one II = 1 loop, stage 2 one token behind stage 1 through a ping-pong token buffer.
//
// Config: LN_D_MAX, LN_X_BITS (input width), LN_V_BITS (variance width), LN_SQUARES[16] (SQ),
// LN_RSQRT[64] (RSQ), LN_RSQRT_FRAC (15), LN_NORM_FRAC (10), LN_IDX_BITS (5), all from
// accelgen/numerics/layernorm.py. Per layer (descriptor + parameter blob): D, eps, gain[D], bias[D],
// shift, output range.
#ifndef ACCELGEN_AILAYERNORM_H
#define ACCELGEN_AILAYERNORM_H

#include "accel_arena.h"
#include "accel_common.h"
#include "accel_desc.h"

namespace accel {

template <class C>
struct LayerNormTypes {
    static const int D_BITS = bits_for(C::LN_D_MAX);
    static const int SQ_BITS = 2 * C::LN_X_BITS + 1;  // one compressed square: < (2^(XB-1) * 17/16)^2
    typedef ap_int<C::LN_X_BITS> x_t;
    typedef ap_uint<SQ_BITS> sq_t;
    typedef ap_int<C::LN_X_BITS + D_BITS + 1> sx_t;   // sum of x
    typedef ap_uint<SQ_BITS + D_BITS> sq_sum_t;       // sum of squares
    typedef ap_int<C::LN_V_BITS + 1> v_t;             // D * Sq - Sx^2 + eps
    typedef ap_int<C::LN_X_BITS + 2 * D_BITS + 2> n_t;  // D * x - Sx
    typedef ap_int<64> wide_t;
};

// 4-bit compressed square of |x|: exact below 16, else the bucket midpoint (q + 1/2)^2 * 4^s.
template <class C>
typename LayerNormTypes<C>::sq_t compressed_square(typename LayerNormTypes<C>::x_t x) {
#pragma HLS INLINE
    typedef typename LayerNormTypes<C>::sq_t sq_t;
    const ap_uint<C::LN_X_BITS> a = x < 0 ? ap_uint<C::LN_X_BITS>(-x) : ap_uint<C::LN_X_BITS>(x);
    if (a < 16) return C::LN_SQUARES[a.to_int()];
    const unsigned s = lead_one<C::LN_X_BITS>(a) - 3;  // a >= 16: s >= 1
    const int q = (a >> s).to_int();
    return (sq_t(C::LN_SQUARES[q] + q) << (2 * s)) + (sq_t(1) << (2 * s - 2));
}

// 1/sqrt(V) ~= r * 2^-(15 + h) for V >= 1.
template <class C>
void inv_sqrt(typename LayerNormTypes<C>::v_t v, int& r, int& h) {
#pragma HLS INLINE
    const ap_uint<C::LN_V_BITS + 1> u = v;
    const unsigned lead = lead_one<C::LN_V_BITS + 1>(u);
    const unsigned n = C::LN_IDX_BITS;
    const ap_uint<C::LN_V_BITS + 1> aligned = lead >= n ? ap_uint<C::LN_V_BITS + 1>(u >> (lead - n))
                                                        : ap_uint<C::LN_V_BITS + 1>(u << (n - lead));
    const int m = (aligned & ((1 << n) - 1)).to_int();
    h = lead >> 1;
    r = C::LN_RSQRT[(lead & 1) * (1 << n) + m];
}

// Token statistics after stage 1.
template <class C>
struct LayerNormStats {
    typename LayerNormTypes<C>::sx_t sx;
    typename LayerNormTypes<C>::sq_sum_t sq;
};

// Stage 2 for one channel.
template <class C>
int ln_normalise(typename LayerNormTypes<C>::x_t x, LayerNormStats<C> st, int dim, ap_int<64> eps,
                 ap_int<C::LN_GAIN_BITS> gain, ap_int<C::LN_BIAS_BITS> bias, unsigned shift, int out_min, int out_max) {
#pragma HLS INLINE
    typedef LayerNormTypes<C> L;
    typedef typename L::wide_t wide_t;
    typename L::v_t var = typename L::v_t(dim * st.sq) - typename L::v_t(st.sx * st.sx);
    if (var < 0) var = 0;
    var += eps;
    if (var < 1) var = 1;
    int r, h;
    inv_sqrt<C>(var, r, h);
    const unsigned zshift = C::LN_RSQRT_FRAC + h - C::LN_NORM_FRAC;  // h >= 0: zshift >= 5
    const typename L::n_t num = typename L::n_t(dim * x) - st.sx;
    const wide_t z = (wide_t(num) * r + (wide_t(1) << (zshift - 1))) >> zshift;
    wide_t y = (z * gain + bias) >> shift;
    if (y < out_min) y = out_min;
    if (y > out_max) y = out_max;
    return y.to_int();
}

// Load the layer's gains and biases from the parameter blob: biases as LN_BIAS_BITS fields, then (from
// the next word) gains as LN_GAIN_BITS fields, both packed little-endian into words (accelgen/hw/stream.py).
template <class C>
int ln_load_params(const ap_uint<C::WORD_BITS>* params, int off, int dim, ap_int<C::LN_GAIN_BITS> (&gain)[C::LN_D_MAX],
                   ap_int<C::LN_BIAS_BITS> (&bias)[C::LN_D_MAX]) {
    const int goff = off + ceil_div(dim, C::WORD_BITS / C::LN_BIAS_BITS);
    return load_fields<C, C::LN_BIAS_BITS>(params, off, dim, bias) + load_fields<C, C::LN_GAIN_BITS>(params, goff, dim, gain);
}

// The unit over tokens x D, LN_LANES consecutive channels per beat: a token costs ceil(D / LN_LANES)
// beats after the first (plus loading the layer's gains and biases once).
template <class C>
void layernorm_layer(const ap_uint<C::WORD_BITS>* params, act_t<C> mem[C::NMEM][C::TM][C::DEPTH],
                     const desc_regs_t& d, ap_uint<32>& beats) {
    typedef LayerNormTypes<C> L;
    static_assert(C::LN_LANES >= 1 && C::LN_LANES <= C::TM, "layernorm lanes read consecutive banks");
    static ap_int<C::LN_GAIN_BITS> gain[C::LN_D_MAX];
    static ap_int<C::LN_BIAS_BITS> bias[C::LN_D_MAX];
    static typename L::x_t xbuf[2][C::LN_D_MAX];  // ping-pong token buffer
#pragma HLS ARRAY_PARTITION variable = gain cyclic factor = C::LN_LANES
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = C::LN_LANES
#pragma HLS ARRAY_PARTITION variable = xbuf complete dim = 1
#pragma HLS ARRAY_PARTITION variable = xbuf cyclic factor = C::LN_LANES dim = 2
ACCEL_PRAGMA(HLS BIND_STORAGE variable = xbuf type = ram_s2p impl = ACCEL_LAYERNORM_X_MEMORY)
    const int rows = d[D_ROWS];
    const int dim = d[D_COLS];
    const TensorRef in = desc_tensor(d, D_IN_MEM);
    const TensorRef out = desc_tensor(d, D_OUT_MEM);
    const ap_int<64> eps = desc_wide(d, D_LN_EPS_LO, D_LN_EPS_HI);
    const unsigned shift = d[D_LN_SHIFT];  // >= 1 (accelgen/numerics/layernorm.py)
    const int out_min = d[D_QMIN];
    const int out_max = d[D_QMAX];
    const int load = ln_load_params<C>(params, d[D_PARAM_OFF], dim, gain, bias);
    LayerNormStats<C> stats[2];
#pragma HLS ARRAY_PARTITION variable = stats complete
    stats[0].sx = stats[1].sx = 0;
    stats[0].sq = stats[1].sq = 0;
    LayerNormStats<C> run;
    run.sx = 0;
    run.sq = 0;
    const int per_token = ceil_div(dim, C::LN_LANES);
    const int total = (rows + 1) * per_token;
    int r = 0, b = 0;
layernorm_beats:
    for (int i = 0; i < total; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
// Stage 2 writes the row behind the one stage 1 reads, in another tensor.
#pragma HLS DEPENDENCE variable = mem inter false
        const int c0 = b * C::LN_LANES;
        const int count = min_int(dim - c0, C::LN_LANES);
        // Stage 1: the beat's channels of token r (one bank each), summed by a tree into the token's sums.
        act_t<C> xin[C::TM];
        window_read<C>(mem, in, r < rows ? r : 0, c0, r < rows ? dim : 0, xin);
        typename L::sx_t bsx = 0;
        typename L::sq_sum_t bsq = 0;
    layernorm_sums:
        for (int l = 0; l < C::LN_LANES; ++l) {
#pragma HLS UNROLL
            const typename L::x_t x = xin[l];
            if (l < count && r < rows) {
                xbuf[r & 1][c0 + l] = x;
                bsx += x;
                bsq += compressed_square<C>(x);
            }
        }
        run.sx = (b == 0 ? typename L::sx_t(0) : run.sx) + bsx;
        run.sq = (b == 0 ? typename L::sq_sum_t(0) : run.sq) + bsq;
        if (b == per_token - 1 && r < rows) stats[r & 1] = run;
        // Stage 2: token r - 1, normalised from its buffered channels and statistics.
        const LayerNormStats<C> st = stats[(r - 1) & 1];
        act_t<C> yout[C::TM];
    layernorm_lanes:
        for (int l = 0; l < C::TM; ++l) {
#pragma HLS UNROLL
            const int c = c0 + l;
            yout[l] = l < C::LN_LANES && l < count && r >= 1
                          ? act_t<C>(ln_normalise<C>(xbuf[(r - 1) & 1][c], st, dim, eps, gain[c], bias[c], shift,
                                                     out_min, out_max))
                          : act_t<C>(0);
        }
        if (r >= 1) window_write<C>(mem, out, r - 1, c0, count, yout);
        if (++b == per_token) {
            b = 0;
            ++r;
        }
    }
    beats = total + load;
}

}  // namespace accel

#endif  // ACCELGEN_AILAYERNORM_H
