`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// eltwise_unit.v -- the elementwise add / requantize unit (docs/numerics.md
// section 8): per element, with the layer's scalar constants,
//     y = clamp((a * mult + b * res_mult + bias) >>> shift, qmin, qmax)
// (res_mult = 0 for a requantize).  L lanes of requant_lane, streaming.
//
// Rows of k elements arrive as cfg_beats = ceil(k / L) beats, the last with
// cfg_tail elements; s_data = {b beat, a beat}: a of lane j at
// s_data[j*AB +: AB], b of lane j at s_data[L*AB + j*RB +: RB] (signed).
// m_data[j*OB +: OB] is y of lane j (padding lanes 0), m_last marks the last
// beat of each row.  Handshakes: AXI-Stream valid/ready, s_ready / m_valid from
// registered state only (output credits), full backpressure.
// Timing without stalls: R rows take R * cfg_beats + LATENCY cycles,
// LATENCY = 5 (requantization 4, output queue 1).
// -----------------------------------------------------------------------------
module eltwise_unit #(
    parameter L         = 1,     // lanes
    parameter AB        = 8,     // first operand bits (signed)
    parameter RB        = 8,     // second operand bits (signed)
    parameter MB        = 16,    // multiplier bits (unsigned)
    parameter BB        = 48,    // bias bits (signed)
    parameter SHB       = 6,     // shift bits
    parameter OB        = 8,     // output bits (signed)
    parameter NB_MAX    = 1024,  // beats of the longest row
    parameter OUT_DEPTH = 8,
    parameter NBW = $clog2(NB_MAX + 1),   // derived (do not override)
    parameter LNW = $clog2(L + 1)
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire [NBW-1:0]       cfg_beats,
    input  wire [LNW-1:0]       cfg_tail,
    input  wire [MB-1:0]        cfg_mult,
    input  wire [MB-1:0]        cfg_res_mult,
    input  wire [BB-1:0]        cfg_bias,
    input  wire [SHB-1:0]       cfg_shift,
    input  wire                 cfg_clamp,
    input  wire [OB-1:0]        cfg_qmin,
    input  wire [OB-1:0]        cfg_qmax,
    input  wire                 s_valid,
    output wire                 s_ready,
    input  wire [L*(AB+RB)-1:0] s_data,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                 s_last,   // informational (rows are counted)
    /* verilator lint_on UNUSEDSIGNAL */
    output wire                 m_valid,
    input  wire                 m_ready,
    output wire [L*OB-1:0]      m_data,
    output wire                 m_last,
    output wire                 idle
);
    localparam CW = $clog2(OUT_DEPTH + 1);
    /* verilator lint_off WIDTHTRUNC */
    localparam [CW-1:0] OUT_C = OUT_DEPTH;
    /* verilator lint_on WIDTHTRUNC */

    reg  [NBW-1:0] b_cnt;
    reg  [CW-1:0]  pend;
    wire           out_pop;
    wire           last_beat = (b_cnt == cfg_beats - 1'b1);
    assign s_ready = (pend < OUT_C);
    wire           acc = s_valid && s_ready;
    always @(posedge clk) begin
        if (rst) begin
            b_cnt <= {NBW{1'b0}};
            pend <= {CW{1'b0}};
        end else begin
            if (acc) b_cnt <= last_beat ? {NBW{1'b0}} : b_cnt + 1'b1;
            if (acc && !out_pop)      pend <= pend + 1'b1;
            else if (!acc && out_pop) pend <= pend - 1'b1;
        end
    end

    wire [L*OB-1:0] y;
    wire [L-1:0]    yv;
    wire [L*2-1:0]  ysb;
    genvar g;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_lane
            wire keep = !last_beat || (g < cfg_tail);
            wire [OB-1:0] yl;
            requant_lane #(.AB(AB), .RB(RB), .MB(MB), .BB(BB), .SHB(SHB), .RSB(1), .OB(OB), .SBW(2)) u_rq (
                .clk(clk), .rst(rst), .v_in(acc), .acc(s_data[g*AB +: AB]), .res(s_data[L*AB + g*RB +: RB]),
                .mult(cfg_mult), .res_mult(cfg_res_mult), .res_shift(1'b0), .bias(cfg_bias), .shift(cfg_shift),
                .clamp(cfg_clamp), .qmin(cfg_qmin), .qmax(cfg_qmax), .sb_in({last_beat, keep}),
                .v_out(yv[g]), .y(yl), .sb_out(ysb[g*2 +: 2]));
            assign y[g*OB +: OB] = ysb[g*2] ? yl : {OB{1'b0}};
        end
    endgenerate

    wire [L*OB:0] out_word;
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.W(L*OB + 1), .DEPTH(OUT_DEPTH)) u_out (
        .clk(clk), .rst(rst), .s_valid(yv[0]), .s_ready(), .s_data({ysb[1], y}),
        .m_valid(m_valid), .m_ready(m_ready), .m_data(out_word), .count());
    /* verilator lint_on PINCONNECTEMPTY */
    assign out_pop = m_valid && m_ready;
    assign m_data  = out_word[L*OB-1:0];
    assign m_last  = out_word[L*OB];
    assign idle    = (pend == {CW{1'b0}});
endmodule
