"""Stimulus of the RTL unit benches (tests/test_rtl_units.py): unit instances and jobs.

The cocotb driver and scoreboard are accelgen.sim.rtl_bench (shared with `accelgen rtlsim`); this module
chooses what the benches run:

* three virtual designs of the default digits ViT, each instantiated side by side in one harness:
  ``p`` (TM=8, 5 fixed lanes as 2 packed DSP pairs + 1 single lane, 3 PoT lanes, 1 softmax / LayerNorm /
  elementwise lane, on an UltraScale+ board), ``u`` (TM=16, 4 unpacked fixed + 4 PoT lanes, 3 softmax, 5
  LayerNorm and 4 elementwise lanes, on a 7-series board) and ``w`` (16 lanes of every streaming unit, the
  shape the DSE picks for zcu102), plus ``s16``, an E2Softmax for 16-bit inputs (models without a score
  quantizer) with a left-shifted exponent (in_frac < F);
* the model's weights re-quantized with power-of-two rows and 4-bit fixed rows (mixed scheme), so the
  PoT lanes and 4-bit weights run on real layers;
* real rows / tokens from the NumPy simulator running that graph on the shipped digits, plus extreme rows
  (all equal, one huge, all minimum, alternating, full-range random) with expected values from
  accelgen.numerics, and exhaustive inputs for the pointwise units (every GELU code of every table, every
  8-bit operand pair of an add, requantization edge cases: shift 0 and 46, extreme multipliers and biases,
  narrow clamps).
"""

from __future__ import annotations

import numpy as np

from accelgen import ir
from accelgen.board import load_board
from accelgen.codegen import rtl_project as rp
from accelgen.codegen import rtl_units as ru
from accelgen.design import Design, Engine
from accelgen.hw.plan import fused_gelus, pot_row_order, schedule
from accelgen.hw.units import SoftmaxUnit, gelu_layer_tables, gelu_unit, softmax_unit
from accelgen.numerics.gemm import exact_matmul
from accelgen.numerics.layernorm import AILayerNormParams
from accelgen.numerics.primitives import dyadic, dyadic_at, requantize
from accelgen.numerics.softmax import E2SoftmaxParams
from accelgen.sim import rtl_vectors as rs

IMAGES = 2  # images of real data

ENGINES = {
    "p": (Engine(tm=8, tn_fixed=5, tn_pot=3, dsp_packing=True, sm_lanes=1, ln_lanes=1, ew_lanes=1), "zcu102"),
    "u": (Engine(tm=16, tn_fixed=4, tn_pot=4, dsp_packing=False, sm_lanes=3, ln_lanes=5, ew_lanes=4), "pynqz2"),
    "w": (Engine(tm=64, tn_fixed=32, tn_pot=0, dsp_packing=True, sm_lanes=16, ln_lanes=16, ew_lanes=16), "zcu102"),
}
TILE_DESIGNS = ("p", "u")  # "w" has no tile in the bench harness (accelgen rtlsim runs that one)


def _pot_rows(m: int, count: int) -> tuple[int, ...]:
    """``count`` scattered rows of ``m`` that meet the per-bank quotas of the tiles (hw/plan.py) for TM = 16,
    and so for TM = 8 as well (m is a multiple of 16)."""
    return tuple(sorted(int(r) for r in pot_row_order((np.arange(m) * 5) % 7, 16)[:count]))


# weight schemes of the mixed graph: layer -> (fixed-point bits, PoT rows)
SCHEMES = {
    "patch_embed": (8, _pot_rows(32, 5)),
    "blocks.0.attn.qkv:q_quant": (4, _pot_rows(32, 11)),
    "blocks.0.fc1": (8, _pot_rows(64, 32)),
    "blocks.0.attn.proj": (8, _pot_rows(32, 5)),
    "blocks.1.fc2": (4, _pot_rows(32, 8)),
}


def mixed_graph() -> ir.Graph:
    from accelgen.model_source import load_graph
    from accelgen.passes import to_integer
    from accelgen.passes.mixed_scheme import apply_weight_schemes

    return to_integer(apply_weight_schemes(load_graph(None), SCHEMES))


