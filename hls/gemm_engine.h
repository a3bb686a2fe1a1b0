// gemm_engine.h -- the GEMM engine: TM x (TN_FIXED + TN_POT) lanes, used for every matrix product.
//
// One layer (or one attention op, head by head) runs as a DATAFLOW region of three processes:
//
//   ddr_reader  --words-->  gearbox  --items-->  gemm_engine  <-> activation memories
//   (m_axi burst of the      (bit-packed items:    (per output tile: II = 1 beat loop, ping-pong
//    layer's blob region)     row meta, biases,      tile buffers: the next tile's items are
//                             weight vectors)        written into one half while this tile computes
//                                                    from the other)
//
// Loop nest of one output tile (docs/hardware.md), flattened into one pipelined beat loop:
//   for r in 0..rows:                      (row `rows` only drains the last row's store)
//     for b in 0..max(KC, S)-1:
//       MAC   (b < KC):  acc[lane] += sum_i x[r][b*TM + i] * w[lane][b*TM + i]   all lanes in parallel
//       STORE (b < S):   row r-1: requantize + write the tile's channels held by store slot b
//       FILL  (one item per beat while items of the next tile remain)
// Store slots: a tile's output channels go to the memory bank (channel % TM) they belong to. The plan
// (accelgen/hw/plan.py plan_tiles) deals each scheme's rows round robin over the banks, so lane i of a
// scheme holds the channel of bank (rot + i) % TM for the tile's rotation rot of that scheme, and stores
// in slot i / TM (power-of-two lanes after the FIXED_SLOTS slots of the fixed lanes): a row's outputs take
// S = FIXED_SLOTS + ceil(pot lanes / TM) beats (fewer when a layer uses fewer lanes), overlapped with the
// next row's KC reduction beats. At the end of a row the accumulators are copied into a ring of store
// positions [slot][bank] through one rotation per slot group (like the x window); each store beat writes
// ring[0][bank] and shifts the ring by one slot, so every store bank reads one fixed register.
//
// The parameter blob region of a DDR layer is one bit stream (layout and sizes: accelgen/hw/stream.py;
// field widths and positions: Config, emitted from accelgen/hw/constants.py):
//   [GELU table: GELU_ENTRIES entries, when fused]
//   for each tile: for each lane in use (fixed-point rows first, then power-of-two rows):
//     meta (META_BITS: channel, store slot, shift, res_shift, mult, res_mult at META_*_AT)
//     bias (BIAS_BITS each: one, or bias_rows for the patch embedding's per-(row, channel) table)
//       (items: the meta, then the biases in groups of BIAS_PER_ITEM, then the weight vectors)
//     KC weight vectors (TM x wbits for fixed rows, TM x POT_CODE_BITS codes for power-of-two rows)
#ifndef ACCELGEN_GEMM_ENGINE_H
#define ACCELGEN_GEMM_ENGINE_H

#include <cassert>

#include "accel_arena.h"
#include "accel_common.h"
#include "accel_desc.h"
#include "gemm_lanes.h"
#include "requant.h"

