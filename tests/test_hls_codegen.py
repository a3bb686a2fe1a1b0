"""The Python side of the HLS generation (no compiler needed): identifiers, descriptors, the DDR blob
layout, tile plans, tensor placement, configuration widths, templates and their contexts."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import jinja2
import numpy as np
import pytest

from accelgen import ir
from accelgen.board import load_board
from accelgen.codegen import hls_project as hp
from accelgen.codegen.config import hw_config
from accelgen.hw.descriptors import DESC_WORDS, FIELDS, decode, encode, split64
from accelgen.codegen.names import sanitize, unique_identifiers
from accelgen.codegen.pack import (BIAS_BITS, META_BITS, POT_CODE_BITS, GemmRows, bits_of, from_bytes, gemm_stream,
                                   meta_word, pad_to_words, pot_codes, to_bytes, value_of)
from accelgen.hw.plan import (build_program, head_sliced, lifetimes, place_in_order, place_tensors, plan_tiles,
                               pot_row_order, schedule, separated_pairs, tensor_views)
from accelgen.design import Design, Engine, LayerChoice, integer_graph
from accelgen.errors import InputError
from accelgen.frontend.importer import import_qonnx
from accelgen.model_source import default_model_path
from accelgen.passes.mixed_scheme import choose_pot_rows
from accelgen.resources import templates_dir

pytestmark = pytest.mark.csim

def design_for(graph: ir.Graph, engine: Engine, bits: int = 8, share: float = 0.5, board: str = "zcu102"):
    layers = tuple(LayerChoice(op.name, bits, choose_pot_rows(op.weight, int(op.weight.shape[0] * share),
                                                                   engine.tm))
                   for op in graph.ops_of(ir.GemmOp))
    return Design(model="m.onnx", model_sha256="0" * 64, board=board, clock_mhz=150.0, engine=engine, layers=layers)


@pytest.fixture(scope="module", params=["default", "indep"])
def model(request):
    path = default_model_path() if request.param == "default" else Path(__file__).parent / "data" / "indep_digits.onnx"
    graph = import_qonnx(path)
    design = design_for(graph, Engine(tm=8, tn_fixed=8, tn_pot=4, dsp_packing=True))
    return integer_graph(graph, design), design


# ----------------------------------------------------------------------------------------------
# Identifiers and descriptors


def test_sanitize_model_names():
    assert sanitize("blocks.0.attn.qkv:q_quant") == "blocks_0_attn_qkv_q_quant"
    assert sanitize("0.weight") == "n_0_weight"
    assert sanitize("int") == "int_" and sanitize("class") == "class_"
    assert sanitize("__Reserved__") == "Reserved"
    assert sanitize("") == "unnamed" and sanitize("::") == "unnamed"
    assert sanitize("héllo wörld") == "h_llo_w_rld"
    for name in ("a-b", "x/y.z", "lin[3]", "9"):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", sanitize(name))
    assert unique_identifiers(["a.b", "a_b", "a:b"]) == {"a.b": "a_b", "a_b": "a_b_2", "a:b": "a_b_3"}


def test_descriptor_encoding():
    row = encode({"D_KIND": 2, "D_QMIN": -128, "D_DUMP_COLS": 7})
    assert len(row) == DESC_WORDS == len(FIELDS)
    assert decode(row)["D_QMIN"] == -128 and decode(row)["D_DUMP_COLS"] == 7 and decode(row)["D_ROWS"] == 0
    for value in (0, 1, -1, 2 ** 45 + 12345, -(2 ** 62), 2 ** 63 - 1):
        lo, hi = split64(value)
        assert ((hi & 0xFFFFFFFF) << 32 | (lo & 0xFFFFFFFF)) - (2 ** 64 if value < 0 else 0) == value
    with pytest.raises(ValueError):
        encode({"D_K": 2 ** 31})
    with pytest.raises(ValueError):
        split64(2 ** 63)


# ----------------------------------------------------------------------------------------------
# The blob


def test_bits_round_trip():
    rng = np.random.default_rng(0)
    for width in (4, 8, 16, 64):
        lo, hi = -(2 ** (width - 1)), 2 ** (width - 1)
        values = [int(v) for v in rng.integers(max(lo, -(2 ** 62)), min(hi, 2 ** 62), 50)] + [lo, hi - 1, 0, -1]
        bits = bits_of(np.array(values, dtype=object), width)
        assert [value_of(bits[i * width:(i + 1) * width], True) for i in range(len(values))] == values
    data = to_bytes(pad_to_words(bits, 128))
    assert len(data) % 16 == 0 and np.array_equal(from_bytes(data)[:len(bits)], bits)


def test_power_of_two_codes():
    levels = np.array([0] + [s * 2 ** e for e in range(7) for s in (1, -1)])
    codes = pot_codes(levels)
    assert codes[0] == 0b0111
    for v, c in zip(levels[1:], codes[1:]):
        assert (c >> 3) == (v < 0) and 2 ** (c & 7) == abs(v)
    for bad in (3, 128, -96):
        with pytest.raises(ValueError):
            pot_codes(np.array([bad]))


def test_meta_word_fields():
    """The documented layout (docs/hls.md): channel | slot << 13 | shift << 21 | res_shift << 27 | mult << 32 |
    res_mult << 48, a wide residual multiplier split into 16 bits and a left shift."""
    def fields(m):
        return m & 0x1FFF, m >> 13 & 0xFF, m >> 21 & 0x3F, m >> 27 & 0x1F, m >> 32 & 0xFFFF, m >> 48

    assert fields(meta_word(chan=513, slot=2, shift=46, mult=40000, res_mult=65535)) == (513, 2, 46, 0, 40000, 65535)
    assert fields(meta_word(chan=7, slot=0, shift=23, mult=2 ** 15, res_mult=40961 << 9)) == (7, 0, 23, 9, 2 ** 15,
                                                                                             40961)
    for bad in ((2 ** 13, 0, 0, 0, 0), (0, 0, 64, 0, 0), (0, 0, 0, 0, 3 << 20 | 1), (0, 0, 0, 0, 2 ** 15 << 32)):
        with pytest.raises(ValueError):
            meta_word(*bad)


def read_gemm_stream(bits: np.ndarray, plan, k: int, tm: int, weight_bits: int, bias_rows: int):
    """A reader written from the documented layout (pack.py): row -> (meta, biases, weights)."""
    pos, rows = 0, {}
    kc = math.ceil(k / tm)

    def take(n, signed):
        nonlocal pos
        v = value_of(bits[pos:pos + n], signed)
        pos += n
        return v

    for tile in plan.tiles:
        for lane, row in enumerate(tile.fixed + tile.pot):
            meta = take(META_BITS, False)
            biases = [take(BIAS_BITS, True) for _ in range(max(bias_rows, 1))]
            width = weight_bits if lane < len(tile.fixed) else POT_CODE_BITS
            values = [take(width, lane < len(tile.fixed)) for _ in range(kc * tm)]
            rows[row] = (meta, biases, values)
    assert pos == len(bits)
    return rows


@pytest.mark.parametrize("tm,tnf,tnp,bits,table", [(8, 8, 4, 8, False), (5, 3, 2, 4, True), (3, 4, 0, 8, False)])
def test_gemm_stream_layout(tm, tnf, tnp, bits, table):
    rng = np.random.default_rng(tm)
    m, k = 23, 13
    pot = random_pot_mask(rng, m, int(0.4 * m) if tnp else 0, tm)
    q = 2 ** (bits - 1) - 1
    w = np.where(pot[:, None], rng.choice([0, 1, -2, 4, -64], (m, k)), rng.integers(-q, q + 1, (m, k)))
    mult, shift = rng.integers(2 ** 15, 2 ** 16, m), rng.integers(0, 47, m)
    bias = rng.integers(-(2 ** 50), 2 ** 50, (5, m) if table else m)
    res = rng.integers(0, 2 ** 16, m)
    plan = plan_tiles(pot, tnf, tnp, tm)
    stream = gemm_stream(GemmRows(w, pot, bits, mult, shift, bias, res), plan, tm)
    rows = read_gemm_stream(stream, plan, k, tm, bits, 5 if table else 0)
    assert sorted(rows) == list(range(m))
    for tile in plan.tiles:
        for lane, row in enumerate(tile.fixed + tile.pot):
            meta, biases, values = rows[row]
            assert meta == meta_word(row, tile.slots[lane], int(shift[row]), int(mult[row]), int(res[row]))
            assert biases == (list(bias[:, row]) if table else [bias[row]])
            want = pot_codes(w[row]) if pot[row] else w[row]
            assert values[:k] == list(want)
            assert values[k:] == ([0b0111] if pot[row] else [0]) * (len(values) - k)


def random_pot_mask(rng, m: int, count: int, tm: int) -> np.ndarray:
    """``count`` PoT rows of ``m`` chosen by random errors within the tiles' per-bank quotas."""
    return np.isin(np.arange(m), pot_row_order(rng.random(m), tm)[:count])


