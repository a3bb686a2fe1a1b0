`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// row_flow.v -- the flow control shared by the two-stage row units (E2Softmax,
// AILayerNorm): rows of cfg_beats beats of L elements stream in, stage 1 of the
// unit reduces each row into a statistics word, stage 2 re-reads the row from the
// unit's row buffer with its statistics and produces one output beat per beat.
//
//   accept : s_ready while the row buffer has room (BUF beats) and, at a row's
//            first beat, the statistics queue has room for one more row; the
//            accepted beat is presented one cycle later as a_v/a_first/a_last/
//            a_mask, and wp is the buffer address it is written at;
//   queue  : statistics words of finished rows (st_in_valid/st_in) wait here;
//   read   : when a row's statistics are available and the output queue has a
//            free credit, rd reads buffer address rp (beat b2 of the row) and the
//            statistics word is presented with it one cycle later (i_*);
//   output : the unit's result beats (y_valid/y_last/y) are queued for m_*;
//            credits (OUT_DEPTH) guarantee room for every beat in flight, so the
//            consumer may stall at any time without losing data.
// A row's last beat carries cfg_tail valid elements (a_mask / i_mask).
// -----------------------------------------------------------------------------
module row_flow #(
    parameter L           = 1,
    parameter OB          = 8,
    parameter NB_MAX      = 17,
    parameter BUF         = 2 * NB_MAX + 16,
    parameter STATS_DEPTH = 16,
    parameter OUT_DEPTH   = 8,
    parameter STW         = 8,
    // derived widths (do not override)
    parameter NBW = $clog2(NB_MAX + 1),
    parameter LNW = $clog2(L + 1),
    parameter BAW = (BUF > 1) ? $clog2(BUF) : 1
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [NBW-1:0]   cfg_beats,
    input  wire [LNW-1:0]   cfg_tail,
    input  wire             s_valid,
    output wire             s_ready,
    output reg              a_v,
    output reg              a_first,
    output reg              a_last,
    output reg  [L-1:0]     a_mask,
    output reg  [BAW-1:0]   wp,
    input  wire             st_in_valid,
    input  wire [STW-1:0]   st_in,
    output wire             rd,
    output reg  [BAW-1:0]   rp,
    output reg  [NBW-1:0]   b2,
    output reg              i_v,
    output reg              i_last,
    output reg  [L-1:0]     i_mask,
    output reg  [STW-1:0]   i_stats,
    input  wire             y_valid,
    input  wire             y_last,
    input  wire [L*OB-1:0]  y,
    output wire             m_valid,
    input  wire             m_ready,
    output wire [L*OB-1:0]  m_data,
    output wire             m_last,
    output wire             idle
);
    localparam UW  = $clog2(BUF + 1);
    localparam SDW = $clog2(STATS_DEPTH + 1);
    localparam CW  = $clog2(OUT_DEPTH + 1);
    /* verilator lint_off WIDTHTRUNC */
    localparam [UW-1:0]  BUF_C   = BUF;
    localparam [BAW-1:0] BUF_END = BUF - 1;
    localparam [SDW-1:0] ROWS_C  = STATS_DEPTH;
    localparam [CW-1:0]  OUT_C   = OUT_DEPTH;
    /* verilator lint_on WIDTHTRUNC */

    // ------------------------------------------------------------------ accept
    reg [NBW-1:0] b_cnt;            // beat within the row (stage 1)
    reg [UW-1:0]  used;             // beats accepted and not yet read by stage 2
    reg [SDW-1:0] rows_open;        // rows started and not yet read by stage 2
    wire          first_beat = (b_cnt == {NBW{1'b0}});
    wire          last_beat  = (b_cnt == cfg_beats - 1'b1);
    assign s_ready = (used < BUF_C) && (!first_beat || rows_open < ROWS_C);
    wire          acc = s_valid && s_ready;
    integer j;
    always @(posedge clk) begin
        a_first <= first_beat;
        a_last <= last_beat;
        for (j = 0; j < L; j = j + 1) a_mask[j] <= !last_beat || (j < cfg_tail);
        if (rst) begin
            a_v <= 1'b0;
            b_cnt <= {NBW{1'b0}};
            wp <= {BAW{1'b0}};
        end else begin
            a_v <= acc;
            if (acc) b_cnt <= last_beat ? {NBW{1'b0}} : b_cnt + 1'b1;
            if (a_v) wp <= (wp == BUF_END) ? {BAW{1'b0}} : wp + 1'b1;
        end
    end

    // ------------------------------------------------------------------ statistics queue
    wire           st_valid;
    wire [STW-1:0] st_word;
    wire           st_pop;
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.W(STW), .DEPTH(STATS_DEPTH)) u_stats (
        .clk(clk), .rst(rst), .s_valid(st_in_valid), .s_ready(), .s_data(st_in),
        .m_valid(st_valid), .m_ready(st_pop), .m_data(st_word), .count());
    /* verilator lint_on PINCONNECTEMPTY */

    // ------------------------------------------------------------------ read
    reg [CW-1:0]  pend;             // output credits in use
    wire          out_pop;
    wire          rd_last = (b2 == cfg_beats - 1'b1);
    assign rd     = st_valid && (pend < OUT_C);
    assign st_pop = rd && rd_last;
    always @(posedge clk) begin
        i_stats <= st_word;
        i_last <= rd_last;
        for (j = 0; j < L; j = j + 1) i_mask[j] <= !rd_last || (j < cfg_tail);
        if (rst) begin
            i_v <= 1'b0;
            b2 <= {NBW{1'b0}};
            rp <= {BAW{1'b0}};
            used <= {UW{1'b0}};
            rows_open <= {SDW{1'b0}};
            pend <= {CW{1'b0}};
        end else begin
            i_v <= rd;
            if (rd) begin
                b2 <= rd_last ? {NBW{1'b0}} : b2 + 1'b1;
                rp <= (rp == BUF_END) ? {BAW{1'b0}} : rp + 1'b1;
            end
            if (acc && !rd)      used <= used + 1'b1;
            else if (!acc && rd) used <= used - 1'b1;
            if ((acc && first_beat) && !st_pop)      rows_open <= rows_open + 1'b1;
            else if (!(acc && first_beat) && st_pop) rows_open <= rows_open - 1'b1;
            if (rd && !out_pop)      pend <= pend + 1'b1;
            else if (!rd && out_pop) pend <= pend - 1'b1;
        end
    end

    // ------------------------------------------------------------------ output queue
    wire [L*OB:0] out_word;
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.W(L*OB + 1), .DEPTH(OUT_DEPTH)) u_out (
        .clk(clk), .rst(rst), .s_valid(y_valid), .s_ready(), .s_data({y_last, y}),
        .m_valid(m_valid), .m_ready(m_ready), .m_data(out_word), .count());
    /* verilator lint_on PINCONNECTEMPTY */
    assign out_pop = m_valid && m_ready;
    assign m_data  = out_word[L*OB-1:0];
    assign m_last  = out_word[L*OB];
    assign idle    = (used == {UW{1'b0}}) && (pend == {CW{1'b0}});
endmodule
