"""The design's Verilog (accelgen.codegen.rtl_project): deterministic, self-contained, tables verbatim from
accelgen.numerics, parameters derived from the integer graph and the design. Pure Python (no simulator)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from accelgen import ir
from accelgen.board import load_board
from accelgen.codegen import rtl_project as rp
from accelgen.codegen import rtl_units as ru
from accelgen.hw.rtl_interfaces import HARNESS, UNIT_KINDS, unit_ports
from accelgen.hw.stream import pot_codes
from accelgen.design import Design, Engine
from accelgen.errors import InputError
from accelgen.numerics import layernorm as ln_num
from accelgen.resources import rtl_dir


@pytest.fixture(scope="module")
def graph():
    from accelgen.api import load_integer_model

    return load_integer_model(None).graph


def _design(**engine) -> Design:
    e = dict(tm=16, tn_fixed=8, tn_pot=4, dsp_packing=True, sm_lanes=4, ln_lanes=2, ew_lanes=4)
    e.update(engine)
    return Design(model="vit_digits.onnx", model_sha256="0" * 64, board="zcu102", clock_mhz=200.0,
                  engine=Engine(**e), layers=())


def _table(text: str, name: str) -> list[int]:
    """Entries of a rendered table parameter, entry 0 first."""
    body = re.search(r"\." + name + r"\(\{(.*?)\}\)", text, re.S).group(1)
    vals = [int(m.group(1) + m.group(2)) for m in re.finditer(r"(-?)\d+'s?d(\d+)", body)]
    return vals[::-1]


def test_render_is_deterministic_and_complete(graph, tmp_path):
    board = load_board("zcu102")
    a = rp.render_rtl(graph, _design(), board)
    b = rp.render_rtl(graph, _design(), board)
    assert a == b
    for kind in UNIT_KINDS:
        assert f"accel_{kind}.v" in a
    for name in rp.LIB_FILES:
        assert a[f"lib/{name}"] == (rtl_dir() / name).read_text()
    order = a["sources.f"].split()
    assert set(order) == {k for k in a if k.endswith(".v")} and order[:len(rp.LIB_FILES)] == \
        [f"lib/{n}" for n in rp.LIB_FILES]
    for path, text in a.items():
        if path.endswith(".v"):
            assert text.startswith("`timescale 1ns/1ps"), path
    written = rp.write_rtl(graph, _design(), board, tmp_path / "rtl")
    assert {p.relative_to(tmp_path / "rtl").as_posix(): p.read_text() for p in written} == a
    manifest = json.loads(a["units.json"])
    assert manifest["units"]["gemm_tile"]["parameters"]["tm"] == 16
    assert set(manifest["layers"]["softmax"]) == {op.name for op in graph.ops_of(ir.Softmax)}


def test_harness_sources_wire_every_port(graph):
    """The simulation harness declares every unit port under its prefix with the interface's direction and
    width (accelgen.hw.rtl_interfaces) and connects it; files in compile order, the harness last."""
    rd = ru.rtl_design(graph, _design(), load_board("zcu102"))
    units = {f"x{i}_": (kind, hw, f"m_{kind}", f"module m_{kind};\nendmodule\n")
             for i, (kind, hw) in enumerate(rd.units().items())}
    sources = rp.harness_sources(units)
    assert sources.top == HARNESS and sources.prefixes == tuple(units)
    assert list(sources.files) == [f"lib/{n}" for n in rp.LIB_FILES] + [f"m_{k}.v" for k in rd.units()] + \
        [f"{HARNESS}.v"]
    top = sources.files[f"{HARNESS}.v"]
    declared = {(d, int(w) + 1 if w else 1, name)
                for d, w, name in re.findall(r"^ +(input|output) +wire (?:\[(\d+):0\] )?(\w+),?$", top, re.M)}
    connected = set(re.findall(r"\.(\w+)\((\w+)\)", top))
    want = {("input", 1, "clk"), ("input", 1, "rst")}
    for prefix, (kind, hw, module, _) in units.items():
        assert f"{module} u_{prefix[:-1]} (" in top
        for port in unit_ports(hw):
            want.add((port.direction, port.width, prefix + port.name))
            assert (port.name, prefix + port.name) in connected
    assert declared == want


def test_tables_are_emitted_verbatim(graph):
    files = rp.render_rtl(graph, _design(), load_board("zcu102"))
    p = graph.ops_of(ir.Softmax)[0].unit
    assert _table(files["accel_e2softmax.v"], "TF") == list(p.pow_table)
    assert _table(files["accel_e2softmax.v"], "PT") == list(p.out_table)
    assert _table(files["accel_ailayernorm.v"], "SQ") == list(ln_num.SQUARES)
    assert _table(files["accel_ailayernorm.v"], "RSQ") == list(ln_num.RSQRT)
    gelus = graph.ops_of(ir.Gelu)
    want = [int(v) for g in gelus for v in g.unit.values]
    assert _table(files["accel_gelu.v"], "TABLES") == want
    assert _table(files["accel_gemm_tile.v"], "GELU_TABLES") == want


def test_parameters_follow_the_graph_and_engine(graph):
    rd = ru.rtl_design(graph, _design(), load_board("zcu102"))
    t = rd.tile
    assert (t.tm, t.fixed_lanes, t.pot_lanes, t.dsp_packing) == (16, 8, 4, True)
    gemms = [op for op in graph.ops if isinstance(op, ir.MATMUL_OPS)]
    assert t.acc_bits == max(op.bounds.acc_bits for op in gemms)
    assert t.input_bits == 9  # attention probabilities (0..255) feed AV
    assert t.max_bias_rows == 16  # the patch embedding's bias + position table
    assert t.output_bits >= ir.signed_bits(*graph.tensors[graph.output].bounds)  # unclamped logits
    assert t.max_k_beats == 4  # K = 64 (fc2) over TM = 16
    # the store ring: the attention tiles' 8 fixed lanes take one slot of TM = 16 banks, two of TM = 4
    assert (t.slots, t.fixed_slots) == (1, 1)
    t4 = ru.rtl_design(graph, _design(tm=4, dsp_packing=False), load_board("zcu102")).tile
    assert (t4.slots, t4.fixed_slots) == (2, 2)
    assert rd.softmax.lanes == 4 and rd.softmax.max_row == 17 and rd.softmax.max_beats == 5
    assert rd.layernorm.lanes == 2 and rd.layernorm.max_dim == 32
    assert rd.gelu_index == {g.name: i for i, g in enumerate(graph.ops_of(ir.Gelu))}
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in rd.gelu_names)


def test_packing_needs_a_board_that_can_pack(graph):
    with pytest.raises(InputError, match="cannot pack"):
        ru.rtl_design(graph, _design(), load_board("pynqz2"))
    rd = ru.rtl_design(graph, _design(dsp_packing=False), load_board("pynqz2"))
    assert not rd.tile.dsp_packing


def test_power_of_two_codes():
    """The RTL lanes and the HLS engine read the codes of accelgen.hw.stream (4 bits: sign, exponent)."""
    assert pot_codes(np.array([1, 2, 64, -1, -64, 0])).tolist() == [0, 1, 6, 8, 14, 7]
    with pytest.raises(ValueError):
        pot_codes(np.array([3]))
    with pytest.raises(ValueError):
        pot_codes(np.array([128]))


def test_identifiers_are_sanitized(graph):
    """GELU table names derived from model node names are valid, distinct Verilog identifiers."""
    ops = list(graph.ops)
    renamed = [replace(op, name="module/wire gelu" if isinstance(op, ir.Gelu) and i < 30 else op.name)
               for i, op in enumerate(ops)]
    g2 = graph.replace_ops(renamed)
    rd = ru.rtl_design(g2, _design(), load_board("zcu102"))
    assert len(set(rd.gelu_names)) == len(rd.gelu_names)
    for n in rd.gelu_names:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n), n
    text = rp.render_unit(rd.gelu, "accel_gelu", rd.gelu_names)
    assert "module/wire" not in text


def test_pack_helpers_round_trip():
    from accelgen.sim.rtl_vectors import pack, unpack

    vals = [-128, 127, 0, -1, 5]
    assert unpack(pack(vals, 8), 5, 8, True) == vals
    assert unpack(pack([255, 0, 17], 8), 3, 8, False) == [255, 0, 17]
    rng = np.random.default_rng(0)
    v = rng.integers(-(1 << 40), 1 << 40, size=7).tolist()
    assert unpack(pack(v, 42), 7, 42, True) == v


def _with_unit(graph: ir.Graph, cls, index: int, **changes) -> ir.Graph:
    """``graph`` with the ``index``-th op of type ``cls`` given a changed unit."""
    target = graph.ops_of(cls)[index]
    return graph.replace_ops([replace(op, unit=replace(op.unit, **changes)) if op is target else op
                              for op in graph.ops])


@pytest.mark.parametrize("cls, index, changes, message", [
    (ir.Softmax, 1, {"out_bits": 7}, "same exponent, mantissa and output parameters"),
    (ir.Softmax, 1, {"exp_frac": 3}, "same exponent, mantissa and output parameters"),
    (ir.Softmax, 0, {"out_frac": 40}, "finer than the reciprocal table"),
    (ir.LayerNorm, 0, {"gain": np.full(32, 1 << (ln_num.GAIN_BITS - 1))}, "gain does not fit"),
])
def test_hls_and_rtl_reject_the_same_unit_layers(graph, cls, index, changes, message):
    """One check (accelgen/hw/units.py) for what the E2Softmax / AILayerNorm unit can serve: the HLS plan
    and the RTL units refuse the same graph with the same message, naming the layer."""
    from accelgen.hw.plan import build_program

    bad = _with_unit(graph, cls, index, **changes)
    name = bad.ops_of(cls)[index].name
    with pytest.raises(InputError, match=message) as hls:
        build_program(bad, _design().engine)
    with pytest.raises(InputError, match=message) as rtl:
        ru.rtl_design(bad, _design(), load_board("zcu102"))
    assert str(hls.value) == str(rtl.value) and name in str(hls.value)