namespace accel {

// Field widths and positions come from the generated Config (accelgen/hw/constants.py).
template <class C>
constexpr int gelu_per_item() {
    return C::META_BITS / C::GELU_ENTRY_BITS;
}

// One GEMM step runs as the DATAFLOW region gemm_layer, where every scalar argument of a process is a
// channel of its width (UG1399): each process takes only the fields it reads (accelgen/hw/structures.py
// scalar_channels prices them).

// The step's region of the parameter blob: what ddr_reader reads (no words unless the step is a DDR GEMM).
struct BlobRegion {
    int off, words;
};

// What a tile's items follow from (the gearbox cuts them by it, the engine fills its tile buffers by it).
struct TileGeometry {
    int k;  // reduction length
    int fixed_rows, pot_rows, wbits, bias_rows;
};

// What the gearbox reads: the blob's words, the fused GELU table ahead of the tiles and the tiles' items
// (all empty unless the step is a DDR GEMM: no words, no table, no tiles).
struct GearboxJob {
    int words;
    bool gelu;
    TileGeometry tile;
};

// What the engine reads.
template <class C>
struct GemmJob {
    int kind;  // K_GEMM, K_QK or K_AV
    int rows, cols, heads;
    TileGeometry tile;
    TensorRef in, out, res, wt;
    int in_row0, in_col0, in_hrow, in_hcol;
    int out_row0, out_col0, out_hrow, out_hcol;
    int w_col0, w_hcol;
    bool has_res, to_output, clamp, gelu;
    int qmin, qmax, gelu_min;
    mult_t<C> mult;  // scalar requantization of QK^T / AV
    shift_t<C> shift;
    bias_t<C> bias;
    int slots;
};

// The arguments of gemm_layer's three processes, decoded once from the step's descriptor.
template <class C>
struct GemmStep {
    BlobRegion blob;
    GearboxJob items;
    GemmJob<C> job;
};

template <class C>
GemmStep<C> gemm_step(const desc_regs_t& d) {
    const bool ddr = d[D_KIND] == K_GEMM;
    GemmJob<C> g;
    g.kind = d[D_KIND];
    g.rows = d[D_ROWS];
    g.cols = d[D_COLS];
    g.heads = d[D_HEADS];
    g.tile = TileGeometry{d[D_K], d[D_FIXED_ROWS], d[D_POT_ROWS], d[D_WBITS], d[D_BIAS_ROWS]};
    g.in = desc_tensor(d, D_IN_MEM);
    g.out = desc_tensor(d, D_OUT_MEM);
    g.res = desc_tensor(d, D_RES_MEM);
    g.wt = desc_tensor(d, D_W_MEM);
    g.in_row0 = d[D_IN_ROW0];
    g.in_col0 = d[D_IN_COL0];
    g.in_hrow = d[D_IN_HROW];
    g.in_hcol = d[D_IN_HCOL];
    g.out_row0 = d[D_OUT_ROW0];
    g.out_col0 = d[D_OUT_COL0];
    g.out_hrow = d[D_OUT_HROW];
    g.out_hcol = d[D_OUT_HCOL];
    g.w_col0 = d[D_W_COL0];
    g.w_hcol = d[D_W_HCOL];
    g.has_res = d[D_RES] != 0;
    g.to_output = d[D_TO_OUTPUT] != 0;
    g.clamp = d[D_CLAMP] != 0;
    g.gelu = d[D_GELU] != 0;
    g.qmin = d[D_QMIN];
    g.qmax = d[D_QMAX];
    g.gelu_min = d[D_GELU_MIN];
    g.mult = d[D_MULT];
    g.shift = d[D_SHIFT];
    g.bias = desc_wide(d, D_BIAS_LO, D_BIAS_HI);
    g.slots = d[D_SLOTS];
    const int words = ddr ? d[D_PARAM_WORDS] : 0;
    const GearboxJob items = ddr ? GearboxJob{words, g.gelu, g.tile} : GearboxJob{};
    return GemmStep<C>{BlobRegion{d[D_PARAM_OFF], words}, items, g};
}

// Rows of a scheme handled by tile t when `lanes` lanes take `total` rows in order.
inline int lanes_in_tile(int total, int lanes, int t) {
    const int left = total - t * lanes;
    return left <= 0 ? 0 : (left > lanes ? lanes : left);
}

// Tiles of a DDR step: every tile holds at least one lane (the more of the two schemes' tile counts).
template <class C>
int ddr_tiles(const TileGeometry& g) {
    const int fixed = ceil_div(g.fixed_rows, C::TN_FIXED);
    const int pot = C::TN_POT == 0 ? 0 : ceil_div(g.pot_rows, at_least_one(C::TN_POT));
    return fixed > pot ? fixed : pot;
}

template <class C>
int gemm_tiles(const GemmJob<C>& g) {
    return g.kind == K_GEMM ? ddr_tiles<C>(g.tile) : ceil_div(g.cols, C::TN_FIXED);
}

template <class C>
constexpr int item_width() {
    return max_int(C::ITEM_MIN_BITS, C::TM * C::WEIGHT_ITEM_BITS);
}

// Bias items of one lane: one bias, or the table's rows in groups of BIAS_PER_ITEM.
template <class C>
int bias_items(const TileGeometry& g) {
#pragma HLS INLINE
    return g.bias_rows > 0 ? ceil_div(g.bias_rows, C::BIAS_PER_ITEM) : 1;
}

// Items of one DDR tile: per lane in use, one meta item, the bias items and KC weight vectors.
template <class C>
struct TileShape {
    int fixed, pot;     // lanes in use
    int per_lane;       // items per lane
    int items() const { return (fixed + pot) * per_lane; }
};

template <class C>
TileShape<C> tile_shape(const TileGeometry& g, int t) {
    TileShape<C> s;
    s.fixed = lanes_in_tile(g.fixed_rows, C::TN_FIXED, t);
    s.pot = C::TN_POT == 0 ? 0 : lanes_in_tile(g.pot_rows, at_least_one(C::TN_POT), t);
    s.per_lane = 1 + bias_items<C>(g) + ceil_div(g.k, C::TM);
    return s;
}

// Position in a tile's item sequence (lane in tile order, item within the lane).
struct TileCursor {
    int lane;
    int pos;
};

inline void cursor_next(TileCursor& c, int per_lane) {
#pragma HLS INLINE
    if (++c.pos == per_lane) {
        c.pos = 0;
        ++c.lane;
    }
}

// Width of the item at the cursor: the meta, a group of up to BIAS_PER_ITEM biases, or a weight vector.
template <class C>
int item_bits(const TileGeometry& g, const TileShape<C>& s, TileCursor c) {
#pragma HLS INLINE
    if (c.pos == 0) return C::META_BITS;
    if (c.pos <= bias_items<C>(g)) {
        const int left = g.bias_rows - (c.pos - 1) * C::BIAS_PER_ITEM;
        return C::BIAS_BITS * (g.bias_rows == 0 ? 1 : (left < C::BIAS_PER_ITEM ? left : C::BIAS_PER_ITEM));
    }
    return C::TM * (c.lane < s.fixed ? g.wbits : C::POT_CODE_BITS);
}

template <class C>
using word_t = ap_uint<C::WORD_BITS>;

template <class C>
using item_t = ap_uint<item_width<C>()>;

// ---------------------------------------------------------------------------------------------
// Process 1: burst-read the layer's region of the parameter blob.
template <class C>
void ddr_reader(const word_t<C>* params, BlobRegion blob, stream<word_t<C> >& words) {
ddr_burst:
    for (int i = 0; i < blob.words; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
        words.write(params[blob.off + i]);
    }
}

// Process 2: cut the bit stream into items (GELU items, then each tile's meta / bias / vector items).
// Each beat may both emit an item and take a word, so items flow at one per beat while words last.
template <class C>
void gearbox(stream<word_t<C> >& words, GearboxJob job, stream<item_t<C> >& items) {
    const int buf_bits = C::WORD_BITS + item_width<C>();
    typedef ap_uint<buf_bits> buf_t;
    const int tiles = ddr_tiles<C>(job.tile);
    int gelu_left = job.gelu ? ceil_div(C::GELU_ENTRIES, gelu_per_item<C>()) : 0;
    int t = 0;
    TileShape<C> shape = tile_shape<C>(job.tile, 0);
    TileCursor cur = {0, 0};
    buf_t buf = 0;
    unsigned have = 0;  // cursor widths are unsigned: one-way shifters
    int read = 0;
gear:
    for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 8192
        const bool more = gelu_left > 0 || t < tiles;
        if (!more && read >= job.words) break;
        const unsigned need = gelu_left > 0 ? C::META_BITS : item_bits<C>(job.tile, shape, cur);
        const bool emit = more && have >= need;
        const unsigned kept = emit ? have - need : have;
        const bool fetch = read < job.words && kept + C::WORD_BITS <= buf_bits;
        if (emit) {
            items.write(item_t<C>(buf.range(need - 1, 0)));
            buf >>= need;
            if (gelu_left > 0) {
                --gelu_left;
            } else {
                cursor_next(cur, shape.per_lane);
                if (cur.lane == shape.fixed + shape.pot) {
                    ++t;
                    cur.lane = 0;
                    shape = tile_shape<C>(job.tile, t < tiles ? t : 0);
                }
            }
        }
        have = kept;
        if (fetch) {
            const word_t<C> w = words.read();
            ++read;
            if (more) {
                buf |= buf_t(w) << have;
                have += C::WORD_BITS;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Process 3: the engine.

template <class C>
struct EngineTypes {
    static const int LANES = C::TN_FIXED + C::TN_POT;
    static const int TNP = at_least_one(C::TN_POT);
    typedef ap_int<C::X_BITS> x_t;
    typedef ap_int<C::W_BITS> w_t;
    typedef ap_int<C::ACC_BITS> acc_t;
    typedef ap_int<C::SUM_BITS> sum_t;
};

// Results of the model's output layer (the logits), kept on chip until the image is done.
template <class C>
using out_buffer_t = ap_int<C::OUT_BITS>[C::OUT_ROWS][C::TM][C::OUT_WORDS];

// Requantization parameters of one output channel (the row meta of the blob).
template <class C>
struct LaneParams {
    mult_t<C> mult;
    mult_t<C> res_mult;
    res_shift_t<C> res_shift;  // the residual multiplier is res_mult << res_shift
    shift_t<C> shift;
    int col;  // output column
};

// The engine's tile buffers, ping-pong by the leading [2] index: the next tile is written into one
// half while the current tile computes from the other.
template <class C>
using wfix_t = typename EngineTypes<C>::w_t[2][C::TN_FIXED][C::KC_MAX][C::TM];
template <class C>
using wpot_t = pot_code_t<C::POT_CODE_BITS>[2][EngineTypes<C>::TNP][C::KC_MAX][C::TM];
// Requantization parameters and biases by store position (slot, bank): the fill writes a channel's where
// its output goes, so each store bank reads its own (no lane crossbar for them).
template <class C>
using store_params_t = LaneParams<C>[2][C::SLOTS_MAX][C::TM];
template <class C>
using biases_t = bias_t<C>[2][C::SLOTS_MAX][C::TM][C::BIAS_ROWS_MAX];
template <class C>
using slots_t = bool[2][C::SLOTS_MAX][C::TM];  // a channel is stored at (slot, bank)
template <class C>
using accs_t = typename EngineTypes<C>::acc_t[EngineTypes<C>::LANES];
// The accumulators of the last finished row by store position (slot, bank).
template <class C>
using ring_t = typename EngineTypes<C>::acc_t[C::SLOTS_MAX][C::TM];

// A tile's rotations: lane i of a scheme holds the channel of bank (rot + i) % TM.
struct Rotation {
    int fixed;
    int pot;
};
template <class C>
using gelu_tables_t = ap_int<C::GELU_ENTRY_BITS>[C::TM][C::GELU_ENTRIES];

template <class C>
void clear_slots(slots_t<C>& sel, int half) {
#pragma HLS INLINE
clear_sel:
    for (int i = 0; i < C::SLOTS_MAX; ++i) {
#pragma HLS UNROLL
    clear_sel_banks:
        for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
            sel[half][i][b] = false;
        }
    }
}

// Field of a row meta item: `BITS` bits from bit `AT`.
template <int AT, int BITS, class Item>
ap_uint<BITS> meta_field(const Item& item) {
#pragma HLS INLINE
    return item.range(AT + BITS - 1, AT);
}

// Field i of a weight vector item as a signed W-bit weight (the fixed-point widths: Config WBITS_*).
template <int W, class Item>
ap_int<W> signed_field_at(const Item& item, int i) {
#pragma HLS INLINE
    return ap_int<W>(field_at<W>(item, i));
}

// Store position (slot, bank) of the lane being filled: set by its meta item, used by its bias items.
struct StorePos {
    int slot;
    int bank;
};

// Apply one DDR item of a tile to buffer half `half`.
template <class C>
void apply_item(wfix_t<C>& wf, wpot_t<C>& wp, store_params_t<C>& sp, biases_t<C>& bias, slots_t<C>& sel,
                Rotation rot[2], int half, const GemmJob<C>& g, const TileShape<C>& shape, TileCursor c, StorePos& dest,
                item_t<C> item) {
#pragma HLS INLINE
    const bool fixed = c.lane < shape.fixed;
    const int lane = fixed ? c.lane : C::TN_FIXED + (c.lane - shape.fixed);
    const int n_bias = bias_items<C>(g.tile);
    if (c.pos == 0) {
        const int chan = meta_field<C::META_CHANNEL_AT, C::META_CHANNEL_BITS>(item).to_int();
        const int slot = meta_field<C::META_SLOT_AT, C::META_SLOT_BITS>(item).to_int();
        dest.slot = slot;
        dest.bank = chan % C::TM;
        LaneParams<C>& p = sp[half][slot][dest.bank];
        p.col = chan;
        p.shift = meta_field<C::META_SHIFT_AT, C::META_SHIFT_BITS>(item);
        p.res_shift = meta_field<C::META_RES_SHIFT_AT, C::META_RES_SHIFT_BITS>(item);
        p.mult = meta_field<C::META_MULT_AT, C::META_MULT_BITS>(item);
        p.res_mult = meta_field<C::META_RES_MULT_AT, C::META_RES_MULT_BITS>(item);
        sel[half][slot][dest.bank] = true;
        // a scheme's first lane holds the channel of bank rot
        if (c.lane == 0 && fixed) rot[half].fixed = dest.bank;
        if (c.lane == shape.fixed && !fixed) rot[half].pot = dest.bank;
    } else if (c.pos <= n_bias) {
    unpack_biases:
        for (int j = 0; j < C::BIAS_PER_ITEM; ++j) {
#pragma HLS UNROLL
            const int row = (c.pos - 1) * C::BIAS_PER_ITEM + j;
            if (j == 0 || row < g.tile.bias_rows) {
                bias[half][dest.slot][dest.bank][row] = bias_t<C>(field_at<C::BIAS_BITS>(item, j));
            }
        }
    } else {
        const int kc = c.pos - 1 - n_bias;
    unpack:
        for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
            if (!fixed) {
                wp[half][lane - C::TN_FIXED][kc][i] = field_at<C::POT_CODE_BITS>(item, i);
            } else if (g.tile.wbits == C::WBITS_WIDE) {
                wf[half][lane][kc][i] = signed_field_at<C::WBITS_WIDE>(item, i);
            } else {
                wf[half][lane][kc][i] = signed_field_at<C::WBITS_NARROW>(item, i);
            }
        }
    }
}

// Fill buffer half `half` with attention "weights" from the activation memory (keys for QK^T, value
// columns for AV) and the scalar requantization; returns the beats spent. `lanes` lanes are in use.
template <class C>
int fill_from_arena(wfix_t<C>& wf, store_params_t<C>& sp, biases_t<C>& bias, slots_t<C>& sel, Rotation rot[2],
                    int half, const act_t<C> mem[C::NMEM][C::TM][C::DEPTH], const GemmJob<C>& g, int h, int t,
                    int lanes) {
    const int kc_n = ceil_div(g.tile.k, C::TM);
    const int wcol = g.w_col0 + h * g.w_hcol;
    const int ocol = g.out_col0 + h * g.out_hcol + t * C::TN_FIXED;
    const int off = ocol % C::TM;
    rot[half].fixed = off;
    rot[half].pot = 0;
// Lane l's channel ocol + l goes to slot l / TM, bank (off + l) % TM (rotation off): each position
// computes which lane it holds.
store_slots:
    for (int sl = 0; sl < C::SLOTS_MAX; ++sl) {
#pragma HLS UNROLL
    store_slot_banks:
        for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
            const int l = sl * C::TM + (b >= off ? b - off : b + C::TM - off);
            LaneParams<C>& p = sp[half][sl][b];
            p.col = ocol + l;
            p.mult = g.mult;
            p.res_mult = 0;
            p.res_shift = 0;
            p.shift = g.shift;
            bias[half][sl][b][0] = g.bias;
            sel[half][sl][b] = l < lanes;
        }
    }
    int beats = 0;
    if (g.kind == K_QK) {
    fill_keys:
        for (int l = 0; l < lanes; ++l) {
        fill_key_steps:
            for (int kc = 0; kc < kc_n; ++kc) {
#pragma HLS PIPELINE II = 1
                act_t<C> v[C::TM];
                window_read<C>(mem, g.wt, t * C::TN_FIXED + l, wcol + kc * C::TM, wcol + g.tile.k, v);
            fill_key_elems:
                for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
                    wf[half][l][kc][i] = v[i];
                }
                ++beats;
            }
        }
    } else {
        const int chunks = ceil_div(lanes, C::TM);
        const int first = wcol + t * C::TN_FIXED;
    fill_values:
        for (int j = 0; j < g.tile.k; ++j) {
        fill_value_chunks:
            for (int q = 0; q < chunks; ++q) {
#pragma HLS PIPELINE II = 1
                act_t<C> v[C::TM];
                window_read<C>(mem, g.wt, j, first + q * C::TM, first + lanes, v);
            // Every lane writes its own memory when the window holds its column (chunk l / TM).
            fill_value_lanes:
                for (int l = 0; l < C::TN_FIXED; ++l) {
#pragma HLS UNROLL
                    if (l / C::TM == q && l < lanes) wf[half][l][j / C::TM][j % C::TM] = v[l % C::TM];
                }
                ++beats;
            }
        }
    }
    return beats;
}

