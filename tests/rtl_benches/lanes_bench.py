"""cocotb bench for the GEMM lane modules in rtl/lanes/ (fixed_lane, pot_lane, dsp_pack2, adder_tree).

The test driver (tests/test_lanes.py) passes the configuration as JSON in the environment variable
LANES_BENCH_CFG: a list of jobs {"kind": "fixed"|"pot"|"pack2"|"tree", "params": {HDL parameters},
"prefix": port-name prefix, "seed": int, "beats": int, "mode": "random"|"products"}.  All jobs run
concurrently on one clock: either one job on a lane module as toplevel (prefix ""), or one job per
instance of the test wrapper lanes_top.v (two instances per module, prefixes fx0_ ... at1_), which
lets a single (slow) Verilator build check all four modules in two parameter sets.  The bench generates each job's stimulus itself
(seeded, so a failure is reproducible), computes the exact integer reference in Python and compares
every output beat, including the pipeline latency documented in the RTL headers.

Mode "products" (pack2, pot) clears the accumulator on every beat and takes the operands from an
(almost) exhaustive list, TM elements per beat; with TM=1 every output is a single product (pair).
Mode "random" mixes random and extreme operands, bubbles (valid=0 with garbage data), random
accumulator restarts and a long run of extreme beats that wraps a small accumulator.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

CFG_ENV = "LANES_BENCH_CFG"

DEFAULTS = {
    "fixed": {"TM": 8, "XB": 8, "WB": 8, "ACCB": 32, "PIPE_LVLS": 2},
    "pot": {"TM": 8, "XB": 8, "WB": 4, "ACCB": 32, "PIPE_LVLS": 2},
    "pack2": {"TM": 8, "XB": 8, "WB": 8, "ACCB": 32, "SH": 18, "PIPE_LVLS": 2},
    "tree": {"TM": 8, "W": 16, "PIPE_LVLS": 2},
}
TOPLEVEL = {"fixed": "fixed_lane", "pot": "pot_lane", "pack2": "dsp_pack2", "tree": "adder_tree"}


# ----------------------------------------------------------------------------- reference model
def full_params(kind: str, params: dict) -> dict:
    return {**DEFAULTS[kind], **params}


def clog2(n: int) -> int:
    return (n - 1).bit_length()


def latency(kind: str, p: dict) -> int:
    """Register stages from input pins to output pins (as documented in the RTL headers)."""
    t = 0 if p["PIPE_LVLS"] == 0 else clog2(p["TM"]) // p["PIPE_LVLS"]
    return {"fixed": 3, "pot": 3, "pack2": 4, "tree": 2}[kind] + t


def wrap(v: int, bits: int) -> int:
    """Two's-complement wrap of v to `bits` bits (signed result)."""
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def pot_value(code: int, wb: int = 4) -> int:
    """PoT weight code {s, e}: e == all-ones -> 0, else (-1)^s * 2^e."""
    eb = wb - 1
    e, s = code & ((1 << eb) - 1), (code >> eb) & 1
    if e == (1 << eb) - 1:
        return 0
    return -(1 << e) if s else (1 << e)


def dots(kind: str, p: dict, beat: dict) -> tuple[int, ...]:
    """Exact per-beat results: (dot,) or (dot_a, dot_b) for pack2, (sum,) for the tree."""
    if kind == "tree":
        return (sum(beat["d"]),)
    x = beat["x"]
    if kind == "fixed":
        return (sum(a * b for a, b in zip(x, beat["w"])),)
    if kind == "pot":
        return (sum(a * pot_value(c, p["WB"]) for a, c in zip(x, beat["w"])),)
    return (sum(a * b for a, b in zip(x, beat["wa"])), sum(a * b for a, b in zip(x, beat["wb"])))


def expected(kind: str, p: dict, beats: list[dict]) -> list[tuple[int, ...]]:
    """Output value(s) for every valid beat, in order (accumulators wrap to ACCB bits)."""
    out: list[tuple[int, ...]] = []
    acc: list[int] | None = None
    for b in beats:
        if not b["valid"]:
            continue
        d = dots(kind, p, b)
        if kind == "tree":
            out.append(d)
            continue
        if b["clear"] or acc is None:
            acc = [0] * len(d)
        acc = [wrap(a + v, p["ACCB"]) for a, v in zip(acc, d)]
        out.append(tuple(acc))
    return out


# ----------------------------------------------------------------------------- stimulus
def _signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _rand_signed(rng: random.Random, bits: int) -> int:
    lo, hi = _signed_range(bits)
    if rng.random() < 0.25:  # extremes are where packing / sign handling breaks
        return rng.choice([lo, lo + 1, -1, 0, 1, hi])
    return rng.randint(lo, hi)


