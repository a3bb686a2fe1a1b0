"""The RTL equivalents the structure costs come from (scripts/synth_structures.py) do what the HLS does:
rtl/gearbox.v cuts a word stream into the items of the given widths, in order, as the HLS gearbox
(hls/gemm_engine.h) does, with stalls on both sides; rtl/rotator.v rotates as window_rotate
(hls/accel_arena.h) is defined, out[i] = in[(i + amt) mod N], at every amount. Icarus."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from accelgen.resources import rtl_dir

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus")]

GEARBOX_TB = """
module tb;
  localparam WB = {wb}, IB = {ib}, NW = {nw}, NI = {ni};
  reg clk = 0, rst = 1;
  reg [WB-1:0] words [0:NW-1];
  reg [$clog2(IB+1)-1:0] needs [0:NI-1];
  reg [31:0] stalls [0:NW+NI+4096];
  integer wi = 0, ii = 0, t = 0, f;
  reg took_w, took_i;
  wire s_ready, m_valid;
  wire [IB-1:0] m_data;
  wire s_valid = wi < NW && stalls[t][0];
  wire m_ready = stalls[t][1];
  gearbox #(.WB(WB), .IB(IB)) dut (.clk(clk), .rst(rst), .s_valid(s_valid), .s_ready(s_ready),
    .s_data(words[wi < NW ? wi : 0]), .need(needs[ii < NI ? ii : 0]), .m_valid(m_valid), .m_ready(m_ready),
    .m_data(m_data));
  initial begin
    $readmemh("words.hex", words); $readmemh("needs.hex", needs); $readmemh("stalls.hex", stalls);
    f = $fopen("items.hex", "w");
    #1 clk = 1; #1 clk = 0; rst = 0;
    while (ii < NI && t < NW + NI + 4000) begin
      #1;
      took_w = s_valid && s_ready;
      took_i = m_valid && m_ready;
      if (took_i) $fwrite(f, "%h\\n", m_data);
      clk = 1; #1;
      wi = wi + took_w; ii = ii + took_i; t = t + 1;
      clk = 0;
    end
    $fclose(f); $finish;
  end
endmodule
"""


@pytest.mark.parametrize("wb, ib", [(64, 64), (128, 512)])
def test_gearbox_cuts_the_items_in_order(tmp_path: Path, wb: int, ib: int):
    rng = random.Random(wb + ib)
    widths = [rng.choice([64, ib, ib // 2, 64 * 3 if ib >= 192 else 64]) for _ in range(60)]
    total = sum(widths)
    nw = -(-total // wb)
    bits = rng.getrandbits(nw * wb)
    words = [(bits >> (i * wb)) & ((1 << wb) - 1) for i in range(nw)]
    expected, pos = [], 0
    for w in widths:
        expected.append((bits >> pos) & ((1 << w) - 1))
        pos += w
    stalls = [rng.randrange(4) for _ in range(nw + len(widths) + 4097)]  # bit 0: word offered, bit 1: item taken
    (tmp_path / "words.hex").write_text("".join(f"{w:x}\n" for w in words))
    (tmp_path / "needs.hex").write_text("".join(f"{w:x}\n" for w in widths))
    (tmp_path / "stalls.hex").write_text("".join(f"{s:x}\n" for s in stalls))
    (tmp_path / "tb.v").write_text(GEARBOX_TB.format(wb=wb, ib=ib, nw=nw, ni=len(widths)))
    subprocess.run(["iverilog", "-g2012", "-o", "sim", "-s", "tb", "tb.v", str(rtl_dir() / "gearbox.v")],
                   cwd=tmp_path, check=True)
    subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, check=True, capture_output=True)
    got = [int(line, 16) for line in (tmp_path / "items.hex").read_text().split()]
    assert got == expected


ROTATOR_TB = """
module tb;
  localparam N = {n}, W = {w}, A = (N > 1) ? $clog2(N) : 1, NV = {nv};
  reg [N*W-1:0] ins [0:NV-1];
  reg [A-1:0] amts [0:NV-1];
  reg [N*W-1:0] in;
  reg [A-1:0] amt;
  wire [N*W-1:0] out;
  integer v, f;
  rotator #(.N(N), .W(W)) dut (.in(in), .amt(amt), .out(out));
  initial begin
    $readmemh("ins.hex", ins); $readmemh("amts.hex", amts);
    f = $fopen("outs.hex", "w");
    for (v = 0; v < NV; v = v + 1) begin
      in = ins[v]; amt = amts[v]; #1;
      $fwrite(f, "%h\\n", out);
    end
    $fclose(f); $finish;
  end
endmodule
"""


def rotate(values: list[int], amt: int) -> list[int]:
    """The definition window_rotate and rtl/rotator.v implement: out[i] = in[(i + amt) mod N]."""
    return [values[(i + amt) % len(values)] for i in range(len(values))]


@pytest.mark.parametrize("n, w", [(1, 4), (2, 3), (3, 5), (4, 8), (5, 7), (6, 4), (8, 16), (12, 3), (16, 5),
                                  (32, 8), (64, 8)])  # even and odd clog2(N), powers of two and not
def test_rotator_rotates_by_every_amount(tmp_path: Path, n: int, w: int):
    rng = random.Random(n * 1000 + w)
    cases = [([rng.getrandbits(w) for _ in range(n)], amt) for amt in range(n) for _ in range(3)]
    pack = lambda values: sum(v << (i * w) for i, v in enumerate(values))  # noqa: E731
    (tmp_path / "ins.hex").write_text("".join(f"{pack(vals):x}\n" for vals, _ in cases))
    (tmp_path / "amts.hex").write_text("".join(f"{amt:x}\n" for _, amt in cases))
    (tmp_path / "tb.v").write_text(ROTATOR_TB.format(n=n, w=w, nv=len(cases)))
    subprocess.run(["iverilog", "-g2012", "-o", "sim", "-s", "tb", "tb.v", str(rtl_dir() / "rotator.v")],
                   cwd=tmp_path, check=True)
    subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, check=True, capture_output=True)
    got = [int(line, 16) for line in (tmp_path / "outs.hex").read_text().split()]
    assert got == [pack(rotate(vals, amt)) for vals, amt in cases]