// One beat's reads: the x window (memory in.mem) and the residual values of one store slot (memory
// res.mem). Each memory serves one read per bank per beat: the placement keeps the two apart.
template <class C>
void engine_reads(const act_t<C> mem[C::NMEM][C::TM][C::DEPTH], const store_params_t<C>& sp, const slots_t<C>& sel,
                  int half, const GemmJob<C>& g, bool mac, int xrow, int xc0, int xlimit, bool store, int slot,
                  int rrow, act_t<C> x[C::TM], act_t<C> res[C::TM]) {
#pragma HLS INLINE
    act_t<C> xbank[C::TM];
bank_reads:
    for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
        const WindowBank wx = window_bank<C>(g.in, xrow, xc0, xlimit, b);
        const bool ren = g.has_res && store && sel[half][slot][b];
        const int rword = ren ? arena_word<C>(g.res, rrow, sp[half][slot][b].col) : 0;
        xbank[b] = 0;
        res[b] = 0;
    bank_memories:
        for (int m = 0; m < C::NMEM; ++m) {
#pragma HLS UNROLL
            const bool is_x = m == g.in.mem;
            const bool en = is_x ? (mac && wx.valid) : (ren && m == g.res.mem);
            const act_t<C> v = en ? mem[m][b][is_x ? wx.word : rword] : act_t<C>(0);
            if (is_x) {
                xbank[b] = v;
            } else if (m == g.res.mem) {
                res[b] = v;
            }
        }
    }
    window_rotate<C>(xbank, xc0, x);
}

