`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// select_mux.v -- N:1 multiplexer of W-bit values with a registered output:
// the equivalent of an HLS read with a runtime index into a completely
// partitioned array (the GEMM store's lane select of the latched accumulators,
// a field of a word in next_field's unpacking).  Used only to price these
// structures with Yosys (scripts/synth_structures.py).
//
//   in  : N values, value i at bits [i*W +: W]
//   sel : index (values >= N select 0)
//   out : in[sel], registered
// -----------------------------------------------------------------------------
module select_mux #(
    parameter N = 4,
    parameter W = 8
) (
    input  wire                                  clk,
    input  wire [N*W-1:0]                        in,
    input  wire [((N > 1) ? $clog2(N) : 1)-1:0]  sel,
    output reg  [W-1:0]                          out
);
    always @(posedge clk) out <= (sel < N) ? in[sel*W +: W] : {W{1'b0}};
endmodule
