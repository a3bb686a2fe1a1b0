`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// rotator.v -- rotation of N W-bit values by a runtime amount in log2(N) stages
// of 2:1 selects (N a power of two): out[i] = in[(i + amt) mod N].
//
// The HLS window_rotate (hls/accel_arena.h) is written in the same stages; the
// GEMM tile's operand window and store ring use it (rtl/gemm_tile.v) and
// scripts/synth_structures.py prices it with Yosys.  Combinational: the caller
// registers the result.
//
//   in  : N values, value i at bits [i*W +: W]
//   amt : rotation amount, 0 .. N-1
//   out : value i = in value (i + amt) mod N
// -----------------------------------------------------------------------------
module rotator #(
    parameter N = 8,
    parameter W = 8
) (
    input  wire [N*W-1:0]                        in,
    input  wire [((N > 1) ? $clog2(N) : 1)-1:0]  amt,
    output wire [N*W-1:0]                        out
);
    localparam S = (N > 1) ? $clog2(N) : 1;
    wire [N*W-1:0] stage [0:S];
    assign stage[0] = in;
    genvar s, i;
    generate
        for (s = 0; s < S; s = s + 1) begin : g_stage
            for (i = 0; i < N; i = i + 1) begin : g_value
                assign stage[s + 1][i*W +: W] = amt[s] ? stage[s][((i + (1 << s)) % N)*W +: W]
                                                       : stage[s][i*W +: W];
            end
        end
    endgenerate
    assign out = stage[S];
endmodule
