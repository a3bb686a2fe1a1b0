"""The HLS rule checker (accelgen.check): every rule fires on a deliberately bad kernel, at the marked
line, and stays silent on its good twin; the CLI maps findings and bad input to exit codes 1 and 2."""

from __future__ import annotations

import re

import pytest

from accelgen.check import RULES, check_project
from accelgen.check.macros import Macro, expand, pragma_levels
from accelgen.check.pragmas import array_banking, parse_pragmas, split_options
from accelgen.check.values import CONSTANT, RUNTIME, VARYING, add, modulo, multiply
from accelgen.cli import main

# Each line marked `// BAD <rule>` must be reported with that rule, and nothing else may be.
BAD = r"""
#include <ap_int.h>
static const int LANES = 4;

int pick(const int b[64], int col) {
#pragma HLS INLINE
    return b[col];  // reported at the call in lanes_call
}

void runtime_bank(const int in[64], int out[LANES], int base) {
    static int buf[64];
#pragma HLS ARRAY_PARTITION variable = buf cyclic factor = LANES
fill:
    for (int i = 0; i < 64; ++i) buf[i] = in[i];
rows:
    for (int r = 0; r < 16; ++r) {
#pragma HLS PIPELINE II = 1
    lanes:
        for (int l = 0; l < LANES; ++l) {
            out[l] = buf[base + r * LANES + l];  // BAD runtime-bank
        }
    lanes_call:
        for (int l = 0; l < LANES; ++l) {
            out[l] += pick(buf, r + l);  // BAD runtime-bank
        }
    }
}

ap_uint<64> read_word(const ap_uint<64>* p, int i) {
#pragma HLS INLINE
    return p[i];  // reported at the call in maxi_conditional
}

void maxi_conditional(const ap_uint<64>* src, int n, ap_uint<8> out[256]) {
#pragma HLS INTERFACE m_axi port = src bundle = gmem0 depth = 32
    ap_uint<64> w = 0;
load:
    for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
        if (i % 8 == 0) w = src[i / 8];  // BAD maxi-conditional
        if (i == 1) w ^= read_word(src, 0);  // BAD maxi-conditional
        out[i] = w.range(8 * (i % 8) + 7, 8 * (i % 8));
    }
}

ap_uint<32> signed_shift(ap_uint<32> x, int s) {
    x >>= s;  // BAD signed-shift
    return x << s;  // BAD signed-shift
}

void pipelined_division(int n, int d, int out[256]) {
div:
    for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
        out[i] = i / d;  // BAD pipelined-division
        out[i + 1] = i % d;  // BAD pipelined-division
    }
}

void carried_chain(const int in[64], int& total) {
    int acc = 0;
rows:
    for (int r = 0; r < 16; ++r) {
#pragma HLS PIPELINE II = 1
    lanes:
        for (int l = 0; l < LANES; ++l) {
            acc += in[r * LANES + l];  // BAD carried-chain
        }
    }
    total = acc;
}

struct Run {
    int max;
};

void run_update(Run& run, int e) {
#pragma HLS INLINE
    run.max = e > run.max ? e : run.max;  // reported at the call in carried_chain_call
}

void carried_chain_call(const int in[64], int& best) {
    Run run = {0};
rows:
    for (int r = 0; r < 16; ++r) {
#pragma HLS PIPELINE II = 1
    lanes:
        for (int l = 0; l < LANES; ++l) {
#pragma HLS UNROLL
            run_update(run, in[r * LANES + l]);  // BAD carried-chain
        }
    }
    best = run.max;
}

void dependence(int buf[64], const int idx[64]) {
#pragma HLS DEPENDENCE variable = buf inter false  // BAD dependence-placement
loop:
    for (int i = 0; i < 64; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = nothing inter false  // BAD dependence-placement
        buf[idx[i]] += 1;
    }
}

int cxx17(int x) {
    if constexpr (LANES > 2) return x;  // BAD cxx14
    return 0;
}

#define PRAGMA_TEXT(x) _Pragma(#x)
#define FORM_FACTOR 4

template <class C>
struct Types {
    static const int N = C::N;
};

template <class C>
void forms(const int in[16], int out[16]) {
    static int a[16], b[16], c[16], d[16];
#pragma HLS ARRAY_PARTITION variable = a cyclic factor = Types<C>::N dim = 1  // BAD pragma-form
#pragma HLS ARRAY_PARTITION variable = b cyclic factor = C::N * 2  // BAD pragma-form
#pragma HLS ARRAY_PARTITION variable = c cyclic factor = FORM_FACTOR  // BAD pragma-form
PRAGMA_TEXT(HLS ARRAY_PARTITION variable = d cyclic factor = FORM_FACTOR)  // BAD pragma-form
#pragma HLS RESOURCE variable = a core = RAM_2P  // BAD pragma-form
copy:
    for (int i = 0; i < 16; ++i) out[i] = a[i] + b[i] + c[i] + d[i] + in[i];
}

int desc_field(const int descs[64], int s, int f) {
#pragma HLS INLINE
    return descs[s * 8 + f];  // reported at the call in rows
}

void axilite_array(const int descs[64], int n_steps, int out[64]) {
#pragma HLS INTERFACE s_axilite port = descs bundle = control
    int d[8];
#pragma HLS ARRAY_PARTITION variable = d complete
steps:
    for (int s = 0; s < n_steps; ++s) {
        const int n = descs[s * 8 + 1];  // BAD axilite-array
    copy:
        for (int i = 0; i < 8; ++i) d[i] = descs[s * 8 + i];  // BAD axilite-array
    rows:
        for (int r = 0; r < n; ++r) {
#pragma HLS PIPELINE II = 1
            out[r] = d[2] + desc_field(descs, s, 3);  // BAD axilite-array
        }
    }
}
"""