// The fixed-point lanes' MAC: two lanes per DSP when C::DSP_PACKING (C++14: chosen by specialization).
template <class C, bool PACKED = C::DSP_PACKING>
struct FixedLanes {
    static void mac(const wfix_t<C>& wf, accs_t<C>& acc, int half, const typename EngineTypes<C>::x_t x[C::TM],
                    int b, bool first) {
#pragma HLS INLINE
        typedef typename EngineTypes<C>::acc_t acc_t;
    fixed_lanes:
        for (int l = 0; l < C::TN_FIXED; ++l) {
#pragma HLS UNROLL
            acc[l] = (first ? acc_t(0) : acc[l]) + fixed_dot<C::TM, C::X_BITS, C::W_BITS>(x, wf[half][l][b]);
        }
    }
};

template <class C>
struct FixedLanes<C, true> {
    static void mac(const wfix_t<C>& wf, accs_t<C>& acc, int half, const typename EngineTypes<C>::x_t x[C::TM],
                    int b, bool first) {
#pragma HLS INLINE
        typedef typename EngineTypes<C>::acc_t acc_t;
    packed_lanes:
        for (int p = 0; p < C::TN_FIXED / 2; ++p) {
#pragma HLS UNROLL
            ap_int<C::X_BITS + C::W_BITS + bits_for(C::TM)> sa, sb;
            packed_dot<C::TM, C::X_BITS, C::W_BITS, C::PACK_SHIFT>(x, wf[half][2 * p][b], wf[half][2 * p + 1][b], sa,
                                                                    sb);
            acc[2 * p] = (first ? acc_t(0) : acc[2 * p]) + sa;
            acc[2 * p + 1] = (first ? acc_t(0) : acc[2 * p + 1]) + sb;
        }
        if (C::TN_FIXED % 2 == 1) {
            const int l = C::TN_FIXED - 1;
            acc[l] = (first ? acc_t(0) : acc[l]) + fixed_dot<C::TM, C::X_BITS, C::W_BITS>(x, wf[half][l][b]);
        }
    }
};