def simulate(graph: ir.Graph) -> dict[str, np.ndarray]:
    from accelgen.model_source import default_model_data
    from accelgen.sim.numpy_sim import NumpySimulator

    return NumpySimulator(graph).run(default_model_data().images[:IMAGES], keep_tensors=True).tensors


def virtual_design(key: str) -> tuple[Design, object]:
    engine, board = ENGINES[key]
    return Design(model="vit_digits.onnx", model_sha256="0" * 64, board=board, clock_mhz=200.0, engine=engine,
                  layers=()), load_board(board)


# ---------------------------------------------------------------------------------------------- rows
def softmax_extremes(n: int, bits: int, seed: int) -> np.ndarray:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(seed)
    rows = [np.zeros(n), np.full(n, hi), np.full(n, lo), np.full(n, lo), np.full(n, lo),
            np.where(np.arange(n) % 2 == 0, lo, hi), np.arange(n) * ((hi - lo) // max(n, 1)) + lo]
    rows[3][n // 2] = hi  # one huge element among minima
    rows[4][-1] = hi  # the maximum arrives last: the sum is renormalised by a large shift
    rows += list(rng.integers(lo, hi + 1, size=(4, n)))
    rows += list(rng.integers(lo // 8, hi // 8 + 1, size=(2, n)))  # within an octave or two
    return np.asarray(rows, dtype=np.int64)


def layernorm_extremes(d: int, bits: int, seed: int) -> np.ndarray:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    rng = np.random.default_rng(seed)
    rows = [np.zeros(d), np.full(d, lo), np.full(d, hi), np.full(d, 103),
            np.where(np.arange(d) % 2 == 0, lo, hi), np.full(d, lo), np.full(d, 7),
            np.where(np.arange(d) % 2 == 0, 103, 104)]
    rows[5][0] = hi  # one huge
    rows += list(rng.integers(lo, hi + 1, size=(3, d)))
    return np.asarray(rows, dtype=np.int64)


def eltwise_cases() -> list[tuple[str, ir.Requant]]:
    """Requantization edge cases (scalar constants) for the elementwise unit."""
    def rq(m, k, b, r=None, lo=-128, hi=127):
        return ir.Requant(mult=np.array([m]), shift=np.array([k]), bias=np.array([b]), qmin=lo, qmax=hi,
                          res_mult=None if r is None else np.array([r]))

    m, k = dyadic(0.01 / 0.02)
    cases = [("add", rq(m, k, 1 << (k - 1), dyadic_at(0.013 / 0.02, k)))]
    cases.append(("shift 46, wide bias", rq(65535, 46, (1 << 45) + (1 << 46), 40000)))
    cases.append(("shift 0", rq(1, 0, -3, 2)))
    cases.append(("narrow clamp", rq(1 << 15, 15, 1 << 14, 1 << 15, lo=-5, hi=5)))
    cases.append(("unsigned range, negative bias", rq(40000, 20, -(1 << 27), None, lo=0, hi=127)))
    cases.append(("most negative bias", rq(65535, 46, -(1 << 47), 65535)))
    cases.append(("multiplier 2^15", rq(1 << 15, 17, 1 << 16, 1 << 15)))
    return cases


# ---------------------------------------------------------------------------------------------- GEMM
def _head_cols(cols: tuple[int, ...], h: int, dh: int) -> slice:
    return slice(cols[h], cols[h] + dh)


def gemm_tasks(graph: ir.Graph, tensors: dict, image: int = 0) -> list[tuple[str, rs.GemmTask]]:
    """Real GEMMs of the mixed graph with the expected outputs from accelgen.numerics (checked against the
    simulator's tensors for the real rows), plus two extreme rows for the largest-K layer."""
    t = {k: v[image] for k, v in tensors.items()}
    gelu_of = fused_gelus(schedule(graph))
    gelu = gelu_unit(graph, 1)
    gelu_index = gelu_layer_tables(graph, gelu) if gelu else {}
    out = []
    for op in graph.ops_of(ir.GemmOp):
        if op.name not in ("patch_embed", "blocks.0.attn.qkv:q_quant", "blocks.0.fc1", "blocks.0.attn.proj",
                           "blocks.1.fc2", "head"):
            continue
        w = op.weight.values.astype(np.int64)
        if isinstance(op, ir.PatchEmbed):
            c, h, wd = t[op.input].shape
            p = op.patch
            x = t[op.input].reshape(c, h // p, p, wd // p, p).transpose(1, 3, 0, 2, 4).reshape(-1, c * p * p)
            real = t[op.output][op.num_prefix:]
        else:
            x = t[op.input] if op.rows is None else t[op.input][list(op.rows)]
            real = t[op.output]
        res = None if getattr(op, "residual", None) is None else t[op.residual]
        if op.name == "blocks.1.fc2":  # extreme rows: every input at its minimum, at its maximum
            lo, hi = graph.tensors[op.input].bounds
            x = np.concatenate([x, np.full((1, x.shape[1]), lo), np.full((1, x.shape[1]), hi)])
            res = np.concatenate([res, np.full((1, res.shape[1]), -128), np.full((1, res.shape[1]), 127)])
        y = requantize(exact_matmul(x, w.T, 255, 128), op.requant, res)
        assert np.array_equal(y[:len(real)], real), op.name  # the numerics are the simulator's
        gelu = None
        name = op.name
        if op.name in gelu_of:
            g = gelu_of[op.name]
            gelu = gelu_index[g.name]
            y = g.unit.values[y - g.unit.in_min]
            name += " + GELU"
        out.append((name, rs.gemm_task(op.requant, x, w, y, pot=op.weight.pot_rows, res=res, gelu=gelu)))
    for op in graph.ops_of(ir.AttnScores)[:1]:  # QK^T, head 0: M = N keys on the fixed lanes
        q = t[op.q][:, _head_cols(op.q_cols, 0, op.head_dim)]
        k = t[op.k][:, _head_cols(op.k_cols, 0, op.head_dim)]
        y = requantize(exact_matmul(q, k.T, 128, 128), op.requant)
        assert np.array_equal(y, t[op.output][0]), op.name
        out.append((f"{op.name} QK^T h0", rs.gemm_task(op.requant, q, k, y)))
    for op in graph.ops_of(ir.AttnContext)[1:2]:  # AV, head 1: unsigned probabilities, 9-bit operand
        p = t[op.probs][1]
        v = t[op.v][:, _head_cols(op.v_cols, 1, op.head_dim)]
        y = requantize(exact_matmul(p, v, 255, 128), op.requant)
        assert np.array_equal(y, t[op.output][:, _head_cols((0, op.head_dim), 1, op.head_dim)]), op.name
        out.append((f"{op.name} AV h1", rs.gemm_task(op.requant, p, v.T, y)))
    return out


# ---------------------------------------------------------------------------------------------- harness
def bench(graph_mixed: ir.Graph, t_mixed: dict, graph_default: ir.Graph, t_default: dict,
          designs=("p", "u", "w"), s16: bool = True) -> tuple[dict, list[rs.Job]]:
    """(units: prefix -> (kind, hw, module, wrapper text), jobs) of the full bench harness."""
    units: dict = {}
    jobs: list[rs.Job] = []
    for key in designs:
        graph, t = (graph_default, t_default) if key == "w" else (graph_mixed, t_mixed)
        design, board = virtual_design(key)
        rd = ru.rtl_design(graph, design, board)
        for kind, hw in rd.units().items():
            if kind == "gemm_tile" and key not in TILE_DESIGNS:
                continue
            module = f"{key}_{kind}"
            names = rd.gelu_names if kind in ("gemm_tile", "gelu") else ()
            units[f"{key}_{kind}_"] = (kind, hw, module, rp.render_unit(hw, module, names))
        jobs += design_jobs(key, graph, t, rd)
    if s16:
        hw, jobs16 = softmax16()
        units["s16_"] = ("e2softmax", hw, "s16_e2softmax", rp.render_unit(hw, "s16_e2softmax"))
        jobs += jobs16
    return units, jobs


def design_jobs(key: str, graph: ir.Graph, t: dict, rd: ru.RtlDesign) -> list[rs.Job]:
    jobs: list[rs.Job] = []
    seed = {"p": 1, "u": 2, "w": 3}[key]
    if key in TILE_DESIGNS:
        for name, task in gemm_tasks(graph, t, image=seed - 1):
            jobs += rs.gemm_jobs(f"{key} {name}", f"{key}_gemm_tile_", rd.tile, task, seed=seed)
    # softmax: real rows of one layer over every head and image, extremes, short rows
    layer = graph.ops_of(ir.Softmax)[seed % 2]
    x = t[layer.input].reshape(-1, t[layer.input].shape[-1])
    y = t[layer.output].reshape(-1, t[layer.output].shape[-1])
    n = x.shape[1]
    pre = f"{key}_e2softmax_"
    jobs.append(rs.softmax_job(f"{key} {layer.name} real", pre, rd.softmax, layer.unit, x, y, seed=seed))
    jobs.append(rs.softmax_job(f"{key} softmax extremes", pre, rd.softmax, layer.unit,
                               softmax_extremes(n, layer.unit.in_bits, seed), seed=seed))
    if key != "w":
        for m in (1, 5):
            jobs.append(rs.softmax_job(f"{key} softmax rows of {m}", pre, rd.softmax, layer.unit,
                                       softmax_extremes(m, layer.unit.in_bits, seed + m)[:, :m], seed=seed))
    # LayerNorm: real tokens of one layer over all images, extremes, and eps = 0
    ln = graph.ops_of(ir.LayerNorm)[{"p": 0, "u": 3, "w": 4}[key]]
    pre = f"{key}_ailayernorm_"
    x = t[ln.input].reshape(-1, ln.unit.dim)
    jobs.append(rs.layernorm_job(f"{key} {ln.name} real", pre, rd.layernorm, ln.unit, x,
                                 t[ln.output].reshape(-1, ln.unit.dim), seed=seed))
    ext = layernorm_extremes(ln.unit.dim, rd.layernorm.input_bits, seed)
    jobs.append(rs.layernorm_job(f"{key} layernorm extremes", pre, rd.layernorm, ln.unit, ext, seed=seed))
    if key == "u":
        u = ln.unit
        no_eps = AILayerNormParams(dim=u.dim, eps=0, gain=u.gain, bias=u.bias, shift=u.shift, out_min=u.out_min,
                                   out_max=u.out_max)
        jobs.append(rs.layernorm_job(f"{key} layernorm eps 0", pre, rd.layernorm, no_eps, ext, seed=seed))
    # GELU: every input code through every table
    codes = np.arange(-128, 128, dtype=np.int64).reshape(16, 16)
    for i, name in enumerate(rd.gelu_names):
        jobs.append(rs.gelu_job(f"{key} {name} all codes", f"{key}_gelu_", rd.gelu, i, codes, seed=seed))
    # elementwise: requantization edge cases over every 8-bit a (b cycling); every (a, b) pair on "w"
    a = np.arange(-128, 128, dtype=np.int64).reshape(8, 32)
    b = np.roll(a, 37)
    for name, rq in eltwise_cases():
        jobs.append(rs.eltwise_job(f"{key} eltwise {name}", f"{key}_eltwise_", rd.eltwise, rq, a,
                                   None if rq.res_mult is None else b, seed=seed))
    if key == "w":
        aa, bb = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128), indexing="ij")
        name, rq = eltwise_cases()[0]
        jobs.append(rs.eltwise_job(f"{key} eltwise add all pairs", f"{key}_eltwise_", rd.eltwise, rq, aa, bb,
                                   seed=seed, phases=[[0.0, 0.0]]))
    return jobs


def softmax16() -> tuple[SoftmaxUnit, list[rs.Job]]:
    """An E2Softmax for 16-bit inputs (2 lanes, rows up to 40): in_frac 12, and in_frac 1 < F (the
    exponent is shifted left)."""
    params = [E2SoftmaxParams(in_bits=16, in_frac=12), E2SoftmaxParams(in_bits=16, in_frac=1)]
    n_max = 40
    hw = softmax_unit(params, n_max, lanes=2)
    assert hw.exponent_bits == 16 + 2 + 1  # in_frac 1 < F shifts the exponent left by one
    jobs = []
    for i, q in enumerate(params):
        rows = softmax_extremes(37, 16, 40 + i)
        if i == 1:
            rows = rows // 4096  # small logits at scale 2^-1: the exponent code needs the left shift
        jobs.append(rs.softmax_job(f"s16 softmax in_frac {q.in_frac}", "s16_", hw, q, rows, seed=7 + i))
    return hw, jobs
