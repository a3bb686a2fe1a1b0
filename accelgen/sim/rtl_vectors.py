"""Vectors for the RTL units (pure Python): a *job* drives one unit instance with the integer vectors of
one layer -- the unit's static configuration, the load-port writes (weights, requantization constants,
LayerNorm gains), the input streams as packed AXI-Stream beats -- and holds the expected output beats,
computed with ``accelgen.numerics`` (the scoreboard) or taken from the NumPy simulator's tensors.
``design_jobs`` builds the jobs of every unit of a design from a simulator run; the RTL tests build their
own (more rows, extreme rows, exhaustive pointwise inputs). Tiles and GELU fusion come from
``accelgen.hw.plan``; cycles are reported with the perf model's count for the same work."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError

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
    unit: str  # unit kind (accelgen.hw.rtl_interfaces)
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
    from ..hw.rtl_interfaces import softmax_config, softmax_ports
    from ..numerics.softmax import e2softmax
    from ..perf.cycles import softmax_cycles

    rows = np.asarray(rows, dtype=np.int64)
    want = e2softmax(rows, params) if expected is None else np.asarray(expected, dtype=np.int64)
    r, n = rows.shape
    beats_in = _lane_beats(rows, hw.lanes, hw.input_bits)
    beats_out = _lane_beats(want, hw.lanes, hw.output_bits)
    return Job(name=name, unit="e2softmax", prefix=prefix,
               static=_static(softmax_ports(hw), softmax_config(params, n, hw.lanes)), writes=[], write_idle={},
               inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.output_bits, False),
               timing=Timing(0, [len(beats_in)], [len(beats_out)], [softmax_cycles(r, n, hw.lanes)], "layer"),
               **kw)


def layernorm_job(name: str, prefix: str, hw, params, tokens: np.ndarray, expected: np.ndarray | None = None,
                  **kw) -> Job:
    """AILayerNorm over ``tokens`` (R, D); expected = accelgen.numerics.layernorm.ailayernorm unless given."""
    from ..hw.rtl_interfaces import layernorm_config, layernorm_ports
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
    beats_in = _lane_beats(tokens, hw.lanes, hw.input_bits)
    beats_out = _lane_beats(want, hw.lanes, hw.output_bits)
    return Job(name=name, unit="ailayernorm", prefix=prefix,
               static=_static(ports, layernorm_config(params, hw.lanes)), writes=writes, write_idle={"ld_en": 0},
               inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.output_bits, True),
               timing=Timing(0, [len(beats_in)], [len(beats_out)], [layernorm_cycles(r, d, hw.lanes)], "layer"),
               **kw)


def gelu_job(name: str, prefix: str, hw, table: int, rows: np.ndarray, expected: np.ndarray | None = None,
             **kw) -> Job:
    """GELU table ``table`` of the unit over ``rows`` (R, k) of input codes."""
    from ..hw.rtl_interfaces import gelu_ports
    from ..numerics.gelu import GeluTable, gelu_lookup
    from ..perf.cycles import eltwise_cycles

    rows = np.asarray(rows, dtype=np.int64)
    want = gelu_lookup(rows, GeluTable(hw.in_min, np.asarray(hw.tables[table]))) if expected is None \
        else np.asarray(expected, dtype=np.int64)
    r, k = rows.shape
    beats_in = _lane_beats(rows, hw.lanes, hw.input_bits)
    # padding lanes carry input code 0, so the unit returns T[0 - in_min] there
    pad = int(hw.tables[table][-hw.in_min]) if 0 <= -hw.in_min < len(hw.tables[table]) else 0
    beats_out = _padded_outputs(want, hw.lanes, hw.output_bits, pad)
    return Job(name=name, unit="gelu", prefix=prefix, static=_static(gelu_ports(hw), {"cfg_sel": table}),
               writes=[], write_idle={},
               inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.output_bits, True),
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
    from ..hw.rtl_interfaces import eltwise_ports
    from ..numerics.primitives import requantize
    from ..perf.cycles import eltwise_cycles

    a = np.asarray(a, dtype=np.int64)
    b_rows = np.zeros_like(a) if b is None else np.asarray(b, dtype=np.int64)
    want = requantize(a.copy(), rq, None if b is None else b_rows) if expected is None \
        else np.asarray(expected, dtype=np.int64)
    r, k = a.shape
    beats, _ = _row_beats(a, hw.lanes)
    beats_in = []
    for ra, rb in zip(_lane_beats(a, hw.lanes, hw.a_bits), _lane_beats(b_rows, hw.lanes, hw.b_bits)):
        beats_in.append([ra[0] | (rb[0] << (hw.lanes * hw.a_bits)), ra[1]])
    beats_out = _lane_beats(want, hw.lanes, hw.output_bits)
    res_mult = 0 if rq.res_mult is None else int(rq.res_mult.reshape(-1)[0])
    clamp = rq.qmin is not None
    static = {"cfg_beats": beats, "cfg_tail": k - (beats - 1) * hw.lanes, "cfg_mult": int(rq.mult.reshape(-1)[0]),
              "cfg_res_mult": res_mult, "cfg_bias": int(rq.bias.reshape(-1)[0]),
              "cfg_shift": int(rq.shift.reshape(-1)[0]), "cfg_clamp": int(clamp),
              "cfg_qmin": rq.qmin if clamp else 0, "cfg_qmax": rq.qmax if clamp else 0}
    return Job(name=name, unit="eltwise", prefix=prefix, static=_static(eltwise_ports(hw), static), writes=[],
               write_idle={}, inputs=[Stream("s_valid", "s_ready", ["s_data", "s_last"], beats_in)],
               output=Expect("m_valid", "m_ready", ["m_data", "m_last"], beats_out, hw.lanes, hw.output_bits, True),
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


TILE_WRITE_ENABLES = ("ld_w_en", "ld_clr", "ld_q_en", "ld_b_en")


def _tile_writes(task: GemmTask, hw, tile, half: int, kc: int, brows: int, bias_bits: int) -> list[dict[str, int]]:
    """Load-port writes of one tile into ``half``: every lane's weights (fixed lanes first, then PoT lanes),
    then the requantization constants and biases of every channel at its store position (slot, bank)."""
    from ..hw.stream import pot_codes
    from ..numerics.primitives import split_residual_mult

    writes = []
    lanes = [(i, c) for i, c in enumerate(tile.fixed)] + [(hw.fixed_lanes + j, c) for j, c in enumerate(tile.pot)]
    for lane, c in lanes:
        is_pot = lane >= hw.fixed_lanes
        for j in range(kc):
            row = np.zeros(hw.tm, dtype=np.int64)
            seg = task.w[c, j * hw.tm:(j + 1) * hw.tm]
            row[:len(seg)] = seg
            word = pack(pot_codes(row), hw.pot_code_bits) if is_pot else pack(row, hw.weight_bits)
            writes.append({"ld_w_en": 1, "ld_bank": half, "ld_lane": lane, "ld_addr": j, "ld_w": word})
    writes.append({"ld_clr": 1, "ld_bank": half})
    for (_, c), slot in zip(lanes, tile.slots):
        rmult, rshift = (0, 0) if task.res_mult is None else split_residual_mult(int(task.res_mult[c]))
        pos = {"ld_bank": half, "ld_slot": slot, "ld_sbank": c % hw.tm}
        writes.append({"ld_q_en": 1, **pos, "ld_mult": int(task.mult[c]), "ld_res_mult": rmult,
                       "ld_res_shift": rshift, "ld_shift": int(task.shift[c])})
        for b in range(brows):
            bias = int(task.bias[b, c] if task.bias.ndim > 1 else task.bias[c])
            writes.append({"ld_b_en": 1, **pos, "ld_brow": b, "ld_bias": masked(bias, bias_bits)})
    idle = dict.fromkeys(TILE_WRITE_ENABLES, 0)
    return [{**idle, **w} for w in writes]  # one enable per write (the bench holds a port's last value)


def _store_beats(values: np.ndarray, tile, slots: int, tm: int, bits: int) -> list[tuple[int, int]]:
    """(data, sel) of the ``slots`` store beats of one row: bank b of beat s holds ``values[c]`` of the
    channel c stored at (s, b) (hw/plan.py Tile.slots, bank c % tm), 0 where nothing is stored."""
    out = [[0] * tm for _ in range(slots)]
    sel = [0] * slots
    for c, slot in zip(tile.fixed + tile.pot, tile.slots):
        out[slot][c % tm] = int(values[c])
        sel[slot] |= 1 << (c % tm)
    return [(pack(out[s], bits), sel[s]) for s in range(slots)]


def gemm_jobs(name: str, prefix: str, hw, task: GemmTask, **kw) -> list[Job]:
    """One job per pair of output tiles of the plan (accelgen.hw.plan plan_tiles): halves 0 and 1 are
    loaded, then both tiles stream back to back; S = the plan's store slots beats per row."""
    from ..hw.rtl_interfaces import tile_ports
    from ..hw.plan import plan_tiles
    from ..perf.cycles import gemm_tile_compute

    widths = {p.name: p.width for p in tile_ports(hw)}
    r, k = task.x.shape
    kc = -(-k // hw.tm)
    if kc > hw.max_k_beats:
        raise InputError(f"{name}: K = {k} needs {kc} beats per row, the tile holds {hw.max_k_beats}")
    brows = task.bias.shape[0] if task.bias.ndim > 1 else 1
    if brows > hw.max_bias_rows or (brows > 1 and brows != r):
        raise InputError(f"{name}: {brows} bias rows do not fit the tile ({hw.max_bias_rows})")
    plan = plan_tiles(task.pot, hw.fixed_lanes, hw.pot_lanes, hw.tm, name)
    slots = plan.slots
    if slots > hw.slots:
        raise InputError(f"{name}: its tiles store in {slots} slots, the tile's ring holds {hw.slots}")
    xpad = np.zeros((r, kc * hw.tm), dtype=np.int64)
    xpad[:, :k] = task.x
    x_beats = [[pack(xpad[i, j * hw.tm:(j + 1) * hw.tm], hw.input_bits), int(j == kc - 1)]
               for i in range(r) for j in range(kc)]
    has_res = task.res is not None
    clamp = task.qmin is not None
    jobs = []
    for first in range(0, len(plan.tiles), 2):
        pair = plan.tiles[first:first + 2]
        writes, cmds, r_beats, y_beats = [], [], [], []
        for half, tile in enumerate(pair):
            writes += _tile_writes(task, hw, tile, half, kc, brows, widths["ld_bias"])
            rot_f = tile.fixed[0] % hw.tm if tile.fixed else 0
            rot_p = tile.pot[0] % hw.tm if tile.pot else 0
            cmds.append([half, r, kc, slots, rot_f, rot_p, brows, int(has_res), int(clamp),
                         masked(task.qmin or 0, hw.output_bits), masked(task.qmax or 0, hw.output_bits),
                         int(task.gelu is not None), task.gelu or 0])
            for i in range(r):
                beats = _store_beats(task.expected[i], tile, slots, hw.tm, hw.output_bits)
                y_beats += [[data, sel, int(i == r - 1 and s == slots - 1)] for s, (data, sel) in enumerate(beats)]
                if has_res:
                    r_beats += [[data] for data, _ in _store_beats(task.res[i], tile, slots, hw.tm, hw.residual_bits)]
        inputs = [Stream("cmd_valid", "cmd_ready",
                         ["cmd_bank", "cmd_rows", "cmd_kc", "cmd_slots", "cmd_rot_fixed", "cmd_rot_pot",
                          "cmd_bias_rows", "cmd_has_res", "cmd_clamp", "cmd_qmin", "cmd_qmax", "cmd_gelu",
                          "cmd_gelu_sel"], cmds),
                  Stream("x_valid", "x_ready", ["x_data", "x_last"], x_beats * len(pair))]
        if has_res:
            inputs.append(Stream("r_valid", "r_ready", ["r_data"], r_beats))
        part = "" if len(plan.tiles) <= 2 else f" tiles {first}-{first + len(pair) - 1}"
        jobs.append(Job(
            name=name + part, unit="gemm_tile", prefix=prefix, static={}, writes=writes,
            write_idle=dict.fromkeys(TILE_WRITE_ENABLES, 0),
            inputs=inputs,
            output=Expect("y_valid", "y_ready", ["y_data", "y_sel", "y_last"], y_beats, hw.tm, hw.output_bits, True),
            timing=Timing(1, [r * kc] * len(pair), [r * slots] * len(pair),
                          [int(gemm_tile_compute(r, k, hw.tm, slots))] * len(pair), "tile"),
            **kw))
    return jobs


# ---------------------------------------------------------------------------------------------- design
def design_units(rd, wrappers: dict[str, str]) -> dict[str, tuple]:
    """prefix -> (kind, parameters, module, wrapper text) for the design's units."""
    from ..hw.rtl_interfaces import module_name

    short = {"gemm_tile": "gt_", "e2softmax": "sm_", "ailayernorm": "ln_", "gelu": "ge_", "eltwise": "ew_"}
    return {short[k]: (k, hw, module_name(k), wrappers[f"{module_name(k)}.v"]) for k, hw in rd.units().items()}


def design_jobs(graph, rd, tensors: dict, rows: int = 3, image: int = 0, phases=None) -> list[Job]:
    """Jobs for every unit of a design from one image of a NumPy simulator run (``tensors``: the
    simulator's int64 tensors, batch first): a few rows / tokens of a real layer per unit, the expected
    outputs taken from the simulator itself."""
    from .. import ir
    from ..hw.plan import fused_gelus, schedule
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
    gelu_of = fused_gelus(schedule(graph))
    fused = [op for op in linear if op.name in gelu_of and op not in picks]
    picks += fused[:1]
    res = [op for op in linear if op.residual is not None and op not in picks]
    picks += res[:1]
    for op in picks:
        jobs += _linear_jobs(graph, op, t, rd, rows, gelu_of, **kw)
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


def _linear_jobs(graph, op, t: dict, rd, rows: int, gelu_of: dict, **kw) -> list[Job]:
    """``gelu_of``: linear layer name -> the GELU fused into it (accelgen.hw.plan)."""
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
    if op.name in gelu_of:
        g = gelu_of[op.name]
        gelu = rd.gelu_index[g.name]
        want = t[g.output][:rows_used]
        name = f"{op.name} + {g.name}"
    if pot is not None:
        vec += f", {int(pot.sum())} PoT rows"
    task = gemm_task(op.requant, x, w, want, pot=pot, res=res, gelu=gelu)
    return gemm_jobs(name, "gt_", tile, task, layer=op.name, vectors=vec, **kw)
