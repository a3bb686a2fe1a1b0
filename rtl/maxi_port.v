`timescale 1ns/1ps
// -----------------------------------------------------------------------------
// maxi_port.v -- an AXI4 master port of one m_axi bundle, the equivalent of
// the adapter Vitis HLS builds for `#pragma HLS INTERFACE m_axi` (used to price
// it with Yosys, scripts/synth_structures.py):
//
//   read side  (READ = 1): a transfer of `rd_words` words from `rd_addr` is cut
//     into bursts of up to BURST beats; a burst is requested (AR) only when the
//     read buffer has room for all of it and fewer than OUTSTANDING bursts are
//     in flight, so the R channel is never stalled; the buffer holds
//     BURST * OUTSTANDING words (block RAM through ram_sdp) and feeds the
//     kernel's word stream (rd_valid/rd_ready/rd_data).
//   write side (WRITE = 1): kernel words (wr_valid/wr_ready/wr_data) collect in
//     a buffer of one burst; a burst (AW, then W with WLAST) starts when it is
//     complete or the transfer's last word is in; B responses are counted.
// Addresses are byte addresses of W-bit words; AXI IDs, cache and prot fields
// are constants and not modelled.  rst: synchronous, active high.
// -----------------------------------------------------------------------------
module maxi_port #(
    parameter W           = 128,
    parameter BURST       = 64,
    parameter OUTSTANDING = 8,
    parameter READ        = 1,
    parameter WRITE       = 1,
    parameter AW          = 64
) (
    input  wire           clk,
    input  wire           rst,
    // read command and word stream
    input  wire           rd_start,
    input  wire [AW-1:0]  rd_addr,
    input  wire [31:0]    rd_words,
    output wire           rd_valid,
    input  wire           rd_ready,
    output wire [W-1:0]   rd_data,
    // write command and word stream
    input  wire           wr_start,
    input  wire [AW-1:0]  wr_addr,
    input  wire [31:0]    wr_words,
    input  wire           wr_valid,
    output wire           wr_ready,
    input  wire [W-1:0]   wr_data,
    output wire           wr_done,
    // AXI4 read channels
    output wire [AW-1:0]  m_araddr,
    output wire [7:0]     m_arlen,
    output wire           m_arvalid,
    input  wire           m_arready,
    input  wire [W-1:0]   m_rdata,
    input  wire           m_rvalid,
    output wire           m_rready,
    // AXI4 write channels
    output wire [AW-1:0]  m_awaddr,
    output wire [7:0]     m_awlen,
    output wire           m_awvalid,
    input  wire           m_awready,
    output wire [W-1:0]   m_wdata,
    output wire           m_wlast,
    output wire           m_wvalid,
    input  wire           m_wready,
    input  wire           m_bvalid,
    output wire           m_bready
);
    localparam BYTES = W / 8;
    localparam RDEPTH = BURST * OUTSTANDING;
    localparam RA = $clog2(RDEPTH);
    localparam BA = $clog2(BURST);

    generate
        if (READ) begin : g_read
            reg  [AW-1:0]  addr;
            reg  [31:0]    left;        // words not yet requested
            reg  [RA:0]    credit;      // buffer words neither requested nor held
            reg  [$clog2(OUTSTANDING+1)-1:0] flight;
            reg  [RA-1:0]  wp, rp;
            reg  [RA:0]    held;
            reg            out_valid;
            wire [31:0]    len = left > BURST ? BURST : left;
            wire           ar = left != 0 && credit >= len && flight != OUTSTANDING;
            wire           ar_go = ar && m_arready;
            wire           r_go = m_rvalid;
            wire           fetch = held != 0 && (!out_valid || rd_ready);
            wire           pop = out_valid && rd_ready;
            wire           last_beat;
            reg  [BA:0]    beat;
            reg  [BA:0]    burst_len_q [0:OUTSTANDING-1];
            reg  [$clog2(OUTSTANDING)-1:0] issue_i, done_i;

            assign last_beat = r_go && beat + 1 == burst_len_q[done_i];
            assign m_araddr  = addr;
            assign m_arlen   = len - 1;
            assign m_arvalid = ar;
            assign m_rready  = 1'b1;
            assign rd_valid  = out_valid;

            ram_sdp #(.W(W), .DEPTH(RDEPTH)) buffer (
                .clk(clk), .we(r_go), .waddr(wp), .wdata(m_rdata), .re(fetch), .raddr(rp), .rdata(rd_data));

            always @(posedge clk) begin
                if (rst) begin
                    left <= 0; credit <= RDEPTH; flight <= 0; wp <= 0; rp <= 0; held <= 0; out_valid <= 1'b0;
                    beat <= 0; issue_i <= 0; done_i <= 0;
                end else begin
                    if (rd_start) begin
                        addr <= rd_addr;
                        left <= rd_words;
                    end else if (ar_go) begin
                        addr <= addr + len * BYTES;
                        left <= left - len;
                        burst_len_q[issue_i] <= len;
                        issue_i <= issue_i + 1'b1;
                    end
                    credit <= credit - (ar_go ? len : 0) + (pop ? 1 : 0);
                    flight <= flight + (ar_go ? 1 : 0) - (last_beat ? 1 : 0);
                    if (r_go) begin
                        wp <= wp + 1'b1;
                        beat <= last_beat ? 0 : beat + 1'b1;
                    end
                    if (last_beat) done_i <= done_i + 1'b1;
                    held <= held + (r_go ? 1 : 0) - (fetch ? 1 : 0);
                    if (fetch) rp <= rp + 1'b1;
                    if (fetch) out_valid <= 1'b1;
                    else if (pop) out_valid <= 1'b0;
                end
            end
        end else begin : g_no_read
            assign m_araddr = 0;
            assign m_arlen = 0;
            assign m_arvalid = 1'b0;
            assign m_rready = 1'b0;
            assign rd_valid = 1'b0;
            assign rd_data = 0;
        end

        if (WRITE) begin : g_write
            reg  [AW-1:0]  addr;
            reg  [31:0]    left_in;     // words the kernel has still to deliver
            reg  [31:0]    left_out;    // words not yet sent on W
            reg  [31:0]    responses;   // bursts awaiting B
            reg  [BA:0]    count;       // words in the buffer
            reg  [BA:0]    sent;        // beats of the current burst sent
            reg  [BA:0]    blen;
            reg            active, aw_done;
            reg  [BA-1:0]  wp, rp;
            reg  [W-1:0]   mem [0:BURST-1];
            wire           push = wr_valid && wr_ready;
            wire [BA:0]    want = left_out > BURST ? BURST : left_out[BA:0];
            wire           start_burst = !active && left_out != 0 && (count == want);
            wire           w_go = active && aw_done && m_wready;

            assign wr_ready  = left_in != 0 && count != BURST && !active;
            assign m_awaddr  = addr;
            assign m_awlen   = blen - 1;
            assign m_awvalid = active && !aw_done;
            assign m_wdata   = mem[rp];
            assign m_wvalid  = active && aw_done;
            assign m_wlast   = sent + 1 == blen;
            assign m_bready  = 1'b1;
            assign wr_done   = left_out == 0 && responses == 0 && !active;

            always @(posedge clk) begin
                if (push) mem[wp] <= wr_data;
                if (rst) begin
                    left_in <= 0; left_out <= 0; responses <= 0; count <= 0; sent <= 0; blen <= 0;
                    active <= 1'b0; aw_done <= 1'b0; wp <= 0; rp <= 0;
                end else begin
                    if (wr_start) begin
                        addr <= wr_addr;
                        left_in <= wr_words;
                        left_out <= wr_words;
                    end
                    if (push) begin
                        wp <= wp + 1'b1;
                        left_in <= left_in - 1;
                    end
                    if (start_burst) begin
                        active <= 1'b1;
                        blen <= want;
                        sent <= 0;
                    end
                    if (m_awvalid && m_awready) aw_done <= 1'b1;
                    count <= count + (push ? 1 : 0) - (w_go ? 1 : 0);
                    if (w_go) begin
                        rp <= rp + 1'b1;
                        sent <= sent + 1'b1;
                        if (m_wlast) begin
                            active <= 1'b0;
                            aw_done <= 1'b0;
                            addr <= addr + blen * BYTES;
                            left_out <= left_out - blen;
                        end
                    end
                    responses <= responses + (w_go && m_wlast ? 1 : 0) - (m_bvalid ? 1 : 0);
                end
            end
        end else begin : g_no_write
            assign wr_ready = 1'b0;
            assign wr_done = 1'b1;
            assign m_awaddr = 0;
            assign m_awlen = 0;
            assign m_awvalid = 1'b0;
            assign m_wdata = 0;
            assign m_wlast = 1'b0;
            assign m_wvalid = 1'b0;
            assign m_bready = 1'b0;
        end
    endgenerate
endmodule