def test_tile_plans():
    """Every row on one lane of its scheme; lane i of a scheme holds the row of bank (rot + i) % tm and
    stores in slot i // tm (PoT lanes after ceil(tnf / tm) slots): the store positions of a tile are
    distinct and a store bank reads one position of the lanes rotated by the tile's rotation."""
    rng = np.random.default_rng(1)
    for _ in range(300):
        tm, tnf, tnp = (int(v) for v in rng.integers(1, 9, 3))
        m = int(rng.integers(1, 70))
        pot = random_pot_mask(rng, m, int(rng.integers(0, m + 1)), tm)
        plan = plan_tiles(pot, tnf, tnp, tm)
        assert len(plan.tiles) == max(math.ceil((~pot).sum() / tnf), math.ceil(pot.sum() / tnp))
        seen = [r for t in plan.tiles for r in t.fixed + t.pot]
        assert sorted(seen) == list(range(m))
        for t in plan.tiles:
            assert t.fixed or t.pot
            assert len(t.fixed) <= tnf and len(t.pot) <= tnp
            assert not pot[list(t.fixed)].any() and pot[list(t.pot)].all()
            for rows, slot0 in ((t.fixed, 0), (t.pot, math.ceil(tnf / tm))):
                rot = rows[0] % tm if rows else 0
                slots = t.slots[:len(t.fixed)] if slot0 == 0 else t.slots[len(t.fixed):]
                assert [r % tm for r in rows] == [(rot + i) % tm for i in range(len(rows))]
                assert list(slots) == [slot0 + i // tm for i in range(len(rows))]
            used = [(r % tm, s) for r, s in zip(t.fixed + t.pot, t.slots)]
            assert len(set(used)) == len(used)  # a slot writes each bank at most once
    with pytest.raises(InputError):
        plan_tiles(np.array([True]), 4, 0, 4)


def test_pot_row_order_meets_the_quotas_and_prefers_low_errors():
    """Every prefix of the order leaves the fixed rows and the PoT rows filling their banks round robin;
    within a bank, rows become PoT by increasing error; a mask off the quotas is refused with the layer."""
    rng = np.random.default_rng(2)
    for _ in range(100):
        tm, m = int(rng.integers(1, 17)), int(rng.integers(1, 80))
        errors = rng.random(m)
        order = pot_row_order(errors, tm)
        assert sorted(order.tolist()) == list(range(m))
        for n in range(m + 1):
            pot = np.isin(np.arange(m), order[:n])
            plan_tiles(pot, 3, 2, tm)  # accepted
        for b in range(tm):
            in_bank = [int(r) for r in order if r % tm == b]
            assert list(errors[in_bank]) == sorted(errors[in_bank])
    with pytest.raises(InputError, match="layer 'fc'.*bank 0"):
        plan_tiles(np.array([True, False, False, False]), 2, 2, 2, "fc")


# ----------------------------------------------------------------------------------------------
# Program, placement, configuration


def test_program_fuses_gelu_and_separates_same_cycle_operands(model):
    graph, design = model
    program = build_program(graph, design.engine)
    per_head = [s for s in program.steps if s.head is not None]
    assert {s.op.name for s in program.steps} == {op.name for op in graph.ops} - {g.name for g in graph.ops_of(ir.Gelu)}
    assert len(program.steps) == len(graph.ops) - len(graph.ops_of(ir.Gelu)) + len(per_head) - len(
        {s.op.name for s in per_head})
    # attention head by head: QK^T, the map ops, AV of head 0, then the same of head 1, ...
    attn = graph.ops_of(ir.AttnScores)
    assert attn and {s.op.name for s in per_head if isinstance(s.op, ir.AttnScores)} == {op.name for op in attn}
    for op in attn:
        first = next(i for i, s in enumerate(program.steps) if s.op is op)
        run = []
        for s in program.steps[first:]:
            run.append(s)
            if isinstance(s.op, ir.AttnContext) and s.head == op.heads - 1:
                break
        block = [s.op for s in run if s.head == 0]
        assert isinstance(block[0], ir.AttnScores) and isinstance(block[-1], ir.AttnContext)
        assert any(isinstance(o, ir.Softmax) for o in block)
        assert [(s.op, s.head) for s in run] == [(o, h) for h in range(op.heads) for o in block]
    produced = {graph.input}
    for step in program.steps:  # every input is written before a step reads it
        for op in step.ops:
            assert set(op.inputs) <= produced, (step.name, op.inputs)
            produced.add(op.output)
    for step in program.steps:
        if step.gelu is not None:
            assert isinstance(step.op, ir.Linear) and step.output == step.gelu.output
    for a, b in separated_pairs(program.steps):
        assert program.places[a].mem != program.places[b].mem
    life = lifetimes(program.steps)
    placed = list(program.places)
    for i, a in enumerate(placed):
        pa, va = program.places[a], program.views[a]
        assert pa.stride == math.ceil(va.cols / design.engine.tm)
        assert pa.base + va.rows * pa.stride <= program.depth
        for b in placed[i + 1:]:
            pb, vb = program.places[b], program.views[b]
            overlap_time = not (life[a][1] < life[b][0] or life[b][1] < life[a][0])
            overlap_space = pa.mem == pb.mem and pa.base < pb.base + vb.rows * pb.stride and \
                pb.base < pa.base + va.rows * pa.stride
            assert not (overlap_time and overlap_space), (a, b)
    assert graph.output not in program.places


@pytest.mark.parametrize("tm", [3, 8, 16])
def test_placement_is_the_shallower_greedy_order(model, tm):
    graph, _ = model
    steps = schedule(graph)
    views = tensor_views(graph, head_sliced(steps))
    _, depth = place_tensors(steps, views, graph.output, tm)
    order = list(dict.fromkeys(s.output for s in steps if s.output != graph.output))
    assert depth <= place_in_order(order, steps, views, tm)[1]
    by_size = sorted(order, key=lambda t: -views[t].rows * math.ceil(views[t].cols / tm))
    assert depth <= place_in_order(by_size, steps, views, tm)[1]


def test_config_widths_cover_the_proven_bounds(model):
    graph, design = model
    program = build_program(graph, design.engine)
    hw = hw_config(program, load_board("zcu102"), 1)
    for op in graph.ops:
        if getattr(op, "bounds", None) is not None:
            assert op.bounds.sum_bits <= hw.sum_bits
            if isinstance(op, ir.MATMUL_OPS):
                assert op.bounds.acc_bits <= hw.gemm.acc_bits
    for name in program.places:
        assert ir.signed_bits(*graph.tensors[name].bounds) <= hw.act_bits
    assert hw.gemm.input_bits + hw.gemm.weight_bits <= 18  # packed DSP: low product below the 18-bit shift
    with pytest.raises(InputError, match="cannot pack"):
        hw_config(program, load_board("pynqz2"), 1)


def test_unsupported_structures_are_named(model):
    graph, design = model
    head = graph.ops[-1]
    bad = graph.replace_ops(graph.ops[:-1] + (replace(head, rows=(0, 2)),))
    with pytest.raises(InputError, match=re.escape(head.name)):
        build_program(bad, design.engine)


# ----------------------------------------------------------------------------------------------
# Templates and rendering


HLS_TEMPLATES = ("accel_config_struct.h.j2", "accel_config.h.j2", "accel_top.h.j2", "accel_top.cpp.j2",
                 "tb_accel.cpp.j2", "run_hls.tcl.j2", "build_overlay.tcl.j2", "hls_readme.md.j2")


def test_templates_hold_no_logic():
    """Every template (HLS and RTL): only for/if tags and plain {{ value }} substitutions (no filters,
    calls or arithmetic)."""
    paths = sorted(templates_dir().glob("*.j2"))
    assert {p.name for p in paths} >= set(HLS_TEMPLATES)
    for path in paths:
        text = path.read_text()
        for tag in re.findall(r"\{%-?\s*(\w+)", text):
            assert tag in ("for", "endfor", "if", "endif", "else"), (path.name, tag)
        for expr in re.findall(r"\{\{(.*?)\}\}", text):
            assert re.fullmatch(r"\s*('[{}]'|[A-Za-z_][A-Za-z0-9_.]*)\s*", expr), (path.name, expr)


def test_templates_are_strict():
    with pytest.raises(jinja2.UndefinedError):
        hp.render("accel_config_struct.h.j2", {"name": "X"})


def test_render_is_pure_and_deterministic(model, tmp_path, monkeypatch):
    graph, design = model
    monkeypatch.chdir(tmp_path)
    board = load_board(design.board)
    first = hp.render_hls_project(graph, design, board)
    assert first == hp.render_hls_project(graph, design, board)
    assert list(tmp_path.iterdir()) == []
    assert {"accel_config.h", "accel_top.cpp", "accel_top.h", "tb_accel.cpp", "params.bin", "params.json",
            "run_hls.tcl", "build_overlay.tcl", "tb_images.bin", "tb_expected.bin", "gemm_engine.h"} <= set(first)
    config = first["accel_config.h"]
    for op in graph.ops:
        if not isinstance(op, ir.Gelu):
            assert re.search(r"\bSTEP_" + sanitize(op.name), config), op.name
    top = first["accel_top.cpp"]
    assert "m_axi port = params" in top and "s_axilite port = descs" in top and "s_axilite port = beats" in top
    engine = first["gemm_engine.h"]
    for pragma in ("DATAFLOW", "PIPELINE II = 1", "ARRAY_PARTITION", "STREAM variable"):
        assert f"#pragma HLS {pragma}" in engine


def test_tcl_scripts_target_the_board(model):
    graph, design = model
    for board_name, ps in (("zcu102", "zynq_ultra_ps_e"), ("pynqz2", "processing_system7")):
        d = replace(design, board=board_name, engine=replace(design.engine, dsp_packing=False))
        board = load_board(board_name)
        files = hp.render_hls_project(graph, d, board)
        hls = files["run_hls.tcl"]
        assert f"set_part {{{board.part}}}" in hls and "create_clock -period 6.667" in hls
        for step in ("csim_design", "csynth_design", "cosim_design", "export_design"):
            assert step in hls
        vivado = files["build_overlay.tcl"]
        assert f"xilinx.com:ip:{ps}:" in vivado and board.part in vivado
        ports = hp.PS_PORTS[ps]
        assert ports.master in vivado and ports.irq_pin in vivado and ports.hp_slaves[0] in vivado
        assert "write_bitstream" in vivado and ".hwh" in vivado


def test_the_perf_model_streams_weights_through_the_ports_the_kernel_has(model):
    """The perf model's weight bandwidth assumes WEIGHT_PORTS HP ports: the generated kernel reads its
    parameter blob through that many m_axi bundles, each on its own HP port."""
    from accelgen.perf.model import WEIGHT_PORTS

    graph, design = model
    top = hp.render_hls_project(graph, design, load_board("zcu102"))["accel_top.cpp"]
    bundles = {b for port, b in re.findall(r"m_axi port = (\w+) offset = slave bundle = (\w+)", top) if port == "params"}
    others = {b for port, b in re.findall(r"m_axi port = (\w+) offset = slave bundle = (\w+)", top) if port != "params"}
    assert len(bundles) == WEIGHT_PORTS and not bundles & others


def test_params_map_covers_the_blob(model):
    graph, design = model
    art = hp.build_artifacts(graph, design, load_board(design.board))
    regions = art.blob.regions
    assert sum(r.words for r in regions) == art.blob.words
    assert [r.offset for r in regions] == list(np.cumsum([0] + [r.words for r in regions[:-1]]))
    dumps = art.dumps
    assert dumps[-1].offset + dumps[-1].size == art.hw.dump_elems
