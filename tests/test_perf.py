"""Cost model and design-space exploration: properties, hand-computed values, DSE invariants."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from accelgen.board import RESOURCE_KINDS, load_board
from accelgen.design import Design, Engine, LayerChoice
from accelgen.errors import InfeasibleError
from accelgen.frontend.importer import import_qonnx
from accelgen.hw import stream
from accelgen.hw.plan import image_lanes, layer_slots, tile_count
from accelgen.perf import cycles as cy
from accelgen.perf.dse import DEFAULT_CAPS, explore
from accelgen.perf.model import bytes_per_cycle, evaluate, profile
from accelgen.perf.resource_model import BufferPlan, design_resources

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def digits_profile(default_model):
    return profile(import_qonnx(default_model))


def design_for(prof, engine: Engine, pot_share: float = 0.0, bits: int = 8, board: str = "zcu102",
               clock: float = 200.0) -> Design:
    layers = tuple(LayerChoice(w.name, bits, w.pot_rows(int(round(pot_share * w.m)) if engine.tn_pot else 0, engine.tm))
                   for w in prof.weights)
    return Design("m", "0", board, clock, engine, layers, dict(DEFAULT_CAPS))


ENGINES = [Engine(tm, tnf, tnp, True, lanes, lanes, lanes)
           for tm, tnf, tnp, lanes in itertools.product((4, 8, 16), (2, 4, 8), (0, 2, 4), (1, 2))]


def bigger(a: Engine, b: Engine) -> bool:
    return b.tm >= a.tm and b.tn_fixed >= a.tn_fixed and b.tn_pot >= a.tn_pot and b.sm_lanes >= a.sm_lanes


def test_hand_computed_gemm_layer():
    """N=17 rows, K=32, M=64 outputs, tm=8, 8 fixed lanes, no PoT, 8-bit, zcu102 at 200 MHz:
    bits = 64 rows x (64 meta + 64 bias + 4 x 8 x 8 weights) = 24576 = 192 words of 128 bits = 3072
    bytes; the weights come through one 128-bit HP port: 16 B/cycle -> 192 DDR cycles, but the tile
    buffers take one item per cycle: 64 rows x (meta, bias, 4 vectors) = 384 cycles in total, 48 per tile;
    8 tiles of 17*ceil(32/8) + 15 (the RTL tile's pipeline) = 83 compute cycles: 48 + 7*83 + 83 = 712."""
    board = load_board("zcu102")
    assert bytes_per_cycle(board, 200.0) == 16.0
    assert board.ddr_gbps(200.0) == 12.8  # the board's four HP ports; the weight stream uses one
    assert bytes_per_cycle(load_board("pynqz2"), 100.0) == 8.0
    assert cy.GEMM_PIPELINE == 15
    assert stream.region_bytes(stream.gemm_bits(64, 32, 0, 8, 8, 0, 0), 128) == 3072
    items = stream.gemm_items(64, 32, 8, 0, 0)
    assert items == 384
    t = cy.gemm_timing(17, 32, tile_count(64, 0, 8, 0), 8, 3072, 16.0, items, slots=1)
    assert (t.tiles, t.compute, t.load, t.cycles, t.bound) == (8, 8 * 83, 384, 712, "compute")


def test_hand_computed_mixed_and_memory_bound_layer():
    """M=96 with 32 PoT rows on 8 fixed + 4 PoT lanes: tiles = max(ceil(64/8), ceil(32/4)) = 8.
    K=768 at 4-bit fixed rows: bytes = 64*384 + 32*384 + 96*16 = 38400 -> 600 cycles at 64 B/cycle;
    one row (N=1) computes in ceil(768/16) + 15 = 63 cycles per tile plus one store beat for the PoT lanes'
    slot (8 fixed lanes in slot 0, 4 PoT lanes in slot 1): 64, memory-bound."""
    assert tile_count(64, 32, 8, 4) == 8
    assert layer_slots(64, 32, 8, 4, 16) == 2
    assert stream.region_bytes(stream.gemm_bits(96, 768, 32, 4, 16, 0, 0), 512) == 38400
    # the 96 rows bring 96 x (meta, bias, 48 vectors) = 4,800 tile-buffer items (one per cycle), more
    # than the 600 DDR cycles; at 4 B/cycle DDR (9,600 cycles) is the limit instead
    items = stream.gemm_items(96, 768, 16, 0, 0)
    assert items == 4800
    t = cy.gemm_timing(1, 768, 8, 16, 38400, 64.0, items, slots=2)
    assert (t.cycles, t.bound) == (600 + 7 * 600 + 64, "memory")
    assert cy.gemm_timing(1, 768, 8, 16, 38400, 4.0, items, slots=2).cycles == 1200 + 7 * 1200 + 64


def test_hand_computed_fill():
    assert stream.gemm_items(10, 12, 4, 16, 0) == 10 * (1 + 16 + 3)  # 64-bit items: one bias per item
    assert stream.gemm_items(10, 12, 64, 16, 0) == 10 * (1 + 2 + 1)  # 512-bit items: eight biases per item
    assert stream.gemm_items(10, 12, 64, 0, 256) == 32 + 10 * (1 + 1 + 1)  # eight GELU entries per item
    # K = 12 pads to 16 at tm = 8: 10 rows x (64 + 16 x 64 + 16 x 8) bits, a 256-entry GELU table first
    assert stream.gemm_bits(10, 12, 0, 8, 8, 16, 256) == 256 * 8 + 10 * (64 + 16 * 64 + 16 * 8)
    assert stream.gemm_bits(10, 12, 4, 8, 8, 0, 0) == 6 * (128 + 16 * 8) + 4 * (128 + 16 * 4)
    assert stream.region_bytes(65, 64) == 16 and stream.region_bytes(64, 64) == 8
    assert image_lanes(patch=16, width=224, tm=64, word_bits=128) == 16
    assert image_lanes(patch=16, width=224, tm=8, word_bits=128) == 8
    assert image_lanes(patch=14, width=224, tm=64, word_bits=128) == 2
    assert image_lanes(patch=2, width=8, tm=4, word_bits=64) == 2
    assert cy.input_cycles(rows=3 * 224, width=224, patch=16, tm=64, word_bits=128) == 3 * 224 * 224 // 16


def test_hand_computed_units():
    assert cy.softmax_cycles(rows=34, n=17, lanes=1) == 36 * 17 + cy.SOFTMAX_LATENCY
    assert cy.layernorm_cycles(tokens=17, d=32, lanes=4) == 18 * 8 + cy.LAYERNORM_LATENCY
    assert cy.key_fill(k=16, m=17, tm=8) == 34
    assert cy.attention_cycles(rows=17, k=16, m=17, heads=2, tm=8, tn_fixed=4, fill=34) == \
        2 * (5 * (17 * 2 + cy.GEMM_PIPELINE) + 34)
    # a row takes max(KC, S) beats (its S store beats overlap the next row's KC), the last row's S - 1
    # further store beats follow the pipeline
    assert cy.gemm_tile_compute(rows=5, k=8, tm=8, slots=2) == 4 * 2 + 1 + cy.GEMM_PIPELINE + 1
    assert cy.gemm_tile_compute(rows=5, k=24, tm=8, slots=2) == 5 * 3 + cy.GEMM_PIPELINE + 1
    assert cy.value_fill(k=17, m=10, tm=8, tn_fixed=4) == 17 * 3  # tiles of 4, 4 and 2 value columns
    assert cy.value_fill(k=17, m=20, tm=8, tn_fixed=16) == 17 * (2 + 1)
    assert cy.layernorm_param_cycles(32) == 64


def test_more_lanes_never_slower(digits_profile):
    board = load_board("zcu102")
    for share in (0.0, 0.25):
        perf = {e: evaluate(digits_profile, design_for(digits_profile, e, share), board).cycles for e in ENGINES}
        for a, b in itertools.product(ENGINES, ENGINES):
            if bigger(a, b) and (a.tn_pot > 0) == (b.tn_pot > 0):
                assert perf[b] <= perf[a], (a, b)


def test_resources_monotone_in_lanes_and_buffers(digits_profile):
    board = load_board("zcu102")
    res = {e: design_resources(e, board, digits_profile.plan) for e in ENGINES}
    # same tm: a smaller tm makes the activation banks deeper, which may move them from LUT RAM to BRAM
    for a, b in itertools.product(ENGINES, ENGINES):
        if bigger(a, b) and b.ln_lanes >= a.ln_lanes and a.tm == b.tm:
            for k in RESOURCE_KINDS:
                assert getattr(res[b], k) >= getattr(res[a], k) - 1e-9, (k, a, b)
    # larger buffers: a memory may move from LUT RAM to block RAM (hw/memory.py memory_kind), so what grows
    # is its share of the part, summed over the kinds
    e = ENGINES[5]
    small = design_resources(e, board, digits_profile.plan)
    for field in ("k_max", "tokens_max", "dim_max", "gelu_entries"):
        plan = replace(digits_profile.plan, **{field: getattr(digits_profile.plan, field) * 8})
        large = design_resources(e, board, plan)
        assert sum(large.utilization(board).values()) >= sum(small.utilization(board).values()) - 1e-12, field
        for k in ("dsp", "ff"):
            assert getattr(large, k) >= getattr(small, k)


def test_memory_bound_layers_do_not_speed_up_with_more_lanes():
    """A layer limited by DDR takes its DDR time plus one tile's compute, whatever the lane count (but for
    the last tile's store beats: ceil(lanes / tm) slots)."""
    rows, k, m = 1, 3072, 1000
    ddr = stream.region_bytes(stream.gemm_bits(m, k, 0, 8, 16, 0, 0), 128)
    times = []
    for lanes in (8, 16, 32, 64, 128):
        slots = int(layer_slots(m, 0, lanes, 0, 16))
        t = cy.gemm_timing(rows, k, tile_count(m, 0, lanes, 0), 16, ddr, 16.0, stream.gemm_items(m, k, 16, 0, 0),
                           slots)
        assert t.bound == "memory"
        times.append(t.cycles - (slots - 1))
    assert len(set(times)) == 1


def test_weight_error_cost_grows_with_pot_share(digits_profile):
    from accelgen.perf.model import design_cost

    e = Engine(8, 8, 8, True)
    costs = [design_cost(digits_profile, design_for(digits_profile, e, share)) for share in (0, 0.25, 0.5, 1.0)]
    assert costs[0] == 0 and all(b > a for a, b in zip(costs, costs[1:]))
    assert design_cost(digits_profile, design_for(digits_profile, e, 0.0, bits=4)) > 0


@pytest.mark.parametrize("fps", [100.0, 5000.0, 30000.0])
def test_feasible_target_is_met_within_caps(digits_profile, fps):
    board = load_board("zcu102")
    found = explore(digits_profile, board, fps, 200.0, DEFAULT_CAPS, "m", "0")
    assert found.evaluation.fps >= fps
    assert found.evaluation.fits(DEFAULT_CAPS)
    assert found.evaluation.cycles == evaluate(digits_profile, found.design, board).cycles


def test_lower_targets_cost_no_more_accuracy_and_no_more_resources(digits_profile):
    board = load_board("zcu102")
    slow = explore(digits_profile, board, 1000.0, 200.0, DEFAULT_CAPS, "m", "0")
    fast = explore(digits_profile, board, 30000.0, 200.0, DEFAULT_CAPS, "m", "0")
    assert slow.cost <= fast.cost
    assert slow.evaluation.resources.dsp <= fast.evaluation.resources.dsp


def test_larger_board_never_gives_a_slower_best_design(digits_profile):
    best = {b: explore(digits_profile, load_board(b), None, 200.0, DEFAULT_CAPS, "m", "0").evaluation.fps
            for b in ("zcu102", "zcu104", "kv260", "ultra96v2")}
    assert best["zcu104"] >= best["kv260"] >= best["ultra96v2"]
    assert best["zcu102"] >= best["ultra96v2"]


def test_infeasible_target_raises_with_best_fps_and_limit(digits_profile):
    board = load_board("pynqz2")
    with pytest.raises(InfeasibleError) as err:
        explore(digits_profile, board, 1e9, 100.0, DEFAULT_CAPS, "m", "0")
    text = str(err.value)
    assert "fastest design that fits reaches" in text and "limited by" in text
    assert err.value.exit_code == 3


def test_tighter_caps_are_respected(digits_profile):
    board = load_board("zcu102")
    caps = dict(DEFAULT_CAPS, dsp=0.01, lut=0.07)
    found = explore(digits_profile, board, None, 200.0, caps, "m", "0")
    assert found.evaluation.utilization["dsp"] <= caps["dsp"] and found.evaluation.utilization["lut"] <= caps["lut"]


def test_pot_lanes_are_used_only_with_pot_rows(digits_profile):
    board = load_board("zcu102")
    found = explore(digits_profile, board, None, 200.0, DEFAULT_CAPS, "m", "0")
    d = found.design
    pot_layers = [c for c in d.layers if c.pot_rows]
    assert (d.engine.tn_pot > 0) or not pot_layers
    for c in pot_layers:
        w = next(w for w in digits_profile.weights if w.name == c.name)
        assert set(c.pot_rows) == set(np.asarray(w.pot_order(d.engine.tm)[:len(c.pot_rows)]).tolist())


def test_buffer_plan_of_default_model(digits_profile):
    p = digits_profile.plan
    assert isinstance(p, BufferPlan)
    assert p.k_max == 64 and p.tokens_max == 17 and p.dim_max == 32 and p.gelu_entries == 256