// MAC of one reduction step on every lane.
template <class C>
void engine_mac(const wfix_t<C>& wf, const wpot_t<C>& wp, accs_t<C>& acc, int half, const act_t<C> xa[C::TM], int b) {
#pragma HLS INLINE
    typedef EngineTypes<C> E;
    typedef typename E::acc_t acc_t;
    typename E::x_t x[C::TM];
cast_x:
    for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
        x[i] = xa[i];
    }
    const bool first = b == 0;
    FixedLanes<C>::mac(wf, acc, half, x, b, first);
pot_lanes:
    for (int l = 0; l < C::TN_POT; ++l) {
#pragma HLS UNROLL
        const int lane = C::TN_FIXED + l;
        acc[lane] = (first ? acc_t(0) : acc[lane]) +
                    pot_dot<C::TM, C::X_BITS, C::POT_MAX_EXP, C::POT_CODE_BITS>(x, wp[half][l][b]);
    }
}

// Copy the finished row's accumulators into the ring of store positions: slot s < FIXED_SLOTS holds fixed
// lanes s*TM .. s*TM + TM - 1 rotated by rot.fixed, the slots after it the PoT lanes rotated by rot.pot
// (position (s, b) holds lane i of its group with (rot + i) % TM == b).
template <class C>
void engine_latch(const accs_t<C>& acc, ring_t<C>& ring, Rotation rot) {
#pragma HLS INLINE
    typedef typename EngineTypes<C>::acc_t acc_t;
ring_slots:
    for (int s = 0; s < C::SLOTS_MAX; ++s) {
#pragma HLS UNROLL
        const bool pot = s >= C::FIXED_SLOTS;
        const int first = pot ? C::TN_FIXED + (s - C::FIXED_SLOTS) * C::TM : s * C::TM;
        const int end = pot ? EngineTypes<C>::LANES : C::TN_FIXED;
        acc_t group[C::TM];
    ring_group:
        for (int i = 0; i < C::TM; ++i) {
#pragma HLS UNROLL
            group[i] = first + i < end ? acc[first + i] : acc_t(0);
        }
        // ring[s][b] = group[(b - rot) mod TM]
        window_rotate<C>(group, C::TM - (pot ? rot.pot : rot.fixed), ring[s]);
    }
}

