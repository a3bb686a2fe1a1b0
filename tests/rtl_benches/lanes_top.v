`timescale 1ns/1ps
// Test-only wrapper: two instances of each lane module (rtl/lanes/), slots 0 and 1, side by side, so
// that a single simulator build (Verilator compiles for ~10 s) checks all four modules in two
// parameter sets.  Ports are the modules' ports with a prefix <kind><slot>_: fx fixed_lane, pt
// pot_lane, pk dsp_pack2, at adder_tree (e.g. pk1_wa_in); parameters likewise (e.g. PK1_SH,
// *_PIPE = PIPE_LVLS).  clk/rst are shared.
module lanes_top #(
    parameter FX0_TM = 8, FX0_XB = 8, FX0_WB = 8, FX0_ACCB = 32, FX0_PIPE = 2,
    parameter PT0_TM = 8, PT0_XB = 8, PT0_WB = 4, PT0_ACCB = 32, PT0_PIPE = 2,
    parameter PK0_TM = 8, PK0_XB = 8, PK0_WB = 8, PK0_ACCB = 32, PK0_SH = 18, PK0_PIPE = 2,
    parameter AT0_TM = 8, AT0_W = 16, AT0_PIPE = 2,
    parameter FX1_TM = 8, FX1_XB = 8, FX1_WB = 8, FX1_ACCB = 32, FX1_PIPE = 2,
    parameter PT1_TM = 8, PT1_XB = 8, PT1_WB = 4, PT1_ACCB = 32, PT1_PIPE = 2,
    parameter PK1_TM = 8, PK1_XB = 8, PK1_WB = 8, PK1_ACCB = 32, PK1_SH = 18, PK1_PIPE = 2,
    parameter AT1_TM = 8, AT1_W = 16, AT1_PIPE = 2
) (
    input  wire clk,
    input  wire rst,
    input  wire                                    fx0_valid_in,
    input  wire                                    fx0_acc_clear,
    input  wire [FX0_TM*FX0_XB-1:0]                fx0_x_in,
    input  wire [FX0_TM*FX0_WB-1:0]                fx0_w_in,
    output wire                                    fx0_valid_out,
    output wire [FX0_ACCB-1:0]                     fx0_acc_out,
    input  wire                                    pt0_valid_in,
    input  wire                                    pt0_acc_clear,
    input  wire [PT0_TM*PT0_XB-1:0]                pt0_x_in,
    input  wire [PT0_TM*PT0_WB-1:0]                pt0_w_in,
    output wire                                    pt0_valid_out,
    output wire [PT0_ACCB-1:0]                     pt0_acc_out,
    input  wire                                    pk0_valid_in,
    input  wire                                    pk0_acc_clear,
    input  wire [PK0_TM*PK0_XB-1:0]                pk0_x_in,
    input  wire [PK0_TM*PK0_WB-1:0]                pk0_wa_in,
    input  wire [PK0_TM*PK0_WB-1:0]                pk0_wb_in,
    output wire                                    pk0_valid_out,
    output wire [PK0_ACCB-1:0]                     pk0_acc_a_out,
    output wire [PK0_ACCB-1:0]                     pk0_acc_b_out,
    input  wire                                    at0_valid_in,
    input  wire [AT0_TM*AT0_W-1:0]                 at0_d_in,
    output wire                                    at0_valid_out,
    output wire [AT0_W+$clog2(AT0_TM)-1:0]         at0_sum_out,
    input  wire                                    fx1_valid_in,
    input  wire                                    fx1_acc_clear,
    input  wire [FX1_TM*FX1_XB-1:0]                fx1_x_in,
    input  wire [FX1_TM*FX1_WB-1:0]                fx1_w_in,
    output wire                                    fx1_valid_out,
    output wire [FX1_ACCB-1:0]                     fx1_acc_out,
    input  wire                                    pt1_valid_in,
    input  wire                                    pt1_acc_clear,
    input  wire [PT1_TM*PT1_XB-1:0]                pt1_x_in,
    input  wire [PT1_TM*PT1_WB-1:0]                pt1_w_in,
    output wire                                    pt1_valid_out,
    output wire [PT1_ACCB-1:0]                     pt1_acc_out,
    input  wire                                    pk1_valid_in,
    input  wire                                    pk1_acc_clear,
    input  wire [PK1_TM*PK1_XB-1:0]                pk1_x_in,
    input  wire [PK1_TM*PK1_WB-1:0]                pk1_wa_in,
    input  wire [PK1_TM*PK1_WB-1:0]                pk1_wb_in,
    output wire                                    pk1_valid_out,
    output wire [PK1_ACCB-1:0]                     pk1_acc_a_out,
    output wire [PK1_ACCB-1:0]                     pk1_acc_b_out,
    input  wire                                    at1_valid_in,
    input  wire [AT1_TM*AT1_W-1:0]                 at1_d_in,
    output wire                                    at1_valid_out,
    output wire [AT1_W+$clog2(AT1_TM)-1:0]         at1_sum_out
);
    fixed_lane #(.TM(FX0_TM), .XB(FX0_XB), .WB(FX0_WB), .ACCB(FX0_ACCB), .PIPE_LVLS(FX0_PIPE)) u_fx0 (
        .clk(clk), .rst(rst), .valid_in(fx0_valid_in), .acc_clear(fx0_acc_clear),
        .x_in(fx0_x_in), .w_in(fx0_w_in), .valid_out(fx0_valid_out), .acc_out(fx0_acc_out));
    pot_lane #(.TM(PT0_TM), .XB(PT0_XB), .WB(PT0_WB), .ACCB(PT0_ACCB), .PIPE_LVLS(PT0_PIPE)) u_pt0 (
        .clk(clk), .rst(rst), .valid_in(pt0_valid_in), .acc_clear(pt0_acc_clear),
        .x_in(pt0_x_in), .w_in(pt0_w_in), .valid_out(pt0_valid_out), .acc_out(pt0_acc_out));
    dsp_pack2 #(.TM(PK0_TM), .XB(PK0_XB), .WB(PK0_WB), .ACCB(PK0_ACCB), .SH(PK0_SH), .PIPE_LVLS(PK0_PIPE)) u_pk0 (
        .clk(clk), .rst(rst), .valid_in(pk0_valid_in), .acc_clear(pk0_acc_clear),
        .x_in(pk0_x_in), .wa_in(pk0_wa_in), .wb_in(pk0_wb_in), .valid_out(pk0_valid_out),
        .acc_a_out(pk0_acc_a_out), .acc_b_out(pk0_acc_b_out));
    adder_tree #(.TM(AT0_TM), .W(AT0_W), .PIPE_LVLS(AT0_PIPE)) u_at0 (
        .clk(clk), .rst(rst), .valid_in(at0_valid_in), .d_in(at0_d_in),
        .valid_out(at0_valid_out), .sum_out(at0_sum_out));
    fixed_lane #(.TM(FX1_TM), .XB(FX1_XB), .WB(FX1_WB), .ACCB(FX1_ACCB), .PIPE_LVLS(FX1_PIPE)) u_fx1 (
        .clk(clk), .rst(rst), .valid_in(fx1_valid_in), .acc_clear(fx1_acc_clear),
        .x_in(fx1_x_in), .w_in(fx1_w_in), .valid_out(fx1_valid_out), .acc_out(fx1_acc_out));
    pot_lane #(.TM(PT1_TM), .XB(PT1_XB), .WB(PT1_WB), .ACCB(PT1_ACCB), .PIPE_LVLS(PT1_PIPE)) u_pt1 (
        .clk(clk), .rst(rst), .valid_in(pt1_valid_in), .acc_clear(pt1_acc_clear),
        .x_in(pt1_x_in), .w_in(pt1_w_in), .valid_out(pt1_valid_out), .acc_out(pt1_acc_out));
    dsp_pack2 #(.TM(PK1_TM), .XB(PK1_XB), .WB(PK1_WB), .ACCB(PK1_ACCB), .SH(PK1_SH), .PIPE_LVLS(PK1_PIPE)) u_pk1 (
        .clk(clk), .rst(rst), .valid_in(pk1_valid_in), .acc_clear(pk1_acc_clear),
        .x_in(pk1_x_in), .wa_in(pk1_wa_in), .wb_in(pk1_wb_in), .valid_out(pk1_valid_out),
        .acc_a_out(pk1_acc_a_out), .acc_b_out(pk1_acc_b_out));
    adder_tree #(.TM(AT1_TM), .W(AT1_W), .PIPE_LVLS(AT1_PIPE)) u_at1 (
        .clk(clk), .rst(rst), .valid_in(at1_valid_in), .d_in(at1_d_in),
        .valid_out(at1_valid_out), .sum_out(at1_sum_out));
endmodule
