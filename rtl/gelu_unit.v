`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// gelu_unit.v -- the GELU table unit (docs/numerics.md section 7,
// accelgen.numerics.gelu.gelu_lookup): y = T[x - in_min], one table lookup
// per lane, L lanes per beat, streaming.
//
// NT tables of 2^IB entries of OB-bit signed codes (the design's GELU layers;
// entry i of table t at TABLES[(t * 2^IB + i) * OB +: OB], emitted verbatim
// from accelgen.numerics by the generated wrapper); cfg_sel picks the layer's
// table (hold it stable while the unit is not idle).  Each lane has its own
// copy of the table (a LUT ROM), as one lookup per lane and cycle needs.
//
// s_data[j*IB +: IB]: input code of lane j; m_data[j*OB +: OB]: its output;
// s_last is passed through to m_last.  Handshakes: AXI-Stream valid/ready,
// s_ready / m_valid from registered state only (output credits), full
// backpressure.  Pipeline: input register, table register, PAD registers,
// output queue: R beats take R + LATENCY cycles, LATENCY = 3 + PAD.  PAD = 2
// gives the elementwise unit's latency, so that one constant of the perf
// model (ELTWISE_LATENCY) times both standalone elementwise ops.
// -----------------------------------------------------------------------------
module gelu_unit #(
    parameter L         = 1,      // lanes
    parameter IB        = 8,      // input code bits
    parameter OB        = 8,      // output code bits
    parameter IN_MIN    = -128,   // input code of table entry 0
    parameter NT        = 1,      // tables
    parameter OUT_DEPTH = 8,
    parameter PAD       = 2,      // extra pipeline registers (latency 3 + PAD)
    parameter [NT * (1 << IB) * OB - 1 : 0] TABLES = 0,
    parameter SW = (NT > 1) ? $clog2(NT) : 1   // derived (do not override)
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [SW-1:0]     cfg_sel,
    input  wire              s_valid,
    output wire              s_ready,
    input  wire [L*IB-1:0]   s_data,
    input  wire              s_last,
    output wire              m_valid,
    input  wire              m_ready,
    output wire [L*OB-1:0]   m_data,
    output wire              m_last,
    output wire              idle
);
    localparam NE = 1 << IB;
    localparam CW = $clog2(OUT_DEPTH + 1);
    /* verilator lint_off WIDTHTRUNC */
    localparam [CW-1:0] OUT_C = OUT_DEPTH;
    localparam [IB-1:0] IMIN  = IN_MIN;
    /* verilator lint_on WIDTHTRUNC */
    wire [NT*NE*OB-1:0] rom = TABLES;

    reg  [CW-1:0] pend;
    wire          out_pop;
    assign s_ready = (pend < OUT_C);
    wire          acc = s_valid && s_ready;

    reg            a_v, a_last;
    reg [L*IB-1:0] a_x;
    reg            t_v, t_last;
    wire [L*OB-1:0] t_y;
    genvar g;
    generate
        for (g = 0; g < L; g = g + 1) begin : g_lane
            wire [IB-1:0] idx = a_x[g*IB +: IB] - IMIN;     // entry of the input code (mod 2^IB)
            reg  [OB-1:0] y;
            /* verilator lint_off WIDTHEXPAND */
            always @(posedge clk) y <= rom[(cfg_sel * NE + idx) * OB +: OB];
            /* verilator lint_on WIDTHEXPAND */
            assign t_y[g*OB +: OB] = y;
        end
    endgenerate
    always @(posedge clk) begin
        a_x <= s_data;
        a_last <= s_last;
        t_last <= a_last;
        if (rst) begin
            a_v <= 1'b0;
            t_v <= 1'b0;
            pend <= {CW{1'b0}};
        end else begin
            a_v <= acc;
            t_v <= a_v;
            if (acc && !out_pop)      pend <= pend + 1'b1;
            else if (!acc && out_pop) pend <= pend - 1'b1;
        end
    end

    // padding registers
    wire          p_v;
    wire [L*OB:0] p_word;
    delay_line #(.W(L*OB + 1), .DEPTH(PAD)) u_pad (
        .clk(clk), .rst(rst), .in_valid(t_v), .in_data({t_last, t_y}), .out_valid(p_v), .out_data(p_word));

    wire [L*OB:0] out_word;
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.W(L*OB + 1), .DEPTH(OUT_DEPTH)) u_out (
        .clk(clk), .rst(rst), .s_valid(p_v), .s_ready(), .s_data(p_word),
        .m_valid(m_valid), .m_ready(m_ready), .m_data(out_word), .count());
    /* verilator lint_on PINCONNECTEMPTY */
    assign out_pop = m_valid && m_ready;
    assign m_data  = out_word[L*OB-1:0];
    assign m_last  = out_word[L*OB];
    assign idle    = (pend == {CW{1'b0}});
endmodule