# The same intents written the way the rules ask for.
GOOD = r"""
#include <ap_int.h>
static const int LANES = 4;

int pick(const int b[64], int col) {
#pragma HLS INLINE
    return b[col];
}

void runtime_bank(const int in[64], int out[LANES]) {
    static int buf[64];
#pragma HLS ARRAY_PARTITION variable = buf cyclic factor = LANES
fill:
    for (int i = 0; i < 64; ++i) buf[i] = in[i];
rows:
    for (int r = 0; r < 16; ++r) {
#pragma HLS PIPELINE II = 1
    lanes:
        for (int l = 0; l < LANES; ++l) {
            out[l] = buf[r * LANES + l];
        }
    lanes_call:
        for (int l = 0; l < LANES; ++l) {
            out[l] += pick(buf, r * LANES + l);
        }
    }
}

ap_uint<64> read_word(const ap_uint<64>* p, int i) {
#pragma HLS INLINE
    return p[i];
}

void maxi_conditional(const ap_uint<64>* src, int words, ap_uint<8> out[256]) {
#pragma HLS INTERFACE m_axi port = src bundle = gmem0 depth = 32
load:
    for (int i = 0; i < words; ++i) {
#pragma HLS PIPELINE II = 1
        const ap_uint<64> w = read_word(src, i);
    bytes:
        for (int b = 0; b < 8; ++b) {
            if (i < 32) out[8 * i + b] = w.range(8 * b + 7, 8 * b);
        }
    }
}

ap_uint<32> signed_shift(ap_uint<32> x, ap_uint<5> s) {
    x >>= s;
    return (x >> s) << 3;
}

void pipelined_division(int n, int d, int out[256]) {
    int q = 0, r = 0;
div:
    for (int i = 0; i < n; ++i) {
#pragma HLS PIPELINE II = 1
        out[i] = q + i / 8 + r % 4;
        if (++r == d) {
            r = 0;
            ++q;
        }
    }
}

void carried_chain(const int in[64], int& total) {
    int acc = 0;
rows:
    for (int r = 0; r < 16; ++r) {
#pragma HLS PIPELINE II = 1
        int part[LANES];
#pragma HLS ARRAY_PARTITION variable = part complete
    lanes:
        for (int l = 0; l < LANES; ++l) {
            part[l] = in[r * LANES + l];
        }
        acc += (part[0] + part[1]) + (part[2] + part[3]);
    }
    total = acc;
}

struct Run {
    int max;
};

void run_update(Run& run, int e) {
#pragma HLS INLINE
    run.max = e > run.max ? e : run.max;
}

void carried_chain_call(const int in[64], int& best) {
    Run run = {0};
rows:
    for (int r = 0; r < 16; ++r) {
#pragma HLS PIPELINE II = 1
        int m[LANES];
#pragma HLS ARRAY_PARTITION variable = m complete
    lanes:
        for (int l = 0; l < LANES; ++l) {
#pragma HLS UNROLL
            m[l] = in[r * LANES + l];
        }
        const int a = m[0] > m[1] ? m[0] : m[1];
        const int b = m[2] > m[3] ? m[2] : m[3];
        run_update(run, a > b ? a : b);
    }
    best = run.max;
}

void dependence(int buf[64], const int idx[64]) {
loop:
    for (int i = 0; i < 64; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = buf inter false
        buf[idx[i]] += 1;
    }
}

int cxx14(int x) {
    if (LANES > 2) return x;
    return 0;
}

#define PRAGMA_TEXT(x) _Pragma(#x)
#define PRAGMA_HLS(x) PRAGMA_TEXT(x)
#define FORM_FACTOR 4

template <class C>
void forms(const int in[16], int out[16]) {
    static int a[16], b[16], c[16], d[16];
#pragma HLS ARRAY_PARTITION variable = a cyclic factor = C::N dim = 1
#pragma HLS ARRAY_PARTITION variable = b cyclic factor = C::N2
PRAGMA_HLS(HLS ARRAY_PARTITION variable = c cyclic factor = FORM_FACTOR)
#pragma HLS BIND_STORAGE variable = d type = ram_s2p impl = lutram
copy:
    for (int i = 0; i < 16; ++i) a[i] = in[i];
rows:
    for (int r = 0; r < 4; ++r) {
#pragma HLS PIPELINE II = 1
    lanes:
        for (int l = 0; l < C::N; ++l) {
            out[l] += a[r * C::N + l] + b[l] + c[l] + d[l];
        }
    }
}

int desc_field(const int d[8], int f) {
#pragma HLS INLINE
    return d[f];
}

void axilite_array(const int descs[64], int n_steps, int out[64]) {
#pragma HLS INTERFACE s_axilite port = descs bundle = control
    int d[8];
#pragma HLS ARRAY_PARTITION variable = d complete
steps:
    for (int s = 0; s < n_steps; ++s) {
    copy:
        for (int i = 0; i < 8; ++i) {
#pragma HLS PIPELINE II = 1
            d[i] = descs[s * 8 + i];
        }
    rows:
        for (int r = 0; r < d[1]; ++r) {
#pragma HLS PIPELINE II = 1
            out[r] = d[2] + desc_field(d, 3);
        }
    }
}
"""

