"""Every structure the perf model prices is one the generated HLS instantiates, and the other way round
(issue 11, item 5): the model's structure list (accelgen/hw/structures.py) against a census of the generated
project read with libclang -- every `#pragma HLS STREAM` with its depth, its stream's width and the number of
call paths from the top that instantiate it, every scalar argument of a DATAFLOW process call with its width
(a scalar channel), every m_axi bundle with its width and direction, every partitioned or static array, every
call that rotates TM values by a runtime amount (window_rotate, directly or through window_read /
window_write) with its call paths. The facts the list follows from are the generated Config's, for the designs
the search picks. Deliberate changes to a generated project (an extra FIFO, a deeper FIFO, an extra
partitioned array, another m_axi bundle, an extra scalar argument, another rotation) must fail the tie."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from accelgen import ir
from accelgen.board import load_board
from accelgen.check import clang_ast as ca
from accelgen.check.project import enclosing_function, load_project
from accelgen.codegen import hls_project as hp
from accelgen.design import integer_graph
from accelgen.frontend.importer import import_qonnx
from accelgen.hw.structures import GEARBOX_JOB_BITS, GEMM_JOB_BITS, PRICED_ELSEWHERE, StructureFacts, structures
from accelgen.model_source import default_model_path
from accelgen.perf.dse import DEFAULT_CAPS, explore
from accelgen.perf.model import evaluate, profile, store_slots
from accelgen.perf.resource_model import itemized_structures, structure_facts

pytestmark = pytest.mark.unit

BOARDS = ("zcu102", "zcu104", "kv260", "ultra96v2", "pynqz2")


@pytest.fixture(scope="module")
def graph():
    return import_qonnx(default_model_path())


@pytest.fixture(scope="module")
def prof(graph):
    return profile(graph)


def searched(prof, board_name: str, fps):
    board = load_board(board_name)
    return explore(prof, board, fps, board.default_clock_mhz, DEFAULT_CAPS, "m.onnx", "0").design, board


def config_facts(hw) -> StructureFacts:
    """The structure facts as the generated Config states them (independent of the perf model's profile)."""
    return StructureFacts(tm=hw.gemm.tm, word_bits=hw.word_bits, slots_max=hw.slots_max,
                          bias_rows_max=hw.gemm.max_bias_rows, gelu_entries=hw.gelu_entries, acc_bits=hw.gemm.acc_bits,
                          out_rows=hw.out_rows, out_cols=hw.out_cols, out_bits=hw.out_bits, max_steps=hw.max_steps,
                          img_lanes=hw.img_lanes, act_bits=hw.act_bits)


@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("fps", (30.0, None), ids=("fps30", "fpsmax"))
def test_model_structure_facts_are_the_generated_config(graph, prof, board_name, fps):
    design, board = searched(prof, board_name, fps)
    art = hp.build_artifacts(integer_graph(graph, design), design, board)
    slots = store_slots(prof, design)
    model, generated = structure_facts(design.engine, board, prof.plan, slots), config_facts(art.hw)
    # accumulator and logit widths: the profile's all-8-bit fixed-point bounds, which contain those of any
    # scheme choice (power-of-two weights are at most 2^6, 4-bit ones smaller): priced at least as generated
    assert model.acc_bits >= generated.acc_bits and model.out_bits >= generated.out_bits
    assert replace(model, acc_bits=0, out_bits=0) == replace(generated, acc_bits=0, out_bits=0)
    # the evaluation prices exactly these structures
    ev = evaluate(prof, design, board)
    items = itemized_structures(structures(config_facts(art.hw)), board.yosys_family)
    assert ev.resources.lut >= sum(r.lut for _, r in items) > 0


# ------------------------------------------------------------------------------------------------
# Census of a generated project


def write_project(files: dict, folder: Path) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return folder / "accel_top.cpp"


ROTATING = ("window_rotate", "window_read", "window_write")  # hls/accel_arena.h: each call rotates TM values


def function_calls(project) -> dict[str, Counter]:
    """Function name -> callee name -> number of calls in its body."""
    return {name: Counter(ca.callee_name(c) for fn in defs for c in fn.walk_preorder()
                          if ca.kind(c) == "CALL_EXPR" and ca.operator_name(c) is None)
            for name, defs in project.functions.items()}


def call_paths(calls: dict[str, Counter], top: str) -> dict[str, int]:
    """Function name -> number of call paths from ``top`` (one instance of its structures per path)."""
    memo: dict[str, int] = {}

    def paths(name: str, seen: tuple = ()) -> int:
        if name == top:
            return 1
        if name not in memo:
            memo[name] = sum(n * paths(caller, seen + (name,)) for caller, callees in calls.items()
                             for callee, n in callees.items() if callee == name and caller not in seen)
        return memo[name]

    return {name: paths(name) for name in calls}


def stream_width(type_text: str, constants: dict[str, int]) -> int:
    """Element width of an hls::stream as hls/ declares it: words of the DDR port or GEMM items."""
    element = re.fullmatch(r"(?:hls::|accel::)?stream<(.+?)\s*>", type_text.replace(" ", "")).group(1)
    item = max(constants["ITEM_MIN_BITS"], constants["TM"] * constants["WEIGHT_ITEM_BITS"])
    # WB: the word width of the port burst_words / load_fields read (they are called on DDR word pointers)
    return {"word_t<C>": constants["WORD_BITS"], "ap_uint<C::WORD_BITS>": constants["WORD_BITS"],
            "ap_uint<WB>": constants["WORD_BITS"], "item_t<C>": item}[element]


def constant_value(text: str, constants: dict[str, int]) -> int:
    """A pragma option's value: a literal, or a member of the generated Config (C::NAME)."""
    return int(text) if text.isdigit() else constants[text.removeprefix("C::")]


def type_decls(project) -> dict[str, object]:
    """Structs, class templates and alias templates of hls/, by name."""
    kinds = ("STRUCT_DECL", "CLASS_TEMPLATE", "TYPE_ALIAS_TEMPLATE_DECL")
    return {c.spelling: c for c in project.tu.cursor.walk_preorder()
            if ca.kind(c) in kinds and project.own(c) and any(True for _ in c.get_children())}


def scalar_width(type_text: str, decls: dict, constants: dict[str, int]) -> int | None:
    """Bits of a process parameter that is a scalar (a struct: its fields' total); None for a stream, a
    pointer or an array (priced as FIFOs, m_axi bundles, memories)."""
    t = re.sub(r"\bconst\b|&|\s", "", type_text).removeprefix("accel::")
    if "*" in t or "[" in t or "stream<" in t:
        return None
    if t in ("int", "unsignedint", "unsigned", "bool"):
        return 1 if t == "bool" else 32
    m = re.fullmatch(r"ap_u?int<(.+)>", t)
    if m:
        return constant_value(m.group(1), constants)
    decl = decls[re.sub(r"<.*", "", t)]
    if ca.kind(decl) == "TYPE_ALIAS_TEMPLATE_DECL":
        alias = next(c for c in decl.get_children() if ca.kind(c) == "TYPE_ALIAS_DECL")
        return scalar_width(alias.underlying_typedef_type.spelling, decls, constants)
    fields = [scalar_width(c.type.spelling, decls, constants) for c in decl.get_children()
              if ca.kind(c) == "FIELD_DECL"]
    return None if None in fields else sum(fields)


def scalar_channels(project, paths: dict[str, int]) -> Counter:
    """(region, process, parameter, width) -> instances: the scalar parameters of every process a DATAFLOW
    region calls, once per call path of the region."""
    decls, channels = type_decls(project), Counter()
    for p in project.pragmas:
        fn = enclosing_function(project, p) if p.kind == "DATAFLOW" else None
        if fn is None or paths.get(fn.spelling, 0) == 0:
            continue
        body = next(c for c in fn.get_children() if ca.kind(c) == "COMPOUND_STMT")
        for call in (c for c in body.get_children() if ca.kind(c) == "CALL_EXPR"):
            process = ca.callee_name(call)
            for parm in (c for c in project.functions[process][0].get_children() if ca.kind(c) == "PARM_DECL"):
                width = scalar_width(parm.type.spelling, decls, project.constants)
                if width is not None:
                    channels[(fn.spelling, process, parm.spelling, width)] += paths[fn.spelling]
    return channels


def census(files: dict, folder: Path) -> dict:
    project = load_project(write_project(files, folder), [folder])
    calls = function_calls(project)
    paths = call_paths(calls, hp.TOP)
    fifos, arrays, maxi = Counter(), set(), {}
    rotations = Counter({name: paths[name] * sum(callees[r] for r in ROTATING) for name, callees in calls.items()
                         if name not in ROTATING})
    for p in project.pragmas:
        fn = enclosing_function(project, p)
        if fn is None or paths.get(fn.spelling, 0) == 0:
            continue
        var = p.option("variable")
        if p.kind == "STREAM":
            decl = next(c for c in fn.walk_preorder() if ca.kind(c) == "VAR_DECL" and c.spelling == var)
            fifos[(fn.spelling, var, stream_width(decl.type.spelling, project.constants),
                   constant_value(p.option("depth"), project.constants))] += paths[fn.spelling]
        elif p.kind in ("ARRAY_PARTITION", "ARRAY_RESHAPE"):
            arrays.add((fn.spelling, var))
        elif p.kind == "INTERFACE" and "m_axi" in p.flags:
            maxi[p.option("port")] = p.option("bundle")
    for name, defs in project.functions.items():
        if paths[name] == 0:
            continue
        for fn in defs:
            for c in fn.walk_preorder():
                if ca.kind(c) == "VAR_DECL" and c.storage_class.name == "STATIC" and "[" in c.type.spelling:
                    arrays.add((name, c.spelling))
    top = project.functions[hp.TOP][0]
    params = {c.spelling: c.type.spelling for c in top.get_children() if ca.kind(c) == "PARM_DECL"}
    arrays |= {(hp.TOP, n) for n, t in params.items() if "[" in t and n not in maxi}  # s_axilite arrays
    bundles = {}
    for port, bundle in maxi.items():
        ptype = params[port]
        width = project.constants["WORD_BITS"] if "word_t" in ptype else int(re.search(r"<(\d+)>", ptype).group(1))
        read, write = bundles.get(bundle, (0, False, False))[1:]
        bundles[bundle] = (width, read or ptype.startswith("const"), write or not ptype.startswith("const"))
    return {"fifos": fifos, "channels": scalar_channels(project, paths), "arrays": arrays, "bundles": bundles,
            "rotations": +rotations}


def modelled(s) -> dict:
    fifos = Counter()
    for f in s.fifos:
        fifos[(f.function, f.variable, f.width, f.depth)] += f.count
    channels = Counter()
    for c in s.channels:
        channels[(c.region, c.process, c.argument, c.width)] += c.count
    arrays = {(m.function, m.variable) for m in (*s.memories, *s.registers)} | set(PRICED_ELSEWHERE)
    bundles = {b.bundle: (b.width, b.read, b.write) for b in s.bundles}
    return {"fifos": fifos, "channels": channels, "arrays": arrays, "bundles": bundles,
            "rotations": Counter(r.function for r in s.rotators)}


DESIGNS = (("zcu102", 30.0), ("pynqz2", None))


@pytest.fixture(scope="module", params=DESIGNS, ids=lambda d: f"{d[0]}-fps{d[1] or 'max'}")
def project(request, graph, prof):
    design, board = searched(prof, *request.param)
    files = hp.render_hls_project(integer_graph(graph, design), design, board)
    s = structures(structure_facts(design.engine, board, prof.plan, store_slots(prof, design)))
    return files, modelled(s)


def test_every_priced_structure_is_generated_and_every_generated_one_priced(project, tmp_path):
    files, model = project
    found = census(files, tmp_path)
    assert found["arrays"] - model["arrays"] == set() and model["arrays"] - found["arrays"] == set()
    assert found == model


def edit(files: dict, name: str, old: str, new: str) -> dict:
    assert old in files[name], old
    return {**files, name: files[name].replace(old, new, 1)}


ITEMS = "#pragma HLS STREAM variable = items depth = C::STREAM_DEPTH\n"
MUTATIONS = {
    "extra FIFO": ("gemm_engine.h", ITEMS, ITEMS + "    hls::stream<word_t<C> > spare(\"spare\");\n"
                   "#pragma HLS STREAM variable = spare depth = C::STREAM_DEPTH\n"),
    "deeper FIFO": ("gemm_engine.h", ITEMS, ITEMS.replace("C::STREAM_DEPTH", "128")),
    "FIFO on a second call path": ("accel_network.h", "            softmax_layer<C>(mem, d, beats);",
                                   "            softmax_layer<C>(mem, d, beats);\n"
                                   "            beats += load_image<C>(images, image, mem, d);"),
    "extra partitioned array": ("gemm_engine.h", "    static ring_t<C> ring;\n",
                                "    static ring_t<C> ring;\n    static ring_t<C> ring2;\n"
                                "#pragma HLS ARRAY_PARTITION variable = ring2 complete dim = 0\n"),
    "extra m_axi bundle": ("accel_top.cpp", "bundle = gmem2", "bundle = gmem3"),
    "extra rotation": ("gemm_engine.h", "    window_rotate<C>(xbank, xc0, x);\n",
                       "    window_rotate<C>(xbank, xc0, x);\n    window_rotate<C>(x, xc0, xbank);\n"),
}


@pytest.fixture(scope="module")
def first_project(graph, prof):
    design, board = searched(prof, *DESIGNS[0])
    files = hp.render_hls_project(integer_graph(graph, design), design, board)
    return files, modelled(structures(structure_facts(design.engine, board, prof.plan, store_slots(prof, design))))


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_changed_project_fails_the_tie(first_project, tmp_path, mutation):
    files, model = first_project
    name, old, new = MUTATIONS[mutation]
    assert census(edit(files, name, old, new), tmp_path) != model


def test_an_extra_scalar_argument_of_a_process_fails_the_tie(first_project, tmp_path):
    files, model = first_project
    assert census(files, tmp_path)["channels"] == model["channels"]
    placer = "TensorRef out,\n                  int n, int cols) {"
    call = "const_placer<C>(words, mem, out, n, cols)"
    changed = edit(edit(files, "accel_io.h", placer, placer.replace("cols)", "cols, int spare)")),
                   "accel_io.h", call, call.replace("cols)", "cols, 0)"))
    found = census(changed, tmp_path)["channels"]
    assert found - model["channels"] == Counter({("const_dataflow", "const_placer", "spare", 32): 1})


def test_an_extra_field_of_a_process_struct_fails_the_tie(first_project, tmp_path):
    """A field added to the tile geometry widens both channels that carry it (the gearbox's and the engine's
    job), and the census sees it: the modelled widths follow the struct, not the other way round."""
    files, model = first_project
    changed = edit(files, "gemm_engine.h", "    int fixed_rows, pot_rows, wbits, bias_rows;\n",
                   "    int fixed_rows, pot_rows, wbits, bias_rows, spare;\n")
    found = census(changed, tmp_path)["channels"]
    assert found - model["channels"] == Counter({("gemm_layer", "gearbox", "job", GEARBOX_JOB_BITS + 32): 1,
                                                 ("gemm_layer", "gemm_engine", "g", GEMM_JOB_BITS + 32): 1})


def test_items_are_priced_from_their_rtl_equivalents():
    """Every fitted structure kind has Yosys points for both families, with the synthesis command recorded."""
    from accelgen.perf.resource_model import _json

    data = _json("structure_costs.json")
    assert "synth_xilinx" in data["yosys"]["command"]
    for fam in ("xcup", "xc7"):
        assert set(data["structures"][fam]) == {"fifo", "gearbox", "select", "rotator", "maxi_read", "maxi_write"}
        for kind, entry in data["structures"][fam].items():
            assert len(entry["points"]) >= 2, kind
            assert any(p["lut"] > 0 for p in entry["points"]), kind


def test_graph_without_gelu_still_prices_the_instantiated_tables(graph):
    """The GELU tables exist in every generated engine (GELU_ENTRIES >= 1), so they are always priced."""
    assert any(isinstance(op, ir.Gelu) for op in graph.ops)
    s = structures(StructureFacts(tm=4, word_bits=128, slots_max=1, bias_rows_max=1, gelu_entries=1,
                                  acc_bits=20, out_rows=1, out_cols=10, out_bits=16, max_steps=3, img_lanes=2,
                                  act_bits=8))
    assert {(m.function, m.variable) for m in s.memories} >= {("gemm_engine", "gelu"), ("eltwise_layer", "table")}


def test_structure_costs_are_of_the_current_rtl():
    import hashlib

    from accelgen.perf.resource_model import _json
    from accelgen.resources import rtl_dir

    recorded = _json("structure_costs.json")["rtl_sha256"]
    now = {f: hashlib.sha256((rtl_dir() / f).read_bytes()).hexdigest() for f in recorded}
    assert recorded == now, "rtl/ changed since structure_costs.json: rerun scripts/synth_structures.py"
