`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// gemm_tile.v -- one output tile of the accelgen GEMM engine (docs/hardware.md):
// TN = TNF + TNP output lanes, each computing `rows` outputs over a reduction of
// kc beats of TM inputs (the inner loop of the loop nest), followed by the
// per-channel dyadic requantization (docs/numerics.md section 3), the optional
// fused GELU table (section 7) and an output queue.
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
// stage deeper, exist) and in width (ACCB-bit accumulators) before the common
// requantization.  Per lane: its own ping-pong weight memory (2 banks of KC_MAX
// words of TM weights, block RAM), per-bank requantization constants (mult,
// shift, res_mult, res_shift) and a per-bank bias memory of BIAS_ROWS entries (row r of a
// tile uses entry r mod bias_rows: 1 for ordinary layers, the patch count for
// the patch embedding's bias + position table).
//
// Interfaces (clk, synchronous active-high rst):
//   load port   ld_*: writes a weight word (ld_w_en: lane ld_lane, bank ld_bank,
//               reduction step ld_addr; fixed lanes take TM*WB bits, PoT lanes
//               the low TM*PWB bits), requantization constants (ld_q_en) or a
//               bias entry (ld_b_en, row ld_brow).  Always accepted; the
//               controller writes the bank that is not in use (ping-pong: the
//               next tile's weights load while this tile computes).
//   cmd         one beat per tile (valid/ready): bank, rows, kc (beats per
//               row), bias_rows, has_res, clamp + qmin/qmax, gelu + gelu_sel.
//               One command is queued while a tile runs, so consecutive tiles
//               stream without a bubble.
//   x           AXI-Stream of activations, TM signed XB-bit values per beat
//               (element i at x_data[i*XB +: XB]; zero-padded past K), kc beats
//               per row, rows rows per tile; x_last is informational.
//   r           residual AXI-Stream, one beat per row when has_res: TN signed
//               RB-bit values (the residual of each lane's output channel).
//   y           AXI-Stream, one beat per row: TN signed OB-bit outputs (lane l
//               at y_data[l*OB +: OB]), y_last on the last row of the tile.
// Backpressure: x_ready / r_ready / cmd_ready depend on registered state only.
// The last beat of a row is accepted only when the output queue has room for
// its result (credit counter over rows in flight + queued) and, with has_res,
// a residual beat is waiting; y may stall indefinitely without loss.
//
// Timing (no backpressure): a tile of R rows x kc beats takes R*kc cycles of
// input at II = 1; from the first accepted x beat to the last output transfer
// a tile takes R*kc + LATENCY cycles, LATENCY = 7 + max(LL, LPAD): weight
// read (1), lanes (LL = 3+T, 4+T with packed pairs, T = clog2(TM)/PIPE_LVLS),
// requantization (4), GELU stage (1), queue (1).  The lanes' depth depends on
// TM; the output is delayed by LPAD - LL registers so that LATENCY = 14 for
// every TM <= 64 (the engines the DSE considers), one constant for the perf
// model (accelgen/perf/cycles.py GEMM_PIPELINE).  Consecutive tiles overlap:
// the next tile's beats follow the last beat of this one without a bubble.
// -----------------------------------------------------------------------------
module gemm_tile #(
    parameter TM          = 8,     // reduction width (inputs per beat)
    parameter TNF         = 4,     // fixed-point lanes
    parameter TNP         = 0,     // power-of-two lanes
    parameter PACK        = 1,     // 1: pairs of fixed lanes share DSPs (dsp_pack2)
    parameter XB          = 8,     // activation bits (signed)
    parameter WB          = 8,     // fixed-point weight bits (signed)
    parameter PWB         = 4,     // power-of-two weight code bits
    parameter SH          = 18,    // dsp_pack2 field shift (>= XB + WB)
    parameter ACCB        = 32,    // accumulator bits
    parameter PIPE_LVLS   = 2,     // lanes' adder-tree pipelining
    parameter KC_MAX      = 16,    // largest kc (reduction beats per row)
    parameter BIAS_ROWS   = 1,     // bias entries per lane and bank
    parameter ROWB        = 16,    // width of the row count
    parameter RB          = 8,     // residual bits (signed)
    parameter MB          = 16,    // multiplier bits (unsigned)
    parameter BB          = 48,    // bias bits (signed)
    parameter SHB         = 6,     // shift bits
    parameter RSB         = 5,     // residual multiplier shift bits (res_mult << res_shift)
    parameter OB          = 8,     // output bits (signed)
    parameter OUT_DEPTH   = 32,    // output queue (rows)
    parameter LPAD        = 7,     // lane latency the tile is padded to (7: TM <= 64)
    parameter NGELU       = 0,     // GELU tables (0: no GELU stage logic)
    parameter GELU_IB     = 8,     // GELU input code bits (table of 2^GELU_IB entries)
    parameter GELU_OB     = 8,     // GELU output bits (signed)
    parameter GELU_IN_MIN = -128,  // input code of table entry 0
    parameter [((NGELU > 0) ? NGELU : 1) * (1 << GELU_IB) * GELU_OB - 1 : 0] GELU_TABLES = 0,
    // derived widths (do not override)
    parameter LW   = ((TNF + TNP) > 1) ? $clog2(TNF + TNP) : 1,
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
    input  wire                        ld_q_en,
    input  wire                        ld_b_en,
    input  wire                        ld_bank,
    input  wire [LW-1:0]               ld_lane,
    input  wire [KCAW-1:0]             ld_addr,
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
    // residual
    input  wire                        r_valid,
    output wire                        r_ready,
    input  wire [(TNF+TNP)*RB-1:0]     r_data,
    // outputs
    output wire                        y_valid,
    input  wire                        y_ready,
    output wire [(TNF+TNP)*OB-1:0]     y_data,
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
    localparam CW    = $clog2(OUT_DEPTH + 1);
    localparam NG    = (NGELU > 0) ? NGELU : 1;
    localparam GE    = 1 << GELU_IB;
    /* verilator lint_off WIDTHTRUNC */
    localparam [CW-1:0] CREDITS = OUT_DEPTH;
    localparam [KCAW:0] KCOFF = KC_MAX;        // bank 1 offsets (addresses keep a bank bit)
    localparam [BRAW:0] BROFF = BIAS_ROWS;
    localparam [GELU_IB-1:0] GMIN = GELU_IN_MIN;
    /* verilator lint_on WIDTHTRUNC */

    // ------------------------------------------------------------- commands
    reg               q_v, a_v;
    reg               q_bank, a_bank;
    reg [ROWB-1:0]    q_rows, a_rows;
    reg [KCNW-1:0]    q_kc, a_kc;
    reg [BRNW-1:0]    q_br, a_br;
    reg               q_res, a_res, q_cl, a_cl, q_g, a_g;
    reg [OB-1:0]      q_lo, a_lo, q_hi, a_hi;
    reg [GSW-1:0]     q_gs, a_gs;
    reg [KCNW-1:0]    kc_cnt;
    reg [ROWB-1:0]    row_cnt;
    reg [BRNW-1:0]    br_cnt;
    reg [CW-1:0]      pending;     // rows accepted (last beat) whose output is not yet read
    reg [CW-1:0]      res_claim;   // residual beats reserved by accepted rows, not yet used

    wire [CW-1:0] res_cnt;
    wire          y_pop;
    wire          res_pop;
    wire          row_end  = (kc_cnt == a_kc - 1'b1);
    wire          tile_end = row_end && (row_cnt == a_rows - 1'b1);
    wire          res_ok   = !a_res || (res_cnt > res_claim);
    assign x_ready   = a_v && (!row_end || ((pending < CREDITS) && res_ok));
    assign cmd_ready = !q_v;
    wire          acc_x = x_valid && x_ready;
    wire          take  = acc_x && tile_end;
    wire          issue = acc_x && row_end;      // a row's result will enter the pipeline

    always @(posedge clk) begin
        if (cmd_valid && cmd_ready) begin
            q_bank <= cmd_bank;  q_rows <= cmd_rows;  q_kc <= cmd_kc;  q_br <= cmd_bias_rows;
            q_res <= cmd_has_res;  q_cl <= cmd_clamp;  q_lo <= cmd_qmin;  q_hi <= cmd_qmax;
            q_g <= cmd_gelu;  q_gs <= cmd_gelu_sel;
        end
        if ((!a_v || take) && q_v) begin
            a_bank <= q_bank;  a_rows <= q_rows;  a_kc <= q_kc;  a_br <= q_br;
            a_res <= q_res;  a_cl <= q_cl;  a_lo <= q_lo;  a_hi <= q_hi;  a_g <= q_g;  a_gs <= q_gs;
        end
        if (rst) begin
            q_v <= 1'b0;
            a_v <= 1'b0;
            kc_cnt <= {KCNW{1'b0}};
            row_cnt <= {ROWB{1'b0}};
            br_cnt <= {BRNW{1'b0}};
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
            if (issue && !y_pop)      pending <= pending + 1'b1;
            else if (!issue && y_pop) pending <= pending - 1'b1;
            if ((issue && a_res) && !res_pop)      res_claim <= res_claim + 1'b1;
            else if (!(issue && a_res) && res_pop) res_claim <= res_claim - 1'b1;
        end
    end
    assign idle = !a_v && !q_v && (pending == {CW{1'b0}});

    // ------------------------------------------------------------- stage R: beat register + weight read
    localparam SBF = 2 + 1 + BRAW + 1 + 1 + 2 * OB + 1 + GSW;  // side band of a beat
    reg              r_v, r_clr;
    reg [TM*XB-1:0]  r_x;
    reg [SBF-1:0]    r_sb;
    wire [KCAW:0]    rd_addr = (a_bank ? KCOFF : {(KCAW+1){1'b0}}) + {1'b0, kc_cnt[KCAW-1:0]};
    always @(posedge clk) begin
        r_x   <= x_data;
        r_clr <= (kc_cnt == {KCNW{1'b0}});
        r_sb  <= {row_end, tile_end, a_bank, br_cnt[BRAW-1:0], a_res, a_cl, a_lo, a_hi, a_g, a_gs};
        if (rst) r_v <= 1'b0;
        else     r_v <= acc_x;
    end

    // aligned side band (assigned below), read by the per-lane constant storage
    wire          al_bank;
    wire [BRAW:0] al_baddr;

    // per-lane storage: weights (2 banks), requantization constants, bias
    wire [KCAW:0] ld_waddr = (ld_bank ? KCOFF : {(KCAW+1){1'b0}}) + {1'b0, ld_addr};
    wire [BRAW:0] ld_baddr = (ld_bank ? BROFF : {(BRAW+1){1'b0}}) + {1'b0, ld_brow};
    genvar i;
    /* verilator lint_off WIDTHTRUNC */  // KC_MAX / BIAS_ROWS = 1: the addresses keep a spare bit
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_lane
            localparam LWW = (i < TNF) ? TM * WB : TM * PWB;
            reg [LWW-1:0]   wm [0:2*KC_MAX-1];
            reg [TM*WB-1:0] wq;
            reg [MB-1:0]    mult_r [0:1];
            reg [MB-1:0]    rmult_r [0:1];
            reg [RSB-1:0]   rshift_r [0:1];
            reg [SHB-1:0]   shift_r [0:1];
            reg [BB-1:0]    bm [0:2*BIAS_ROWS-1];
            wire            sel = (ld_lane == i);
            // constants of the row leaving the lanes (bank and bias row travel with it)
            wire [MB-1:0]   mult_al  = mult_r[al_bank];
            wire [MB-1:0]   rmult_al = rmult_r[al_bank];
            wire [RSB-1:0]  rshift_al = rshift_r[al_bank];
            wire [SHB-1:0]  shift_al = shift_r[al_bank];
            wire [BB-1:0]   bias_al  = bm[al_baddr];
            always @(posedge clk) begin
                if (ld_w_en && sel) wm[ld_waddr] <= ld_w[LWW-1:0];
                if (acc_x) wq <= {{(TM*WB-LWW){1'b0}}, wm[rd_addr]};
                if (ld_q_en && sel) begin
                    mult_r[ld_bank]  <= ld_mult;
                    rmult_r[ld_bank] <= ld_res_mult;
                    rshift_r[ld_bank] <= ld_res_shift;
                    shift_r[ld_bank] <= ld_shift;
                end
                if (ld_b_en && sel) bm[ld_baddr] <= ld_bias;
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
    // unpack {row_end, tile_end, bank, brow, res, clamp, qmin, qmax, gelu, gelu_sel}
    wire             al_row_end  = al[SBF-1];
    wire             al_tile_end = al[SBF-2];
    assign           al_bank     = al[SBF-3];
    wire [BRAW-1:0]  al_brow     = al[SBF-4 -: BRAW];
    wire             al_res      = al[SBF-4-BRAW];
    wire             al_cl       = al[SBF-5-BRAW];
    wire [OB-1:0]    al_lo       = al[SBF-6-BRAW -: OB];
    wire [OB-1:0]    al_hi       = al[SBF-6-BRAW-OB -: OB];
    wire             al_g        = al[GSW];
    wire [GSW-1:0]   al_gs       = al[GSW-1:0];
    wire             rq_v        = v_d[LL-1] && al_row_end;
    assign           al_baddr    = (al_bank ? BROFF : {(BRAW+1){1'b0}}) + {1'b0, al_brow};

    // ------------------------------------------------------------- residual queue
    wire [TN*RB-1:0] res_head;
    wire             res_valid;
    assign res_pop = rq_v && al_res;
    axis_fifo #(.W(TN*RB), .DEPTH(OUT_DEPTH)) u_res (
        .clk(clk), .rst(rst), .s_valid(r_valid), .s_ready(r_ready), .s_data(r_data),
        .m_valid(res_valid), .m_ready(res_pop), .m_data(res_head), .count(res_cnt));

    // ------------------------------------------------------------- requantization + GELU
    wire [TN*OB-1:0] rq_y;
    wire [TN-1:0]    rq_vo;
    wire [TN*(2+GSW)-1:0] rq_sb;
    wire [NG*GE*GELU_OB-1:0] gelu_rom = GELU_TABLES;
    wire [TN*OB-1:0] g_y;
    reg              g_v, g_last;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_rq
            requant_lane #(.AB(ACCB), .RB(RB), .MB(MB), .BB(BB), .SHB(SHB), .RSB(RSB), .OB(OB), .SBW(2 + GSW)) u_rq (
                .clk(clk), .rst(rst), .v_in(rq_v), .acc(acc_al[i*ACCB +: ACCB]),
                .res(al_res ? res_head[i*RB +: RB] : {RB{1'b0}}),
                .mult(g_lane[i].mult_al),
                .res_mult(al_res ? g_lane[i].rmult_al : {MB{1'b0}}), .res_shift(g_lane[i].rshift_al),
                .bias(g_lane[i].bias_al), .shift(g_lane[i].shift_al),
                .clamp(al_cl), .qmin(al_lo), .qmax(al_hi), .sb_in({al_tile_end, al_g, al_gs}),
                .v_out(rq_vo[i]), .y(rq_y[i*OB +: OB]), .sb_out(rq_sb[i*(2+GSW) +: 2+GSW]));
            // GELU stage (a register in every case, so the latency does not depend on the layer)
            wire [OB-1:0]      yv  = rq_y[i*OB +: OB];
            wire [GELU_IB-1:0] gi  = yv[GELU_IB-1:0] - GMIN;
            wire [GSW-1:0]     gsl = rq_sb[GSW-1:0];
            /* verilator lint_off WIDTHEXPAND */
            wire [GELU_OB-1:0] gv  = gelu_rom[(gsl * GE + gi) * GELU_OB +: GELU_OB];
            /* verilator lint_on WIDTHEXPAND */
            reg  [OB-1:0]      gy;
            always @(posedge clk) begin
                if (NGELU > 0 && rq_sb[GSW]) gy <= {{(OB-GELU_OB){gv[GELU_OB-1]}}, gv};
                else                         gy <= yv;
            end
            assign g_y[i*OB +: OB] = gy;
        end
    endgenerate
    always @(posedge clk) begin
        g_last <= rq_sb[GSW+1];
        if (rst) g_v <= 1'b0;
        else     g_v <= rq_vo[0];
    end

    // ------------------------------------------------------------- latency padding
    wire          p_v;
    wire [TN*OB:0] p_word;
    delay_line #(.W(TN*OB + 1), .DEPTH(DPAD)) u_pad (
        .clk(clk), .rst(rst), .in_valid(g_v), .in_data({g_last, g_y}), .out_valid(p_v), .out_data(p_word));

    // ------------------------------------------------------------- output queue
    wire [TN*OB:0] out_word;
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.W(TN*OB + 1), .DEPTH(OUT_DEPTH)) u_out (
        .clk(clk), .rst(rst), .s_valid(p_v), .s_ready(), .s_data(p_word),
        .m_valid(y_valid), .m_ready(y_ready), .m_data(out_word), .count());
    /* verilator lint_on PINCONNECTEMPTY */
    assign y_pop  = y_valid && y_ready;
    assign y_data = out_word[TN*OB-1:0];
    assign y_last = out_word[TN*OB];
endmodule
