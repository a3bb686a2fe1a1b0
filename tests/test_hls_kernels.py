"""Per-kernel differential tests of the HLS C++ (hls/*.h) against the NumPy numerics, bit for bit.

One driver binary (tests/csim_helpers.py) holds three engine configurations (TM x TN_FIXED + TN_POT =
8x8+4 packed, 5x3+2 unpacked with 16-bit activations, SOLE's softmax and 64-bit DDR words, 3x5+0 packed
with an odd lane); every job runs the same `accel::run_step` / unit functions the network runs.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from csim_helpers import (OP_CSQ, OP_GELU, OP_INVSQRT, OP_PRODUCTS, OP_REQUANT, OP_STEP, Arena, build_kernel_driver,
                          place_fields, step_payload, step_result, kernel_config)

from accelgen import ir
from accelgen.hw.descriptors import FIELDS, KINDS, split64
from accelgen.codegen.pack import (GemmRows, bits_of, gelu_entries, gemm_stream, layernorm_stream, pad_to_words,
                                   to_bytes)
from accelgen.hw.plan import plan_tiles, pot_row_order
from accelgen.numerics.gelu import GeluTable, build_gelu_table, gelu_lookup
from accelgen.numerics.layernorm import ailayernorm, compressed_square, fold_layernorm, inv_sqrt
from accelgen.numerics.primitives import requantize
from accelgen.numerics.softmax import E2SoftmaxParams, e2softmax
from accelgen.perf import cycles as cy
from accelgen.hw.constants import ELTWISE_LANES
from accelgen.resources import hls_dir
from accelgen.sim.csim import WARNINGS, ap_types_dir, own_warnings

pytestmark = pytest.mark.csim

HEADERS = sorted(p.name for p in hls_dir().glob("*.h"))

# Unit parameters the tests use, per configuration (the configs' widths are derived from them).
SOFTMAX = {
    0: [E2SoftmaxParams(in_bits=8, in_frac=10), E2SoftmaxParams(in_bits=9, in_frac=7, out_frac=10, out_max=241),
        E2SoftmaxParams(in_bits=8, in_frac=1, out_frac=9, out_max=191)],  # in_frac < exp_frac: left shift
    1: [E2SoftmaxParams(in_bits=16, in_frac=12, exp_frac=0, recip_bits=1),  # SOLE's 4-bit code, 16-bit scores
        E2SoftmaxParams(in_bits=16, in_frac=3, exp_frac=0, recip_bits=1, out_frac=7, out_max=127)],
    2: [E2SoftmaxParams(in_bits=8, in_frac=6, out_frac=9, out_max=191)],
}
SOFTMAX_N = 40


def layernorm_params(seed: int, dims: tuple[int, ...]) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for i, d in enumerate(dims):
        gamma = rng.normal(1.0, 0.3, d) * (-1 if i % 3 == 2 else 1)
        beta = rng.normal(0.0, 0.5, d)
        eps = (1e-5, 1e-6, 1e-2)[i % 3]
        in_scale, out_scale = 2.0 ** rng.uniform(-9, -3), 2.0 ** rng.uniform(-7, -3)
        out.append(fold_layernorm(gamma, beta, eps, in_scale, out_scale, -128, 127))
    return out


LAYERNORM = {0: layernorm_params(1, (32, 1, 7, 40)), 1: layernorm_params(2, (5, 24)), 2: layernorm_params(3, (3,))}
LN_RANGE = {0: (-128, 127), 1: (-2048, 2047), 2: (-128, 127)}


def configs():
    common = dict(depth=1200)
    return (
        kernel_config(8, 8, 4, True, softmax=[(p, SOFTMAX_N) for p in SOFTMAX[0]], sm_lanes=4,
                    layernorm=[(p, LN_RANGE[0]) for p in LAYERNORM[0]], **common),
        kernel_config(5, 3, 2, False, act_bits=16, x_bits=9, w_bits=8, word_bits=64,
                    softmax=[(p, SOFTMAX_N) for p in SOFTMAX[1]], sm_lanes=3,
                    layernorm=[(p, LN_RANGE[1]) for p in LAYERNORM[1]], **common),
        kernel_config(3, 5, 0, True, x_bits=9, kc_max=14, softmax=[(p, SOFTMAX_N) for p in SOFTMAX[2]],
                    layernorm=[(p, LN_RANGE[2]) for p in LAYERNORM[2]], **common),
        # 128-bit items: two biases of a bias table per item (GEMM tests only)
        kernel_config(16, 4, 4, True, kc_max=6, **common),
    )
GEMM_CONFIGS = range(4)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    return build_kernel_driver(configs(), tmp_path_factory.mktemp("kernel_driver"))


@pytest.fixture
def work(tmp_path):
    return tmp_path


# ----------------------------------------------------------------------------------------------
# Headers and build hygiene


def syntax_check(unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["g++", "-std=c++17", "-fsyntax-only", *WARNINGS, f"-I{hls_dir()}", "-isystem",
                           str(ap_types_dir()), str(unit)], capture_output=True, text=True)


def test_every_header_compiles_on_its_own(tmp_path):
    """Each kernel header is self-contained: a translation unit including only it compiles cleanly."""
    units = []
    for name in HEADERS:
        unit = tmp_path / f"{name}.cpp"
        unit.write_text(f'#include "{name}"\n')
        units.append(unit)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for unit, proc in zip(units, pool.map(syntax_check, units)):
            assert proc.returncode == 0, f"{unit.name}: {proc.stderr}"
            assert own_warnings(proc.stderr, ap_types_dir()) == (), unit.name


def test_driver_build_is_warning_free(driver):
    assert driver.compiled.cached or driver.compiled.warnings == ()


def test_descriptor_fields_match_the_header():
    text = (hls_dir() / "accel_desc.h").read_text()
    body = re.search(r"enum DescField \{(.*?)\};", text, re.S).group(1)
    names = [m.group(1) for m in re.finditer(r"^\s*([A-Z][A-Z0-9_]*)", body, re.M)]
    assert tuple(names) == FIELDS + ("DESC_WORDS",)
    kinds = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"(K_[A-Z]+) = (\d+)", text))
    assert kinds == KINDS


def test_kernels_use_no_heap_recursion_or_std_containers():
    """What Vitis synthesizes; the threaded C-sim's own section of dataflow_sim.h is not synthesized."""
    for name in HEADERS:
        code = re.sub(r"//.*", "", (hls_dir() / name).read_text())
        code = re.sub(r"#if defined\(ACCEL_DATAFLOW_THREADS\).*?#else", "", code, flags=re.S)
        for banned in ("new ", "malloc", "std::vector", "std::map", "std::deque", "std::list", "std::string"):
            assert banned not in code, f"{name}: {banned}"


