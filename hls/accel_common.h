// accel_common.h -- shared helpers of the accelgen HLS kernels (C++14, Vitis HLS synthesizable).
//
// Every kernel header is a template over a configuration struct `C` (generated into accel_config.h
// for a design, written by hand in the kernel tests). The arithmetic is docs/numerics.md, bit for bit;
// tables come from the Python numerics through the config struct, never computed here.
#ifndef ACCELGEN_ACCEL_COMMON_H
#define ACCELGEN_ACCEL_COMMON_H

#include <ap_int.h>

#include "dataflow_sim.h"

#include <cstdint>

// A pragma whose options expand macros (UG1399 "Using #define with Pragma Directives"): the storage of a
// memory (ACCEL_*_MEMORY) is defined by the generated accel_config.h, as the perf model prices it.
#define ACCEL_PRAGMA_TEXT(x) _Pragma(#x)
#define ACCEL_PRAGMA(x) ACCEL_PRAGMA_TEXT(x)

namespace accel {

// Quotient rounded up (compile-time and run-time).
constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }
constexpr int max_int(int a, int b) { return a > b ? a : b; }
constexpr int min_int(int a, int b) { return a < b ? a : b; }

// Bits of an unsigned counter holding 0..v.
constexpr int bits_for(long long v) {
    int bits = 1;
    while (v > 1) {
        v >>= 1;
        ++bits;
    }
    return bits;
}

// Array extents must be positive even when a feature is absent (e.g. no power-of-two lanes).
constexpr int at_least_one(int v) { return v < 1 ? 1 : v; }

// floor(log2(v)) for v >= 1: the position of the most significant set bit (a priority encoder).
template <int W>
int lead_one(ap_uint<W> v) {
#pragma HLS INLINE
    int lead = 0;
lead_scan:
    for (int i = 0; i < W; ++i) {
#pragma HLS UNROLL
        if (v[i]) lead = i;
    }
    return lead;
}

// Logical right shift that yields 0 for shift amounts >= W (hardware: the shifter's overflow bit).
template <int W>
ap_uint<W> shr_sat(ap_uint<W> v, unsigned s) {
#pragma HLS INLINE
    return s >= W ? ap_uint<W>(0) : ap_uint<W>(v >> s);
}

// Field i of a word of packed W-bit fields (little-endian: field 0 in the low bits), as the parameter
// blob and the tile-buffer items hold them (accelgen/hw/stream.py).
template <int W, class Word>
ap_uint<W> field_at(const Word& word, int i) {
#pragma HLS INLINE
    return word.range(W * i + W - 1, W * i);
}

// words consecutive DDR words from src[off], one unconditional m_axi read per beat (one burst), into the
// stream a consumer in the same DATAFLOW region unpacks.
template <int WB>
void burst_words(const ap_uint<WB>* src, int off, int words, stream<ap_uint<WB> >& out) {
burst_read:
    for (int i = 0; i < words; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 18816
        out.write(src[off + i]);
    }
}

// The next BITS-wide field of a stream of words packed little-endian: a word is read from the stream
// when its first field is due (one read per word); `w` and `f` (the field within it) carry the position.
template <int BITS, int WB>
ap_uint<BITS> next_field(stream<ap_uint<WB> >& words, ap_uint<WB>& w, int& f) {
#pragma HLS INLINE
    if (f == 0) w = words.read();
    const ap_uint<BITS> field = field_at<BITS>(w, f);
    if (++f == WB / BITS) f = 0;
    return field;
}

// n BITS-wide signed fields, packed little-endian into the stream's words, into table[0..n), one per beat.
template <int BITS, int WB, class T, int N>
void unpack_fields(stream<ap_uint<WB> >& words, int n, T (&table)[N]) {
    ap_uint<WB> w = 0;
    int f = 0;
unpack_fields:
    for (int e = 0; e < n; ++e) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
        table[e] = T(ap_int<BITS>(next_field<BITS>(words, w, f)));
    }
}

template <class C, int BITS, int WB, class T, int N>
void load_fields_dataflow(const ap_uint<WB>* params, int off, int n, T (&table)[N]) {
#pragma HLS DATAFLOW
    stream<ap_uint<WB> > words(ACCEL_FIFO("field_words", C::STREAM_DEPTH));
#pragma HLS STREAM variable = words depth = C::STREAM_DEPTH
    ACCEL_DATAFLOW("load_fields")
    ACCEL_PROCESS(burst_words<WB>(params, off, ceil_div(n, WB / BITS), words));
    ACCEL_PROCESS(unpack_fields<BITS>(words, n, table));
    ACCEL_DATAFLOW_END()
}

// Load n BITS-wide signed fields, packed little-endian into consecutive words from params[off], into
// table[0..n): the words in one burst while the fields are written, one per beat; returns the beats.
template <class C, int BITS, int WB, class T, int N>
int load_fields(const ap_uint<WB>* params, int off, int n, T (&table)[N]) {
    load_fields_dataflow<C, BITS>(params, off, n, table);
    return n;
}

// One element of an activation tensor in the on-chip memory (see accel_arena.h).
struct TensorRef {
    int mem;     // which activation memory
    int base;    // first word
    int stride;  // words (of TM elements) per row
};

}  // namespace accel

#endif  // ACCELGEN_ACCEL_COMMON_H
