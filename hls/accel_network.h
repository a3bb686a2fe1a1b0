// accel_network.h -- the accelerator: one instance of every unit, reused for all layers.
//
// For each image, the steps listed in the descriptor table run in order; each step's descriptor says
// which unit runs and on which tensors. The generated top function (accel_top.cpp) holds the interface
// pragmas and calls run_network<Config>.
//
// Beat count: every unit reports the beats of its pipelined loops (their trip counts: the loop nest of
// docs/hardware.md at II = 1, without pipeline fill, stalls or DDR latency) and each step's DESC_WORDS-beat
// descriptor copy; their sum is returned in
// `beats` (an s_axilite register). It is the modelled figure, not a clock count: on a board it reads the
// same whatever the real II or stalls (docs/board.md for the clock count).
#ifndef ACCELGEN_ACCEL_NETWORK_H
#define ACCELGEN_ACCEL_NETWORK_H

#include "accel_arena.h"
#include "accel_common.h"
#include "accel_desc.h"
#include "accel_io.h"
#include "ailayernorm.h"
#include "e2softmax.h"
#include "eltwise.h"
#include "gemm_engine.h"

namespace accel {

// One step on its unit; returns the beats it took (the image loader reads image `image`).
template <class C>
ap_uint<32> run_step(const ap_uint<C::WORD_BITS>* params, const ap_uint<C::WORD_BITS>* images, int image,
                     act_t<C> mem[C::NMEM][C::TM][C::DEPTH], out_buffer_t<C>& outbuf, const desc_regs_t& d) {
    ap_uint<32> beats = 0;
    switch (d[D_KIND]) {
        case K_INPUT:
            beats = load_image<C>(images, image, mem, d);
            break;
        case K_GEMM:
        case K_QK:
        case K_AV: {
            const int prefix = d[D_PREFIX_ROWS] > 0 ? write_const_rows<C>(params, mem, d) : 0;
            gemm_layer<C>(params, mem, outbuf, gemm_step<C>(d), beats);
            beats += prefix;
            break;
        }
        case K_SOFTMAX:
            softmax_layer<C>(mem, d, beats);
            break;
        case K_LAYERNORM:
            layernorm_layer<C>(params, mem, d, beats);
            break;
        default:
            eltwise_layer<C>(params, mem, d, beats);
            break;
    }
    return beats;
}

// `mem` is the activation memories, declared by the generated top with the storage the plan chose
// (accelgen/hw/plan.py: LUT RAM, block RAM or URAM banks).
template <class C>
void run_network(const ap_uint<C::WORD_BITS>* params, const ap_uint<C::WORD_BITS>* images,
                 ap_uint<C::WORD_BITS>* logits, ap_int<64>* dump, const int descs[C::MAX_STEPS * DESC_WORDS],
                 int n_steps, int n_images, bool dump_enable, ap_uint<64>& beats,
                 act_t<C> mem[C::NMEM][C::TM][C::DEPTH]) {
    static out_buffer_t<C> outbuf;
#pragma HLS ARRAY_PARTITION variable = outbuf complete dim = 2
ACCEL_PRAGMA(HLS BIND_STORAGE variable = outbuf type = ram_s2p impl = ACCEL_OUTBUF_MEMORY)
    desc_regs_t d;  // the running step's descriptor (registers: every unit decodes its fields from them)
#pragma HLS ARRAY_PARTITION variable = d complete
    ap_uint<64> total = 0;
images_loop:
    for (int image = 0; image < n_images; ++image) {
    steps_loop:
        for (int s = 0; s < n_steps; ++s) {
            load_desc<C>(descs, s, d);
            total += DESC_WORDS + run_step<C>(params, images, image, mem, outbuf, d);
            if (dump_enable && d[D_DUMP] != 0) total += dump_step<C>(mem, outbuf, d, dump, image);
        }
        total += write_logits<C>(outbuf, logits, image);
    }
    beats = total;
}

}  // namespace accel

#endif  // ACCELGEN_ACCEL_NETWORK_H
