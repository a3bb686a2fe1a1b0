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
from accelgen.check.pragmas import Pragma
from accelgen.check.project import enclosing_function, load_project
from accelgen.codegen import hls_project as hp
from accelgen.codegen.config import config_facts
from accelgen.design import integer_graph
from accelgen.frontend.importer import import_qonnx
from accelgen.hw.memory import memory_kind
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
    items = itemized_structures(structures(config_facts(art.hw), board), board.yosys_family)
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
    s = structures(structure_facts(design.engine, board, prof.plan, store_slots(prof, design)), board)
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
    return files, modelled(structures(structure_facts(design.engine, board, prof.plan, store_slots(prof, design)),
                                      board))


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
                                  sm_lanes=1, sm_n_max=1, sm_e_bits=10, sm_code_bits=6, ln_lanes=1, ln_d_max=1,
                                  ln_x_bits=8, act_bits=8), load_board("pynqz2"))
    assert {(m.function, m.variable) for m in s.memories} >= {("gemm_engine", "gelu"), ("eltwise_layer", "table")}


def test_structure_costs_are_of_the_current_rtl():
    import hashlib

    from accelgen.perf.resource_model import _json
    from accelgen.resources import rtl_dir

    recorded = _json("structure_costs.json")["rtl_sha256"]
    now = {f: hashlib.sha256((rtl_dir() / f).read_bytes()).hexdigest() for f in recorded}
    assert recorded == now, "rtl/ changed since structure_costs.json: rerun scripts/synth_structures.py"


# ------------------------------------------------------------------------------------------------
# Storage binding: every memory the model prices is bound in the HLS to the storage it is priced in, and
# has the shape it is priced with (issue 14)

BIND = re.compile(r"^\s*(?:#\s*pragma\s+|ACCEL_PRAGMA\()HLS BIND_STORAGE variable = (\w+)", re.M)
BOUND = re.compile(r"#pragma HLS BIND_STORAGE variable = (\w+) type = ram_s2p impl = (\w+)")


def preprocessed(folder: Path) -> str:
    import subprocess

    from accelgen.sim.csim import ap_types_dir, compiler

    return subprocess.run([compiler(), "-std=c++14", "-E", "-I", str(folder), "-I", str(ap_types_dir()),
                           str(folder / "accel_top.cpp")], capture_output=True, text=True, check=True).stdout


def bindings(files: dict, folder: Path) -> dict[tuple[str, str], str]:
    """(function, variable) -> impl of every BIND_STORAGE of the generated project: its function from the
    sources (libclang), its impl after preprocessing (accel_config.h's storage macros expanded)."""
    project = load_project(write_project(files, folder), [folder])
    sources = {Path(p.file).name: p.file for p in project.pragmas}
    where = Counter()
    for name, spelled in sources.items():
        text = (folder / name).read_text()
        for m in BIND.finditer(text):
            line = text.count("\n", 0, m.start(1)) + 1
            fn = enclosing_function(project, Pragma(spelled, line, "BIND_STORAGE", options={"variable": m.group(1)}))
            where[(fn.spelling, m.group(1))] += 1
    bound = BOUND.findall(preprocessed(folder))
    impl = dict(bound)
    assert set(where.values()) == {1} and len(impl) == len(bound), (where, bound)  # one binding each
    assert {v for _, v in where} == set(impl)
    return {(fn, var): impl[var] for fn, var in where}


def modelled_bindings(design, board, prof, s) -> dict[tuple[str, str], str]:
    """What the model prices: the weight banks (design.json), the activation memories, the structures."""
    w = design.engine.weight_memory
    acts = prof.plan.activations
    return {("gemm_engine", "wf"): w, ("gemm_engine", "wp"): w,
            (hp.TOP, "mem"): memory_kind(acts.bits, acts.depth(design.engine.tm), board),
            **{(m.function, m.variable): m.storage for m in s.memories if m.macro}}


SHAPE_PROGRAM = """#include <cstdio>
#include <type_traits>
#include "accel_config.h"
#include "accel_network.h"
using namespace accel;
template <class T, class = void> struct Width { static const int value = -1; };
template <class T> struct Width<T, decltype(void(T::width))> { static const int value = T::width; };
template <class T> void extents(const char* name) {
    std::printf("%s %d", name, Width<typename std::remove_all_extents<T>::type>::value);
    const int rank = std::rank<T>::value;
    if (rank > 0) std::printf(" %d", int(std::extent<T, 0>::value));
    if (rank > 1) std::printf(" %d", int(std::extent<T, 1>::value));
    if (rank > 2) std::printf(" %d", int(std::extent<T, 2>::value));
    if (rank > 3) std::printf(" %d", int(std::extent<T, 3>::value));
    static_assert(rank <= 4, "more dimensions than printed");
    std::printf("\\n");
}
int main() {
BODY
}
"""


