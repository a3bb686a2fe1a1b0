// accel_io.h -- data movement between DDR and the activation memories: the quantized input image
// (im2col into the patch-embedding rows), constant rows (class token), the logits, and the debug dump
// of any step's output tensor (layer-by-layer comparison with the NumPy golden model).
//
// DDR formats (words of C::WORD_BITS, fields packed little-endian from bit 0):
//   image  : C x H x W signed 8-bit codes in NCHW order, C::IMAGE_WORDS words per image
//   prefix : rows x cols signed 16-bit values, row-major
//   logits : OUT_ROWS x OUT_COLS signed 64-bit values, C::LOGIT_WORDS words per image
//   dump   : 64-bit signed elements, C::DUMP_ELEMS per image (each step at its D_DUMP_OFF)
#ifndef ACCELGEN_ACCEL_IO_H
#define ACCELGEN_ACCEL_IO_H

#include "accel_arena.h"
#include "accel_common.h"
#include "accel_desc.h"

namespace accel {

// Patch coordinates of the image loader's beat: counters, not divisions (x = px * P + kx, y = py * P + ky).
struct ImageCursor {
    int x, y;
    int kx, px;
    int ky, py;
    int col0;  // ch * P*P: the channel's first column
};

// Image -> patch rows: patch t = py * (W/P) + px, column k = ch * P*P + ky * P + kx. Each beat places
// C::IMG_LANES consecutive pixels of one DDR word and one patch row: consecutive columns, one per bank
// (IMG_LANES divides P, W and the pixels of a word: accelgen/hw/plan.py image_lanes).
template <class C>
void image_placer(stream<ap_uint<C::WORD_BITS> >& words, act_t<C> mem[C::NMEM][C::TM][C::DEPTH], TensorRef out,
                  int beats, int height, int width, int patch) {
    const int patches_per_row = width / patch;
    ImageCursor at = {0, 0, 0, 0, 0, 0, 0};
    ap_uint<C::WORD_BITS> w = 0;
    int f = 0;
image_load:
    for (int e = 0; e < beats; ++e) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 150528
        const ap_uint<C::IMAGE_PIXEL_BITS * C::IMG_LANES> pixels =
            next_field<C::IMAGE_PIXEL_BITS * C::IMG_LANES>(words, w, f);
        act_t<C> v[C::TM];
    image_pixels:
        for (int l = 0; l < C::TM; ++l) {
#pragma HLS UNROLL
            v[l] = l < C::IMG_LANES ? act_t<C>(ap_int<C::IMAGE_PIXEL_BITS>(field_at<C::IMAGE_PIXEL_BITS>(pixels, l)))
                                    : act_t<C>(0);
        }
        window_write<C>(mem, out, at.py * patches_per_row + at.px, at.col0 + at.ky * patch + at.kx, C::IMG_LANES, v);
        at.x += C::IMG_LANES;
        at.kx += C::IMG_LANES;
        if (at.kx == patch) {
            at.kx = 0;
            ++at.px;
        }
        if (at.x == width) {
            at.x = at.kx = at.px = 0;
            ++at.y;
            if (++at.ky == patch) {
                at.ky = 0;
                ++at.py;
            }
            if (at.y == height) {
                at.y = at.ky = at.py = 0;
                at.col0 += patch * patch;
            }
        }
    }
}

// The image's words burst into a stream while the placer writes their pixels: no drain between words.
template <class C>
void image_dataflow(const ap_uint<C::WORD_BITS>* images, int base, int words, act_t<C> mem[C::NMEM][C::TM][C::DEPTH],
                    TensorRef out, int beats, int height, int width, int patch) {
#pragma HLS DATAFLOW
    stream<ap_uint<C::WORD_BITS> > image_words(ACCEL_FIFO("image_words", C::STREAM_DEPTH));
#pragma HLS STREAM variable = image_words depth = C::STREAM_DEPTH
    ACCEL_DATAFLOW("load_image")
    ACCEL_PROCESS(burst_words<C::WORD_BITS>(images, base, words, image_words));
    ACCEL_PROCESS(image_placer<C>(image_words, mem, out, beats, height, width, patch));
    ACCEL_DATAFLOW_END()
}

// The quantized image (C x H x W, C::IMAGE_WORDS words) into the patch-embedding rows; returns the
// placer's beats.
template <class C>
int load_image(const ap_uint<C::WORD_BITS>* images, int image, act_t<C> mem[C::NMEM][C::TM][C::DEPTH],
               const desc_regs_t& d) {
    static_assert(C::IMG_LANES >= 1 && C::IMG_LANES <= C::TM &&
                      (C::WORD_BITS / C::IMAGE_PIXEL_BITS) % C::IMG_LANES == 0,
                  "image lanes: consecutive banks of one DDR word");
    const int chans = d[D_IMG_C], height = d[D_IMG_H], width = d[D_IMG_W], patch = d[D_PATCH];
    const int n = chans * height * width;
    const int beats = n / C::IMG_LANES;
    image_dataflow<C>(images, image * C::IMAGE_WORDS, ceil_div(n, C::WORD_BITS / C::IMAGE_PIXEL_BITS), mem,
                      desc_tensor(d, D_OUT_MEM), beats, height, width, patch);
    return beats;
}

