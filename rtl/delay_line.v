`timescale 1ns/1ps
// delay_line.v -- DEPTH register stages of a valid bit and a W-bit word (DEPTH = 0: wires). Units pad
// their pipelines with it to the latency the perf model counts (accelgen/perf/cycles.py).
module delay_line #(
    parameter W     = 8,
    parameter DEPTH = 0
) (
    input  wire         clk,
    input  wire         rst,
    input  wire         in_valid,
    input  wire [W-1:0] in_data,
    output wire         out_valid,
    output wire [W-1:0] out_data
);
    generate
        if (DEPTH == 0) begin : g_wires
            assign out_valid = in_valid;
            assign out_data  = in_data;
        end else begin : g_regs
            reg [W-1:0]   pw [0:DEPTH-1];
            reg [DEPTH:0] pv;               // bit DEPTH unused (keeps DEPTH = 1 legal)
            integer k;
            always @(posedge clk) begin
                pw[0] <= in_data;
                for (k = 1; k < DEPTH; k = k + 1) pw[k] <= pw[k-1];
                if (rst) pv <= {(DEPTH+1){1'b0}};
                else     pv <= {pv[DEPTH-1:0], in_valid};
            end
            assign out_valid = pv[DEPTH-1];
            assign out_data  = pw[DEPTH-1];
        end
    endgenerate
endmodule
