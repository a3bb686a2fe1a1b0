// accel_arena.h -- the on-chip activation memories.
//
// C::NMEM memories, each split into C::TM banks of C::DEPTH words: element (row, col) of a tensor
// placed at (mem, base, stride) lives in bank col % TM at word base + row * stride + col / TM. Any TM
// consecutive columns of a row therefore touch every bank exactly once (one read per bank per cycle),
// which is what the GEMM engine's operand fetch needs at any column alignment. Tensor placement (which
// memory, base, stride) is decided at compile time (accelgen/codegen/program.py) and arrives in the
// layer descriptors; the placement guarantees that the two operands a unit reads in the same cycle
// (GEMM input and residual, add inputs) sit in different memories.
#ifndef ACCELGEN_ACCEL_ARENA_H
#define ACCELGEN_ACCEL_ARENA_H

#include "accel_common.h"

namespace accel {

template <class C>
using act_t = ap_int<C::ACT_BITS>;

template <class C>
int arena_word(TensorRef t, int row, int col) {
#pragma HLS INLINE
    return t.base + row * t.stride + col / C::TM;
}

template <class C>
act_t<C> arena_read(const act_t<C> mem[C::NMEM][C::TM][C::DEPTH], TensorRef t, int row, int col) {
#pragma HLS INLINE
    return mem[t.mem][col % C::TM][arena_word<C>(t, row, col)];
}

template <class C>
void arena_write(act_t<C> mem[C::NMEM][C::TM][C::DEPTH], TensorRef t, int row, int col, act_t<C> v) {
#pragma HLS INLINE
    mem[t.mem][col % C::TM][arena_word<C>(t, row, col)] = v;
}

// Bank b's share of the window of TM columns c0 .. c0 + TM - 1 of one row: its word address, and
// whether its column lies below `limit` (columns at or beyond `limit` read as zero, never touching
// memory outside the tensor).
struct WindowBank {
    int word;
    bool valid;
};

template <class C>
WindowBank window_bank(TensorRef t, int row, int c0, int limit, int b) {
#pragma HLS INLINE
    const int rot = c0 % C::TM;
    const int offset = b >= rot ? b - rot : b + C::TM - rot;  // position of bank b's column in the window
    WindowBank wb;
    wb.word = t.base + row * t.stride + c0 / C::TM + (b >= rot ? 0 : 1);
    wb.valid = c0 + offset < limit;
    return wb;
}

// Bank values -> window order: out[i] = bank[(amt + i) % TM], amt >= 0. Built as rtl/rotator.v, in
// ceil(clog2(TM) / 2) stages with constant indices: the stage at bit b = 0, 2, 4, .. rotates by d * 2^b,
// d = bits b, b+1 of amt % TM (a 4:1 select per value), a 2:1 select on bit b alone when bit b + 1 is past
// clog2(TM); rotations add up modulo TM, so any TM works.
template <class C, class T>
void window_rotate(const T bank[C::TM], int amt, T out[C::TM]) {
#pragma HLS INLINE
    const int a = amt % C::TM;
    T v[C::TM];
rotate_in:
    for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
        v[i] = bank[i];
    }
rotate_stages:
    for (int b = 0; (1 << b) < C::TM; b += 2) {
#pragma HLS UNROLL
        const int s = 1 << b;
        const bool quad = 2 * s < C::TM;  // bit b + 1 of the amount exists
        const int d = (a >> b) & (quad ? 3 : 1);
        T next[C::TM];
    rotate_stage:
        for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
            const T x0 = v[i], x1 = v[(i + s) % C::TM], x2 = v[(i + 2 * s) % C::TM], x3 = v[(i + 3 * s) % C::TM];
            next[i] = (d & 2) ? ((d & 1) ? x3 : x2) : ((d & 1) ? x1 : x0);
        }
    rotate_keep:
        for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
            v[i] = next[i];
        }
    }
rotate_out:
    for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
        out[i] = v[i];
    }
}

// TM consecutive elements (row, c0 .. c0 + TM - 1) of tensor t, zero at columns >= limit.
template <class C>
void window_read(const act_t<C> mem[C::NMEM][C::TM][C::DEPTH], TensorRef t, int row, int c0, int limit,
                 act_t<C> out[C::TM]) {
#pragma HLS INLINE
    act_t<C> bank[C::TM];
read_banks:
    for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
        const WindowBank wb = window_bank<C>(t, row, c0, limit, b);
        bank[b] = wb.valid ? mem[t.mem][b][wb.word] : act_t<C>(0);
    }
    window_rotate<C>(bank, c0, out);
}

// Write in[0 .. count-1] to columns c0 .. c0 + count - 1 (count <= TM) of one row: one write per bank.
template <class C>
void window_write(act_t<C> mem[C::NMEM][C::TM][C::DEPTH], TensorRef t, int row, int c0, int count,
                  const act_t<C> in[C::TM]) {
#pragma HLS INLINE
    act_t<C> bank[C::TM];
    window_rotate<C>(in, C::TM - c0 % C::TM, bank);  // bank[b] = in[(b - c0) mod TM]
write_banks:
    for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
        const WindowBank wb = window_bank<C>(t, row, c0, c0 + count, b);
        if (wb.valid) mem[t.mem][b][wb.word] = bank[b];
    }
}

}  // namespace accel

#endif  // ACCELGEN_ACCEL_ARENA_H