def _rand_beat(kind: str, p: dict, rng: random.Random) -> dict:
    tm = p["TM"]
    if kind == "tree":
        return {"d": [_rand_signed(rng, p["W"]) for _ in range(tm)]}
    beat = {"x": [_rand_signed(rng, p["XB"]) for _ in range(tm)]}
    if kind == "fixed":
        beat["w"] = [_rand_signed(rng, p["WB"]) for _ in range(tm)]
    elif kind == "pot":
        beat["w"] = [rng.randrange(1 << p["WB"]) for _ in range(tm)]
    else:
        beat["wa"] = [_rand_signed(rng, p["WB"]) for _ in range(tm)]
        beat["wb"] = [_rand_signed(rng, p["WB"]) for _ in range(tm)]
    return beat


def _extreme_beat(kind: str, p: dict, which: int) -> dict:
    """All elements at one extreme (largest |dot|), used in runs to exercise accumulator wrap."""
    tm = p["TM"]
    if kind == "tree":
        lo, hi = _signed_range(p["W"])
        return {"d": [lo if which else hi] * tm}
    xlo, _ = _signed_range(p["XB"])
    beat = {"x": [xlo] * tm}
    if kind == "fixed":
        wlo, whi = _signed_range(p["WB"])
        beat["w"] = [wlo if which else whi] * tm
    elif kind == "pot":
        eb = p["WB"] - 1
        emax = (1 << eb) - 2
        beat["w"] = [(which << eb) | emax] * tm  # x * (+-2^emax)
    else:
        wlo, whi = _signed_range(p["WB"])
        beat["wa"] = [wlo if which else whi] * tm
        beat["wb"] = [whi if which else wlo] * tm
    return beat


def _product_beats(kind: str, p: dict, rng: random.Random, n: int) -> list[dict]:
    """Accumulator cleared on every beat; operand tuples from an (almost) exhaustive list, TM per beat.

    pack2: all 256 x against all pairs of extreme weights, extreme x against all 256 values of each
    weight, plus n random triples.  pot: every (x, code) pair.  With TM=1 each output is one product.
    """
    assert kind in ("pack2", "pot"), "products mode exists for pack2 and pot"
    xlo, xhi = _signed_range(p["XB"])
    xe = [xlo, xlo + 1, -1, 0, 1, xhi]
    if kind == "pot":
        tuples = [(x, c) for x in range(xlo, xhi + 1) for c in range(1 << p["WB"])]
    else:
        wlo, whi = _signed_range(p["WB"])
        we = [wlo, wlo + 1, -1, 0, 1, whi]
        tuples = [(x, a, b) for x in range(xlo, xhi + 1) for a in we for b in we]
        tuples += [(x, a, b) for x in xe for a in range(wlo, whi + 1) for b in (wlo, -1, whi)]
        tuples += [(x, a, b) for x in xe for a in (wlo, -1, whi) for b in range(wlo, whi + 1)]
        tuples += [(rng.randint(xlo, xhi), rng.randint(wlo, whi), rng.randint(wlo, whi)) for _ in range(n)]
    rng.shuffle(tuples)
    tm = p["TM"]
    tuples += tuples[: (-len(tuples)) % tm]  # fill the last beat
    beats = []
    for i in range(0, len(tuples), tm):
        chunk = tuples[i:i + tm]
        beat = {"valid": 1, "clear": 1, "x": [t[0] for t in chunk]}
        if kind == "pot":
            beat["w"] = [t[1] for t in chunk]
        else:
            beat["wa"], beat["wb"] = [t[1] for t in chunk], [t[2] for t in chunk]
        beats.append(beat)
    return beats


def make_beats(kind: str, p: dict, seed: int, n: int, mode: str = "random") -> list[dict]:
    """Cycle-by-cycle stimulus: dicts with valid, clear and the operand lists."""
    rng = random.Random(seed)
    beats: list[dict] = []
    if mode == "products":
        return _product_beats(kind, p, rng, n)
    # random mode: bursts of valid beats with gaps, random restarts, one long extreme run
    first = True
    for i in range(n):
        if not first and rng.random() < 0.15:  # bubble: garbage data, must be ignored
            beats.append({"valid": 0, "clear": rng.randint(0, 1), **_rand_beat(kind, p, rng)})
        clear = 1 if first else int(rng.random() < 0.2)
        beats.append({"valid": 1, "clear": clear, **_rand_beat(kind, p, rng)})
        first = False
    which = rng.randint(0, 1)
    for i in range(48):  # long accumulation of extreme beats (wraps a small accumulator)
        beats.append({"valid": 1, "clear": int(i == 0), **_extreme_beat(kind, p, which)})
    return beats