// Requantize and write the channels of one store slot of row `row` (one per memory bank): bank b reads
// ring[0][b], then the ring shifts by one slot.
template <class C>
void engine_store(act_t<C> mem[C::NMEM][C::TM][C::DEPTH], out_buffer_t<C>& outbuf, const store_params_t<C>& sp,
                  const biases_t<C>& bias, const slots_t<C>& sel, ring_t<C>& ring, const gelu_tables_t<C>& gelu,
                  int half, const GemmJob<C>& g, int slot, int row, int out_row, const act_t<C> res[C::TM]) {
#pragma HLS INLINE
    typedef EngineTypes<C> E;
store_banks:
    for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
        if (sel[half][slot][b]) {
            const LaneParams<C> p = sp[half][slot][b];
            const bias_t<C> bv = bias[half][slot][b][g.tile.bias_rows > 0 ? row : 0];
            typename E::sum_t y = requant<C, C::SUM_BITS, C::ACC_BITS, C::ACT_BITS>(
                ring[0][b], p.mult, res[b], p.res_mult, p.res_shift, bv, p.shift, g.clamp, g.qmin, g.qmax);
            if (g.gelu) y = gelu[b][y.to_int() - g.gelu_min];
            if (g.to_output) {
                outbuf[out_row][b][p.col / C::TM] = y;
            } else {
                mem[g.out.mem][b][arena_word<C>(g.out, out_row, p.col)] = y;
            }
        }
    }
