`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// rotator.v -- rotation of N W-bit values by a runtime amount:
// out[i] = in[(i + amt) mod N], any N >= 1, amt < N.
//
// Radix-4 stages: stage s rotates by d * 4^s, d = amt[2s +: 2] (a 4:1 select
// per bit, one LUT6), plus a final 2:1 stage by 2^(B-1) on amt[B-1] when
// B = clog2(N) is odd -- ceil(B / 2) stages.  The 4:1 select is written in
// one-hot AND-OR form: as a tree of 2:1 selects its halves would be shared
// between values and Yosys would map them as two 2:1 stages (two LUTs a bit).
//
// The HLS window_rotate (hls/accel_arena.h) is written in the same stages; the
// GEMM tile's store ring uses it (rtl/gemm_tile.v) and
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
    localparam B  = (N > 1) ? $clog2(N) : 1;  // amount bits
    localparam S4 = B / 2;                    // radix-4 stages
    localparam S  = S4 + B % 2;               // all stages
    wire [N*W-1:0] stage [0:S];
    assign stage[0] = in;
    genvar s, i;
    generate
        for (s = 0; s < S4; s = s + 1) begin : g_quad
            wire [3:0] hot = 4'b0001 << amt[2*s +: 2];
            for (i = 0; i < N; i = i + 1) begin : g_value
                assign stage[s + 1][i*W +: W] =
                      ({W{hot[0]}} & stage[s][i*W +: W])
                    | ({W{hot[1]}} & stage[s][((i +     (1 << (2*s))) % N)*W +: W])
                    | ({W{hot[2]}} & stage[s][((i + 2 * (1 << (2*s))) % N)*W +: W])
                    | ({W{hot[3]}} & stage[s][((i + 3 * (1 << (2*s))) % N)*W +: W]);
            end
        end
        if (B % 2) begin : g_pair
            for (i = 0; i < N; i = i + 1) begin : g_value
                assign stage[S][i*W +: W] = amt[B-1] ? stage[S4][((i + (1 << (B-1))) % N)*W +: W]
                                                     : stage[S4][i*W +: W];
            end
        end
    endgenerate
    assign out = stage[S];
endmodule