# ----------------------------------------------------------------------------------------------
# Pointwise units and tables: exhaustive


def test_gelu_tables_exhaustive(driver, work):
    rng = np.random.default_rng(5)
    tables = [build_gelu_table(ir.QuantSpec(0.004, 8, True), ir.QuantSpec(0.003, 8, True)),
              build_gelu_table(ir.QuantSpec(0.02, 8, True), ir.QuantSpec(0.01, 8, True), "tanh"),
              build_gelu_table(ir.QuantSpec(0.05, 6, True), ir.QuantSpec(0.02, 8, True)),
              GeluTable(in_min=-128, values=rng.integers(-128, 128, 256))]
    jobs, expect = [], []
    for cfg in range(3):
        for t in tables:
            codes = np.arange(t.in_min, t.in_min + len(t.values))
            jobs.append((OP_GELU, cfg, np.concatenate([[len(t.values), t.in_min], t.values, [len(codes)], codes])))
            expect.append(gelu_lookup(codes, t))
    for got, want in zip(driver.run(jobs, work), expect):
        np.testing.assert_array_equal(got, want)


def test_compressed_square_exhaustive(driver, work):
    jobs, expect = [], []
    for cfg in range(3):
        bits = driver.configs[cfg].ln.input_bits
        x = np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
        jobs.append((OP_CSQ, cfg, np.concatenate([[len(x)], x])))
        expect.append(compressed_square(x))
    for got, want in zip(driver.run(jobs, work), expect):
        np.testing.assert_array_equal(got, want)


