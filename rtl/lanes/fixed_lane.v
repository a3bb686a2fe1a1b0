`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// fixed_lane.v -- one fixed-point GEMM output lane (accelgen).
//
// Per clock (II = 1) it takes TM signed activations x[i] (XB bits) and TM
// signed weights w[i] (WB bits, 8 or 4) and computes
//     dot = sum_i x[i] * w[i]                    (exact, XB+WB+clog2(TM) bits)
//     acc = (acc_clear ? 0 : acc) + dot          (ACCB bits, wraps mod 2^ACCB)
// Element i is x_in[i*XB +: XB] / w_in[i*WB +: WB].  The products are plain
// `*` on signed operands followed by a register, so that synthesis can map
// them to DSP48E2/DSP48E1 (MREG) or, for small operands, to LUTs.
//
// Control: valid_in qualifies x_in/w_in; acc_clear is sampled with valid_in
// and marks the first beat of a new accumulation (acc restarts from that
// beat's dot).  acc_clear without valid_in is ignored.  valid_out pulses once
// per valid beat, with acc_out = running sum including that beat.
// rst: synchronous, active high; clears valid pipeline and accumulator.
//
// Pipeline (registers): input regs -> product regs -> adder tree (T stages)
// -> accumulator (= acc_out).  LATENCY = 3 + T cycles, T = 0 if PIPE_LVLS = 0
// else clog2(TM) / PIPE_LVLS (floor): valid_in sampled at rising edge k gives
// valid_out/acc_out updated at rising edge k + 2 + T.
// Requires ACCB >= XB + WB + clog2(TM) for an exact (non-wrapping) single dot.
// -----------------------------------------------------------------------------
module fixed_lane #(
    parameter TM        = 8,    // dot-product width (inputs per cycle)
    parameter XB        = 8,    // activation bits (signed)
    parameter WB        = 8,    // weight bits (signed)
    parameter ACCB      = 32,   // accumulator bits
    parameter PIPE_LVLS = 2     // adder-tree register every PIPE_LVLS levels
) (
    input  wire               clk,
    input  wire               rst,
    input  wire               valid_in,
    input  wire               acc_clear,
    input  wire [TM*XB-1:0]   x_in,
    input  wire [TM*WB-1:0]   w_in,
    output reg                valid_out,
    output reg  [ACCB-1:0]    acc_out
);
    localparam PB = XB + WB;                // product width
    localparam SW = PB + $clog2(TM);        // tree output width

    // stage 1: input registers
    reg [TM*XB-1:0] x_r;
    reg [TM*WB-1:0] w_r;
    reg             v_r, c_r;
    always @(posedge clk) begin
        x_r <= x_in;
        w_r <= w_in;
        c_r <= acc_clear;
        if (rst) v_r <= 1'b0;
        else     v_r <= valid_in;
    end

    // stage 2: products (registered)
    wire [TM*PB-1:0] p;
    reg              v_p, c_p;
    genvar i;
    generate
        for (i = 0; i < TM; i = i + 1) begin : g_mul
            wire signed [XB-1:0] xs = x_r[i*XB +: XB];
            wire signed [WB-1:0] ws = w_r[i*WB +: WB];
            reg  signed [PB-1:0] p_q;
            always @(posedge clk) p_q <= xs * ws;
            assign p[i*PB +: PB] = p_q;
        end
    endgenerate
    always @(posedge clk) begin
        c_p <= c_r;
        if (rst) v_p <= 1'b0;
        else     v_p <= v_r;
    end

    // adder tree (T register stages)
    wire          tv, tc;
    wire [SW-1:0] ts;
    /* verilator lint_off PINCONNECTEMPTY */
    adder_tree_core #(.N(TM), .W(PB), .SBW(1), .PIPE_LVLS(PIPE_LVLS)) u_tree (
        .clk(clk), .rst(rst), .valid_in(v_p), .sb_in(c_p),
        .ci_in({TM{1'b0}}), .d_in(p),
        .valid_out(tv), .sb_out(tc), .ci_out(), .d_out(ts));
    /* verilator lint_on PINCONNECTEMPTY */

    // accumulator (sign-extend / truncate the dot to ACCB bits)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [ACCB+SW-1:0] ts_x = {{ACCB{ts[SW-1]}}, ts};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [ACCB-1:0]    dot  = ts_x[ACCB-1:0];
    always @(posedge clk) begin
        if (rst) begin
            valid_out <= 1'b0;
            acc_out   <= {ACCB{1'b0}};
        end else begin
            valid_out <= tv;
            if (tv) acc_out <= (tc ? {ACCB{1'b0}} : acc_out) + dot;
        end
    end
endmodule
