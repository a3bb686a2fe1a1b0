`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// requant_lane.v -- dyadic requantization of one output lane (docs/numerics.md
// section 3, accelgen.numerics.primitives.requantize):
//
//     total = acc * mult + ((res * res_mult) << res_shift) + bias   (exact)
//     y     = clamp ? clamp(total >>> shift, qmin, qmax) : (total >>> shift)
//
// acc (AB bits) and res (RB bits) are signed; mult and res_mult are unsigned
// MB-bit multipliers (res_mult = 0 when there is no second operand), the
// residual's shifted left by res_shift (RSB bits: 16 significant bits of a wider
// multiplier, docs/numerics.md section 3; 0 for an elementwise add); bias is
// signed BB bits and already holds the rounding constant 2^(shift-1); shift is
// an unsigned arithmetic right shift.  All intermediate widths are exact (no
// wrap); y keeps the low OB bits when clamp = 0 (the logits, whose range the
// bounds pass proves).
//
// Pipeline, II = 1, valid-only (the enclosing unit handles backpressure with
// credits): input registers (DSP A/B/C) -> products (M) -> sum (P) ->
// shift + clamp -> y.  LATENCY = 4: v_in sampled at rising edge k gives v_out
// and y updated at rising edge k + 3 (4 register stages including the
// input registers).  sb_in (SBW bits) travels with the data to sb_out.
// rst: synchronous, active high, clears the valid pipeline only.
// -----------------------------------------------------------------------------
module requant_lane #(
    parameter AB  = 32,  // first operand (accumulator) bits, signed
    parameter RB  = 8,   // second operand (residual) bits, signed
    parameter MB  = 16,  // multiplier bits, unsigned
    parameter BB  = 48,  // bias bits, signed
    parameter SHB = 6,   // shift amount bits
    parameter RSB = 5,   // residual multiplier shift bits
    parameter OB  = 8,   // output bits, signed
    parameter SBW = 1    // side-band bits
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            v_in,
    input  wire [AB-1:0]   acc,
    input  wire [RB-1:0]   res,
    input  wire [MB-1:0]   mult,
    input  wire [MB-1:0]   res_mult,
    input  wire [RSB-1:0]  res_shift,
    input  wire [BB-1:0]   bias,
    input  wire [SHB-1:0]  shift,
    input  wire            clamp,
    input  wire [OB-1:0]   qmin,
    input  wire [OB-1:0]   qmax,
    input  wire [SBW-1:0]  sb_in,
    output reg             v_out,
    output reg  [OB-1:0]   y,
    output reg  [SBW-1:0]  sb_out
);
    localparam PA = AB + MB + 1;                 // acc * mult
    localparam PR = RB + MB + 1;                 // res * res_mult
    localparam PS = PR + (1 << RSB) - 1;         // ... << res_shift
    localparam M1 = (PA > PS) ? PA : PS;
    localparam SW = ((M1 > BB) ? M1 : BB) + 2;   // exact sum

    // stage 1: input registers
    reg signed [AB-1:0]  a1;
    reg signed [RB-1:0]  r1;
    reg signed [MB:0]    m1, rm1;                // zero-extended (unsigned) multipliers
    reg signed [BB-1:0]  b1;
    reg [SHB-1:0]        sh1;
    reg [RSB-1:0]        rs1;
    reg                  cl1, v1;
    reg [OB-1:0]         lo1, hi1;
    reg [SBW-1:0]        sb1;
    always @(posedge clk) begin
        a1 <= acc;  r1 <= res;  m1 <= {1'b0, mult};  rm1 <= {1'b0, res_mult};
        b1 <= bias; sh1 <= shift; rs1 <= res_shift; cl1 <= clamp; lo1 <= qmin; hi1 <= qmax; sb1 <= sb_in;
        if (rst) v1 <= 1'b0; else v1 <= v_in;
    end

    // stage 2: products
    reg signed [PA-1:0]  pa2;
    reg signed [PR-1:0]  pr2;
    reg signed [BB-1:0]  b2;
    reg [SHB-1:0]        sh2;
    reg [RSB-1:0]        rs2;
    reg                  cl2, v2;
    reg [OB-1:0]         lo2, hi2;
    reg [SBW-1:0]        sb2;
    always @(posedge clk) begin
        pa2 <= a1 * m1;
        pr2 <= r1 * rm1;
        b2 <= b1; sh2 <= sh1; rs2 <= rs1; cl2 <= cl1; lo2 <= lo1; hi2 <= hi1; sb2 <= sb1;
        if (rst) v2 <= 1'b0; else v2 <= v1;
    end

    // stage 3: exact sum
    reg signed [SW-1:0]  s3;
    reg [SHB-1:0]        sh3;
    reg                  cl3, v3;
    reg [OB-1:0]         lo3, hi3;
    reg [SBW-1:0]        sb3;
    always @(posedge clk) begin
        s3 <= $signed({{(SW-PA){pa2[PA-1]}}, pa2}) + ($signed({{(SW-PR){pr2[PR-1]}}, pr2}) <<< rs2)
              + $signed({{(SW-BB){b2[BB-1]}}, b2});
        sh3 <= sh2; cl3 <= cl2; lo3 <= lo2; hi3 <= hi2; sb3 <= sb2;
        if (rst) v3 <= 1'b0; else v3 <= v2;
    end

    // stage 4: arithmetic shift, clamp
    wire signed [SW-1:0] q    = s3 >>> sh3;
    wire signed [SW-1:0] qlo  = {{(SW-OB){lo3[OB-1]}}, lo3};
    wire signed [SW-1:0] qhi  = {{(SW-OB){hi3[OB-1]}}, hi3};
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [SW-1:0] qc   = !cl3 ? q : (q < qlo) ? qlo : (q > qhi) ? qhi : q;
    /* verilator lint_on UNUSEDSIGNAL */
    always @(posedge clk) begin
        y <= qc[OB-1:0];
        sb_out <= sb3;
        if (rst) v_out <= 1'b0; else v_out <= v3;
    end
endmodule
