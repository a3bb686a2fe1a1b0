`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// gemm_tile.v -- one output tile of the accelgen GEMM engine, the microarchitecture
// of hls/gemm_engine.h (docs/hardware.md): TN = TNF + TNP output lanes, each
// accumulating `rows` outputs over a reduction of kc beats of TM inputs; at the end
// of a row the accumulators are copied through the tile's rotation into a ring of
// SLOTS x TM store positions, and each of the row's S store beats requantizes
// (docs/numerics.md section 3) ring[0][b] for every memory bank b with TM
// requantizers (one per store bank), applies the optional fused GELU table
// (section 7), writes one output beat and shifts the ring by one slot.  The store
// beats of a row overlap the next row's reduction beats (a row takes max(kc, S)
// beats).  No lane crossbar: the plan (accelgen/hw/plan.py plan_tiles) deals each
// scheme's rows round robin over the banks, so lane i of a scheme holds the
// channel of bank (rot + i) mod TM and stores in slot i / TM (PoT lanes after the
// FSLOTS slots of the fixed lanes); ring[s][b] = group_s[(b - rot) mod TM]
// (rtl/rotator.v by TM - rot, as engine_latch).
//
// Lanes (rtl/lanes/):
//   lanes 0 .. TNF-1      fixed-point rows on DSPs: with PACK, pairs (2p, 2p+1)
//                         share one DSP48E2 per product (dsp_pack2), an odd last
//                         fixed lane is a fixed_lane; without PACK every fixed
//                         lane is a fixed_lane (WB-bit signed weights)
//   lanes TNF .. TN-1     power-of-two rows in LUTs (pot_lane, PWB-bit codes
//                         {sign, exponent}, exponent all-ones = zero)
// Both schemes accumulate the same integers; the two lane kinds are aligned in
// time (pot/fixed lanes are delayed by one register when packed pairs, one
// stage deeper, exist) and in width (ACCB-bit accumulators) before the latch.
// Per lane: its own ping-pong weight memory (2 halves of KC_MAX words of TM
// weights).  Per store bank b: the requantization constants (mult, shift,
// res_mult, res_shift) and a valid bit (`sel`) of each store position
// (half, slot), and BIAS_ROWS bias entries per position (row r of a tile uses
// entry r mod bias_rows: 1 for ordinary layers, the patch count for the patch
// embedding's bias + position table) -- written at load time by store
// position, as the HLS store_params_t / biases_t / slots_t.
//
// Interfaces (clk, synchronous active-high rst):
//   load port   ld_*: ld_w_en writes a weight word (lane ld_lane, half ld_bank,
//               reduction step ld_addr; fixed lanes take TM*WB bits, PoT lanes
//               the low TM*PWB bits); ld_clr clears every sel bit of half
//               ld_bank; ld_q_en writes the constants of store position
//               (ld_slot, ld_sbank) of half ld_bank and sets its sel bit;
//               ld_b_en writes its bias entry ld_brow.  Always accepted; the
//               controller writes the half that is not in use (ping-pong).
//   cmd         one beat per tile (valid/ready): half (cmd_bank), rows, kc
//               (beats per row), slots (S, store beats per row), the
//               rotations of the fixed and the PoT lanes, bias_rows, has_res,
//               clamp + qmin/qmax, gelu + gelu_sel.  One command is queued
//               while a tile runs, so consecutive tiles stream without a bubble.
//   x           AXI-Stream of activations, TM signed XB-bit values per beat
//               (element i at x_data[i*XB +: XB]; zero-padded past K), kc beats
//               per row, rows rows per tile; x_last is informational.
//   r           residual AXI-Stream, one beat per store beat when has_res: TM
//               signed RB-bit values (bank b at r_data[b*RB +: RB]).
//   y           AXI-Stream, one beat per store beat (S per row): TM signed
//               OB-bit outputs (bank b at y_data[b*OB +: OB], 0 where not
//               stored) and y_sel (bit b: bank b holds an output), y_last on
//               the last store beat of the tile -- what the HLS writes to the
//               TM memory banks.
// Backpressure: x_ready / r_ready / cmd_ready depend on registered state only.
// The last beat of a row is accepted only when the output queue has room for
// its S beats (credit counter over beats in flight + queued), with has_res S
// residual beats are waiting, and the previous row's store beats have started
// S_prev cycles earlier (the ring is free); y may stall indefinitely.
//
// Timing (no backpressure, kc >= S): a tile of R rows x kc beats takes R*kc
// cycles of input at II = 1; from the first accepted x beat to the last output
// transfer a tile takes R*kc + LATENCY + S - 1 cycles, LATENCY = 8 +
// max(LL, LPAD): weight read (1), lanes (LL = 3+T, 4+T with packed pairs,
// T = clog2(TM)/PIPE_LVLS), ring latch (1), requantization (4), GELU stage
// (1), queue (1); the S - 1 further store beats of the last row follow.  The
// output is delayed by LPAD - LL registers so that LATENCY = 15 for every
// TM <= 64, one constant for the perf model (accelgen/hw/constants.py
// GEMM_PIPELINE).  Consecutive tiles overlap without a bubble.
// -----------------------------------------------------------------------------
module gemm_tile #(
    parameter TM          = 8,     // reduction width (inputs per beat) = store banks
    parameter TNF         = 4,     // fixed-point lanes
    parameter TNP         = 0,     // power-of-two lanes
    parameter SLOTS       = 1,     // store slots of the ring (the HLS SLOTS_MAX)
    parameter FSLOTS      = 1,     // slots of the fixed lanes: ceil(TNF / TM) (the HLS FIXED_SLOTS)
    parameter PACK        = 1,     // 1: pairs of fixed lanes share DSPs (dsp_pack2)
    parameter XB          = 8,     // activation bits (signed)
    parameter WB          = 8,     // fixed-point weight bits (signed)
    parameter PWB         = 4,     // power-of-two weight code bits
    parameter SH          = 18,    // dsp_pack2 field shift (>= XB + WB)
    parameter ACCB        = 32,    // accumulator bits
    parameter PIPE_LVLS   = 2,     // lanes' adder-tree pipelining
    parameter KC_MAX      = 16,    // largest kc (reduction beats per row)
    parameter BIAS_ROWS   = 1,     // bias entries per store position and half
    parameter ROWB        = 16,    // width of the row count
    parameter RB          = 8,     // residual bits (signed)
    parameter MB          = 16,    // multiplier bits (unsigned)
    parameter BB          = 48,    // bias bits (signed)
    parameter SHB         = 6,     // shift bits
    parameter RSB         = 5,     // residual multiplier shift bits (res_mult << res_shift)
    parameter OB          = 8,     // output bits (signed)
    parameter OUT_DEPTH   = 32,    // output queue (beats)
    parameter LPAD        = 7,     // lane latency the tile is padded to (7: TM <= 64)
    parameter NGELU       = 0,     // GELU tables (0: no GELU stage logic)
    parameter GELU_IB     = 8,     // GELU input code bits (table of 2^GELU_IB entries)
    parameter GELU_OB     = 8,     // GELU output bits (signed)
    parameter GELU_IN_MIN = -128,  // input code of table entry 0
    parameter [((NGELU > 0) ? NGELU : 1) * (1 << GELU_IB) * GELU_OB - 1 : 0] GELU_TABLES = 0,
    // derived widths (do not override)
    parameter LW   = ((TNF + TNP) > 1) ? $clog2(TNF + TNP) : 1,
    parameter TMW  = (TM > 1) ? $clog2(TM) : 1,
    parameter SLW  = (SLOTS > 1) ? $clog2(SLOTS) : 1,
    parameter SNW  = $clog2(SLOTS + 1),
    parameter KCAW = (KC_MAX > 1) ? $clog2(KC_MAX) : 1,
    parameter KCNW = $clog2(KC_MAX + 1),
    parameter BRAW = (BIAS_ROWS > 1) ? $clog2(BIAS_ROWS) : 1,
    parameter BRNW = $clog2(BIAS_ROWS + 1),
    parameter GSW  = (NGELU > 1) ? $clog2(NGELU) : 1
) (
    input  wire                        clk,
    input  wire                        rst,
    // parameter load port
    input  wire                        ld_w_en,
    input  wire                        ld_clr,
    input  wire                        ld_q_en,
    input  wire                        ld_b_en,
    input  wire                        ld_bank,
    input  wire [LW-1:0]               ld_lane,
    input  wire [KCAW-1:0]             ld_addr,
    input  wire [SLW-1:0]              ld_slot,
    input  wire [TMW-1:0]              ld_sbank,
    input  wire [BRAW-1:0]             ld_brow,
    input  wire [TM*WB-1:0]            ld_w,
    input  wire [MB-1:0]               ld_mult,
    input  wire [MB-1:0]               ld_res_mult,
    input  wire [RSB-1:0]              ld_res_shift,
    input  wire [SHB-1:0]              ld_shift,
    input  wire [BB-1:0]               ld_bias,
    // tile command
    input  wire                        cmd_valid,
    output wire                        cmd_ready,
    input  wire                        cmd_bank,
    input  wire [ROWB-1:0]             cmd_rows,
    input  wire [KCNW-1:0]             cmd_kc,
    input  wire [SNW-1:0]              cmd_slots,
    input  wire [TMW-1:0]              cmd_rot_fixed,
    input  wire [TMW-1:0]              cmd_rot_pot,
    input  wire [BRNW-1:0]             cmd_bias_rows,
    input  wire                        cmd_has_res,
    input  wire                        cmd_clamp,
    input  wire [OB-1:0]               cmd_qmin,
    input  wire [OB-1:0]               cmd_qmax,
    input  wire                        cmd_gelu,
    input  wire [GSW-1:0]              cmd_gelu_sel,
    // activations
    input  wire                        x_valid,
    output wire                        x_ready,
    input  wire [TM*XB-1:0]            x_data,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                        x_last,
    /* verilator lint_on UNUSEDSIGNAL */
    // residual (one beat per store beat)
    input  wire                        r_valid,
    output wire                        r_ready,
    input  wire [TM*RB-1:0]            r_data,
    // outputs (one beat per store beat)
    output wire                        y_valid,
    input  wire                        y_ready,
    output wire [TM*OB-1:0]            y_data,
    output wire [TM-1:0]               y_sel,
    output wire                        y_last,
    output wire                        idle
);
    localparam TN    = TNF + TNP;
    localparam NPAIR = (PACK != 0) ? TNF / 2 : 0;
    localparam T     = (PIPE_LVLS == 0) ? 0 : $clog2(TM) / PIPE_LVLS;
    localparam LF    = 3 + T;                  // fixed_lane / pot_lane latency
    localparam LP    = 4 + T;                  // dsp_pack2 latency
    localparam LL    = (NPAIR > 0) ? LP : LF;  // aligned lane latency
    localparam DF    = LL - LF;                // alignment delay of fixed/pot lanes
    localparam DPAD  = (LPAD > LL) ? LPAD - LL : 0;  // output padding to a constant latency
    localparam CW    = $clog2(OUT_DEPTH + 1) + 1;    // credits (one spare bit: pending + S)
    localparam NG    = (NGELU > 0) ? NGELU : 1;
    localparam GE    = 1 << GELU_IB;
    localparam YW    = TM * OB + TM + 1;       // queued output word {last, sel, data}
    /* verilator lint_off WIDTHTRUNC */
    /* verilator lint_off WIDTHEXPAND */
    localparam [CW-1:0] CREDITS = OUT_DEPTH;
    localparam [KCAW:0] KCOFF = KC_MAX;        // half 1 offsets (addresses keep a half bit)
    localparam [GELU_IB-1:0] GMIN = GELU_IN_MIN;
    /* verilator lint_on WIDTHEXPAND */
    /* verilator lint_on WIDTHTRUNC */

    // ------------------------------------------------------------- commands
    reg               q_v, a_v;
    reg               q_bank, a_bank;
    reg [ROWB-1:0]    q_rows, a_rows;
    reg [KCNW-1:0]    q_kc, a_kc;
    reg [SNW-1:0]     q_sl, a_sl;
    reg [TMW-1:0]     q_rf, a_rf, q_rp, a_rp;
    reg [BRNW-1:0]    q_br, a_br;
    reg               q_res, a_res, q_cl, a_cl, q_g, a_g;
    reg [OB-1:0]      q_lo, a_lo, q_hi, a_hi;
    reg [GSW-1:0]     q_gs, a_gs;
    reg [KCNW-1:0]    kc_cnt;
    reg [ROWB-1:0]    row_cnt;
    reg [BRNW-1:0]    br_cnt;
    reg [SNW-1:0]     busy;        // cycles until the ring may take the next row
    reg [CW-1:0]      pending;     // output beats of accepted rows not yet read
    reg [CW-1:0]      res_claim;   // residual beats reserved by accepted rows, not yet used

    wire [CW-2:0] res_cnt;
    wire          y_pop;
    wire          res_pop;
    wire          row_end  = (kc_cnt == a_kc - 1'b1);
    wire          tile_end = row_end && (row_cnt == a_rows - 1'b1);
    /* verilator lint_off WIDTHEXPAND */
    wire          res_ok   = !a_res || ({1'b0, res_cnt} >= res_claim + a_sl);
    wire          room     = (pending + a_sl <= CREDITS);
    /* verilator lint_on WIDTHEXPAND */
    assign x_ready   = a_v && (!row_end || (room && res_ok && (busy == {SNW{1'b0}})));
    assign cmd_ready = !q_v;
    wire          acc_x = x_valid && x_ready;
    wire          take  = acc_x && tile_end;
    wire          issue = acc_x && row_end;      // a row's result will enter the pipeline

    always @(posedge clk) begin
        if (cmd_valid && cmd_ready) begin
            q_bank <= cmd_bank;  q_rows <= cmd_rows;  q_kc <= cmd_kc;  q_sl <= cmd_slots;
            q_rf <= cmd_rot_fixed;  q_rp <= cmd_rot_pot;  q_br <= cmd_bias_rows;
            q_res <= cmd_has_res;  q_cl <= cmd_clamp;  q_lo <= cmd_qmin;  q_hi <= cmd_qmax;
            q_g <= cmd_gelu;  q_gs <= cmd_gelu_sel;
        end
        if ((!a_v || take) && q_v) begin
            a_bank <= q_bank;  a_rows <= q_rows;  a_kc <= q_kc;  a_sl <= q_sl;  a_rf <= q_rf;  a_rp <= q_rp;
            a_br <= q_br;  a_res <= q_res;  a_cl <= q_cl;  a_lo <= q_lo;  a_hi <= q_hi;  a_g <= q_g;  a_gs <= q_gs;
        end
        if (rst) begin
            q_v <= 1'b0;
            a_v <= 1'b0;
            kc_cnt <= {KCNW{1'b0}};
            row_cnt <= {ROWB{1'b0}};
            br_cnt <= {BRNW{1'b0}};
            busy <= {SNW{1'b0}};
            pending <= {CW{1'b0}};
            res_claim <= {CW{1'b0}};
        end else begin
            if (cmd_valid && cmd_ready) q_v <= 1'b1;
            if ((!a_v || take) && q_v) begin
                a_v <= 1'b1;
                q_v <= 1'b0;
                kc_cnt <= {KCNW{1'b0}};
                row_cnt <= {ROWB{1'b0}};
                br_cnt <= {BRNW{1'b0}};
            end else if (take) begin
                a_v <= 1'b0;
            end else if (acc_x) begin
                if (row_end) begin
                    kc_cnt <= {KCNW{1'b0}};
                    row_cnt <= row_cnt + 1'b1;
                    br_cnt <= (br_cnt == a_br - 1'b1) ? {BRNW{1'b0}} : br_cnt + 1'b1;
                end else begin
                    kc_cnt <= kc_cnt + 1'b1;
                end
            end
            if (issue)                    busy <= a_sl - 1'b1;
            else if (busy != {SNW{1'b0}}) busy <= busy - 1'b1;
            /* verilator lint_off WIDTHEXPAND */
            pending <= pending + (issue ? a_sl : {SNW{1'b0}}) - y_pop;
            res_claim <= res_claim + ((issue && a_res) ? a_sl : {SNW{1'b0}}) - res_pop;
            /* verilator lint_on WIDTHEXPAND */
        end
    end
    assign idle = !a_v && !q_v && (pending == {CW{1'b0}});

    // ------------------------------------------------------------- stage R: beat register + weight read
    localparam SBF = 2 + 1 + SNW + 2 * TMW + BRAW + 1 + 1 + 2 * OB + 1 + GSW;  // side band of a beat
    reg              r_v, r_clr;
    reg [TM*XB-1:0]  r_x;
    reg [SBF-1:0]    r_sb;
    wire [KCAW:0]    rd_addr = (a_bank ? KCOFF : {(KCAW+1){1'b0}}) + {1'b0, kc_cnt[KCAW-1:0]};
    always @(posedge clk) begin
        r_x   <= x_data;
        r_clr <= (kc_cnt == {KCNW{1'b0}});
        r_sb  <= {row_end, tile_end, a_bank, a_sl, a_rf, a_rp, br_cnt[BRAW-1:0], a_res, a_cl, a_lo, a_hi, a_g, a_gs};
        if (rst) r_v <= 1'b0;
        else     r_v <= acc_x;
    end

    // per-lane weights (2 halves)
    wire [KCAW:0] ld_waddr = (ld_bank ? KCOFF : {(KCAW+1){1'b0}}) + {1'b0, ld_addr};
    genvar i;
    /* verilator lint_off WIDTHTRUNC */  // KC_MAX = 1: the addresses keep a spare bit
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_lane
            localparam LWW = (i < TNF) ? TM * WB : TM * PWB;
            reg [LWW-1:0]   wm [0:2*KC_MAX-1];
            reg [TM*WB-1:0] wq;
            always @(posedge clk) begin
                if (ld_w_en && ld_lane == i) wm[ld_waddr] <= ld_w[LWW-1:0];
                if (acc_x) wq <= {{(TM*WB-LWW){1'b0}}, wm[rd_addr]};
            end
        end
    endgenerate
    /* verilator lint_on WIDTHTRUNC */

    // ------------------------------------------------------------- lanes
    wire [TN*ACCB-1:0] acc_raw;   // lane accumulators, latency LF or LP
    generate
        for (i = 0; i < NPAIR; i = i + 1) begin : g_pair
            /* verilator lint_off PINCONNECTEMPTY */
            dsp_pack2 #(.TM(TM), .XB(XB), .WB(WB), .ACCB(ACCB), .SH(SH), .PIPE_LVLS(PIPE_LVLS)) u_pair (
                .clk(clk), .rst(rst), .valid_in(r_v), .acc_clear(r_clr), .x_in(r_x),
                .wa_in(g_lane[2*i].wq), .wb_in(g_lane[2*i+1].wq), .valid_out(),
                .acc_a_out(acc_raw[(2*i)*ACCB +: ACCB]), .acc_b_out(acc_raw[(2*i+1)*ACCB +: ACCB]));
            /* verilator lint_on PINCONNECTEMPTY */
        end
        for (i = 2 * NPAIR; i < TNF; i = i + 1) begin : g_fixed
            /* verilator lint_off PINCONNECTEMPTY */
            fixed_lane #(.TM(TM), .XB(XB), .WB(WB), .ACCB(ACCB), .PIPE_LVLS(PIPE_LVLS)) u_fixed (
                .clk(clk), .rst(rst), .valid_in(r_v), .acc_clear(r_clr), .x_in(r_x),
                .w_in(g_lane[i].wq), .valid_out(), .acc_out(acc_raw[i*ACCB +: ACCB]));
            /* verilator lint_on PINCONNECTEMPTY */
        end
        for (i = TNF; i < TN; i = i + 1) begin : g_pot
            /* verilator lint_off PINCONNECTEMPTY */
            pot_lane #(.TM(TM), .XB(XB), .WB(PWB), .ACCB(ACCB), .PIPE_LVLS(PIPE_LVLS)) u_pot (
                .clk(clk), .rst(rst), .valid_in(r_v), .acc_clear(r_clr), .x_in(r_x),
                .w_in(g_lane[i].wq[TM*PWB-1:0]), .valid_out(), .acc_out(acc_raw[i*ACCB +: ACCB]));
            /* verilator lint_on PINCONNECTEMPTY */
        end
    endgenerate

    // alignment of the two schemes: fixed_lane / pot_lane outputs wait DF cycles for dsp_pack2
    wire [TN*ACCB-1:0] acc_al;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_align
            if (i < 2 * NPAIR || DF == 0) begin : g_direct
                assign acc_al[i*ACCB +: ACCB] = acc_raw[i*ACCB +: ACCB];
            end else begin : g_delay
                reg [ACCB-1:0] d [0:DF-1];
                integer k;
                always @(posedge clk) begin
                    d[0] <= acc_raw[i*ACCB +: ACCB];
                    for (k = 1; k < DF; k = k + 1) d[k] <= d[k-1];
                end
                assign acc_al[i*ACCB +: ACCB] = d[DF-1];
            end
        end
    endgenerate

    // side band of each beat, delayed by LL to line up with the aligned accumulators
    reg [SBF-1:0] sb_d [0:LL-1];
    reg [LL-1:0]  v_d;
    integer s;
    always @(posedge clk) begin
        sb_d[0] <= r_sb;
        for (s = 1; s < LL; s = s + 1) sb_d[s] <= sb_d[s-1];
        if (rst) v_d <= {LL{1'b0}};
        else     v_d <= {v_d[LL-2:0], r_v};
    end
    wire [SBF-1:0] al = sb_d[LL-1];
    // unpack {row_end, tile_end, bank, slots, rot_fixed, rot_pot, brow, res, clamp, qmin, qmax, gelu, gelu_sel}
    localparam AT_SL = SBF - 3;                // one above the msb of each field
    localparam AT_RF = AT_SL - SNW;
    localparam AT_RP = AT_RF - TMW;
    localparam AT_BR = AT_RP - TMW;
    localparam TLW   = 2 + 2 * OB + 1 + GSW;   // {res, clamp, qmin, qmax, gelu, gelu_sel}
    wire             al_row_end = al[SBF-1];
    wire             al_tile_end = al[SBF-2];
    wire             al_bank    = al[SBF-3];
    wire [SNW-1:0]   al_sl      = al[AT_SL-1 -: SNW];
    wire [TMW-1:0]   al_rf      = al[AT_RF-1 -: TMW];
    wire [TMW-1:0]   al_rp      = al[AT_RP-1 -: TMW];
    wire [BRAW-1:0]  al_brow    = al[AT_BR-1 -: BRAW];
    wire [TLW-1:0]   al_tail    = al[TLW-1:0];
    wire             latch      = v_d[LL-1] && al_row_end;

    // ------------------------------------------------------------- store beats (engine_store)
    reg [SNW-1:0]   st_cnt;       // store beats left of the latched row
    reg [SLW-1:0]   st_slot;
    reg             st_bank, st_tend;
    reg [BRAW-1:0]  st_brow;
    reg [TLW-1:0]   st_tail;
    wire            st_v    = (st_cnt != {SNW{1'b0}});
    wire            st_last = st_tend && (st_cnt == {{(SNW-1){1'b0}}, 1'b1});
    wire            st_res  = st_tail[TLW-1];
    wire            st_cl   = st_tail[TLW-2];
    wire [OB-1:0]   st_lo   = st_tail[TLW-3 -: OB];
    wire [OB-1:0]   st_hi   = st_tail[TLW-3-OB -: OB];
    wire            st_g    = st_tail[GSW];
    wire [GSW-1:0]  st_gs   = st_tail[GSW-1:0];
    always @(posedge clk) begin
        if (latch) begin
            st_slot <= {SLW{1'b0}};
            st_bank <= al_bank;  st_tend <= al_tile_end;  st_brow <= al_brow;  st_tail <= al_tail;
        end else if (st_v) begin
            st_slot <= st_slot + 1'b1;
        end
        if (rst)        st_cnt <= {SNW{1'b0}};
        else if (latch) st_cnt <= al_sl;
        else if (st_v)  st_cnt <= st_cnt - 1'b1;
    end

    // ------------------------------------------------------------- ring latch (engine_latch)
    // slot s < FSLOTS: fixed lanes s*TM .. s*TM+TM-1 rotated by TM - rot_fixed; the slots after it the
    // PoT lanes rotated by TM - rot_pot (missing lanes are zero)
    /* verilator lint_off WIDTHTRUNC */
    localparam [TMW-1:0] TMV = TM;             // TM - rot (rot = 0: 0; TM need not be a power of two)
    /* verilator lint_on WIDTHTRUNC */
    wire [TMW-1:0] amt_f = (al_rf == {TMW{1'b0}}) ? {TMW{1'b0}} : TMV - al_rf;
    wire [TMW-1:0] amt_p = (al_rp == {TMW{1'b0}}) ? {TMW{1'b0}} : TMV - al_rp;
    genvar j;
    generate
        for (i = 0; i < SLOTS; i = i + 1) begin : g_slot
            localparam POT   = (i >= FSLOTS);
            localparam FIRST = POT ? TNF + (i - FSLOTS) * TM : i * TM;
            localparam LAST  = POT ? TN : TNF;       // one past the group's last lane
            wire [TM*ACCB-1:0] group, rotated;
            reg  [TM*ACCB-1:0] ring;
            for (j = 0; j < TM; j = j + 1) begin : g_pos
                if (FIRST + j < LAST) begin : g_lane_acc
                    assign group[j*ACCB +: ACCB] = acc_al[(FIRST + j)*ACCB +: ACCB];
                end else begin : g_zero
                    assign group[j*ACCB +: ACCB] = {ACCB{1'b0}};
                end
            end
            rotator #(.N(TM), .W(ACCB)) u_rot (.in(group), .amt(POT ? amt_p : amt_f), .out(rotated));
            if (i + 1 < SLOTS) begin : g_shift
                always @(posedge clk) begin
                    if (latch)     ring <= rotated;
                    else if (st_v) ring <= g_slot[i + 1].ring;
                end
            end else begin : g_hold
                always @(posedge clk) begin
                    if (latch) ring <= rotated;
                end
            end
        end
    endgenerate

    // ------------------------------------------------------------- residual queue (one beat per store beat)
    wire [TM*RB-1:0] res_head;
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.W(TM*RB), .DEPTH(OUT_DEPTH)) u_res (
        .clk(clk), .rst(rst), .s_valid(r_valid), .s_ready(r_ready), .s_data(r_data),
        .m_valid(), .m_ready(res_pop), .m_data(res_head), .count(res_cnt));
    /* verilator lint_on PINCONNECTEMPTY */
    assign res_pop = st_v && st_res;

    // ------------------------------------------------------------- per store bank: constants, requant, GELU
    wire [TM*OB-1:0]  g_y;
    wire [TM-1:0]     g_sel;
    wire [NG*GE*GELU_OB-1:0] gelu_rom = GELU_TABLES;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [TM-1:0]     rq_vo;           // bank 0's valid times the output
    /* verilator lint_on UNUSEDSIGNAL */
    reg               g_v, g_last;
    localparam PA = 2 * SLOTS;                  // positions of both halves
    /* verilator lint_off WIDTHTRUNC */
    /* verilator lint_off WIDTHEXPAND */
    wire [SLW:0] ld_pos = ld_bank * SLOTS + ld_slot;
    wire [SLW:0] st_pos = st_bank * SLOTS + st_slot;
    /* verilator lint_on WIDTHEXPAND */
    /* verilator lint_on WIDTHTRUNC */
    generate
        for (i = 0; i < TM; i = i + 1) begin : g_bank
            reg [MB-1:0]   mult_r [0:PA-1];
            reg [MB-1:0]   rmult_r [0:PA-1];
            reg [RSB-1:0]  rshift_r [0:PA-1];
            reg [SHB-1:0]  shift_r [0:PA-1];
            reg [PA-1:0]   sel_r;
            reg [BB-1:0]   bm [0:PA*BIAS_ROWS-1];
            wire           here = (ld_sbank == i);
            always @(posedge clk) begin
                if (ld_q_en && here) begin
                    mult_r[ld_pos]   <= ld_mult;
                    rmult_r[ld_pos]  <= ld_res_mult;
                    rshift_r[ld_pos] <= ld_res_shift;
                    shift_r[ld_pos]  <= ld_shift;
                end
                /* verilator lint_off WIDTHEXPAND */
                if (ld_b_en && here) bm[ld_pos * BIAS_ROWS + ld_brow] <= ld_bias;
                /* verilator lint_on WIDTHEXPAND */
                if (rst)                     sel_r <= {PA{1'b0}};
                else if (ld_clr)             sel_r <= sel_r & ~(ld_bank ? {{SLOTS{1'b1}}, {SLOTS{1'b0}}}
                                                                        : {{SLOTS{1'b0}}, {SLOTS{1'b1}}});
                else if (ld_q_en && here)    sel_r[ld_pos] <= 1'b1;
            end
            /* verilator lint_off WIDTHEXPAND */
            wire [BB-1:0] bias_st = bm[st_pos * BIAS_ROWS + st_brow];
            /* verilator lint_on WIDTHEXPAND */
            wire [OB-1:0]     rq_y;
            wire [2+GSW:0]    rq_sb;
            requant_lane #(.AB(ACCB), .RB(RB), .MB(MB), .BB(BB), .SHB(SHB), .RSB(RSB), .OB(OB), .SBW(3 + GSW)) u_rq (
                .clk(clk), .rst(rst), .v_in(st_v), .acc(g_slot[0].ring[i*ACCB +: ACCB]),
                .res(st_res ? res_head[i*RB +: RB] : {RB{1'b0}}),
                .mult(mult_r[st_pos]),
                .res_mult(st_res ? rmult_r[st_pos] : {MB{1'b0}}), .res_shift(rshift_r[st_pos]),
                .bias(bias_st), .shift(shift_r[st_pos]),
                .clamp(st_cl), .qmin(st_lo), .qmax(st_hi), .sb_in({st_last, st_g, st_gs, sel_r[st_pos]}),
                .v_out(rq_vo[i]), .y(rq_y), .sb_out(rq_sb));
            // GELU stage (a register in every case, so the latency does not depend on the layer)
            wire [GELU_IB-1:0] gi  = rq_y[GELU_IB-1:0] - GMIN;
            wire [GSW-1:0]     gsl = rq_sb[GSW:1];
            /* verilator lint_off WIDTHEXPAND */
            wire [GELU_OB-1:0] gv  = gelu_rom[(gsl * GE + gi) * GELU_OB +: GELU_OB];
            /* verilator lint_on WIDTHEXPAND */
            reg  [OB-1:0]      gy;
            reg                gs;
            always @(posedge clk) begin
                gs <= rq_sb[0];
                if (!rq_sb[0])                    gy <= {OB{1'b0}};
                else if (NGELU > 0 && rq_sb[GSW+1]) gy <= {{(OB-GELU_OB){gv[GELU_OB-1]}}, gv};
                else                              gy <= rq_y;
            end
            assign g_y[i*OB +: OB] = gy;
            assign g_sel[i] = gs;
        end
    endgenerate
    always @(posedge clk) begin
        g_last <= g_bank[0].rq_sb[GSW+2];
        if (rst) g_v <= 1'b0;
        else     g_v <= rq_vo[0];
    end

    // ------------------------------------------------------------- latency padding
    wire          p_v;
    wire [YW-1:0] p_word;
    delay_line #(.W(YW), .DEPTH(DPAD)) u_pad (
        .clk(clk), .rst(rst), .in_valid(g_v), .in_data({g_last, g_sel, g_y}), .out_valid(p_v), .out_data(p_word));

    // ------------------------------------------------------------- output queue
    wire [YW-1:0] out_word;
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.W(YW), .DEPTH(OUT_DEPTH)) u_out (
        .clk(clk), .rst(rst), .s_valid(p_v), .s_ready(), .s_data(p_word),
        .m_valid(y_valid), .m_ready(y_ready), .m_data(out_word), .count());
    /* verilator lint_on PINCONNECTEMPTY */
    assign y_pop  = y_valid && y_ready;
    assign y_data = out_word[TM*OB-1:0];
    assign y_sel  = out_word[TM*OB +: TM];
    assign y_last = out_word[YW-1];
endmodule
