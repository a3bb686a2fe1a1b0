"""The perf model prices exactly what is generated (architecture rule 8): per step, the model's DDR bytes
equal the blob regions the packer writes, its tile-buffer items equal the items the packed stream cuts
into, and its activation memories equal the placement the generated config declares. The designs are
the ones the search picks for the default model on every board, plus hand-made mixed-scheme ones."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from accelgen import ir
from accelgen.board import load_board
from accelgen.codegen import hls_project as hp
from accelgen.codegen.pack import from_bytes, value_of
from accelgen.design import Design, Engine, LayerChoice, integer_graph
from accelgen.frontend.importer import import_qonnx
from accelgen.hw.constants import BIAS_BITS, GELU_ENTRY_BITS, META_BITS, META_CHANNEL, NUM_MEMORIES, POT_CODE_BITS
from accelgen.hw.memory import memory_kind
from accelgen.hw.plan import head_sliced, layer_slots, plan_tiles, pot_row_order
from accelgen.hw.stream import item_bits
from accelgen.model_source import default_model_path
from accelgen.passes.mixed_scheme import choose_pot_rows
from accelgen.perf.dse import DEFAULT_CAPS, explore
from accelgen.perf.memory import banked_buffer
from accelgen.perf.model import evaluate, profile
from accelgen.perf.resource_model import activation_buffers

pytestmark = pytest.mark.unit

BOARDS = ("zcu102", "zcu104", "kv260", "ultra96v2", "pynqz2")
INDEP = Path(__file__).parent / "data" / "indep_digits.onnx"


def hand_design(graph: ir.Graph, engine: Engine, bits: int, share: float, board: str) -> Design:
    layers = tuple(LayerChoice(op.name, bits, choose_pot_rows(op.weight, int(op.weight.shape[0] * share),
                                                                   engine.tm))
                   for op in graph.ops_of(ir.GemmOp))
    return Design("m.onnx", "0" * 64, board, 150.0, engine, layers)


def search_cases():
    return [("default", board, fps) for board in BOARDS for fps in (30.0, None)]


HAND = [("default", Engine(tm=8, tn_fixed=8, tn_pot=4, dsp_packing=True), 4, 0.5, "zcu102"),
        ("indep", Engine(tm=5, tn_fixed=3, tn_pot=2, dsp_packing=False), 8, 0.3, "pynqz2"),
        ("indep", Engine(tm=16, tn_fixed=16, tn_pot=0, dsp_packing=True), 8, 0.0, "kv260")]


@pytest.fixture(scope="module")
def graphs():
    return {"default": import_qonnx(default_model_path()), "indep": import_qonnx(INDEP)}


@pytest.fixture(scope="module")
def profiles(graphs):
    return {name: profile(g) for name, g in graphs.items()}


def case(graphs, profiles, which):
    """(profile, evaluation, artifacts) of one design."""
    if which[0] == "search":
        _, model, board_name, fps = which
        board = load_board(board_name)
        design = explore(profiles[model], board, fps, board.default_clock_mhz, DEFAULT_CAPS, "m.onnx", "0").design
    else:
        _, model, engine, bits, share, board_name = which
        board = load_board(board_name)
        design = hand_design(graphs[model], engine, bits, share, board_name)
    art = hp.build_artifacts(integer_graph(graphs[model], design), design, board)
    return profiles[model], evaluate(profiles[model], design, board), art


CASES = [("search", *c) for c in search_cases()] + [("hand", *h) for h in HAND]
IDS = [f"{c[2]}-fps{c[3] or 'max'}" if c[0] == "search" else f"hand-{c[1]}-tm{c[2].tm}" for c in CASES]


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def built(request, graphs, profiles):
    return case(graphs, profiles, request.param)


def step_bytes(art, step) -> int:
    """Bytes the accelerator reads from DDR for one step: its blob regions (and the image)."""
    words = sum(r.words for r in art.blob.regions if r.step == step.name)
    if isinstance(step.op, ir.InputQuant):
        words += art.hw.image_words
    return words * art.hw.word_bits // 8


def test_model_ddr_bytes_are_the_blob_regions(built):
    _, ev, art = built
    model = {layer.name: layer.ddr_bytes for layer in ev.layers}
    for step in art.program.steps:
        assert sum(model[op.name] for op in step.ops) == step_bytes(art, step), step.name
    assert ev.ddr_bytes == len(art.blob.data) + art.hw.image_words * art.hw.word_bits // 8


def cut_items(bits: np.ndarray, word_bits: int, plan, k: int, tm: int, weight_bits: int, bias_rows: int,
              gelu_entries: int) -> int:
    """Cut a GEMM region into tile-buffer items the way the gearbox does (hls/gemm_engine.h), checking
    every meta item names the row the tile plan puts on its lane; returns the item count."""
    pos = items = 0

    def take(width: int) -> int:
        nonlocal pos, items
        value = value_of(bits[pos:pos + width], False)
        pos, items = pos + width, items + 1
        return value

    for _ in range(-(-gelu_entries * GELU_ENTRY_BITS // META_BITS) if gelu_entries else 0):
        take(META_BITS)
    per_item = item_bits(tm) // BIAS_BITS
    for tile in plan.tiles:
        for lane, row in enumerate(tile.fixed + tile.pot):
            at, width = META_CHANNEL
            assert take(META_BITS) >> at & ((1 << width) - 1) == row
            left = max(bias_rows, 1)
            while left > 0:
                take(BIAS_BITS * min(left, per_item if bias_rows else 1))
                left -= per_item if bias_rows else 1
            element = weight_bits if lane < len(tile.fixed) else POT_CODE_BITS
            for _ in range(-(-k // tm)):
                take(tm * element)
    assert 0 <= len(bits) - pos < word_bits, "the region ends within its last word"
    return items


def test_model_items_are_the_items_the_stream_cuts_into(built):
    prof, _, art = built
    data = from_bytes(art.blob.data)
    layers = {w.name: w for w in prof.weights}
    checked = 0
    for step in art.program.steps:
        if not isinstance(step.op, ir.GemmOp):
            continue
        region = art.blob.region(step.name, "gemm")
        bits = data[region.offset * art.hw.word_bits:(region.offset + region.words) * art.hw.word_bits]
        bias, weight = step.op.requant.bias, step.op.weight
        items = cut_items(bits, art.hw.word_bits, art.program.tiles[step.name], weight.shape[1], art.hw.gemm.tm,
                          weight.bits, bias.shape[0] if bias.ndim > 1 else 0, art.hw.gelu_entries if step.gelu else 0)
        assert layers[step.op.name].items(art.hw.gemm.tm) == items, step.name
        checked += 1
    assert checked == len(prof.weights)


def test_model_memories_are_the_placement(built):
    prof, _, art = built
    acts = prof.plan.activations
    assert acts.depth(art.hw.gemm.tm) == art.program.depth == art.hw.depth
    assert acts.bits == art.hw.act_bits
    constants = {c.name: c.value for c in hp.config_constants(art.hw)}
    assert (constants["NMEM"], constants["TM"], constants["DEPTH"]) == (NUM_MEMORIES, art.hw.gemm.tm, art.hw.depth)
    board = art.board
    kind = memory_kind(art.hw.act_bits, art.hw.depth, board)
    top = hp.render_hls_project(art.graph, art.design, board)["accel_top.cpp"]
    assert f"BIND_STORAGE variable = mem type = ram_s2p impl = {kind}\n" in top
    assert activation_buffers(art.design.engine, prof.plan, board) == \
        banked_buffer(art.hw.act_bits, art.hw.depth, NUM_MEMORIES * art.hw.gemm.tm, kind)


def test_weight_banks_are_bound_to_the_priced_memory(built, tmp_path):
    """The model prices the weight banks in design.json's engine.weight_memory (BRAM or LUT RAM); the HLS
    binds exactly that: the BIND_STORAGE pragmas of the weight tiles after preprocessing the generated
    config with the engine header."""
    import subprocess

    from accelgen.resources import hls_dir
    from accelgen.sim.csim import ap_types_dir, compiler

    _, _, art = built
    (tmp_path / "accel_config.h").write_text(
        hp.render_hls_project(art.graph, art.design, art.board)["accel_config.h"])
    (tmp_path / "main.cpp").write_text('#include "accel_config.h"\n#include "gemm_engine.h"\n')
    out = subprocess.run([compiler(), "-std=c++14", "-E", "-I", str(tmp_path), "-I", str(hls_dir()), "-I",
                          str(ap_types_dir()), str(tmp_path / "main.cpp")], capture_output=True, text=True,
                         check=True).stdout
    bound = re.findall(r"#pragma HLS BIND_STORAGE variable = (wf|wp) type = ram_s2p impl = (\w+)", out)
    memory = art.design.engine.weight_memory
    assert sorted(bound) == [("wf", memory), ("wp", memory)]


def test_every_template_constant_is_emitted_and_no_header_restates_one(built):
    from accelgen.hw import constants as template
    from accelgen.resources import hls_dir

    _, _, art = built
    config = hp.render_hls_project(art.graph, art.design, art.board)["accel_config.h"]
    for name, value in template.emitted().items():
        assert f"static constexpr int {name} = {value};" in config, name
    declared = set(re.findall(r"static constexpr [\w:]+ (\w+)", config))
    python_names = {n for n in vars(template) if n.isupper()}
    for header in sorted(hls_dir().glob("*.h")):
        text = header.read_text()
        assert set(re.findall(r"C::([A-Z_]+)\b", text)) <= declared, header.name
        defined = set(re.findall(r"static const(?:expr)? int (\w+) =", text))
        assert not defined & python_names, (header.name, defined & python_names)


# The HLS Config member and the Verilog parameter that state the same fact of one unit (hw/units.py).
GEMM_PAIRS = {"TM": "TM", "TN_FIXED": "TNF", "TN_POT": "TNP", "DSP_PACKING": "PACK", "X_BITS": "XB", "W_BITS": "WB",
              "ACC_BITS": "ACCB", "KC_MAX": "KC_MAX", "BIAS_ROWS_MAX": "BIAS_ROWS", "POT_CODE_BITS": "PWB",
              "PACK_SHIFT": "SH", "MULT_BITS": "MB", "SHIFT_BITS": "SHB",
              "META_RES_SHIFT_BITS": "RSB", "SLOTS_MAX": "SLOTS", "FIXED_SLOTS": "FSLOTS"}
SOFTMAX_PAIRS = {"SM_LANES": "L", "SM_E_BITS": "EB", "SM_S_BITS": "SB", "SM_EXP_FRAC": "F", "SM_RECIP_BITS": "M",
                 "SM_CODE_MAX": "KMAX", "SM_RECIP_FRAC": "RF", "SM_POW": "TF", "SM_OUT": "PT"}
LAYERNORM_PAIRS = {"LN_LANES": "L", "LN_D_MAX": "DMAX", "LN_X_BITS": "XB", "LN_RSQRT_FRAC": "RSQF",
                   "LN_NORM_FRAC": "NF", "LN_IDX_BITS": "IDX", "LN_SQUARES": "SQ", "LN_RSQRT": "RSQ"}


def config_members(config: str) -> dict[str, int | tuple[int, ...]]:
    """Scalars and tables of the generated C++ Config struct, parsed from its text."""
    out: dict[str, int | tuple[int, ...]] = {}
    for name, value in re.findall(r"static constexpr \w+ (\w+) = ([^;{]+);", config):
        value = value.strip()
        out[name] = int(value == "true") if value in ("true", "false") else int(value)
    for name, body in re.findall(r"static constexpr [\w:]+ (\w+)\[\d+\] = \{([^}]*)\};", config):
        out[name] = tuple(int(v) for v in body.split(","))
    return out


def verilog_parameters(wrapper: str) -> dict[str, int | tuple[int, ...]]:
    """Scalar parameters (.NAME(value)) and packed tables (.NAME({..., entry 0})) of a generated wrapper."""
    out: dict[str, int | tuple[int, ...]] = {}
    for name, value in re.findall(r"\.([A-Z_][A-Z0-9_]*)\((-?\d+)\)", wrapper):
        out[name] = int(value)
    for name, body in re.findall(r"\.([A-Z_][A-Z0-9_]*)\(\{(.*?)\}\)", wrapper, re.S):
        entries = [int(m.group(1) + m.group(2)) for m in re.finditer(r"(-?)\d+'s?d(\d+)", body)]
        out[name] = tuple(entries[::-1])
    return out


def verilog_ports(wrapper: str) -> dict[str, int]:
    """Port name -> width of a generated wrapper module."""
    return {name: int(msb or 0) + 1 for msb, name in re.findall(r"(?:input|output)\s+wire\s+(?:\[(\d+):0\]\s+)?(\w+)",
                                                                   wrapper)}


def gemm_ring_disagreements(config: dict, wrapper: str) -> list[str]:
    """The store ring's facts the HLS engine and the RTL tile must share, as (fact, HLS, RTL) mismatches:
    SLOTS_MAX x TM store positions (FIXED_SLOTS of them the fixed lanes'), one requantizer per store bank
    (an output beat: TM values with a TM-bit store mask; a residual beat: TM values), rotations of
    0 .. TM - 1 and store slot counts up to SLOTS_MAX."""
    params, ports = verilog_parameters(wrapper), verilog_ports(wrapper)
    tm, slots = config["TM"], config["SLOTS_MAX"]
    facts = [("SLOTS_MAX", slots, params["SLOTS"]), ("FIXED_SLOTS", config["FIXED_SLOTS"], params["FSLOTS"]),
             ("requantizers (store mask bits)", tm, ports["y_sel"]),
             ("requantizer outputs", tm * params["OB"], ports["y_data"]),
             ("residual values per store beat", tm * params["RB"], ports["r_data"]),
             ("rotation width", max(1, (tm - 1).bit_length()), ports["cmd_rot_fixed"]),
             ("rotation width", max(1, (tm - 1).bit_length()), ports["cmd_rot_pot"]),
             ("store bank width", max(1, (tm - 1).bit_length()), ports["ld_sbank"]),
             ("slot width", max(1, (slots - 1).bit_length()), ports["ld_slot"]),
             ("slot count width", slots.bit_length(), ports["cmd_slots"])]
    return [f"{what}: HLS {h}, RTL {r}" for what, h, r in facts if h != r]


def test_hls_config_and_verilog_parameters_agree(built):
    """The GEMM engine, E2Softmax and AILayerNorm of the generated HLS Config and of the generated Verilog
    wrappers are the same units: every fact both state is equal, parsed from the two artifacts."""
    from accelgen.codegen.rtl_project import render_rtl

    _, _, art = built
    config = config_members(hp.render_hls_project(art.graph, art.design, art.board)["accel_config.h"])
    rtl = render_rtl(art.graph, art.design, art.board)
    pairs = [("accel_gemm_tile.v", GEMM_PAIRS)]
    if art.graph.ops_of(ir.Softmax):
        pairs.append(("accel_e2softmax.v", SOFTMAX_PAIRS))
    if art.graph.ops_of(ir.LayerNorm):
        pairs.append(("accel_ailayernorm.v", LAYERNORM_PAIRS))
    for wrapper, names in pairs:
        params = verilog_parameters(rtl[wrapper])
        for hls_name, rtl_name in names.items():
            assert config[hls_name] == params[rtl_name], (wrapper, hls_name, rtl_name)
    assert not gemm_ring_disagreements(config, rtl["accel_gemm_tile.v"])
    sm = verilog_parameters(rtl["accel_e2softmax.v"]) if art.graph.ops_of(ir.Softmax) else None
    if sm is not None:
        assert sm["NB_MAX"] == -(-config["SM_N_MAX"] // config["SM_LANES"])


def test_an_off_by_one_ring_fact_fails_the_agreement(graphs, profiles):
    """The store ring check above is not vacuous: one more slot, one fewer requantizer, one more rotation
    bit in the Verilog wrapper each make it fail."""
    from accelgen.codegen.rtl_project import render_rtl

    _, _, art = case(graphs, profiles, CASES[len(search_cases())])
    config = config_members(hp.render_hls_project(art.graph, art.design, art.board)["accel_config.h"])
    wrapper = render_rtl(art.graph, art.design, art.board)["accel_gemm_tile.v"]
    assert not gemm_ring_disagreements(config, wrapper)
    slots, tm = config["SLOTS_MAX"], config["TM"]
    rot = max(1, (tm - 1).bit_length())
    rot_decl = f"input  wire [{rot - 1}:0] cmd_rot_fixed" if rot > 1 else "input  wire cmd_rot_fixed"
    mutants = [(f".SLOTS({slots})", f".SLOTS({slots + 1})"),
               (f"output wire [{tm - 1}:0] y_sel", f"output wire [{tm - 2}:0] y_sel"),
               (rot_decl, f"input  wire [{rot}:0] cmd_rot_fixed")]
    for old, new in mutants:
        assert wrapper.count(old) == 1, old
        assert gemm_ring_disagreements(config, wrapper.replace(old, new)), new


# Literal ap_int / ap_uint widths a kernel header may spell, and why none of them is a template constant.
# Every other width (a multiplier, a shift, a bias, a field) must come from the emitted Config.
LITERAL_WIDTHS = {
    "accel_desc.h": {32, 64},  # descriptor words are 32-bit s_axilite registers; wide() joins two of them
    "accel_io.h": {64},  # the dump port's elements (int64 on the host)
    "accel_network.h": {32, 64},  # the beat counters: 32 bits per step, 64 for the whole run (s_axilite)
    "ailayernorm.h": {32, 64},  # the beat counter; eps and the variance's wide intermediate
    "e2softmax.h": {16, 32, 64},  # the beat counter; stage 2's exact 64-bit intermediate and its output
    "eltwise.h": {32},  # the beat counter
    "gemm_engine.h": {32},  # the beat counter
    "gemm_lanes.h": {2},  # the PoT sign carried in as a 2-bit addend
}


def test_no_header_spells_a_template_width():
    """A width such as MULT_BITS, SHIFT_BITS or BIAS_BITS reaches the kernels as a Config member (templates
    on C), never as ap_uint<16> / ap_uint<6> / ap_int<64> written into a header."""
    from accelgen.resources import hls_dir

    for header in sorted(hls_dir().glob("*.h")):
        widths = {int(n) for n in re.findall(r"ap_u?int<\s*(\d+)\s*>", header.read_text())}
        assert widths <= LITERAL_WIDTHS.get(header.name, set()), (header.name, widths)


def test_model_prices_one_unit_step_per_head(built):
    """Attention runs head by head (hw/plan.py): the model prices a softmax / map requantization as
    ``heads`` steps of ``rows`` rows, and the descriptors hold exactly those steps and rows; the softmax
    cycles are the unit's beats over those descriptors."""
    from accelgen.hw.descriptors import INDEX
    from accelgen.perf import cycles as cy
    from accelgen.perf.model import fixed_unit_cycles

    prof, _, art = built
    works = {w.name: w for w in prof.works}
    engine = art.design.engine
    checked = 0
    for op in art.graph.ops:
        if not isinstance(op, (ir.Softmax, ir.Requantize)):
            continue
        descs = [d for s, d in zip(art.program.steps, art.descs) if s.op is op]
        work = works[op.name]
        assert len(descs) == work.heads, op.name
        if isinstance(op, ir.Softmax):
            assert all(d[INDEX["D_ROWS"]] == work.rows and d[INDEX["D_COLS"]] == work.k for d in descs)
            assert fixed_unit_cycles(work, engine, art.hw.word_bits) == sum(
                cy.softmax_cycles(d[INDEX["D_ROWS"]], d[INDEX["D_COLS"]], engine.sm_lanes) for d in descs)
            checked += 1
    assert checked == len(art.graph.ops_of(ir.Softmax))
    for name in head_sliced(art.program.steps):  # one head's map on chip
        heads, tokens, keys = art.graph.tensors[name].shape
        assert (art.program.views[name].rows, art.program.views[name].cols) == (tokens, keys)


def test_model_store_slots_are_the_tile_plans(built):
    """The model charges every weight GEMM tile's rows max(KC, S) beats with S the layer's store slots in
    closed form (hw/plan.py layer_slots); the descriptors carry the tile plan's S (D_SLOTS)."""
    _, _, art = built
    e = art.design.engine
    for step in art.program.steps:
        if step.name not in art.program.tiles:
            continue
        op = step.op
        pot = 0 if op.weight.pot_rows is None else int(np.count_nonzero(op.weight.pot_rows))
        closed = layer_slots(op.weight.shape[0] - pot, pot, e.tn_fixed, e.tn_pot, e.tm)
        assert closed == art.program.tiles[step.name].slots, step.name


@pytest.mark.parametrize("tm, tn_fixed, tn_pot", [(4, 2, 8), (8, 8, 4), (8, 32, 16), (16, 16, 0), (5, 3, 2)])
def test_layer_slots_closed_form_is_the_plan(tm, tn_fixed, tn_pot):
    """layer_slots equals plan_tiles' slot count for every PoT row count a layer can take (rows chosen
    within the bank quotas, pot_row_order), including layers with fewer rows than lanes."""
    rng = np.random.default_rng(tm * 100 + tn_fixed)
    for m in (1, 3, tm, 2 * tm + 1, 40, 97):
        order = pot_row_order(rng.random(m), tm)
        for n_pot in range(0, m + 1 if tn_pot else 1):
            mask = np.zeros(m, bool)
            mask[order[:n_pot]] = True
            plan = plan_tiles(mask, tn_fixed, tn_pot, tm)
            assert layer_slots(m - n_pot, n_pot, tn_fixed, tn_pot, tm) == plan.slots, (m, n_pot)