def test_inverse_square_root_table(driver, work):
    jobs, expect = [], []
    for cfg in range(3):
        top = 2 ** driver.configs[cfg].ln.variance_bits - 1
        powers = np.array([2 ** k + d for k in range(driver.configs[cfg].ln.variance_bits) for d in (-1, 0, 1)])
        v = np.unique(np.concatenate([np.arange(1, 4097), powers[(powers >= 1) & (powers <= top)], [top],
                                      np.random.default_rng(cfg).integers(1, top, 2000)]))
        jobs.append((OP_INVSQRT, cfg, np.concatenate([[len(v)], v])))
        r, h = inv_sqrt(v)
        expect.append(np.stack([r, h], axis=1).ravel())
    for got, want in zip(driver.run(jobs, work), expect):
        np.testing.assert_array_equal(got, want)


def requant_edge_cases(hw) -> np.ndarray:
    """(acc, mult, res, res_mult, res_shift, bias, shift, clamp, qmin, qmax) rows: every combination of edge
    values (the residual multiplier is res_mult << res_shift)."""
    acc_edge = [-(2 ** 30), -(2 ** 20) - 1, -1, 0, 1, 2 ** 20 + 1, 2 ** 30 - 1]
    res_edge = [-(2 ** (hw.act_bits - 1)), -1, 0, 1, 2 ** (hw.act_bits - 1) - 1]
    rows = []
    for acc in acc_edge:
        for mult in (2 ** 15, 2 ** 16 - 1):
            for res, res_mult, res_shift in [(0, 0, 0)] + [(r, m, e) for r in res_edge for m in (2 ** 15, 2 ** 16 - 1)
                                                           for e in (0, 7, 17)]:
                for shift in (0, 1, 15, 31, 46):
                    half = (1 << (shift - 1)) if shift else 0
                    for bias in (half, half - 2 ** 40, half + 2 ** 40):
                        for clamp, lo, hi in ((1, -128, 127), (1, -256, 255), (1, 0, 255), (0, 0, 0)):
                            rows.append((acc, mult, res, res_mult, res_shift, bias, shift, clamp, lo, hi))
    return np.array(rows, dtype=np.int64)


def test_requantization_edge_values(driver, work):
    jobs, expect = [], []
    for cfg in range(3):
        cases = requant_edge_cases(driver.configs[cfg])
        jobs.append((OP_REQUANT, cfg, np.concatenate([[len(cases)], cases.ravel()])))
        want = []
        for acc, mult, res, res_mult, res_shift, bias, shift, clamp, lo, hi in cases:
            rq = ir.Requant(mult=[mult], shift=[shift], bias=[bias], qmin=lo if clamp else None,
                            qmax=hi if clamp else None, res_mult=[int(res_mult) << int(res_shift)])
            want.append(int(requantize(np.array([acc]), rq, np.array([res]))[0]))
        expect.append(np.array(want))
    for got, want in zip(driver.run(jobs, work), expect):
        np.testing.assert_array_equal(got, want)


def test_packed_dsp_and_power_of_two_products_exhaustive(driver, work):
    """Every activation x every weight pair (w_b stepping by 3) through the packed multiply with its
    borrow correction, every activation x every 4-bit code through the PoT lane: no wrong product."""
    (cases, bad_packed, bad_pot), = driver.run([(OP_PRODUCTS, 0, np.zeros(0))], work)
    assert cases == 512 * 256 * 86 and bad_packed == 0 and bad_pot == 0


# ----------------------------------------------------------------------------------------------
# The GEMM engine


