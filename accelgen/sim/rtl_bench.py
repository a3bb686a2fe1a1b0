"""The cocotb bench (``rtl_units``, run inside the simulator): drives each job's streams with full
AXI-Stream semantics -- phase 0 back to back with the output always ready, to count cycles; later phases
with random input gaps (garbage data while invalid) and random output backpressure -- and compares every
output beat exactly, its order and its last flag; after a phase the unit must be idle and silent. Cycles
are measured from the first accepted input beat to the last output transfer of each group (a GEMM tile, a
softmax / LayerNorm layer, an elementwise stream)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from .. import progress
from .rtl_runner import JOBS_ENV
from .rtl_vectors import unpack

CLOCK_NS = 10


# ---------------------------------------------------------------------------------------------- bench
try:  # the bench runs inside the simulator; the library works without cocotb (find_simulator says so)
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge
except ImportError:  # pragma: no cover - exercised by find_simulator's error
    cocotb = None


class _Port:
    """Cached handles of one unit instance's prefixed ports."""

    def __init__(self, dut, prefix: str):
        self.dut, self.prefix, self.cache = dut, prefix, {}

    def __getitem__(self, name: str):
        h = self.cache.get(name)
        if h is None:
            h = self.cache[name] = getattr(self.dut, self.prefix + name)
        return h

    def width(self, name: str) -> int:
        try:
            return len(self[name])
        except TypeError:
            return 1


def _read(handle) -> int | None:
    try:
        return int(handle.value)
    except ValueError:  # X / Z bits
        return None


def _describe(word: int | None, exp: dict) -> str:
    if word is None:
        return "X/Z"
    return str(unpack(word, exp["lanes"], exp["bits"], exp["signed"]))


async def _phase(dut, port: _Port, job: dict, gap: float, stall: float,
                 rng: random.Random) -> tuple[str | None, int, list]:
    """One pass of the job's streams; returns (first error, outputs checked, transfer times)."""
    inputs, out = job["inputs"], job["output"]
    widths = {f: port.width(f) for s in inputs for f in s["fields"]}
    state = [[0, False] for _ in inputs]  # next beat, valid held
    times_in = [[] for _ in inputs]
    times_out = []
    expected = out["beats"]
    n_out = 0
    error = None
    total = sum(len(s["beats"]) for s in inputs) + len(expected)
    limit = 64 * total + 4000
    t = 0
    while (n_out < len(expected) or any(st[0] < len(s["beats"]) for st, s in zip(state, inputs))) and t < limit:
        await FallingEdge(dut.clk)
        ready = 0 if (stall and rng.random() < stall) else 1
        if _read(port[out["valid"]]):
            if ready:
                got = [_read(port[f]) for f in out["fields"]]
                if n_out < len(expected) and got != expected[n_out] and error is None:
                    error = (f"output beat {n_out}: got {_describe(got[0], out)} last={got[-1]}, "
                             f"expected {_describe(expected[n_out][0], out)} "
                             f"last={expected[n_out][-1]}")
                elif n_out >= len(expected) and error is None:
                    error = f"unexpected output beat {n_out} (only {len(expected)} expected)"
                n_out += 1
                times_out.append(t)
        port[out["ready"]].value = ready
        for c, s in enumerate(inputs):
            st = state[c]
            if st[0] < len(s["beats"]) and (st[1] or not (gap and rng.random() < gap)):
                port[s["valid"]].value = 1
                for f, v in zip(s["fields"], s["beats"][st[0]]):
                    port[f].value = v
                st[1] = True
                if _read(port[s["ready"]]):
                    times_in[c].append(t)
                    st[0] += 1
                    st[1] = False
            else:
                port[s["valid"]].value = 0
                for f in s["fields"]:  # garbage while invalid: the unit must ignore it
                    port[f].value = rng.getrandbits(widths[f])
        t += 1
    if t >= limit and error is None:
        sent = [st[0] for st in state]
        error = f"timeout after {t} cycles: inputs sent {sent}, outputs {n_out} of {len(expected)}"
    # drain: nothing more may come out, and the unit must report idle
    for _ in range(24):
        await FallingEdge(dut.clk)
        port[out["ready"]].value = 1
        for s in inputs:
            port[s["valid"]].value = 0
        if _read(port[out["valid"]]) and error is None:
            error = f"unexpected output beat {n_out} after the expected {len(expected)}"
    if error is None and _read(port["idle"]) != 1:
        error = "the unit is not idle after its last output"
    return error, n_out, [times_in, times_out]


def _cycles(timing: dict, times: list) -> list[int]:
    """Cycles of each timed group: first accepted input beat to last output transfer, inclusive."""
    times_in, times_out = times[0][timing["stream"]], times[1]
    out, i0, o0 = [], 0, 0
    for nin, nout in zip(timing["in_beats"], timing["out_beats"]):
        if i0 + nin > len(times_in) or o0 + nout > len(times_out):
            return out
        out.append(times_out[o0 + nout - 1] - times_in[i0] + 1)
        i0 += nin
        o0 += nout
    return out


async def _run_job(dut, job: dict) -> dict:
    port = _Port(dut, job["prefix"])
    for k, v in job["static"].items():
        port[k].value = v
    result = {"passed": True, "message": "", "outputs": 0, "measured": []}
    for p, (gap, stall) in enumerate(job["phases"]):
        rng = random.Random(job["seed"] * 1000 + p)
        for w in job["writes"]:
            await FallingEdge(dut.clk)
            for k, v in w.items():
                port[k].value = v
        await FallingEdge(dut.clk)
        for k, v in job["write_idle"].items():
            port[k].value = v
        error, n, times = await _phase(dut, port, job, gap, stall, rng)
        result["outputs"] += n
        if p == 0 and job["timing"] is not None:
            result["measured"] = _cycles(job["timing"], times)
        if error is not None:
            result["passed"] = False
            result["message"] = f"phase {p} (input gaps {gap:.0%}, output stalls {stall:.0%}): {error}"
            break
    return result


async def _run_prefix(dut, jobs: list[dict]) -> dict:
    out = {}
    for job in jobs:
        out[job["name"] + "@" + job["prefix"]] = await _run_job(dut, job)
        progress.advance()
    return out


def _idle_inputs(dut, jobs: list[dict]) -> None:
    for job in jobs:
        port = _Port(dut, job["prefix"])
        for s in job["inputs"]:
            port[s["valid"]].value = 0
        port[job["output"]["ready"]].value = 0
        for k, v in job["write_idle"].items():
            port[k].value = v


if cocotb is not None:
    @cocotb.test()
    async def rtl_units(dut):
        """Every job of ACCELGEN_RTLSIM_JOBS: units in parallel, each unit's jobs in order; results to JSON."""
        cfg = json.loads(Path(os.environ[JOBS_ENV]).read_text())
        jobs = cfg["jobs"]
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        _idle_inputs(dut, jobs)
        dut.rst.value = 1
        for _ in range(4):
            await FallingEdge(dut.clk)
        dut.rst.value = 0
        by_prefix: dict[str, list] = {}
        for job in jobs:
            by_prefix.setdefault(job["prefix"], []).append(job)
        tasks = [cocotb.start_soon(_run_prefix(dut, js)) for js in by_prefix.values()]
        results = {}
        for task in tasks:
            results.update(await task)
        Path(cfg["results"]).write_text(json.dumps(results, indent=1))
        bad = [f"{k}: {v['message']}" for k, v in results.items() if not v["passed"]]
        assert not bad, "\n".join(bad)
