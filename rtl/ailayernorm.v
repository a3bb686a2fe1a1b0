`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// ailayernorm.v -- the AILayerNorm unit, streaming, exactly as docs/numerics.md
// section 6 (accelgen.numerics.layernorm.ailayernorm) defines it.
//
// Tokens of D signed XB-bit channels arrive as beats of L channels (channel
// b*L + j of a token at beat b, s_data[j*XB +: XB]); a token is cfg_beats =
// ceil(D / L) beats, the last holding cfg_tail channels.  Outputs: the same
// layout, OB-bit signed values (padding lanes 0), m_last on every token's last
// beat.
//
// Stage 1 (one beat per cycle):
//   A  accept the beat (it is written to the token buffer)
//   B  4-bit compressed squares: |x| < 16: SQ[|x|]; else s = lead(|x|) - 3,
//      q = |x| >> s, ((SQ[q] + q) << 2s) + (1 << (2s - 2))
//   C  beat sums of x and of the squares (adder trees)
//   D  token sums Sx, Sq
// Per token (fully pipelined, one token per cycle if need be):
//   E  D * Sq and Sx^2
//   F  V = max(max(D*Sq - Sx^2, 0) + eps, 1)
//   G  lead(V), h = lead >> 1, parity, the 5 bits after the leading one
//   H  r = RSQ[parity * 32 + i]  -> token statistics queue (Sx, r, h)
// Stage 2 (one beat per cycle, one token behind), per buffered beat of a
// token whose statistics are ready:
//   I  read the beat from the token buffer and gain/bias of its channels
//   J  n = D * x - Sx
//   K  n * r
//   L  z = (n * r + 2^(sh-1)) >>> sh,  sh = RSQF + h - NF
//   M  z * gain
//   N  + bias
//   O  y = clamp((z * gain + bias) >>> shift, out_min, out_max) -> output queue
// The token buffer is circular (two tokens plus slack for short tokens):
// stage 1 accumulates the next token while stage 2 normalises this one.
//
// Handshakes as e2softmax: s_ready / m_valid from registered state only,
// output credits, m_ready may stall indefinitely.  Timing without stalls:
// R tokens take (R + 1) * cfg_beats + LATENCY cycles, LATENCY = 16.
// Per-layer configuration (cfg_*, hold while not idle) and per-channel gain
// and bias, written through the load port (ld_*: channel ld_beat * L +
// ld_lane) before the layer runs.  Tables (parameters, emitted verbatim from
// accelgen.numerics by the generated wrapper): SQ[i] = SQUARES[i] (16
// entries of SQW_T bits), RSQ[i] = RSQRT[i] (64 entries of 16 bits).
// -----------------------------------------------------------------------------
module ailayernorm #(
    parameter L           = 1,       // lanes: channels per beat
    parameter XB          = 8,       // input bits (signed)
    parameter DMAX        = 32,      // largest D
    parameter EPSB        = 24,      // eps bits (unsigned)
    parameter GB          = 16,      // gain bits (signed)
    parameter BB          = 32,      // bias bits (signed)
    parameter SHB         = 6,       // output shift bits
    parameter OB          = 8,       // output bits (signed)
    parameter RSQF        = 15,      // RSQRT_FRAC
    parameter NF          = 10,      // NORM_FRAC
    parameter IDX         = 5,       // RSQRT_IDX_BITS
    parameter SQW_T       = 8,       // square table entry bits
    parameter RSW         = 16,      // rsqrt table entry bits
    parameter NB_MAX      = 32,      // beats of the longest token
    parameter BUF         = 2 * NB_MAX + 16,
    parameter OUT_DEPTH   = 16,      // > 8 beats between a read and its output transfer
    parameter STATS_DEPTH = 16,
    parameter [16 * SQW_T - 1 : 0]           SQ  = 0,
    parameter [(2 << IDX) * RSW - 1 : 0]     RSQ = 0,
    // derived widths (do not override)
    parameter DW  = $clog2(DMAX + 1),
    parameter NBW = $clog2(NB_MAX + 1),
    parameter NBA = (NB_MAX > 1) ? $clog2(NB_MAX) : 1,
    parameter LNW = $clog2(L + 1),
    parameter LLW = (L > 1) ? $clog2(L) : 1
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [NBW-1:0]     cfg_beats,
    input  wire [LNW-1:0]     cfg_tail,
    input  wire [DW-1:0]      cfg_dim,
    input  wire [EPSB-1:0]    cfg_eps,
    input  wire [SHB-1:0]     cfg_shift,
    input  wire [OB-1:0]      cfg_out_min,
    input  wire [OB-1:0]      cfg_out_max,
    input  wire               ld_en,
    input  wire [NBA-1:0]     ld_beat,
    input  wire [LLW-1:0]     ld_lane,
    input  wire [GB-1:0]      ld_gain,
    input  wire [BB-1:0]      ld_bias,
    input  wire               s_valid,
    output wire               s_ready,
    input  wire [L*XB-1:0]    s_data,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire               s_last,         // informational (tokens are counted)
    /* verilator lint_on UNUSEDSIGNAL */
    output wire               m_valid,
    input  wire               m_ready,
    output wire [L*OB-1:0]    m_data,
    output wire               m_last,
    output wire               idle
);
    localparam LG    = $clog2(DMAX);                        // D <= 2^LG
    localparam SQW   = 2 * XB + 1;                          // one compressed square
    localparam LW    = (L > 1) ? $clog2(L) : 0;             // beat sums: L <= 2^LW terms
    localparam LGX   = (LG > LW) ? LG : LW;
    localparam SXW   = XB + LGX + 1;                        // sum of x (signed)
    localparam SQSW  = SQW + LGX + 1;                       // sum of squares (unsigned)
    localparam PW1   = DW + SQSW;                           // D * Sq
    localparam PW2   = 2 * SXW;                             // Sx^2
    localparam VW0   = ((PW1 > PW2) ? PW1 : PW2) + 1;       // D * Sq - Sx^2 (signed)
    localparam VW    = ((VW0 > EPSB) ? VW0 : EPSB) + 1;     // V (unsigned)
    localparam LDW   = $clog2(VW);                          // lead(V) < VW
    localparam HW    = LDW;                                 // h = lead >> 1
    localparam NW    = XB + LG + 2;                         // n = D x - Sx (signed)
    localparam PNW   = NW + RSW + 1;                        // n * r
    localparam ZW    = NW + NF + 2;                         // z (signed): |n| r < 2^(NW-1+RSW), sh >= RSQF-NF
    localparam QW    = ZW + GB;                             // z * gain
    localparam SW    = ((QW > BB) ? QW : BB) + 1;           // z * gain + bias
    localparam BAW   = (BUF > 1) ? $clog2(BUF) : 1;
    localparam STW   = SXW + RSW + HW;                      // statistics word {Sx, r, h}
    localparam SH0   = RSQF - NF;                           // sh = SH0 + h

    wire [16*SQW_T-1:0]      sq_rom  = SQ;
    wire [(2<<IDX)*RSW-1:0]  rsq_rom = RSQ;

    function integer lead_x;  // most significant set bit of an XB-bit magnitude
        input [XB-1:0] v;
        integer b;
        begin
            lead_x = 0;
            for (b = 0; b < XB; b = b + 1) if (v[b]) lead_x = b;
        end
    endfunction
    function integer lead_v;  // most significant set bit of V
        input [VW-1:0] v;
        integer b;
        begin
            lead_v = 0;
            for (b = 0; b < VW; b = b + 1) if (v[b]) lead_v = b;
        end
    endfunction

    // ------------------------------------------------------------------ flow control (rtl/row_flow.v)
    wire            a_v, a_first, a_last;
    wire [L-1:0]    a_mask;
    wire [BAW-1:0]  wp, rp;
    wire            rd, i_v, i_last;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [NBW-1:0]  b2;             // beat of the token in stage 2 (addresses the gain/bias memories)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [L-1:0]    i_mask;
    wire [STW-1:0]  i_stats;
    wire            h_v, y_valid, y_last;
    wire [STW-1:0]  h_stats;
    wire [L*OB-1:0] y_o;
    row_flow #(.L(L), .OB(OB), .NB_MAX(NB_MAX), .BUF(BUF), .STATS_DEPTH(STATS_DEPTH), .OUT_DEPTH(OUT_DEPTH),
               .STW(STW)) u_flow (
        .clk(clk), .rst(rst), .cfg_beats(cfg_beats), .cfg_tail(cfg_tail), .s_valid(s_valid), .s_ready(s_ready),
        .a_v(a_v), .a_first(a_first), .a_last(a_last), .a_mask(a_mask), .wp(wp),
        .st_in_valid(h_v), .st_in(h_stats), .rd(rd), .rp(rp), .b2(b2),
        .i_v(i_v), .i_last(i_last), .i_mask(i_mask), .i_stats(i_stats),
        .y_valid(y_valid), .y_last(y_last), .y(y_o),
        .m_valid(m_valid), .m_ready(m_ready), .m_data(m_data), .m_last(m_last), .idle(idle));
    reg [L*XB-1:0] a_x;
    always @(posedge clk) a_x <= s_data;
    // the token buffer (x of every beat)
    wire [L*XB-1:0] rdata;
    ram_sdp #(.W(L*XB), .DEPTH(BUF)) u_buf (
        .clk(clk), .we(a_v), .waddr(wp), .wdata(a_x), .re(rd), .raddr(rp), .rdata(rdata));

    // ------------------------------------------------------------------ stage B: compressed squares
    wire [L*(XB+1)-1:0] xs_b;    // masked x, one spare bit for the tree
    wire [L*(SQW+1)-1:0] sq_b;   // squares, zero-extended (signed tree)
    genvar g;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_sq
            wire signed [XB-1:0] x  = a_x[g*XB +: XB];
            wire [XB-1:0]        a  = x[XB-1] ? (~x + 1'b1) : x;    // |x| (2^(XB-1) fits unsigned)
            wire                 sm = (a < 16);
            /* verilator lint_off WIDTH */
            wire [4:0]           s  = sm ? 5'd0 : lead_x(a) - 3;
            /* verilator lint_on WIDTH */
            wire [XB-1:0]        q  = a >> s;                         // 8 <= q <= 15 when !sm
            wire [3:0]           qi = sm ? a[3:0] : q[3:0];
            wire [SQW_T-1:0]     t  = sq_rom[qi * SQW_T +: SQW_T];
            wire [SQW-1:0]       te = {{(SQW-SQW_T){1'b0}}, t};
            wire [SQW-1:0]       qe = {{(SQW-4){1'b0}}, qi};
            wire [SQW-1:0]       one = {{(SQW-1){1'b0}}, 1'b1};
            wire [SQW-1:0]       big = ((te + qe) << (2 * s)) + (one << (2 * s - 2));
            wire [SQW-1:0]       sq = !a_mask[g] ? {SQW{1'b0}} : sm ? te : big;
            assign xs_b[g*(XB+1) +: XB+1] = a_mask[g] ? {x[XB-1], x} : {(XB+1){1'b0}};
            assign sq_b[g*(SQW+1) +: SQW+1] = {1'b0, sq};
        end
    endgenerate
    reg                  b_v, b_first, b_last;
    reg [L*(XB+1)-1:0]   b_x;
    reg [L*(SQW+1)-1:0]  b_sq;
    always @(posedge clk) begin
        b_x <= xs_b;  b_sq <= sq_b;  b_first <= a_first;  b_last <= a_last;
        if (rst) b_v <= 1'b0;
        else     b_v <= a_v;
    end

    // ------------------------------------------------------------------ stage C: beat sums
    wire [XB+1+LW-1:0]  bsx;
    wire [SQW+1+LW-1:0] bsq;
    /* verilator lint_off PINCONNECTEMPTY */
    adder_tree_core #(.N(L), .W(XB+1), .SBW(1), .PIPE_LVLS(0)) u_tx (
        .clk(clk), .rst(rst), .valid_in(1'b0), .sb_in(1'b0), .ci_in({L{1'b0}}), .d_in(b_x),
        .valid_out(), .sb_out(), .ci_out(), .d_out(bsx));
    adder_tree_core #(.N(L), .W(SQW+1), .SBW(1), .PIPE_LVLS(0)) u_tq (
        .clk(clk), .rst(rst), .valid_in(1'b0), .sb_in(1'b0), .ci_in({L{1'b0}}), .d_in(b_sq),
        .valid_out(), .sb_out(), .ci_out(), .d_out(bsq));
    /* verilator lint_on PINCONNECTEMPTY */
    reg                 c_v, c_first, c_last;
    reg signed [SXW-1:0] c_sx;
    reg [SQSW-1:0]      c_sq;
    always @(posedge clk) begin
        c_sx <= {{(SXW-(XB+1+LW)){bsx[XB+LW]}}, bsx};
        c_sq <= {{(SQSW-(SQW+LW)){1'b0}}, bsq[SQW+LW-1:0]};
        c_first <= b_first;  c_last <= b_last;
        if (rst) c_v <= 1'b0;
        else     c_v <= b_v;
    end

    // ------------------------------------------------------------------ stage D: token sums
    reg signed [SXW-1:0] run_sx;
    reg [SQSW-1:0]       run_sq;
    wire signed [SXW-1:0] sx_d = c_first ? c_sx : run_sx + c_sx;
    wire [SQSW-1:0]       sq_d = c_first ? c_sq : run_sq + c_sq;
    reg                  d_v;
    reg signed [SXW-1:0] d_sx;
    reg [SQSW-1:0]       d_sq;
    always @(posedge clk) begin
        if (c_v) begin
            run_sx <= sx_d;
            run_sq <= sq_d;
        end
        d_sx <= sx_d;
        d_sq <= sq_d;
        if (rst) d_v <= 1'b0;
        else     d_v <= c_v && c_last;
    end

    // ------------------------------------------------------------------ stage E: D * Sq, Sx^2
    reg                  e_v;
    reg [PW1-1:0]        e_dsq;
    reg signed [PW2-1:0] e_sx2;
    reg signed [SXW-1:0] e_sx;
    always @(posedge clk) begin
        e_dsq <= cfg_dim * d_sq;
        e_sx2 <= d_sx * d_sx;
        e_sx  <= d_sx;
        if (rst) e_v <= 1'b0;
        else     e_v <= d_v;
    end

    // ------------------------------------------------------------------ stage F: variance
    wire signed [VW0-1:0] diff = $signed({{(VW0-PW1){1'b0}}, e_dsq}) - $signed({{(VW0-PW2){e_sx2[PW2-1]}}, e_sx2});
    wire [VW-1:0]         vpos = diff[VW0-1] ? {VW{1'b0}} : {{(VW-VW0){1'b0}}, diff};
    wire [VW-1:0]         veps = vpos + {{(VW-EPSB){1'b0}}, cfg_eps};
    reg                   f_v;
    reg [VW-1:0]          f_var;
    reg signed [SXW-1:0]  f_sx;
    always @(posedge clk) begin
        f_var <= (veps == {VW{1'b0}}) ? {{(VW-1){1'b0}}, 1'b1} : veps;
        f_sx  <= e_sx;
        if (rst) f_v <= 1'b0;
        else     f_v <= e_v;
    end

    // ------------------------------------------------------------------ stage G: leading one, index
    reg                  g_v, g_par;
    reg [HW-1:0]         g_h;
    reg [IDX-1:0]        g_idx;
    reg signed [SXW-1:0] g_sx;
    always @(posedge clk) begin : stage_g
        integer ld;
        reg [VW-1:0] al;
        ld = lead_v(f_var);
        al = (ld >= IDX) ? (f_var >> (ld - IDX)) : (f_var << (IDX - ld));
        g_idx <= al[IDX-1:0];
        g_h   <= ld[LDW:1];
        g_par <= ld[0];
        g_sx  <= f_sx;
        if (rst) g_v <= 1'b0;
        else     g_v <= f_v;
    end

    // ------------------------------------------------------------------ stage H: 1/sqrt table
    reg           h_v_r;
    reg [STW-1:0] h_stats_r;
    always @(posedge clk) begin
        h_stats_r <= {g_sx, rsq_rom[{g_par, g_idx} * RSW +: RSW], g_h};
        if (rst) h_v_r <= 1'b0;
        else     h_v_r <= g_v;
    end
    assign h_v = h_v_r;
    assign h_stats = h_stats_r;

    // ------------------------------------------------------------------ gain / bias memories
    wire [L*GB-1:0] gain_i;
    wire [L*BB-1:0] bias_i;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_par_mem
            reg [GB+BB-1:0] pm [0:NB_MAX-1];
            reg [GB+BB-1:0] pq;
            always @(posedge clk) begin
                if (ld_en && ld_lane == g) pm[ld_beat] <= {ld_gain, ld_bias};
                /* verilator lint_off WIDTHTRUNC */
                if (rd) pq <= pm[b2[NBA-1:0]];
                /* verilator lint_on WIDTHTRUNC */
            end
            assign gain_i[g*GB +: GB] = pq[GB+BB-1 -: GB];
            assign bias_i[g*BB +: BB] = pq[BB-1:0];
        end
    endgenerate

    wire signed [SXW-1:0] i_sx = i_stats[STW-1 -: SXW];
    wire [RSW-1:0]        i_r  = i_stats[HW +: RSW];
    wire [HW-1:0]         i_h  = i_stats[HW-1:0];

    // ------------------------------------------------------------------ stages J .. O (per lane)
    reg  [5:0] v2;       // valid of stages J..O
    reg  [5:0] last2;
    reg  [L-1:0] mask_j, mask_k, mask_l, mask_m, mask_n;
    reg  [RSW-1:0] r_j;
    reg  [HW-1:0]  h_j, h_k;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_norm
            wire signed [XB-1:0]  x  = rdata[g*XB +: XB];
            reg signed [NW-1:0]   n_j;
            reg signed [PNW-1:0]  p_k;
            reg signed [ZW-1:0]   z_l;
            reg signed [QW-1:0]   q_m;
            reg signed [SW-1:0]   s_n;
            reg signed [OB-1:0]   y_r;
            reg signed [GB-1:0]   gain_j, gain_k, gain_l;
            reg signed [BB-1:0]   bias_j, bias_k, bias_l, bias_m;
            wire signed [NW-1:0]  dx  = $signed({1'b0, cfg_dim}) * x;
            wire signed [PNW-1:0] sh_one = {{(PNW-1){1'b0}}, 1'b1};
            wire [HW:0]           sh  = SH0 + h_k;
            wire signed [PNW-1:0] rnd = sh_one <<< (sh - 1'b1);
            wire signed [PNW-1:0] zz  = (p_k + rnd) >>> sh;
            wire signed [SW-1:0]  yy  = s_n >>> cfg_shift;
            wire signed [SW-1:0]  lo  = {{(SW-OB){cfg_out_min[OB-1]}}, cfg_out_min};
            wire signed [SW-1:0]  hi  = {{(SW-OB){cfg_out_max[OB-1]}}, cfg_out_max};
            wire signed [SW-1:0]  yc  = (yy < lo) ? lo : (yy > hi) ? hi : yy;
            always @(posedge clk) begin
                n_j <= dx - i_sx;                                  // J
                gain_j <= gain_i[g*GB +: GB];  bias_j <= bias_i[g*BB +: BB];
                p_k <= n_j * $signed({1'b0, r_j});                 // K
                gain_k <= gain_j;  bias_k <= bias_j;
                z_l <= zz[ZW-1:0];                                  // L
                gain_l <= gain_k;  bias_l <= bias_k;
                q_m <= z_l * gain_l;                                // M
                bias_m <= bias_l;
                s_n <= $signed({{(SW-QW){q_m[QW-1]}}, q_m})
                       + $signed({{(SW-BB){bias_m[BB-1]}}, bias_m});  // N
                y_r <= mask_n[g] ? yc[OB-1:0] : {OB{1'b0}};          // O
            end
            assign y_o[g*OB +: OB] = y_r;
        end
    endgenerate
    always @(posedge clk) begin
        r_j <= i_r;  h_j <= i_h;  h_k <= h_j;
        mask_j <= i_mask;  mask_k <= mask_j;  mask_l <= mask_k;  mask_m <= mask_l;  mask_n <= mask_m;
        last2 <= {last2[4:0], i_last};
        if (rst) v2 <= 6'd0;
        else     v2 <= {v2[4:0], i_v};
    end

    assign y_valid = v2[5];
    assign y_last  = last2[5];
endmodule
