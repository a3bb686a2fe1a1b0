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
// Stage 1 (one beat per cycle):
//   A  accept the beat
//   B  e = t >>> (in_frac - F) (or t << (F - in_frac)), t = x + (x>>>1) - (x>>>4);
//      e is written to the row buffer
//   C  prefix maximum of the beat
//   D  running maximum over the row; R_j = (max_j >>> F) + 1 and the
//      renormalisation steps R_j - R_(j-1)
//   E  terms TF[d & (2^F-1)] >> min(d >> F, KMAX), d = (R_j << F) - e_j
//   F  the running sum, in index order: S = (S >> step_j) + term_j (a chain of
//      L shift-adds: the definition is sequential, see the report)
//   G  at the end of a row: L = lead(S), m = (S >> (L - M)) & (2^M - 1);
//      (R, L, m) go into the row-statistics queue
// Stage 2 (one beat per cycle, one row behind), for every buffered beat of a
// row whose statistics are ready:
//   I  read the beat from the row buffer (block RAM, registered read)
//   J  d, k = min(d >> F, KMAX), index m * 2^F + (d & (2^F-1)),
//      sh = k + L + RF - out_frac
//   K  P = PT[index]
//   L  y = min((P + 2^(sh-1)) >> sh, out_max) -> output queue
// The row buffer is a circular buffer of BUF beats (two rows plus slack for
// short rows): stage 1 of the next row fills it while stage 2 drains this
// one (the ping-pong of docs/hardware.md, generalised so that rows shorter
// than the pipeline also stream at one beat per cycle).
//
// Handshakes: AXI-Stream valid/ready.  s_ready and m_valid depend on
// registered state only.  A beat is accepted when the buffer has room (and,
// for a row's first beat, the statistics queue has room); stage 2 issues a
// read only with an output credit, so m_ready may stall indefinitely.
// Timing without stalls: R rows take (R + 1) * cfg_beats + LATENCY cycles from
// the first accepted beat to the last output transfer, LATENCY = 12.
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
    localparam RW   = EB + 1;                      // R and step
    localparam DW   = EB + F + 2;                  // d = (R << F) - e
    localparam BAW  = (BUF > 1) ? $clog2(BUF) : 1;
    localparam LDW  = $clog2(SB);                  // lead(S) < SB
    localparam STW  = RW + LDW + M;                // statistics word {R, lead, m}
    localparam SHW  = 10;                          // sh (signed)

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

    // ------------------------------------------------------------------ flow control (rtl/row_flow.v)
    wire            a_v, a_first, a_last;
    wire [L-1:0]    a_mask;
    wire [BAW-1:0]  wp, rp;
    wire            rd, i_v, i_last;
    wire [L-1:0]    i_mask;
    wire [STW-1:0]  i_stats;
    wire            g_v, l_v, l_last;
    wire [STW-1:0]  g_stats;
    wire [L*OB-1:0] l_y;
    /* verilator lint_off PINCONNECTEMPTY */
    row_flow #(.L(L), .OB(OB), .NB_MAX(NB_MAX), .BUF(BUF), .STATS_DEPTH(STATS_DEPTH), .OUT_DEPTH(OUT_DEPTH),
               .STW(STW)) u_flow (
        .clk(clk), .rst(rst), .cfg_beats(cfg_beats), .cfg_tail(cfg_tail), .s_valid(s_valid), .s_ready(s_ready),
        .a_v(a_v), .a_first(a_first), .a_last(a_last), .a_mask(a_mask), .wp(wp),
        .st_in_valid(g_v), .st_in(g_stats), .rd(rd), .rp(rp), .b2(),
        .i_v(i_v), .i_last(i_last), .i_mask(i_mask), .i_stats(i_stats),
        .y_valid(l_v), .y_last(l_last), .y(l_y),
        .m_valid(m_valid), .m_ready(m_ready), .m_data(m_data), .m_last(m_last), .idle(idle));
    /* verilator lint_on PINCONNECTEMPTY */
    reg [L*XB-1:0] a_x;
    integer j;
    always @(posedge clk) a_x <= s_data;

    // ------------------------------------------------------------------ stage B: exponents
    wire [L*EB-1:0] e_b;
    genvar g;
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
    // the row buffer: e of every beat, written in stage B, read by stage 2
    wire [L*EB-1:0] rdata;
    ram_sdp #(.W(L*EB), .DEPTH(BUF)) u_buf (
        .clk(clk), .we(a_v), .waddr(wp), .wdata(e_b), .re(rd), .raddr(rp), .rdata(rdata));

    // ------------------------------------------------------------------ stage C: prefix maximum
    wire [L*EB-1:0] pm_c;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_pmax
            wire signed [EB-1:0] ej = b_e[g*EB +: EB];
            wire signed [EB-1:0] pm;                   // max of the valid elements 0..g
            if (g == 0) begin : g_first
                assign pm = ej;
            end else begin : g_next
                wire signed [EB-1:0] prev = g_pmax[g-1].pm;
                assign pm = (b_mask[g] && ej > prev) ? ej : prev;
            end
            assign pm_c[g*EB +: EB] = pm;
        end
    endgenerate
    reg            c_v, c_first, c_last;
    reg [L-1:0]    c_mask;
    reg [L*EB-1:0] c_e, c_pm;
    always @(posedge clk) begin
        c_e <= b_e;  c_pm <= pm_c;  c_first <= b_first;  c_last <= b_last;  c_mask <= b_mask;
        if (rst) c_v <= 1'b0;
        else     c_v <= b_v;
    end

    // ------------------------------------------------------------------ stage D: running max, R, steps
    reg signed [EB-1:0] run_max;
    reg signed [RW-1:0] run_r;
    wire [L*RW-1:0] r_d, step_d;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_ref
            wire signed [EB-1:0] pm = c_pm[g*EB +: EB];
            wire signed [EB-1:0] mx = (c_first || pm > run_max) ? pm : run_max;
            wire signed [RW-1:0] mxe = {mx[EB-1], mx};
            wire signed [RW-1:0] r   = (mxe >>> F) + 1;
            assign r_d[g*RW +: RW] = r;
            if (g == 0) begin : g_first
                wire signed [RW-1:0] rprev = c_first ? r : run_r;
                assign step_d[0 +: RW] = r - rprev;
            end else begin : g_next
                assign step_d[g*RW +: RW] = r - g_ref[g-1].r;
            end
        end
    endgenerate
    reg            d_v, d_first, d_last;
    reg [L-1:0]    d_mask;
    reg [L*EB-1:0] d_e;
    reg [L*RW-1:0] d_r, d_step;
    always @(posedge clk) begin
        d_e <= c_e;  d_r <= r_d;  d_step <= step_d;
        d_first <= c_first;  d_last <= c_last;  d_mask <= c_mask;
        if (c_v) begin
            run_max <= g_ref[L-1].mx;
            run_r <= r_d[(L-1)*RW +: RW];
        end
        if (rst) d_v <= 1'b0;
        else     d_v <= c_v;
    end

    // ------------------------------------------------------------------ stage E: terms
    wire [L*TFW-1:0] term_e;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_term
            wire signed [RW-1:0] r  = d_r[g*RW +: RW];
            wire signed [EB-1:0] e  = d_e[g*EB +: EB];
            wire signed [DW-1:0] dd = ({{(DW-RW){r[RW-1]}}, r} <<< F) - {{(DW-EB){e[EB-1]}}, e};
            wire signed [DW-1:0] ki = dd >>> F;
            wire [DW-1:0]        fr = dd & (NTF - 1);
            wire [4:0]           k  = (ki > KMAX) ? KMAX[4:0] : ki[4:0];
            /* verilator lint_off WIDTHEXPAND */
            wire [TFW-1:0]       tf = tf_rom[fr * TFW +: TFW];
            /* verilator lint_on WIDTHEXPAND */
            assign term_e[g*TFW +: TFW] = tf >> k;
        end
    endgenerate
    reg             e_v, e_first, e_last;
    reg [L-1:0]     e_mask;
    reg [L*TFW-1:0] e_term;
    reg [L*RW-1:0]  e_step;
    reg [RW-1:0]    e_rlast;
    always @(posedge clk) begin
        e_term <= term_e;  e_step <= d_step;  e_rlast <= d_r[(L-1)*RW +: RW];
        e_first <= d_first;  e_last <= d_last;  e_mask <= d_mask;
        if (rst) e_v <= 1'b0;
        else     e_v <= d_v;
    end

    // ------------------------------------------------------------------ stage F: the running sum
    reg  [SB-1:0]   run_s;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_sum
            wire [RW-1:0]  st = e_step[g*RW +: RW];
            wire [TFW-1:0] tm = e_term[g*TFW +: TFW];
            wire [SB-1:0]  si;                         // S before element g
            wire [SB-1:0]  so;                         // S after element g
            if (g == 0) begin : g_first
                assign si = e_first ? {SB{1'b0}} : run_s;
            end else begin : g_next
                assign si = g_sum[g-1].so;
            end
            /* verilator lint_off WIDTHEXPAND */
            assign so = e_mask[g] ? (si >> st) + tm : si;
            /* verilator lint_on WIDTHEXPAND */
        end
    endgenerate
    wire [SB-1:0] s_f = g_sum[L-1].so;
    reg          f_v;
    reg [SB-1:0] f_s;
    reg [RW-1:0] f_r;
    always @(posedge clk) begin
        if (e_v) run_s <= s_f;
        f_s <= s_f;
        f_r <= e_rlast;
        if (rst) f_v <= 1'b0;
        else     f_v <= e_v && e_last;
    end

    // ------------------------------------------------------------------ stage G: lead(S), mantissa
    reg            g_v_r;
    reg [STW-1:0]  g_stats_r;
    always @(posedge clk) begin : stage_g
        integer ld;
        reg [SB-1:0] mv;
        ld = lead1(f_s);
        mv = f_s >> (ld - M);
        g_stats_r <= {f_r, ld[LDW-1:0], mv[M-1:0]};
        if (rst) g_v_r <= 1'b0;
        else     g_v_r <= f_v;
    end
    assign g_v = g_v_r;
    assign g_stats = g_stats_r;

    // ------------------------------------------------------------------ stage J: code, index, shift
    wire [RW-1:0]  i_r    = i_stats[STW-1 -: RW];
    wire [LDW-1:0] i_lead = i_stats[M +: LDW];
    wire [M-1:0]   i_mant = i_stats[M-1:0];
    wire [L*(M+F)-1:0] idx_j;
    wire [L*SHW-1:0]   sh_j;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_norm
            wire signed [EB-1:0]  e  = rdata[g*EB +: EB];
            wire signed [RW-1:0]  r  = i_r;
            wire signed [DW-1:0]  dd = ({{(DW-RW){r[RW-1]}}, r} <<< F) - {{(DW-EB){e[EB-1]}}, e};
            wire signed [DW-1:0]  ki = dd >>> F;
            wire [DW-1:0]         fr = dd & (NTF - 1);
            wire [4:0]            k  = (ki > KMAX) ? KMAX[4:0] : ki[4:0];
            wire [M+F:0]          ix = ({{(F+1){1'b0}}, i_mant} << F) + fr[M+F:0];
            assign idx_j[g*(M+F) +: M+F] = ix[M+F-1:0];
            assign sh_j[g*SHW +: SHW] = $signed({{(SHW-5){1'b0}}, k}) + $signed({{(SHW-LDW){1'b0}}, i_lead}) + sh_off;
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