def hls_shapes(files: dict, folder: Path, keys) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(function, variable) -> (element width, depth, banks) of the generated arrays ``keys``: the declared
    type and the ARRAY_PARTITION factors (libclang), evaluated against the generated Config by g++ (width
    -1: an element without an ap_int width, the engine's LaneParams struct)."""
    import subprocess

    from accelgen.check.pragmas import array_banking
    from accelgen.sim.csim import ap_types_dir, compiler

    project = load_project(write_project(files, folder), [folder])
    lines, banking = [], {}
    for i, (function, var) in enumerate(keys):
        fn = project.functions[function][0]
        aliases = {c.spelling: c.underlying_typedef_type.spelling for c in fn.walk_preorder()
                   if ca.kind(c) == "TYPEDEF_DECL"}

        def cxx(text: str) -> str:
            for alias, full in aliases.items():
                text = re.sub(rf"\b{alias}::", f"{full}::", text)
            return re.sub(r"\bC::", "Config::", text.replace("<C>", "<Config>"))

        decl = next(c for c in fn.walk_preorder() if ca.kind(c) == "VAR_DECL" and c.spelling == var)
        pragmas = [p for p in project.pragmas if p.option("variable") == var and enclosing_function(project, p) == fn]
        banking[(function, var)] = array_banking(pragmas).get(var, {})
        lines.append(f"    {{ using T{i} = {cxx(decl.type.spelling)}; extents<T{i}>(\"{i}\"); }}")
        for d, b in sorted(banking[(function, var)].items()):
            if b.factor:
                lines.append(f"    std::printf(\"{i}:{d} %d\\n\", int({cxx(b.factor)}));")
    (folder / "shapes.cpp").write_text(SHAPE_PROGRAM.replace("BODY", "\n".join(lines)))
    subprocess.run([compiler(), "-std=c++14", "-I", str(folder), "-I", str(ap_types_dir()), "-o",
                    str(folder / "shapes"), str(folder / "shapes.cpp")], check=True)
    out = subprocess.run([str(folder / "shapes")], capture_output=True, text=True, check=True).stdout.split("\n")
    dims = {int(w[0]): [int(x) for x in w[1:]] for w in (ln.split() for ln in out if ln and ":" not in ln.split()[0])}
    factors = {tuple(map(int, w[0].split(":"))): int(w[1]) for w in (ln.split() for ln in out if ":" in ln)}
    shapes = {}
    for i, key in enumerate(keys):
        width, *extent = dims[i]
        depth = banks = 1
        for d, n in enumerate(extent, 1):
            b = banking[key].get(d) or banking[key].get(0)
            if b is None:
                depth *= n
            elif b.style == "complete":
                banks *= n
            else:  # cyclic / block: factor banks of ceil(n / factor)
                banks, depth = banks * factors[(i, d)], depth * -(-n // factors[(i, d)])
        shapes[key] = (width, depth, banks)
    return shapes


def memory_shapes(s) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {(m.function, m.variable): (m.width, m.depth, m.banks) for m in s.memories if m.macro}


OUTBUF = ("run_network", "outbuf")


def check_shapes(found: dict, model: dict) -> None:
    """Equal shapes; the LaneParams element (no ap_int width) is the one whose width is LANE_PARAM_BITS, and
    the output buffer's logits are priced at the profile's all-8-bit bound, at least the generated width
    (test_model_structure_facts_are_the_generated_config)."""
    assert [k for k, (w, _, _) in found.items() if w == -1] == [("gemm_engine", "sp")]
    assert 0 < found[OUTBUF][0] <= model[OUTBUF][0]
    assert {k: (w if w != -1 and k != OUTBUF else model[k][0], d, b) for k, (w, d, b) in found.items()} == model


BINDING_DESIGNS = (("zcu102", None), ("pynqz2", None))


@pytest.fixture(scope="module", params=BINDING_DESIGNS, ids=lambda d: f"{d[0]}-fps{d[1] or 'max'}")
def bound_project(request, graph, prof):
    design, board = searched(prof, *request.param)
    files = hp.render_hls_project(integer_graph(graph, design), design, board)
    s = structures(structure_facts(design.engine, board, prof.plan, store_slots(prof, design)), board)
    return files, modelled_bindings(design, board, prof, s), memory_shapes(s)


def test_every_priced_memory_is_bound_to_its_priced_storage_and_shape(bound_project, tmp_path):
    files, binds, shapes = bound_project
    assert bindings(files, tmp_path) == binds
    check_shapes(hls_shapes(files, tmp_path, sorted(shapes)), shapes)


def test_deit_tiny_memories_are_bound_to_their_priced_storage_and_shape(tmp_path_factory, tmp_path):
    """The largest search design affordable here: DeiT-tiny on the ZCU102 at --fps max (its bias table is
    the one memory the rule moves to block RAM)."""
    from accelgen.model_source import export_preset

    g = import_qonnx(export_preset("deit_tiny", tmp_path_factory.mktemp("deit")))
    p = profile(g)
    design, board = searched(p, "zcu102", None)
    files = hp.render_hls_project(integer_graph(g, design), design, board)
    s = structures(structure_facts(design.engine, board, p.plan, store_slots(p, design)), board)
    assert {m.variable: m.storage for m in s.memories}["bias"] == "bram"
    assert bindings(files, tmp_path) == modelled_bindings(design, board, p, s)
    check_shapes(hls_shapes(files, tmp_path, sorted(memory_shapes(s))), memory_shapes(s))


BINDING_MUTATIONS = {
    "another impl": ("accel_config.h", "#define ACCEL_OUTBUF_MEMORY lutram", "#define ACCEL_OUTBUF_MEMORY bram"),
    "an unbound memory": ("e2softmax.h", "ACCEL_PRAGMA(HLS BIND_STORAGE variable = cbuf", "// ("),
}
SHAPE_MUTATIONS = {
    "an extra bank": ("e2softmax.h", "cbuf[2][S::ROW_SLOTS]", "cbuf[3][S::ROW_SLOTS]"),
    "a deeper memory": ("e2softmax.h", "cbuf[2][S::ROW_SLOTS]", "cbuf[2][S::ROW_SLOTS + C::SM_LANES]"),
    "a wider element": ("ailayernorm.h", "typename L::x_t xbuf[2]", "ap_int<C::LN_X_BITS + 1> xbuf[2]"),
}


@pytest.mark.parametrize("mutation", BINDING_MUTATIONS)
def test_a_changed_binding_fails_the_tie(bound_project, tmp_path, mutation):
    files, binds, _ = bound_project
    name, old, new = BINDING_MUTATIONS[mutation]
    assert bindings(files, tmp_path) == binds
    assert bindings(edit(files, name, old, new), tmp_path / "changed") != binds


@pytest.mark.parametrize("mutation", SHAPE_MUTATIONS)
def test_a_changed_memory_shape_fails_the_tie(bound_project, tmp_path, mutation):
    files, _, shapes = bound_project
    name, old, new = SHAPE_MUTATIONS[mutation]
    with pytest.raises(AssertionError):
        check_shapes(hls_shapes(edit(files, name, old, new), tmp_path, sorted(shapes)), shapes)


def test_the_storage_rule_takes_the_smallest_share_and_grows_with_the_memory():
    """hw/memory.py memory_kind: the chosen kind's share of the part is the least of the candidates (LUT RAM
    only up to LUTRAM_MAX_DEPTH), and never shrinks as a memory grows."""
    from accelgen.hw.memory import LUTRAM_MAX_DEPTH, URAM_SHAPES, blocks_for, lutram_luts

    def shares(board, w, d):
        r = board.resources
        out = {"bram": blocks_for(w, d) / r["bram36"]}
        if d <= LUTRAM_MAX_DEPTH:
            out["lutram"] = lutram_luts(w, d) / r["lut"]
        if r["uram"]:
            out["uram"] = blocks_for(w, d, URAM_SHAPES) / r["uram"]
        return out

    for name in BOARDS:
        board = load_board(name)
        assert memory_kind(8, 16, board) == "lutram" and memory_kind(16, 8192, board) != "lutram"
        previous = {}
        for w in (1, 6, 8, 22, 64, 75, 144):
            for d in (4, 64, 196, 256, 294, 1024, 4096, 9000):
                s = shares(board, w, d)
                kind = memory_kind(w, d, board)
                assert s[kind] == min(s.values()), (name, w, d)
                for (w0, d0), s0 in previous.items():
                    if w0 <= w and d0 <= d:
                        assert s[kind] >= s0, (name, (w0, d0), (w, d))
                previous[(w, d)] = s[kind]