MARK = re.compile(r"// BAD ([\w-]+)")


def marked(source: str) -> set[tuple[int, str]]:
    return {(n, m.group(1)) for n, line in enumerate(source.splitlines(), 1) for m in MARK.finditer(line)}


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    out = {}
    for name, source in (("bad", BAD), ("good", GOOD)):
        folder = tmp_path_factory.mktemp(name)
        (folder / "accel_top.cpp").write_text(source)
        out[name] = (folder, check_project(folder))
    return out


def test_bad_kernel_fires_exactly_at_the_marked_lines(projects):
    _, findings = projects["bad"]
    assert {(f.line, f.rule) for f in findings} == marked(BAD)
    assert all(f.file == "accel_top.cpp" and f.message for f in findings)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_fires_on_the_bad_kernel(projects, rule):
    assert rule in {f.rule for f in projects["bad"][1]}


def test_good_twins_are_clean(projects):
    assert [f.format() for f in projects["good"][1]] == []


def test_call_site_anchors_a_finding_inside_a_callee(projects):
    lines = BAD.splitlines()
    (finding,) = [f for f in projects["bad"][1] if "pick(" in lines[f.line - 1]]
    callee_line = lines.index("    return b[col];  // reported at the call in lanes_call") + 1
    assert finding.rule == "runtime-bank" and finding.message.endswith(f"(at accel_top.cpp:{callee_line})")


