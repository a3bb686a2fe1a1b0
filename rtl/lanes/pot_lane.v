`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// pot_lane.v -- one power-of-two (PoT) weight GEMM output lane (accelgen).
// All logic in LUTs/carry chains, no multiplier.
//
// Weight code (WB bits, default 4):  {s, e[WB-2:0]}
//     e != all-ones :  w = (s ? -1 : +1) * 2^e      (WB=4: e in 0..6, |w| <= 64)
//     e == all-ones :  w = 0                         (sign bit ignored)
//   ZERO CODE: 4'b0111 is the canonical zero; 4'b1111 also decodes to 0.
//   Chosen because it is the cheapest decode: e = 7 is just a forced-zero
//   input of the 8:1 shift mux (no extra gate), and the sign needs no special
//   case (see below).  Codes 4'b0000..4'b0110 = +1..+64, 4'b1000..4'b1110 =
//   -1..-64.
//
// Per clock (II = 1): dot = sum_i x[i] * w[i] (exact), acc = (acc_clear ? 0 :
// acc) + dot (ACCB bits, wraps).  x_in[i*XB +: XB] signed, w_in[i*WB +: WB].
// Product = (x << e), negated if s.  The negation costs no adder: the lane
// forms v = (x << e) ^ {s...} (= -(x<<e) - 1 when s) and feeds s as a
// carry-in of the adder tree (adder_tree_core absorbs one carry bit per
// adder; the last one goes into the accumulator adder).
//
// Control / reset as fixed_lane: valid_in qualifies the inputs, acc_clear
// (sampled with valid_in) restarts the accumulation at that beat, valid_out
// pulses once per valid beat; synchronous active-high rst.
//
// Pipeline: input regs -> shift/xor regs -> adder tree (T stages) -> acc.
// LATENCY = 3 + T cycles, T = (PIPE_LVLS == 0) ? 0 : clog2(TM) / PIPE_LVLS,
// identical to fixed_lane.
// -----------------------------------------------------------------------------
module pot_lane #(
    parameter TM        = 8,    // dot-product width
    parameter XB        = 8,    // activation bits (signed)
    parameter WB        = 4,    // weight code bits: 1 sign + (WB-1) exponent
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
    localparam EB   = WB - 1;                 // exponent bits
    localparam EMAX = (1 << EB) - 2;          // largest exponent (6 for WB=4)
    localparam PB   = XB + EMAX;              // shifted-activation width
    localparam SW   = PB + $clog2(TM);        // tree output width

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

    // stage 2: v = (x << e) ^ s  (registered), s -> carry-in
    wire [TM*PB-1:0] p;
    wire [TM-1:0]    sg;
    reg              v_p, c_p;
    genvar i;
    generate
        for (i = 0; i < TM; i = i + 1) begin : g_sh
            wire [XB-1:0] x = x_r[i*XB +: XB];
            wire [EB-1:0] e = w_r[i*WB +: EB];
            wire          s = w_r[i*WB + EB];
            wire [PB-1:0] xe = {{EMAX{x[XB-1]}}, x};          // sign-extended
            wire [PB-1:0] sh = (&e) ? {PB{1'b0}} : (xe << e);
            reg  [PB-1:0] p_q;
            reg           s_q;
            always @(posedge clk) begin
                p_q <= sh ^ {PB{s}};
                s_q <= s;
            end
            assign p[i*PB +: PB] = p_q;
            assign sg[i]         = s_q;
        end
    endgenerate
    always @(posedge clk) begin
        c_p <= c_r;
        if (rst) v_p <= 1'b0;
        else     v_p <= v_r;
    end

    // adder tree with the sign bits as carry-ins (T register stages)
    wire          tv, tc, tci;
    wire [SW-1:0] ts;
    adder_tree_core #(.N(TM), .W(PB), .SBW(1), .PIPE_LVLS(PIPE_LVLS)) u_tree (
        .clk(clk), .rst(rst), .valid_in(v_p), .sb_in(c_p),
        .ci_in(sg), .d_in(p),
        .valid_out(tv), .sb_out(tc), .ci_out(tci), .d_out(ts));

    // accumulator; the left-over sign bit is its carry-in
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
            if (tv) acc_out <= (tc ? {ACCB{1'b0}} : acc_out) + dot + {{(ACCB-1){1'b0}}, tci};
        end
    end
endmodule
