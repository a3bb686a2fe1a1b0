// eltwise.h -- the elementwise unit: GELU table (docs/numerics.md section 7) when it is not fused into
// the preceding GEMM, standalone requantize and add (section 8). One element per beat.
#ifndef ACCELGEN_ELTWISE_H
#define ACCELGEN_ELTWISE_H

#include "accel_arena.h"
#include "accel_common.h"
#include "accel_desc.h"
#include "requant.h"

namespace accel {

// y = T[x - in_min]: the table holds every input code's output.
template <int ENTRIES, int BITS>
int gelu_lookup(const ap_int<BITS> table[ENTRIES], int x, int in_min) {
#pragma HLS INLINE
    return table[x - in_min].to_int();
}

template <class C>
void eltwise_layer(const ap_uint<C::WORD_BITS>* params, act_t<C> mem[C::NMEM][C::TM][C::DEPTH], const desc_regs_t& d,
                   ap_uint<32>& beats) {
    static ap_int<C::GELU_ENTRY_BITS> table[C::GELU_ENTRIES];
ACCEL_PRAGMA(HLS BIND_STORAGE variable = table type = ram_s2p impl = ACCEL_ELTWISE_TABLE_MEMORY)
    const int kind = d[D_KIND];
    const int rows = d[D_ROWS];
    const int cols = d[D_COLS];
    const TensorRef in = desc_tensor(d, D_IN_MEM);
    const TensorRef res = desc_tensor(d, D_RES_MEM);
    const TensorRef out = desc_tensor(d, D_OUT_MEM);
    const mult_t<C> mult = d[D_MULT];
    const mult_t<C> res_mult = d[D_RES_MULT];
    const shift_t<C> shift = d[D_SHIFT];
    const bias_t<C> bias = desc_wide(d, D_BIAS_LO, D_BIAS_HI);
    // Descriptor fields are read before the loop: the descriptor table is one s_axilite memory.
    const int gelu_min = d[D_GELU_MIN];
    const bool clamp = d[D_CLAMP] != 0;
    const int qmin = d[D_QMIN], qmax = d[D_QMAX];
    int load = 0;
    if (kind == K_GELU) load = load_fields<C, C::GELU_ENTRY_BITS>(params, d[D_PARAM_OFF], C::GELU_ENTRIES, table);
    const int total = rows * cols;
    int r = 0, c = 0;
eltwise_beats:
    for (int i = 0; i < total; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
// The output tensor is not an input (the placement keeps them apart).
#pragma HLS DEPENDENCE variable = mem inter false
        const act_t<C> a = arena_read<C>(mem, in, r, c);
        int y;
        if (kind == K_GELU) {
            y = gelu_lookup<C::GELU_ENTRIES, C::GELU_ENTRY_BITS>(table, a.to_int(), gelu_min);
        } else {
            const act_t<C> b = kind == K_ADD ? arena_read<C>(mem, res, r, c) : act_t<C>(0);
            y = requant<C, C::SUM_BITS, C::ACT_BITS, C::ACT_BITS>(a, mult, b, res_mult, 0, bias, shift, clamp, qmin,
                                                                     qmax)
                    .to_int();
        }
        arena_write<C>(mem, out, r, c, act_t<C>(y));
        if (++c == cols) {
            c = 0;
            ++r;
        }
    }
    beats = total + load;
}

}  // namespace accel

#endif  // ACCELGEN_ELTWISE_H