def test_cli_exit_codes(projects, tmp_path, capsys):
    assert main(["check", str(projects["good"][0])]) == 0
    assert "clean" in capsys.readouterr().out
    assert main(["check", str(projects["bad"][0])]) == 1
    out = capsys.readouterr().out
    assert "accel_top.cpp:" in out and "findings (" in out
    assert main(["check", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no accel_top.cpp" in err
    (tmp_path / "accel_top.cpp").write_text("void f( {\n")
    assert main(["check", str(tmp_path)]) == 2
    assert "does not compile as C++14" in capsys.readouterr().err


def test_bank_arithmetic():
    base_plus_lane = add([multiply(RUNTIME, "b", CONSTANT, "C::LANES"), VARYING])
    assert modulo(base_plus_lane, CONSTANT, "C::LANES").distinct_per_copy
    assert modulo(base_plus_lane, CONSTANT, "C::TM").runtime
    assert add([RUNTIME, VARYING]).runtime and not add([CONSTANT, VARYING]).runtime


def test_pragma_options():
    text = "#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = E<C>::N dim = 3\n"
    (p,) = parse_pragmas(text, "x.h")
    assert (p.line, p.kind, p.option("variable")) == (1, "ARRAY_PARTITION", "bias")
    banking = array_banking([p])["bias"][3]
    assert (banking.style, banking.factor) == ("cyclic", "E<C>::N")
    flags, options = split_options(" variable = b cyclic factor = C::N * 2 dim = 1 off = true  // C::X\n")
    assert (flags, options) == ({"cyclic"}, {"variable": "b", "factor": "C::N*2", "dim": "1", "off": "true"})
    assert split_options("II=CONFIG_T::reuse_factor") == (set(), {"ii": "CONFIG_T::reuse_factor"})
    assert split_options("depth = f(a, b) dim = 2")[1] == {"depth": "f(a,b)", "dim": "2"}


def test_pragma_form_messages_name_the_option_and_the_fix(projects):
    lines = BAD.splitlines()
    found = {lines[f.line - 1].split("//")[0].strip(): f.message for f in projects["bad"][1] if f.rule == "pragma-form"}
    template_id = found["#pragma HLS ARRAY_PARTITION variable = a cyclic factor = Types<C>::N dim = 1"]
    assert "ARRAY_PARTITION factor = Types<C>::N" in template_id and "emit a Config member" in template_id
    assert "factor = C::N*2" in found["#pragma HLS ARRAY_PARTITION variable = b cyclic factor = C::N * 2"]
    one_level = found["PRAGMA_TEXT(HLS ARRAY_PARTITION variable = d cyclic factor = FORM_FACTOR)"]
    assert one_level.startswith("PRAGMA_TEXT(HLS ARRAY_PARTITION) factor = FORM_FACTOR: macro `FORM_FACTOR`")
    assert "RESOURCE: not a pragma UG1399" in found["#pragma HLS RESOURCE variable = a core = RAM_2P"]


def test_macro_pragmas_expand_through_two_levels():
    """`_Pragma(#x)` stringizes its argument as written; a macro passing x on to it expands x's macros first."""
    macros = {"TEXT": Macro(("x",), ("_Pragma", "(", "#", "x", ")"), True),
              "HLS_PRAGMA": Macro(("x",), ("TEXT", "(", "x", ")"), True),
              "OTHER": Macro(("x",), ("x",), True),
              "DEPTH": Macro(None, ("INNER",), True), "INNER": Macro(None, ("8",), True)}
    assert [pragma_levels(n, macros) for n in ("TEXT", "HLS_PRAGMA", "OTHER", "DEPTH")] == [1, 2, 0, 0]
    assert expand(["depth", "=", "DEPTH", "variable", "=", "s"], macros) == ["depth", "=", "8", "variable", "=", "s"]


def test_generated_project_is_checked_end_to_end(tmp_path):
    """The whole generated project parses and every finding names a known rule and a real line (whether the
    current kernels are clean is the HLS restructuring's business, not asserted here)."""
    from test_hls_codegen import design_for

    from accelgen.board import load_board
    from accelgen.check.project import load_project
    from accelgen.codegen import hls_project as hp
    from accelgen.design import Engine, integer_graph
    from accelgen.frontend.importer import import_qonnx
    from accelgen.model_source import default_model_path

    graph = import_qonnx(default_model_path())
    design = design_for(graph, Engine(tm=4, tn_fixed=4, tn_pot=2, dsp_packing=True))
    hp.write_hls_project((integer_graph(graph, design), design, load_board("zcu102")), tmp_path)
    findings = check_project(tmp_path)
    assert findings == sorted(findings)
    # the weight banks' BIND_STORAGE, written through ACCEL_PRAGMA, is seen with its macro expanded
    project = load_project(tmp_path / "accel_top.cpp", [tmp_path])
    impls = {p.option("variable"): p.option("impl") for p in project.pragmas
             if p.via == "ACCEL_PRAGMA" and p.kind == "BIND_STORAGE"}
    assert impls["wf"] == impls["wp"] == design.engine.weight_memory
    assert set(impls.values()) <= {"lutram", "bram", "uram"}
    for f in findings:
        assert f.rule in RULES and 1 <= f.line <= len((tmp_path / f.file).read_text().splitlines()), f.format()
