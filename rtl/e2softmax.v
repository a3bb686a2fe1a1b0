`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// e2softmax.v -- the E2Softmax unit, streaming, exactly as docs/numerics.md
// section 5 (accelgen.numerics.softmax.e2softmax) defines it.
//
// Rows of n signed XB-bit inputs arrive as beats of L elements (element j of a
// beat at s_data[j*XB +: XB]); a row is cfg_beats = ceil(n / L) beats, the
// last one holding cfg_tail = n - (cfg_beats - 1) * L elements (the rest is
// ignored).  Outputs: the same beat layout, OB-bit unsigned probabilities
// (padding lanes are 0), m_last on the last beat of every row.
//
// Two row flows (rtl/row_flow.v) in series, each a row buffer with a
// statistics pass and a re-read pass, so three row passes overlap one row
// apart, every one at one beat per cycle:
// Flow 1, statistics pass (the row's maximum):
//   A  accept the beat
//   B  e = t >>> (in_frac - F) (or t << (F - in_frac)), t = x + (x>>>1) - (x>>>4);
//      e is written to row buffer 1
//   C  maximum of the beat's valid lanes (a compare tree)
//   D  row maximum (one carried compare); at the end of a row
//      R = (max >>> F) + 1 goes into flow 1's statistics queue
// Flow 1, re-read pass (one row behind):
//   I  read the beat's exponents back from row buffer 1
//   J  d = (R << F) - e, code = {min(d >> F, KMAX), d & (2^F-1)} -> flow 2
// Flow 2, statistics pass (the row's sum):
//   A  accept the beat of codes; codes are written to row buffer 2
//   B  terms TF[frac] >> k (0 for padding lanes)
//   C  sum of the beat's terms (adder tree, rtl/lanes/adder_tree.v)
//   D  row sum S (one carried add)
//   G  at the end of a row: L = lead(S), m = (S >> (L - M)) & (2^M - 1) into
//      flow 2's statistics queue
// Flow 2, re-read pass (one row behind), for every buffered beat of codes:
//   I  read the beat from row buffer 2 (block RAM, registered read)
//   J  index m * 2^F + frac, sh = k + L + RF - out_frac
//   K  P = PT[index]
//   L  y = min((P + 2^(sh-1)) >> sh, out_max) -> output queue
// Each row buffer is a circular buffer of BUF beats (two rows plus slack for
// short rows): the statistics pass of the next row fills it while the re-read
// pass drains this one.  The sum is taken relative to the row's maximum, so
// it is one adder tree per beat whatever L is (docs/numerics.md section 5).
//
// Handshakes: AXI-Stream valid/ready.  s_ready and m_valid depend on
// registered state only.  A beat is accepted when the buffer has room (and,
// for a row's first beat, the statistics queue has room); the re-read passes
// issue a read only with an output credit, so m_ready may stall indefinitely.
// Timing without stalls: R rows take (R + 2) * cfg_beats + LATENCY cycles from
// the first accepted beat to the last output transfer, LATENCY = 17.
//
// Per-layer configuration (cfg_*): hold stable while the unit is not idle.
// Tables (parameters, emitted verbatim from accelgen.numerics by the
// generated wrapper): TF[i] = pow_table[i] (entry i at TF[i*TFW +: TFW]),
// PT[i] = out_table[i].
// -----------------------------------------------------------------------------
module e2softmax #(
    parameter L           = 1,       // lanes: elements per beat
    parameter XB          = 8,       // input bits (signed)
    parameter EB          = 10,      // exponent code bits (signed)
    parameter SB          = 21,      // running sum bits (unsigned)
    parameter F           = 2,       // exponent fraction bits (exp_frac)
    parameter M           = 2,       // mantissa bits of the sum (recip_bits)
    parameter KMAX        = 15,      // largest integer code (code_max)
    parameter TFW         = 16,      // pow_table entry bits
    parameter PW          = 23,      // out_table entry bits
    parameter RF          = 8,       // reciprocal fraction bits (RECIP_FRAC)
    parameter OB          = 8,       // output bits (unsigned)
    parameter NB_MAX      = 17,      // beats of the longest row
    parameter BUF         = 2 * NB_MAX + 16,
    parameter OUT_DEPTH   = 8,
    parameter STATS_DEPTH = 16,
    parameter [(1 << F) * TFW - 1 : 0]       TF = 0,
    parameter [(1 << (M + F)) * PW - 1 : 0]  PT = 0,
    // derived widths (do not override)
    parameter NBW = $clog2(NB_MAX + 1),
    parameter LNW = $clog2(L + 1)
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [NBW-1:0]     cfg_beats,
    input  wire [LNW-1:0]     cfg_tail,
    input  wire [7:0]         cfg_in_shift,   // signed: in_frac - F
    input  wire [7:0]         cfg_out_frac,   // signed: output scale 2^-out_frac
    input  wire [OB-1:0]      cfg_out_max,
    input  wire               s_valid,
    output wire               s_ready,
    input  wire [L*XB-1:0]    s_data,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire               s_last,         // informational (rows are counted)
    /* verilator lint_on UNUSEDSIGNAL */
    output wire               m_valid,
    input  wire               m_ready,
    output wire [L*OB-1:0]    m_data,
    output wire               m_last,
    output wire               idle
);
    localparam NTF  = 1 << F;
    localparam NPT  = 1 << (M + F);
    localparam RW   = EB + 1;                      // R
    localparam DW   = EB + F + 2;                  // d = (R << F) - e
    localparam KB   = $clog2(KMAX + 1);            // k = min(d >> F, KMAX)
    localparam FB   = (F > 0) ? F : 1;             // frac field (0 when F = 0)
    localparam CB   = KB + FB;                     // code {k, d & (2^F-1)}
    localparam LDW  = $clog2(SB);                  // lead(S) < SB
    localparam STW  = LDW + M;                     // flow 2 statistics word {lead, m}
    localparam SHW  = 10;                          // sh (signed)
    localparam LV   = $clog2(L);                   // levels of the lane trees
    localparam TW   = TFW + 1 + LV;                // beat sum of the terms (signed tree)
    localparam BAW  = (BUF > 1) ? $clog2(BUF) : 1;
    localparam [EB-1:0] E_MIN = {1'b1, {(EB-1){1'b0}}};

    wire [NTF*TFW-1:0] tf_rom = TF;
    wire [NPT*PW-1:0]  pt_rom = PT;

    function integer lead1;  // position of the most significant set bit (0 for 0)
        input [SB-1:0] v;
        integer b;
        begin
            lead1 = 0;
            for (b = 0; b < SB; b = b + 1) if (v[b]) lead1 = b;
        end
    endfunction

    // signed configuration: right / left shift of the exponent, offset of sh
    wire              in_neg = cfg_in_shift[7];
    wire [7:0]        in_sr  = in_neg ? 8'd0 : cfg_in_shift;
    wire [7:0]        in_sl  = in_neg ? (~cfg_in_shift + 8'd1) : 8'd0;
    wire signed [SHW-1:0] sh_off = RF - $signed({{(SHW-8){cfg_out_frac[7]}}, cfg_out_frac});

    genvar g, v;
    integer j;

    // ================================================================== flow 1: exponents, row maximum, codes
    wire            a_v, a_first, a_last;
    wire [L-1:0]    a_mask;
    wire [BAW-1:0]  wp1, rp1;
    wire            rd1, i1_v;
    wire [RW-1:0]   i1_r;
    wire            d_v_w, j1_v, idle1;
    wire [RW-1:0]   d_r_w;
    wire [L*CB-1:0] j1_code;
    wire            c1_valid, c1_ready;       // codes: flow 1 -> flow 2
    wire [L*CB-1:0] c1_data;
    /* verilator lint_off PINCONNECTEMPTY */
    row_flow #(.L(L), .OB(CB), .NB_MAX(NB_MAX), .BUF(BUF), .STATS_DEPTH(STATS_DEPTH), .OUT_DEPTH(OUT_DEPTH),
               .STW(RW)) u_max (
        .clk(clk), .rst(rst), .cfg_beats(cfg_beats), .cfg_tail(cfg_tail), .s_valid(s_valid), .s_ready(s_ready),
        .a_v(a_v), .a_first(a_first), .a_last(a_last), .a_mask(a_mask), .wp(wp1),
        .st_in_valid(d_v_w), .st_in(d_r_w), .rd(rd1), .rp(rp1), .b2(),
        .i_v(i1_v), .i_last(), .i_mask(), .i_stats(i1_r),
        .y_valid(j1_v), .y_last(1'b0), .y(j1_code),
        .m_valid(c1_valid), .m_ready(c1_ready), .m_data(c1_data), .m_last(), .idle(idle1));
    /* verilator lint_on PINCONNECTEMPTY */
    reg [L*XB-1:0] a_x;
    always @(posedge clk) a_x <= s_data;

    // ------------------------------------------------------------------ stage B: exponents
    wire [L*EB-1:0] e_b;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_exp
            wire signed [XB-1:0] xj = a_x[g*XB +: XB];
            wire signed [EB-1:0] xe = {{(EB-XB){xj[XB-1]}}, xj};
            wire signed [EB-1:0] t  = xe + (xe >>> 1) - (xe >>> 4);
            wire signed [EB-1:0] e  = (t >>> in_sr) <<< in_sl;
            assign e_b[g*EB +: EB] = e;
        end
    endgenerate
    reg            b_v, b_first, b_last;
    reg [L-1:0]    b_mask;
    reg [L*EB-1:0] b_e;
    always @(posedge clk) begin
        b_e <= e_b;  b_first <= a_first;  b_last <= a_last;  b_mask <= a_mask;
        if (rst) b_v <= 1'b0;
        else     b_v <= a_v;
    end
    wire [L*EB-1:0] rdata1;
    ram_sdp #(.W(L*EB), .DEPTH(BUF)) u_buf1 (
        .clk(clk), .we(a_v), .waddr(wp1), .wdata(e_b), .re(rd1), .raddr(rp1), .rdata(rdata1));

    // ------------------------------------------------------------------ stage C: beat maximum (tree)
    generate
        for (v = 0; v <= LV; v = v + 1) begin : g_mx
            localparam NN = (1 << LV) >> v;    // nodes at this level
            wire [NN*EB-1:0] q;
            if (v == 0) begin : g_leaf
                for (g = 0; g < NN; g = g + 1) begin : g_l
                    if (g < L) begin : g_lane
                        assign q[g*EB +: EB] = b_mask[g] ? b_e[g*EB +: EB] : E_MIN;
                    end else begin : g_pad
                        assign q[g*EB +: EB] = E_MIN;
                    end
                end
            end else begin : g_node
                for (g = 0; g < NN; g = g + 1) begin : g_n
                    wire signed [EB-1:0] x0 = g_mx[v-1].q[(2*g)*EB +: EB];
                    wire signed [EB-1:0] x1 = g_mx[v-1].q[(2*g+1)*EB +: EB];
                    assign q[g*EB +: EB] = (x1 > x0) ? x1 : x0;
                end
            end
        end
    endgenerate
    reg                 c_v, c_first, c_last;
    reg signed [EB-1:0] c_max;
    always @(posedge clk) begin
        c_max <= g_mx[LV].q;  c_first <= b_first;  c_last <= b_last;
        if (rst) c_v <= 1'b0;
        else     c_v <= b_v;
    end

    // ------------------------------------------------------------------ stage D: row maximum, R
    reg signed [EB-1:0] run_max;
    wire signed [EB-1:0] mx  = (c_first || c_max > run_max) ? c_max : run_max;
    wire signed [RW-1:0] mxe = {mx[EB-1], mx};
    reg            d_v;
    reg [RW-1:0]   d_r;
    always @(posedge clk) begin
        if (c_v) run_max <= mx;
        d_r <= (mxe >>> F) + 1;
        if (rst) d_v <= 1'b0;
        else     d_v <= c_v && c_last;
    end
    assign d_v_w = d_v;
    assign d_r_w = d_r;

    // ------------------------------------------------------------------ re-read, stage J: codes
    reg            j1_v_r;
    reg [L*CB-1:0] j1_code_r;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_code
            wire signed [EB-1:0] e  = rdata1[g*EB +: EB];
            wire signed [RW-1:0] r  = i1_r;
            wire signed [DW-1:0] dd = ({{(DW-RW){r[RW-1]}}, r} <<< F) - {{(DW-EB){e[EB-1]}}, e};
            wire signed [DW-1:0] ki = dd >>> F;
            wire [DW-1:0]        fr = dd & (NTF - 1);
            wire [KB-1:0]        k  = (ki > KMAX) ? KMAX[KB-1:0] : ki[KB-1:0];
            always @(posedge clk) j1_code_r[g*CB +: CB] <= {k, fr[FB-1:0]};
        end
    endgenerate
    always @(posedge clk) begin
        if (rst) j1_v_r <= 1'b0;
        else     j1_v_r <= i1_v;
    end
    assign j1_v = j1_v_r;
    assign j1_code = j1_code_r;

    // ================================================================== flow 2: terms, row sum, outputs
    wire            a2_v, a2_first, a2_last;
    wire [L-1:0]    a2_mask;
    wire [BAW-1:0]  wp2, rp2;
    wire            rd2, i_v, i_last;
    wire [L-1:0]    i_mask;
    wire [STW-1:0]  i_stats;
    wire            g_v, l_v, l_last, idle2;
    wire [STW-1:0]  g_stats;
    wire [L*OB-1:0] l_y;
    /* verilator lint_off PINCONNECTEMPTY */
    row_flow #(.L(L), .OB(OB), .NB_MAX(NB_MAX), .BUF(BUF), .STATS_DEPTH(STATS_DEPTH), .OUT_DEPTH(OUT_DEPTH),
               .STW(STW)) u_sum (
        .clk(clk), .rst(rst), .cfg_beats(cfg_beats), .cfg_tail(cfg_tail), .s_valid(c1_valid), .s_ready(c1_ready),
        .a_v(a2_v), .a_first(a2_first), .a_last(a2_last), .a_mask(a2_mask), .wp(wp2),
        .st_in_valid(g_v), .st_in(g_stats), .rd(rd2), .rp(rp2), .b2(),
        .i_v(i_v), .i_last(i_last), .i_mask(i_mask), .i_stats(i_stats),
        .y_valid(l_v), .y_last(l_last), .y(l_y),
        .m_valid(m_valid), .m_ready(m_ready), .m_data(m_data), .m_last(m_last), .idle(idle2));
    /* verilator lint_on PINCONNECTEMPTY */
    assign idle = idle1 && idle2;
    reg [L*CB-1:0] a2_code;
    always @(posedge clk) a2_code <= c1_data;
    wire [L*CB-1:0] rdata2;
    ram_sdp #(.W(L*CB), .DEPTH(BUF)) u_buf2 (
        .clk(clk), .we(a2_v), .waddr(wp2), .wdata(a2_code), .re(rd2), .raddr(rp2), .rdata(rdata2));

    // ------------------------------------------------------------------ stage B: terms
    wire [L*(TFW+1)-1:0] term_b;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_term
            wire [CB-1:0]  cd = a2_code[g*CB +: CB];
            wire [KB-1:0]  k  = cd[CB-1 -: KB];
            /* verilator lint_off WIDTHEXPAND */
            wire [TFW-1:0] tf = tf_rom[cd[FB-1:0] * TFW +: TFW];
            /* verilator lint_on WIDTHEXPAND */
            assign term_b[g*(TFW+1) +: TFW+1] = a2_mask[g] ? {1'b0, tf >> k} : {(TFW+1){1'b0}};
        end
    endgenerate
    reg                  b2_v, b2_first, b2_last;
    reg [L*(TFW+1)-1:0]  b2_term;
    always @(posedge clk) begin
        b2_term <= term_b;  b2_first <= a2_first;  b2_last <= a2_last;
        if (rst) b2_v <= 1'b0;
        else     b2_v <= a2_v;
    end

    // ------------------------------------------------------------------ stage C: beat sum (adder tree)
    wire [TW-1:0] bsum;
    /* verilator lint_off PINCONNECTEMPTY */
    adder_tree_core #(.N(L), .W(TFW+1), .SBW(1), .PIPE_LVLS(0)) u_tsum (
        .clk(clk), .rst(rst), .valid_in(1'b0), .sb_in(1'b0), .ci_in({L{1'b0}}), .d_in(b2_term),
        .valid_out(), .sb_out(), .ci_out(), .d_out(bsum));
    /* verilator lint_on PINCONNECTEMPTY */
    wire [SB-1:0] bsum_u;                          // >= 0, below 2^SB (the row sum is)
    generate
        if (TW >= SB) begin : g_trunc
            assign bsum_u = bsum[SB-1:0];
            /* verilator lint_off UNUSEDSIGNAL */
            wire [TW-1:0] unused_hi = bsum;
            /* verilator lint_on UNUSEDSIGNAL */
        end else begin : g_ext
            assign bsum_u = {{(SB-TW){1'b0}}, bsum};
        end
    endgenerate
    reg          c2_v, c2_first, c2_last;
    reg [SB-1:0] c2_sum;
    always @(posedge clk) begin
        c2_sum <= bsum_u;  c2_first <= b2_first;  c2_last <= b2_last;
        if (rst) c2_v <= 1'b0;
        else     c2_v <= b2_v;
    end

    // ------------------------------------------------------------------ stage D: row sum
    reg  [SB-1:0] run_s;
    wire [SB-1:0] s_d = (c2_first ? {SB{1'b0}} : run_s) + c2_sum;
    reg          f_v;
    reg [SB-1:0] f_s;
    always @(posedge clk) begin
        if (c2_v) run_s <= s_d;
        f_s <= s_d;
        if (rst) f_v <= 1'b0;
        else     f_v <= c2_v && c2_last;
    end

    // ------------------------------------------------------------------ stage G: lead(S), mantissa
    reg            g_v_r;
    reg [STW-1:0]  g_stats_r;
    always @(posedge clk) begin : stage_g
        integer ld;
        reg [SB-1:0] mv;
        ld = lead1(f_s);
        mv = f_s >> (ld - M);
        g_stats_r <= {ld[LDW-1:0], mv[M-1:0]};
        if (rst) g_v_r <= 1'b0;
        else     g_v_r <= f_v;
    end
    assign g_v = g_v_r;
    assign g_stats = g_stats_r;

    // ------------------------------------------------------------------ re-read, stage J: index, shift
    wire [LDW-1:0] i_lead = i_stats[M +: LDW];
    wire [M-1:0]   i_mant = i_stats[M-1:0];
    wire [L*(M+F)-1:0] idx_j;
    wire [L*SHW-1:0]   sh_j;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_norm
            wire [CB-1:0]  cd = rdata2[g*CB +: CB];
            wire [KB-1:0]  k  = cd[CB-1 -: KB];
            wire [M+F:0]   ix = ({{(F+1){1'b0}}, i_mant} << F) + {{(M+F+1-FB){1'b0}}, cd[FB-1:0]};
            assign idx_j[g*(M+F) +: M+F] = ix[M+F-1:0];
            assign sh_j[g*SHW +: SHW] = $signed({{(SHW-KB){1'b0}}, k}) + $signed({{(SHW-LDW){1'b0}}, i_lead}) + sh_off;
        end
    endgenerate
    reg                j_v, j_last;
    reg [L-1:0]        j_mask;
    reg [L*(M+F)-1:0]  j_idx;
    reg [L*SHW-1:0]    j_sh;
    always @(posedge clk) begin
        j_idx <= idx_j;  j_sh <= sh_j;  j_last <= i_last;  j_mask <= i_mask;
        if (rst) j_v <= 1'b0;
        else     j_v <= i_v;
    end

    // ------------------------------------------------------------------ stage K: table
    reg            k_v, k_last;
    reg [L-1:0]    k_mask;
    reg [L*PW-1:0] k_p;
    reg [L*SHW-1:0] k_sh;
    always @(posedge clk) begin
        for (j = 0; j < L; j = j + 1)
            k_p[j*PW +: PW] <= pt_rom[j_idx[j*(M+F) +: M+F] * PW +: PW];
        k_sh <= j_sh;  k_last <= j_last;  k_mask <= j_mask;
        if (rst) k_v <= 1'b0;
        else     k_v <= j_v;
    end

    // ------------------------------------------------------------------ stage L: round, shift, clamp
    wire [L*OB-1:0] y_l;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_out
            wire [PW-1:0]  p   = k_p[g*PW +: PW];
            wire [SHW-1:0] sh  = k_sh[g*SHW +: SHW];
            wire           big = $signed(sh) > PW;       // result 0: P < 2^PW <= 2^(sh-1)
            wire [PW:0]    one = {{PW{1'b0}}, 1'b1};
            /* verilator lint_off WIDTHTRUNC */
            wire [PW:0]    rnd = big ? {(PW+1){1'b0}} : (one << (sh - 1'b1));
            /* verilator lint_on WIDTHTRUNC */
            wire [PW:0]    q   = big ? {(PW+1){1'b0}} : (({1'b0, p} + rnd) >> sh);
            wire [PW:0]    omx = {{(PW+1-OB){1'b0}}, cfg_out_max};
            assign y_l[g*OB +: OB] = !k_mask[g] ? {OB{1'b0}} : (q > omx) ? cfg_out_max : q[OB-1:0];
        end
    endgenerate
    reg            l_v_r, l_last_r;
    reg [L*OB-1:0] l_y_r;
    always @(posedge clk) begin
        l_y_r <= y_l;  l_last_r <= k_last;
        if (rst) l_v_r <= 1'b0;
        else     l_v_r <= k_v;
    end
    assign l_v = l_v_r;
    assign l_last = l_last_r;
    assign l_y = l_y_r;

endmodule