# ----------------------------------------------------------------------------- DUT access
WRAPPER_KIND = {"fixed": "fx", "pot": "pt", "pack2": "pk", "tree": "at"}


def wrapper_prefix(kind: str, slot: int) -> str:
    """Port prefix of instance `slot` (0/1) of module `kind` in lanes_top.v, e.g. 'pk1_'."""
    return f"{WRAPPER_KIND[kind]}{slot}_"


def wrapper_parameters(jobs: list[dict]) -> dict:
    """HDL parameters of lanes_top.v for jobs carrying a "slot" (at most one per kind and slot)."""
    out = {}
    for job in jobs:
        pre = wrapper_prefix(job["kind"], job["slot"]).upper()
        for k, v in job.get("params", {}).items():
            out[pre + ("PIPE" if k == "PIPE_LVLS" else k)] = v
    return out


def _pack(vals: list[int], bits: int) -> int:
    m = (1 << bits) - 1
    return sum((v & m) << (i * bits) for i, v in enumerate(vals))


class _Port:
    def __init__(self, dut, prefix: str):
        self.dut, self.prefix = dut, prefix

    def __getattr__(self, name):
        return getattr(self.dut, self.prefix + name)


def _drive(port, kind: str, p: dict, beat: dict | None) -> None:
    if beat is None:
        port.valid_in.value = 0
        if kind != "tree":
            port.acc_clear.value = 0
        return
    port.valid_in.value = beat["valid"]
    if kind == "tree":
        port.d_in.value = _pack(beat["d"], p["W"])
        return
    port.acc_clear.value = beat["clear"]
    port.x_in.value = _pack(beat["x"], p["XB"])
    if kind == "pack2":
        port.wa_in.value = _pack(beat["wa"], p["WB"])
        port.wb_in.value = _pack(beat["wb"], p["WB"])
    else:
        port.w_in.value = _pack(beat["w"], p["WB"])


def _read(port, kind: str) -> tuple[int, ...]:
    if kind == "tree":
        return (port.sum_out.value.to_signed(),)
    if kind == "pack2":
        return (port.acc_a_out.value.to_signed(), port.acc_b_out.value.to_signed())
    return (port.acc_out.value.to_signed(),)


async def _run_job(dut, job: dict) -> str | None:
    """Drive one job to completion after reset; return an error message or None."""
    kind = job["kind"]
    p = full_params(kind, job.get("params", {}))
    port = _Port(dut, job.get("prefix", ""))
    beats = make_beats(kind, p, job.get("seed", 1), job.get("beats", 200), job.get("mode", "random"))
    want = expected(kind, p, beats)
    lat = latency(kind, p)
    tag = f"{kind} {p}"

    got: list[tuple[int, ...]] = []
    got_at: list[int] = []
    sent_at = [t for t, b in enumerate(beats) if b["valid"]]
    for t in range(len(beats) + lat + 4):
        await FallingEdge(dut.clk)  # outputs are stable here; inputs change here
        if int(port.valid_out.value):
            got.append(_read(port, kind))
            got_at.append(t)
        _drive(port, kind, p, beats[t] if t < len(beats) else None)
    # an output seen at the top of iteration t left the inputs driven in iteration t - lat
    if len(got) != len(want):
        return f"{tag}: {len(got)} valid outputs, expected {len(want)}"
    lats = {g - s for g, s in zip(got_at, sent_at)}
    if lats != {lat}:
        return f"{tag}: latency {sorted(lats)}, expected {lat}"
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    if bad:
        i = bad[0]
        t = sent_at[i]
        return (f"{tag}: {len(bad)} of {len(want)} outputs wrong; first: output #{i} (input cycle {t}, "
                f"beat {beats[t]}): got {got[i]}, expected {want[i]}")
    dut._log.info("%s: %d outputs checked, latency %d", tag, len(got), lat)
    return None


@cocotb.test()
async def lanes_match_reference(dut):
    """Run every configured job concurrently; each valid output must equal the Python reference,
    exactly `latency` cycles after its input, and nothing else may be flagged valid."""
    jobs = json.loads(os.environ[CFG_ENV])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for job in jobs:
        _drive(_Port(dut, job.get("prefix", "")), job["kind"], full_params(job["kind"], job.get("params", {})), None)
    for _ in range(3):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    tasks = [cocotb.start_soon(_run_job(dut, job)) for job in jobs]
    errors = [e for e in [await t for t in tasks] if e]
    assert not errors, "\n".join(errors)
