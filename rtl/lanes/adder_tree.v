`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// adder_tree.v -- signed binary adder tree for the accelgen GEMM lanes.
//
// adder_tree_core : the tree itself (used by fixed_lane, pot_lane, dsp_pack2).
//   * N signed leaves of W bits (d_in, leaf i at d_in[i*W +: W]); N is padded
//     to NP = 2**L, L = $clog2(N), with zero leaves (optimised away).
//   * Level l (1..L) holds NP>>l nodes of W+l bits: a sum never overflows.
//   * One carry-in bit per leaf (ci_in[i]).  The sum computed is
//       d_out + ci_out == sum_i (d_in[i] + ci_in[i])       (exact)
//     Every adder absorbs exactly one carry-in bit in its carry chain (free
//     on CARRY4/CARRY8): node j of level l absorbs ci of leaf j*2^l+2^(l-1)-1;
//     the carry of the last leaf (NP-1) is left over and returned on ci_out
//     for the accumulator adder.  Lanes use this for "~v + 1" negation
//     (pot_lane) and the borrow correction (dsp_pack2) at zero adder cost.
//     Tie ci_in to 0 for a plain tree.
//   * Pipelining: a register stage after level l iff PIPE_LVLS > 0 and
//     l % PIPE_LVLS == 0 (PIPE_LVLS = 0: purely combinational).
//     Latency T = (PIPE_LVLS == 0) ? 0 : L / PIPE_LVLS cycles.
//   * valid_in/valid_out are reset (synchronous, rst active high); the
//     side-band sb_in/sb_out (SBW bits) travels with the data, not reset.
//
// adder_tree : stand-alone, registered-in/registered-out wrapper (for cost
//   measurement).  Inputs: valid_in, d_in (TM signed W-bit values); output:
//   valid_out, sum_out (W + $clog2(TM) bits, exact), one sum per clock
//   (II = 1).  No accumulator, hence no acc_clear.
//   LATENCY = 2 + T cycles (input register, T tree stages, output register):
//   valid_in sampled at rising edge k -> valid_out/sum_out updated at rising
//   edge k + 1 + T.
// -----------------------------------------------------------------------------
module adder_tree_core #(
    parameter N         = 8,   // number of leaves
    parameter W         = 16,  // leaf width (signed)
    parameter SBW       = 1,   // side-band width
    parameter PIPE_LVLS = 2    // register every PIPE_LVLS levels (0 = none)
) (
    /* verilator lint_off UNUSEDSIGNAL */  // clk/rst unused if PIPE_LVLS=0
    input  wire                        clk,
    input  wire                        rst,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                        valid_in,
    input  wire [SBW-1:0]              sb_in,
    input  wire [N-1:0]                ci_in,
    input  wire [N*W-1:0]              d_in,
    output wire                        valid_out,
    output wire [SBW-1:0]              sb_out,
    output wire                        ci_out,
    output wire [W+$clog2(N)-1:0]      d_out
);
    localparam L  = $clog2(N);
    localparam NP = 1 << L;

    // 1 if a register stage follows tree level l
    function integer is_reg;
        input integer l;
        begin
            if (PIPE_LVLS == 0) is_reg = 0;
            else                is_reg = ((l % PIPE_LVLS) == 0) ? 1 : 0;
        end
    endfunction

    // g_lvl[l] holds level l: q = NP>>l node values of W+l bits, c = carry-in
    // bits still to be absorbed, v = valid, sb = side-band.
    genvar l, j;
    generate
        for (l = 0; l <= L; l = l + 1) begin : g_lvl
            localparam WO = W + l;              // node width at this level
            localparam M  = NP >> l;            // nodes at this level
            wire [M*WO-1:0] q;
            wire [NP-1:0]   c;
            wire            v;
            wire [SBW-1:0]  sb;
            if (l == 0) begin : g_leaf
                if (NP > N) begin : g_pad
                    assign q = {{((NP-N)*W){1'b0}}, d_in};
                    assign c = {{(NP-N){1'b0}}, ci_in};
                end else begin : g_nopad
                    assign q = d_in;
                    assign c = ci_in;
                end
                assign v  = valid_in;
                assign sb = sb_in;
            end else begin : g_node
                localparam WI = WO - 1;         // input width of this level
                wire [M*WO-1:0] s;
                for (j = 0; j < M; j = j + 1) begin : g_add
                    wire [WI-1:0] a  = g_lvl[l-1].q[(2*j)   * WI +: WI];
                    wire [WI-1:0] b  = g_lvl[l-1].q[(2*j+1) * WI +: WI];
                    wire          ci = g_lvl[l-1].c[j*(1 << l) + (1 << (l-1)) - 1];
                    // sign-extend by one bit, add with carry-in (all WO wide)
                    assign s[j*WO +: WO] = {a[WI-1], a} + {b[WI-1], b} + {{(WO-1){1'b0}}, ci};
                end
                if (is_reg(l) != 0) begin : g_reg
                    reg [M*WO-1:0] s_q;
                    reg [NP-1:0]   c_q;
                    reg [SBW-1:0]  sb_q;
                    reg            v_q;
                    always @(posedge clk) begin
                        s_q  <= s;
                        c_q  <= g_lvl[l-1].c;
                        sb_q <= g_lvl[l-1].sb;
                        if (rst) v_q <= 1'b0;
                        else     v_q <= g_lvl[l-1].v;
                    end
                    assign q = s_q;  assign c = c_q;  assign sb = sb_q;  assign v = v_q;
                end else begin : g_comb
                    assign q  = s;
                    assign c  = g_lvl[l-1].c;
                    assign sb = g_lvl[l-1].sb;
                    assign v  = g_lvl[l-1].v;
                end
            end
        end
    endgenerate

    assign d_out     = g_lvl[L].q;
    assign ci_out    = g_lvl[L].c[NP-1];
    assign sb_out    = g_lvl[L].sb;
    assign valid_out = g_lvl[L].v;
endmodule

module adder_tree #(
    parameter TM        = 8,   // number of inputs
    parameter W         = 16,  // input width (signed)
    parameter PIPE_LVLS = 2
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     valid_in,
    input  wire [TM*W-1:0]          d_in,
    output reg                      valid_out,
    output reg  [W+$clog2(TM)-1:0]  sum_out
);
    localparam OW = W + $clog2(TM);

    reg  [TM*W-1:0] d_r;
    reg             v_r;
    always @(posedge clk) begin
        d_r <= d_in;
        if (rst) v_r <= 1'b0;
        else     v_r <= valid_in;
    end

    wire          tv;
    wire [OW-1:0] ts;
    /* verilator lint_off PINCONNECTEMPTY */
    adder_tree_core #(.N(TM), .W(W), .SBW(1), .PIPE_LVLS(PIPE_LVLS)) u_tree (
        .clk(clk), .rst(rst), .valid_in(v_r), .sb_in(1'b0),
        .ci_in({TM{1'b0}}), .d_in(d_r),
        .valid_out(tv), .sb_out(), .ci_out(), .d_out(ts));
    /* verilator lint_on PINCONNECTEMPTY */

    always @(posedge clk) begin
        sum_out <= ts;
        if (rst) valid_out <= 1'b0;
        else     valid_out <= tv;
    end
endmodule
