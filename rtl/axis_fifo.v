`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// axis_fifo.v -- synchronous first-word-fall-through FIFO with AXI-Stream style
// handshakes (accelgen RTL units).
//
//   s_valid/s_ready/s_data : write side; a word is written at a rising edge
//                            where s_valid && s_ready.
//   m_valid/m_ready/m_data : read side; m_data is the oldest word whenever
//                            m_valid; it is consumed at an edge where
//                            m_valid && m_ready.
//   count                  : words held (registered).
// s_ready (= not full) and m_valid (= not empty) are functions of registered
// state only, never of s_valid/m_ready, so no combinational path crosses the
// FIFO.  A word written at edge k is visible on m_data after edge k (latency
// 1).  The storage is read asynchronously (distributed/LUT RAM); the units use
// it for small output and side-band queues.
// rst: synchronous, active high (empties the FIFO; contents are not cleared).
// -----------------------------------------------------------------------------
module axis_fifo #(
    parameter W     = 8,     // word width
    parameter DEPTH = 16     // words (>= 1, any value)
) (
    input  wire                         clk,
    input  wire                         rst,
    input  wire                         s_valid,
    output wire                         s_ready,
    input  wire [W-1:0]                 s_data,
    output wire                         m_valid,
    input  wire                         m_ready,
    output wire [W-1:0]                 m_data,
    output wire [$clog2(DEPTH+1)-1:0]   count
);
    localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam CW = $clog2(DEPTH + 1);
    /* verilator lint_off WIDTHTRUNC */
    localparam [CW-1:0] FULL = DEPTH;
    localparam [AW-1:0] LAST = DEPTH - 1;
    /* verilator lint_on WIDTHTRUNC */

    reg [W-1:0]  mem [0:DEPTH-1];
    reg [AW-1:0] wp, rp;
    reg [CW-1:0] cnt;

    wire push = s_valid && s_ready;
    wire pop  = m_valid && m_ready;

    assign s_ready = (cnt != FULL);
    assign m_valid = (cnt != {CW{1'b0}});
    assign m_data  = mem[rp];
    assign count   = cnt;

    always @(posedge clk) begin
        if (push) mem[wp] <= s_data;
        if (rst) begin
            wp  <= {AW{1'b0}};
            rp  <= {AW{1'b0}};
            cnt <= {CW{1'b0}};
        end else begin
            if (push) wp <= (wp == LAST) ? {AW{1'b0}} : wp + 1'b1;
            if (pop)  rp <= (rp == LAST) ? {AW{1'b0}} : rp + 1'b1;
            if (push && !pop)      cnt <= cnt + 1'b1;
            else if (pop && !push) cnt <= cnt - 1'b1;
        end
    end
endmodule
