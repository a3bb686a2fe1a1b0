`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// dsp_pack2.v -- two GEMM output lanes (a, b) sharing the activations, with
// each pair of int8 products computed by ONE multiplier ("INT8 packing",
// Xilinx WP486).
//
// For each of the TM elements:
//   wp = (w_a << SH) + w_b          WB+SH+1 bits (27 for WB=8, SH=18): the
//                                   A/D pre-adder of a DSP48E2
//   P  = x * wp                     27x18 multiplier (x on the B port)
//      = x*w_a * 2^SH + x*w_b
// Exact split, valid whenever the lower product fits the SH-bit field
// (|x*w_b| <= 2^(XB+WB-2) < 2^(SH-1), i.e. SH >= XB + WB):
//   lower product  x*w_b = P[XB+WB-1:0] as signed (= P[SH-1:0] sign-extended)
//   upper product  x*w_a = P[SH+XB+WB-1:SH] as signed + P[SH-1]
// P[SH-1] is the "borrow": a negative lower product takes 1 from the upper
// field.  The +P[SH-1] correction costs no adder: it is fed as a carry-in of
// lane a's adder tree (see adder_tree_core), so both sums are exact.
// REQUIRES SH >= XB + WB (not checked in RTL).  Default XB = WB = 8, SH = 18
// as in WP486; SH = 16 also works for int8 and makes wp 25 bits, which fits
// the 25x18 multiplier of a 7-series DSP48E1.
//
// Per clock (II = 1): dot_a = sum_i x[i]*w_a[i], dot_b = sum_i x[i]*w_b[i];
// acc_a/acc_b = (acc_clear ? 0 : acc) + dot (ACCB bits, wrap).
// x_in[i*XB +: XB], wa_in[i*WB +: WB], wb_in[i*WB +: WB], all signed.
// Control / reset as fixed_lane (valid_in, acc_clear sampled with valid_in,
// valid_out one pulse per valid beat, synchronous active-high rst).
//
// Pipeline: input regs -> pre-add regs (AD) -> product regs (M) -> adder
// trees (T stages) -> accumulators.  LATENCY = 4 + T cycles,
// T = (PIPE_LVLS == 0) ? 0 : clog2(TM) / PIPE_LVLS.
// -----------------------------------------------------------------------------
module dsp_pack2 #(
    parameter TM        = 8,    // dot-product width (pairs per cycle)
    parameter XB        = 8,    // activation bits (signed)
    parameter WB        = 8,    // weight bits (signed), both lanes
    parameter ACCB      = 32,   // accumulator bits
    parameter SH        = 18,   // field shift of w_a
    parameter PIPE_LVLS = 2     // adder-tree register every PIPE_LVLS levels
) (
    input  wire               clk,
    input  wire               rst,
    input  wire               valid_in,
    input  wire               acc_clear,
    input  wire [TM*XB-1:0]   x_in,
    input  wire [TM*WB-1:0]   wa_in,
    input  wire [TM*WB-1:0]   wb_in,
    output reg                valid_out,
    output reg  [ACCB-1:0]    acc_a_out,
    output reg  [ACCB-1:0]    acc_b_out
);
    localparam PB = XB + WB;                // width of one product
    localparam AW = WB + SH + 1;            // packed weight width (27 for 8/18)
    localparam MW = AW + XB;                // packed product width
    localparam SW = PB + $clog2(TM);        // tree output width

    // stage 1: input registers
    reg [TM*XB-1:0] x_r;
    reg [TM*WB-1:0] wa_r, wb_r;
    reg             v_r, c_r;
    always @(posedge clk) begin
        x_r  <= x_in;
        wa_r <= wa_in;
        wb_r <= wb_in;
        c_r  <= acc_clear;
        if (rst) v_r <= 1'b0;
        else     v_r <= valid_in;
    end

    // stage 2: packed weight (pre-adder), stage 3: product; then split
    wire [TM*PB-1:0] hi, lo;
    wire [TM-1:0]    borrow;
    reg              v_d, c_d, v_m, c_m;
    genvar i;
    generate
        for (i = 0; i < TM; i = i + 1) begin : g_pair
            wire        [WB-1:0] wa = wa_r[i*WB +: WB];
            wire        [WB-1:0] wb = wb_r[i*WB +: WB];
            reg  signed [AW-1:0] wp_q;                 // (w_a << SH) + w_b
            reg  signed [XB-1:0] x_q;
            reg  signed [MW-1:0] p_q;
            always @(posedge clk) begin
                wp_q <= {wa[WB-1], wa, {SH{1'b0}}} + {{(SH+1){wb[WB-1]}}, wb};
                x_q  <= x_r[i*XB +: XB];
                p_q  <= x_q * wp_q;
            end
            assign lo[i*PB +: PB] = p_q[PB-1:0];
            assign hi[i*PB +: PB] = p_q[SH +: PB];
            assign borrow[i]      = p_q[SH-1];
        end
    endgenerate
    always @(posedge clk) begin
        c_d <= c_r;
        c_m <= c_d;
        if (rst) begin
            v_d <= 1'b0;
            v_m <= 1'b0;
        end else begin
            v_d <= v_r;
            v_m <= v_d;
        end
    end

    // two adder trees; lane a takes the borrows as carry-ins
    wire          tv, tc, tci;
    wire [SW-1:0] sa, sb;
    /* verilator lint_off PINCONNECTEMPTY */
    adder_tree_core #(.N(TM), .W(PB), .SBW(1), .PIPE_LVLS(PIPE_LVLS)) u_tree_a (
        .clk(clk), .rst(rst), .valid_in(v_m), .sb_in(c_m),
        .ci_in(borrow), .d_in(hi),
        .valid_out(tv), .sb_out(tc), .ci_out(tci), .d_out(sa));
    adder_tree_core #(.N(TM), .W(PB), .SBW(1), .PIPE_LVLS(PIPE_LVLS)) u_tree_b (
        .clk(clk), .rst(rst), .valid_in(v_m), .sb_in(c_m),
        .ci_in({TM{1'b0}}), .d_in(lo),
        .valid_out(), .sb_out(), .ci_out(), .d_out(sb));
    /* verilator lint_on PINCONNECTEMPTY */

    // accumulators
    /* verilator lint_off UNUSEDSIGNAL */
    wire [ACCB+SW-1:0] sa_x = {{ACCB{sa[SW-1]}}, sa};
    wire [ACCB+SW-1:0] sb_x = {{ACCB{sb[SW-1]}}, sb};
    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) begin
        if (rst) begin
            valid_out <= 1'b0;
            acc_a_out <= {ACCB{1'b0}};
            acc_b_out <= {ACCB{1'b0}};
        end else begin
            valid_out <= tv;
            if (tv) begin
                acc_a_out <= (tc ? {ACCB{1'b0}} : acc_a_out) + sa_x[ACCB-1:0]
                             + {{(ACCB-1){1'b0}}, tci};
                acc_b_out <= (tc ? {ACCB{1'b0}} : acc_b_out) + sb_x[ACCB-1:0];
            end
        end
    end
endmodule