@dataclass
class Case:
    cfg: int
    fields: dict
    blob: bytes
    arena: Arena
    out: tuple  # placement of the result, or None for the logits buffer
    want: np.ndarray
    what: str
    beats: int | None = None  # expected beat count, when the test knows it


def random_weights(rng, m: int, k: int, bits: int, pot: np.ndarray) -> np.ndarray:
    q = 2 ** (bits - 1) - 1
    w = rng.integers(-q, q + 1, (m, k))
    pw = rng.choice([-1, 1], (m, k)) * (2 ** rng.integers(0, 7, (m, k))) * (rng.random((m, k)) < 0.8)
    return np.where(pot[:, None], pw, w)


def act_range(hw) -> tuple[int, int]:
    return -(2 ** (hw.gemm.input_bits - 1)), 2 ** (hw.gemm.input_bits - 1) - 1


def gemm_case(rng, cfg: int, hw) -> Case:
    tm, lanes = hw.gemm.tm, hw.gemm.fixed_lanes + hw.gemm.pot_lanes
    to_output = rng.random() < 0.2
    n = int(rng.integers(1, hw.out_rows + 1 if to_output else hw.gemm.max_bias_rows + 1))
    k = int(rng.choice([1, tm - 1 if tm > 1 else 1, tm, tm + 1, hw.gemm.max_k_beats * tm, rng.integers(1, hw.gemm.max_k_beats * tm + 1)]))
    m = int(rng.integers(1, hw.out_cols + 1 if to_output else 3 * lanes + 3))
    bits = int(rng.choice([8, 4]))
    share = rng.choice([0.0, 0.3, 0.7, 1.0]) if hw.gemm.pot_lanes else 0.0
    pot = np.isin(np.arange(m), pot_row_order(rng.random(m), tm)[:int(round(share * m))])
    w = random_weights(rng, m, k, bits, pot)
    row0 = int(rng.integers(0, 3))
    lo, hi = act_range(hw)
    x = rng.integers(lo, hi + 1, (n + row0, k))
    acc = x[row0:] @ w.T
    shift = rng.integers(14, 30, m)
    mult = rng.integers(2 ** 15, 2 ** 16, m)
    table = rng.random() < 0.3 and not to_output
    bias_shape = (n, m) if table else (m,)
    bias = rng.integers(-(2 ** 40), 2 ** 40, bias_shape) // (2 ** (40 - shift - 6)) + (1 << (shift - 1))
    residual = rng.random() < 0.4 and not to_output
    a_lo, a_hi = -(2 ** (hw.act_bits - 1)), 2 ** (hw.act_bits - 1) - 1
    res = rng.integers(a_lo, a_hi + 1, (n, m)) if residual else None
    # residual multipliers of 16 significant bits, shifted left (numerics.primitives.residual_mult)
    res_mult = rng.integers(2 ** 15, 2 ** 16, m) << rng.integers(0, 8, m) if residual else np.zeros(m, np.int64)
    gelu = None
    if not to_output and rng.random() < 0.25:
        qmin, qmax = -128, 127
        gelu = GeluTable(in_min=-128, values=rng.integers(-128, 128, 256))
    elif to_output:
        qmin = qmax = None
    else:
        qmin, qmax = sorted(int(v) for v in rng.integers(a_lo, a_hi + 1, 2))
    rq = ir.Requant(mult=mult, shift=shift, bias=bias, qmin=qmin, qmax=qmax,
                    res_mult=res_mult if residual else None)
    want = requantize(acc, rq, res)
    if gelu is not None:
        want = gelu_lookup(want, gelu)

    arena = Arena(hw, fill=int(rng.integers(-5, 5)))
    xp = arena.alloc(0, n + row0, k)
    arena.write(xp, x)
    fields = {"D_KIND": KINDS["K_GEMM"], "D_ROWS": n, "D_COLS": m, "D_K": k, "D_HEADS": 1, "D_IN_ROW0": row0,
              "D_WBITS": bits, "D_FIXED_ROWS": int((~pot).sum()), "D_POT_ROWS": int(pot.sum()),
              "D_BIAS_ROWS": n if table else 0} | place_fields("D_IN", xp)
    if residual:
        rp = arena.alloc(1, n, m)
        arena.write(rp, res)
        fields |= {"D_RES": 1} | place_fields("D_RES", rp)
    out = None
    if to_output:
        fields |= {"D_TO_OUTPUT": 1}
    else:
        out_row0 = int(rng.integers(0, 2))
        out = arena.alloc(int(rng.integers(0, 2)), n + out_row0, m)
        fields |= {"D_OUT_ROW0": out_row0, "D_CLAMP": 1, "D_QMIN": qmin, "D_QMAX": qmax} | place_fields("D_OUT", out)
        out = (out, out_row0)
    if gelu is not None:
        fields |= {"D_GELU": 1, "D_GELU_MIN": gelu.in_min}
    plan = plan_tiles(pot, hw.gemm.fixed_lanes, hw.gemm.pot_lanes, tm)
    rows = GemmRows(w, pot, bits, mult, shift, bias, res_mult)
    bits_stream = pad_to_words(gemm_stream(rows, plan, tm, None if gelu is None else gelu.values), hw.word_bits)
    fields |= {"D_SLOTS": plan.slots, "D_PARAM_OFF": 0, "D_PARAM_WORDS": len(bits_stream) // hw.word_bits}
    what = (f"gemm n={n} k={k} m={m} bits={bits} pot={int(pot.sum())} res={residual} table={table} "
            f"gelu={gelu is not None}")
    return Case(cfg, fields, to_bytes(bits_stream), arena, out, want, what,
                gemm_beats(hw, plan, n, k, n if table else 0, gelu is not None))


def gemm_beats(hw, plan, rows: int, k: int, bias_rows: int, gelu: bool) -> int:
    """The engine's beats for a DDR layer (docs/hls.md): the GELU table and the first tile's items, then
    per tile max((rows + 1) * max(KC, S), items of the next tile)."""
    kc = math.ceil(k / hw.gemm.tm)
    biases_per_item = max(64, 8 * hw.gemm.tm) // 64  # an item: a 64-bit field or a TM-wide weight vector
    bias_items = math.ceil(bias_rows / biases_per_item) if bias_rows else 1
    items = [(len(t.fixed) + len(t.pot)) * (1 + bias_items + kc) for t in plan.tiles] + [0]
    beats = (math.ceil(hw.gelu_entries / 8) if gelu else 0) + items[0]
    return beats + sum(max((rows + 1) * max(kc, plan.slots), items[t + 1]) for t in range(len(plan.tiles)))


def attention_case(rng, cfg: int, hw, kind: str) -> Case:
    tm = hw.gemm.tm
    heads = int(rng.integers(1, 4))
    dh = int(rng.integers(1, min(hw.gemm.max_k_beats * tm, 12) + 1))
    tokens = int(rng.integers(1, 10))
    keys = int(rng.integers(1, min(hw.gemm.max_k_beats * tm, 20) + 1))
    arena = Arena(hw, fill=int(rng.integers(-5, 5)))
    mult, shift = int(rng.integers(2 ** 15, 2 ** 16)), int(rng.integers(10, 22))
    bias = (1 << (shift - 1)) + int(rng.integers(-(2 ** shift), 2 ** shift))
    qmin, qmax = -128, 127
    rq = ir.Requant(mult=[mult], shift=[shift], bias=[bias], qmin=qmin, qmax=qmax)
    c0, step = int(rng.integers(0, 5)), dh + int(rng.integers(0, 3))
    w0, wstep = int(rng.integers(0, 5)), dh + int(rng.integers(0, 3))
    fields = {"D_HEADS": heads, "D_CLAMP": 1, "D_QMIN": qmin, "D_QMAX": qmax, "D_MULT": mult, "D_SHIFT": shift}
    lo, hi = split64(bias)
    fields |= {"D_BIAS_LO": lo, "D_BIAS_HI": hi}
    if kind == "qk":
        q = rng.integers(-128, 128, (tokens, c0 + heads * step))
        k = rng.integers(-128, 128, (keys, w0 + heads * wstep))
        qp, kp = arena.alloc(0, *q.shape), arena.alloc(1, *k.shape)
        arena.write(qp, q)
        arena.write(kp, k)
        out = arena.alloc(int(rng.integers(0, 2)), heads * tokens, keys)
        want = np.concatenate([requantize(q[:, c0 + h * step:c0 + h * step + dh] @
                                          k[:, w0 + h * wstep:w0 + h * wstep + dh].T, rq) for h in range(heads)])
        fields |= {"D_KIND": KINDS["K_QK"], "D_ROWS": tokens, "D_COLS": keys, "D_K": dh, "D_IN_COL0": c0,
                   "D_IN_HCOL": step, "D_W_COL0": w0, "D_W_HCOL": wstep, "D_OUT_HROW": tokens}
        fields |= place_fields("D_IN", qp) | place_fields("D_W", kp) | place_fields("D_OUT", out)
    else:
        p = rng.integers(0, 256, (heads * tokens, keys))
        v = rng.integers(-128, 128, (keys, w0 + heads * wstep))
        pp, vp = arena.alloc(0, *p.shape), arena.alloc(1, *v.shape)
        arena.write(pp, p)
        arena.write(vp, v)
        o0, ostep = int(rng.integers(0, 4)), dh + int(rng.integers(0, 2))
        out = arena.alloc(int(rng.integers(0, 2)), tokens, o0 + heads * ostep)
        want = arena.read(out, tokens, o0 + heads * ostep).copy()
        for h in range(heads):
            acc = p[h * tokens:(h + 1) * tokens] @ v[:, w0 + h * wstep:w0 + h * wstep + dh]
            want[:, o0 + h * ostep:o0 + h * ostep + dh] = requantize(acc, rq)
        fields |= {"D_KIND": KINDS["K_AV"], "D_ROWS": tokens, "D_COLS": dh, "D_K": keys, "D_IN_HROW": tokens,
                   "D_W_COL0": w0, "D_W_HCOL": wstep, "D_OUT_COL0": o0, "D_OUT_HCOL": ostep}
        fields |= place_fields("D_IN", pp) | place_fields("D_W", vp) | place_fields("D_OUT", out)
    what = f"{kind} heads={heads} dh={dh} tokens={tokens} keys={keys} cols={c0}+{step} / {w0}+{wstep}"
    return Case(cfg, fields, b"", arena, (out, 0), want, what)


def run_cases(driver, work, cases: list[Case]) -> None:
    results = driver.run([(OP_STEP, c.cfg, step_payload(c.fields, c.blob, c.arena)) for c in cases], work)
    for case, result in zip(cases, results):
        res = step_result(case.arena, result)
        if case.out is None:
            got = res.logits(*case.want.shape)
        elif case.fields["D_KIND"] == KINDS["K_AV"]:
            got = res.arena.read(case.out[0], *case.want.shape)
        else:
            place, row0 = case.out
            got = res.arena.read(place, row0 + case.want.shape[0], case.want.shape[1])[row0:]
        np.testing.assert_array_equal(got, case.want, err_msg=f"config {case.cfg}: {case.what}")
        assert res.beats > 0
        if case.beats is not None:
            assert res.beats == case.beats, f"config {case.cfg}: {case.what}"


def test_gemm_engine_random_layers(driver, work):
    """Random shapes (K and M not multiples of the tile), both schemes, 8- and 4-bit weights, residual,
    bias tables, fused GELU, logits output, on all four engine configurations."""
    rng = np.random.default_rng(11)
    cases = [gemm_case(rng, cfg, driver.configs[cfg]) for cfg in GEMM_CONFIGS for _ in range(40)]
    run_cases(driver, work, cases)


def test_attention_products_random(driver, work):
    """QK^T and AV per head on the fixed lanes: unaligned head columns, odd head sizes, many key tiles."""
    rng = np.random.default_rng(12)
    cases = [attention_case(rng, cfg, driver.configs[cfg], kind) for cfg in range(3) for kind in ("qk", "av")
             for _ in range(12)]
    run_cases(driver, work, cases)


# ----------------------------------------------------------------------------------------------
# E2Softmax and AILayerNorm units


def extreme_rows(rng, n: int, bits: int) -> list[np.ndarray]:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    rows = [np.full(n, v) for v in (lo, -1, 0, hi)]  # all equal (incl. all minimum, all maximum)
    huge = np.full(n, lo)
    huge[rng.integers(0, n)] = hi  # one huge, the rest minimum
    rows.append(huge)
    rows.append(np.where(np.arange(n) % 2, lo, hi))  # alternating extremes
    rows.append(np.sort(rng.integers(lo, hi + 1, n)))  # rising: renormalisation at every element
    rows.append(rng.integers(lo, hi + 1, n))
    rows.append(rng.integers(-8, 9, n))  # logits spanning less than one octave
    return rows


def softmax_case(rng, cfg: int, hw, p: E2SoftmaxParams, n: int) -> Case:
    x = np.stack(extreme_rows(rng, n, p.in_bits) + [rng.integers(-(2 ** (p.in_bits - 1)), 2 ** (p.in_bits - 1), n)
                                                     for _ in range(4)])
    arena = Arena(hw)
    ip = arena.alloc(0, *x.shape)
    arena.write(ip, x)
    op = arena.alloc(int(rng.integers(0, 2)), *x.shape)
    fields = {"D_KIND": KINDS["K_SOFTMAX"], "D_ROWS": x.shape[0], "D_COLS": n, "D_SM_IN_FRAC": p.in_frac,
              "D_SM_OUT_FRAC": p.out_frac, "D_SM_OUT_MAX": p.out_max} | place_fields("D_IN", ip) | \
        place_fields("D_OUT", op)
    beats = cy.softmax_cycles(x.shape[0], n, hw.sm.lanes) - cy.SOFTMAX_LATENCY  # the model without the RTL's latency
    return Case(cfg, fields, b"", arena, (op, 0), e2softmax(x, p), f"softmax n={n} lanes={hw.sm.lanes} {p}",
                beats)


def test_e2softmax_rows(driver, work):
    """Random and extreme rows (all equal, one huge, all minimum, length 1, ...) for every parameter set,
    including 9- and 16-bit inputs, in_frac below the exponent fraction bits and SOLE's 4-bit code."""
    rng = np.random.default_rng(21)
    cases = [softmax_case(rng, cfg, driver.configs[cfg], p, n) for cfg in range(3) for p in SOFTMAX[cfg]
             for n in (1, 2, 17, SOFTMAX_N)]
    run_cases(driver, work, cases)


def layernorm_case(rng, cfg: int, hw, p, lo: int, hi: int) -> Case:
    d = p.dim
    x = np.stack(extreme_rows(rng, d, (hi - lo).bit_length()) +
                 [rng.integers(lo, hi + 1, d), rng.normal(0, (hi - lo) / 16, d).round().clip(lo, hi).astype(int)])
    x = x.clip(lo, hi)
    arena = Arena(hw)
    ip = arena.alloc(0, *x.shape)
    arena.write(ip, x)
    op = arena.alloc(int(rng.integers(0, 2)), *x.shape)
    eps_lo, eps_hi = split64(p.eps)
    blob = to_bytes(pad_to_words(layernorm_stream(p, hw.word_bits), hw.word_bits))
    fields = {"D_KIND": KINDS["K_LAYERNORM"], "D_ROWS": x.shape[0], "D_COLS": d, "D_LN_EPS_LO": eps_lo,
              "D_LN_EPS_HI": eps_hi, "D_LN_SHIFT": p.shift, "D_QMIN": p.out_min, "D_QMAX": p.out_max,
              "D_PARAM_OFF": 0, "D_PARAM_WORDS": len(blob) * 8 // hw.word_bits}
    fields |= place_fields("D_IN", ip) | place_fields("D_OUT", op)
    return Case(cfg, fields, blob, arena, (op, 0), ailayernorm(x, p), f"layernorm d={d} eps={p.eps}")


def test_ailayernorm_rows(driver, work):
    """Random and extreme tokens (all equal: zero variance, one huge, all minimum, one channel) with
    gains of both signs, small and large epsilon, 8- and 12-bit inputs."""
    rng = np.random.default_rng(22)
    cases = [layernorm_case(rng, cfg, driver.configs[cfg], p, *LN_RANGE[cfg]) for cfg in range(3)
             for p in LAYERNORM[cfg]]
    run_cases(driver, work, cases)


# ----------------------------------------------------------------------------------------------
# Elementwise unit (standalone GELU, requantize, add: ops the default ViTs fuse or do not have)


def eltwise_case(rng, cfg: int, hw, kind: str) -> Case:
    rows, cols = int(rng.integers(1, 6)), int(rng.integers(1, 30))
    lo, hi = act_range(hw)
    a = rng.integers(lo, hi + 1, (rows, cols))
    arena = Arena(hw)
    ap = arena.alloc(0, rows, cols)
    arena.write(ap, a)
    op = arena.alloc(int(rng.integers(0, 2)), rows, cols)
    fields = {"D_ROWS": rows, "D_COLS": cols} | place_fields("D_IN", ap) | place_fields("D_OUT", op)
    blob = b""
    if kind == "gelu":
        table = GeluTable(in_min=-128, values=rng.integers(-128, 128, 256))
        a = a.clip(-128, 127)
        arena.write(ap, a)
        blob = to_bytes(pad_to_words(bits_of(gelu_entries(table, hw.gelu_entries), 8), hw.word_bits))
        fields |= {"D_KIND": KINDS["K_GELU"], "D_GELU_MIN": table.in_min, "D_PARAM_OFF": 0}
        want = gelu_lookup(a, table)
    else:
        mult, shift = int(rng.integers(2 ** 15, 2 ** 16)), int(rng.integers(12, 20))
        bias = 1 << (shift - 1)
        b = rng.integers(lo, hi + 1, (rows, cols)) if kind == "add" else None
        rq = ir.Requant(mult=[mult], shift=[shift], bias=[bias], qmin=-100, qmax=100,
                        res_mult=None if b is None else [int(rng.integers(2 ** 15, 2 ** 16))])
        want = requantize(a, rq, b)
        blo, bhi = split64(bias)
        fields |= {"D_KIND": KINDS["K_ADD" if b is not None else "K_REQUANT"], "D_MULT": mult, "D_SHIFT": shift,
                   "D_BIAS_LO": blo, "D_BIAS_HI": bhi, "D_CLAMP": 1, "D_QMIN": -100, "D_QMAX": 100}
        if b is not None:
            bp = arena.alloc(1, rows, cols)
            arena.write(bp, b)
            fields |= {"D_RES": 1, "D_RES_MULT": int(rq.res_mult[0])} | place_fields("D_RES", bp)
    # requantize / add: the beats the model charges for the HLS unit's one element per beat (the GELU
    # table's load adds its own beats)
    beats = None if kind == "gelu" else cy.eltwise_cycles(rows, cols, ELTWISE_LANES) - cy.ELTWISE_LATENCY
    return Case(cfg, fields, blob, arena, (op, 0), want, f"eltwise {kind}", beats)


def test_elementwise_unit(driver, work):
    rng = np.random.default_rng(23)
    cases = [eltwise_case(rng, cfg, driver.configs[cfg], kind) for cfg in range(3)
             for kind in ("gelu", "requant", "add") for _ in range(3)]
    run_cases(driver, work, cases)
