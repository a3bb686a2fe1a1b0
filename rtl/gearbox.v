`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// gearbox.v -- cuts a stream of WB-bit words into items of a width chosen per
// item (at most IB bits), one item per beat: the equivalent of the HLS gearbox
// process of hls/gemm_engine.h (a WB + IB bit buffer, a count of the bits it
// holds, a right shift by the emitted item's width and a left shift of the
// incoming word to the first free bit).  Used to price that process with Yosys
// (scripts/synth_structures.py).
//
//   s_valid/s_ready/s_data : words, little-endian (the first item in the low bits)
//   need                   : width of the next item (1 .. IB), stable while m_valid
//   m_valid/m_ready/m_data : items, zero above bit need - 1
// Per beat, as in the HLS loop: an item is emitted when the buffer holds need
// bits; a word is taken when the bits kept afterwards leave room for it.
// rst: synchronous, active high.
// -----------------------------------------------------------------------------
module gearbox #(
    parameter WB = 128,
    parameter IB = 64
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire                       s_valid,
    output wire                       s_ready,
    input  wire [WB-1:0]              s_data,
    input  wire [$clog2(IB+1)-1:0]    need,
    output wire                       m_valid,
    input  wire                       m_ready,
    output wire [IB-1:0]              m_data
);
    localparam BB = WB + IB;
    localparam HW = $clog2(BB + 1);

    reg  [BB-1:0] buf_q;
    reg  [HW-1:0] have;

    wire          emit = m_valid && m_ready;
    wire [HW-1:0] kept = emit ? have - need : have;
    wire          take = s_valid && s_ready;
    wire [BB-1:0] mask = ~({BB{1'b1}} << need);

    assign m_valid = have >= need;
    assign s_ready = (m_valid && m_ready ? have - need : have) + WB <= BB;
    assign m_data  = buf_q[IB-1:0] & mask[IB-1:0];

    always @(posedge clk) begin
        if (rst) begin
            buf_q <= {BB{1'b0}};
            have  <= {HW{1'b0}};
        end else begin
            buf_q <= (emit ? buf_q >> need : buf_q) | (take ? {{IB{1'b0}}, s_data} << kept : {BB{1'b0}});
            have  <= take ? kept + WB : kept;
        end
    end
endmodule