// Constant rows (the class token) from the stream of their words, one element per beat.
template <class C>
void const_placer(stream<ap_uint<C::WORD_BITS> >& words, act_t<C> mem[C::NMEM][C::TM][C::DEPTH], TensorRef out,
                  int n, int cols) {
    ap_uint<C::WORD_BITS> w = 0;
    int f = 0, r = 0, c = 0;
const_rows:
    for (int e = 0; e < n; ++e) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
        arena_write<C>(mem, out, r, c, act_t<C>(ap_int<C::PREFIX_BITS>(next_field<C::PREFIX_BITS>(words, w, f))));
        if (++c == cols) {
            c = 0;
            ++r;
        }
    }
}

template <class C>
void const_dataflow(const ap_uint<C::WORD_BITS>* params, int off, act_t<C> mem[C::NMEM][C::TM][C::DEPTH],
                    TensorRef out, int n, int cols) {
#pragma HLS DATAFLOW
    stream<ap_uint<C::WORD_BITS> > words(ACCEL_FIFO("const_words", C::STREAM_DEPTH));
#pragma HLS STREAM variable = words depth = C::STREAM_DEPTH
    ACCEL_DATAFLOW("const_rows")
    ACCEL_PROCESS(burst_words<C::WORD_BITS>(params, off, ceil_div(n, C::WORD_BITS / C::PREFIX_BITS), words));
    ACCEL_PROCESS(const_placer<C>(words, mem, out, n, cols));
    ACCEL_DATAFLOW_END()
}

// Constant rows (the class token) before the patch-embedding rows; returns the beats.
template <class C>
int write_const_rows(const ap_uint<C::WORD_BITS>* params, act_t<C> mem[C::NMEM][C::TM][C::DEPTH],
                     const desc_regs_t& d) {
    const int n = d[D_PREFIX_ROWS] * d[D_COLS];
    const_dataflow<C>(params, d[D_PREFIX_OFF], mem, desc_tensor(d, D_OUT_MEM), n, d[D_COLS]);
    return n;
}

// Copy a step's output tensor (its rows x cols from row 0) to the debug port.
template <class C, class OutBuf>
int dump_step(const act_t<C> mem[C::NMEM][C::TM][C::DEPTH], const OutBuf& outbuf, const desc_regs_t& d,
              ap_int<64>* dump, int image) {
    const int rows = d[D_DUMP_ROWS], cols = d[D_DUMP_COLS];
    const bool to_output = d[D_TO_OUTPUT] != 0;
    const TensorRef out = desc_tensor(d, D_OUT_MEM);
    const int base = image * C::DUMP_ELEMS + d[D_DUMP_OFF];
    int r = 0, c = 0;
dump_elems:
    for (int e = 0; e < rows * cols; ++e) {
#pragma HLS PIPELINE II = 1
        dump[base + e] = to_output ? ap_int<64>(outbuf[r][c % C::TM][c / C::TM])
                                   : ap_int<64>(arena_read<C>(mem, out, r, c));
        if (++c == cols) {
            c = 0;
            ++r;
        }
    }
    return rows * cols;
}

// The output layer's results (rows x cols of the logits buffer) to DDR: one unconditional m_axi write per
// word after its fields are gathered.
template <class C, class OutBuf>
int write_logits(const OutBuf& outbuf, ap_uint<C::WORD_BITS>* logits, int image) {
    const int per_word = C::WORD_BITS / C::LOGIT_BITS;
    const int n = C::OUT_ROWS * C::OUT_COLS;
    int r = 0, c = 0;
logits_words:
    for (int i = 0; i < C::LOGIT_WORDS; ++i) {
        ap_uint<C::WORD_BITS> w = 0;
    logits_out:
        for (int f = 0; f < min_int(n - i * per_word, per_word); ++f) {
#pragma HLS PIPELINE II = 1
            w.range(C::LOGIT_BITS * f + C::LOGIT_BITS - 1, C::LOGIT_BITS * f) =
                ap_int<C::LOGIT_BITS>(outbuf[r][c % C::TM][c / C::TM]);
            if (++c == C::OUT_COLS) {
                c = 0;
                ++r;
            }
        }
        logits[image * C::LOGIT_WORDS + i] = w;
    }
    return n;
}

}  // namespace accel

#endif  // ACCELGEN_ACCEL_IO_H
