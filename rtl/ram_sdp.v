`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// ram_sdp.v -- simple dual-port RAM, one write port and one registered read
// port (one clock): the row / token buffers of the E2Softmax and AILayerNorm
// units.  Written so that Vivado and Yosys infer block RAM (RAMB18/RAMB36) or,
// when small, distributed RAM.
//
//   we, waddr, wdata : written at the rising edge where we = 1.
//   re, raddr        : at the rising edge where re = 1, rdata <= mem[raddr]
//                      (read-before-write when waddr == raddr).
// No reset (block RAM contents are not reset).
// -----------------------------------------------------------------------------
module ram_sdp #(
    parameter W     = 8,
    parameter DEPTH = 64
) (
    input  wire                                       clk,
    input  wire                                       we,
    input  wire [((DEPTH > 1) ? $clog2(DEPTH) : 1)-1:0] waddr,
    input  wire [W-1:0]                               wdata,
    input  wire                                       re,
    input  wire [((DEPTH > 1) ? $clog2(DEPTH) : 1)-1:0] raddr,
    output reg  [W-1:0]                               rdata
);
    reg [W-1:0] mem [0:DEPTH-1];
    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) rdata <= mem[raddr];
    end
endmodule