ring_shift:
    for (int s = 0; s + 1 < C::SLOTS_MAX; ++s) {
#pragma HLS UNROLL
    ring_shift_banks:
        for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
            ring[s][b] = ring[s + 1][b];
        }
    }
}

template <class C>
void gemm_engine(act_t<C> mem[C::NMEM][C::TM][C::DEPTH], out_buffer_t<C>& outbuf, GemmJob<C> g,
                 stream<item_t<C> >& items, ap_uint<32>& beats_out) {
    static wfix_t<C> wf;
    static wpot_t<C> wp;
    static store_params_t<C> sp;
    static biases_t<C> bias;
    static slots_t<C> sel;
    static Rotation rot[2];
    static accs_t<C> acc;
    static ring_t<C> ring;
    static gelu_tables_t<C> gelu;
// One bank per lane holding both halves (the half is an address bit: the fill writes one half while the
// lanes read the other, one simple dual-port memory), a TM-wide vector per word.
#pragma HLS ARRAY_PARTITION variable = wf complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = wf complete dim = 4
ACCEL_PRAGMA(HLS BIND_STORAGE variable = wf type = ram_s2p impl = ACCEL_WEIGHT_MEMORY)
#pragma HLS ARRAY_PARTITION variable = wp complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = wp complete dim = 4
ACCEL_PRAGMA(HLS BIND_STORAGE variable = wp type = ram_s2p impl = ACCEL_WEIGHT_MEMORY)
// One parameter memory per store bank (half and slot are address bits); the bias table per bank in
// BIAS_PER_ITEM interleaved memories (a bias item writes that many consecutive rows).
#pragma HLS ARRAY_PARTITION variable = sp complete dim = 3
ACCEL_PRAGMA(HLS BIND_STORAGE variable = sp type = ram_s2p impl = ACCEL_STORE_PARAMS_MEMORY)
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 3
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = C::BIAS_PER_ITEM dim = 4
ACCEL_PRAGMA(HLS BIND_STORAGE variable = bias type = ram_s2p impl = ACCEL_BIAS_MEMORY)
#pragma HLS ARRAY_PARTITION variable = sel complete dim = 0
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
#pragma HLS ARRAY_PARTITION variable = ring complete dim = 0
#pragma HLS ARRAY_PARTITION variable = rot complete dim = 0
#pragma HLS ARRAY_PARTITION variable = gelu complete dim = 1
ACCEL_PRAGMA(HLS BIND_STORAGE variable = gelu type = ram_s2p impl = ACCEL_GELU_MEMORY)
    assert(!g.has_res || g.in.mem != g.res.mem);  // the placement keeps same-beat reads apart
    const bool ddr = g.kind == K_GEMM;
    const int kc_n = ceil_div(g.tile.k, C::TM);
    const int tiles = gemm_tiles<C>(g);
    ap_uint<32> beats = 0;

    if (ddr && g.gelu) {
    gelu_table:
        for (int i = 0; i < ceil_div(C::GELU_ENTRIES, gelu_per_item<C>()); ++i) {
#pragma HLS PIPELINE II = 1
            const item_t<C> item = items.read();
        gelu_entries:
            for (int j = 0; j < gelu_per_item<C>(); ++j) {
#pragma HLS UNROLL
                const int e = i * gelu_per_item<C>() + j;
            gelu_copies:
                for (int b = 0; b < C::TM; ++b) {
#pragma HLS UNROLL
                    if (e < C::GELU_ENTRIES) gelu[b][e] = field_at<C::GELU_ENTRY_BITS>(item, j);
                }
            }
            ++beats;
        }
    }
    int half = 0;
    if (ddr) {
        const TileShape<C> shape = tile_shape<C>(g.tile, 0);
        clear_slots<C>(sel, 0);
        TileCursor c = {0, 0};
        StorePos dest = {0, 0};
    first_tile:
        for (int i = 0; i < shape.items(); ++i) {
#pragma HLS PIPELINE II = 1
            apply_item<C>(wf, wp, sp, bias, sel, rot, 0, g, shape, c, dest, items.read());
            cursor_next(c, shape.per_lane);
            ++beats;
        }
    }
heads:
    for (int h = 0; h < g.heads; ++h) {
    tiles_loop:
        for (int t = 0; t < tiles; ++t) {
            int slots = g.slots;
            if (!ddr) {
                const int lanes = lanes_in_tile(g.cols, C::TN_FIXED, t);
                beats += fill_from_arena<C>(wf, sp, bias, sel, rot, half, mem, g, h, t, lanes);
                slots = ceil_div(lanes, C::TM);
            }
            const bool fill_next = ddr && t + 1 < tiles;
            const TileShape<C> next = tile_shape<C>(g.tile, fill_next ? t + 1 : 0);
            const int fill_beats = fill_next ? next.items() : 0;
            const int row_beats = kc_n > slots ? kc_n : slots;
            const int compute_beats = (g.rows + 1) * row_beats;
            const int total = compute_beats > fill_beats ? compute_beats : fill_beats;
            const int xc0 = g.in_col0 + h * g.in_hcol;
            TileCursor c = {0, 0};
            StorePos dest = {0, 0};
            int r = 0, b = 0;
        beat:
            for (int i = 0; i < total; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
// The x window, the residual reads and the stores touch different memories or rows (the placement
// keeps them apart). The fill writes one half of the tile buffers while the MAC and the store read the
// other; the loop drains between tiles before the halves swap.
#pragma HLS DEPENDENCE variable = mem inter false
#pragma HLS DEPENDENCE variable = mem intra false
#pragma HLS DEPENDENCE variable = wf inter false
#pragma HLS DEPENDENCE variable = wp inter false
#pragma HLS DEPENDENCE variable = sp inter false
#pragma HLS DEPENDENCE variable = sel inter false
#pragma HLS DEPENDENCE variable = rot inter false
#pragma HLS DEPENDENCE variable = bias inter false
                const bool mac = r < g.rows && b < kc_n;
                const bool store = r >= 1 && r <= g.rows && b < slots;
                act_t<C> x[C::TM], res[C::TM];
                engine_reads<C>(mem, sp, sel, half, g, mac, g.in_row0 + h * g.in_hrow + r, xc0 + b * C::TM,
                                xc0 + g.tile.k, store, b, r - 1, x, res);
                if (mac) engine_mac<C>(wf, wp, acc, half, x, b);
                if (store) {
                    engine_store<C>(mem, outbuf, sp, bias, sel, ring, gelu, half, g, b, r - 1,
                                    g.out_row0 + h * g.out_hrow + r - 1, res);
                }
                // the row's last beat (after its MAC and the previous row's last store)
                if (r < g.rows && b == row_beats - 1) engine_latch<C>(acc, ring, rot[half]);
                if (i < fill_beats) {
                    if (i == 0) clear_slots<C>(sel, half ^ 1);
                    apply_item<C>(wf, wp, sp, bias, sel, rot, half ^ 1, g, next, c, dest, items.read());
                    cursor_next(c, next.per_lane);
                }
                if (++b == row_beats) {
                    b = 0;
                    ++r;
                }
            }
            beats += total;
            half ^= 1;
        }
    }
    beats_out = beats;
}

// One GEMM step: the DATAFLOW region (weights stream from DDR while the engine computes).
template <class C>
void gemm_layer(const word_t<C>* params, act_t<C> mem[C::NMEM][C::TM][C::DEPTH], out_buffer_t<C>& outbuf,
                const GemmStep<C>& s, ap_uint<32>& beats) {
#pragma HLS DATAFLOW
    stream<word_t<C> > words(ACCEL_FIFO("gemm_words", C::STREAM_DEPTH));
    stream<item_t<C> > items(ACCEL_FIFO("gemm_items", C::STREAM_DEPTH));
#pragma HLS STREAM variable = words depth = C::STREAM_DEPTH
#pragma HLS STREAM variable = items depth = C::STREAM_DEPTH
    ACCEL_DATAFLOW("gemm_layer")
    ACCEL_PROCESS(ddr_reader<C>(params, s.blob, words));
    ACCEL_PROCESS(gearbox<C>(words, s.items, items));
    ACCEL_PROCESS(gemm_engine<C>(mem, outbuf, s.job, items, beats));
    ACCEL_DATAFLOW_END()
}

}  // namespace accel

#endif  // ACCELGEN_GEMM_ENGINE_H
