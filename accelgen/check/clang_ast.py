"""libclang access for the rule checker: parse a translation unit the way Vitis HLS compiles it (C++14,
the ap_types headers of the installed hls4ml package) and read what the rules need from the cursors:
operators, callees, loop variables, source locations."""

from __future__ import annotations

import bisect
import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

CXX_STANDARD = "c++14"  # what Vitis HLS documents (UG1399: C/C++ 11/14)
LOOPS = ("FOR_STMT", "WHILE_STMT", "DO_STMT")
SIGNED_KINDS = ("INT", "LONG", "LONGLONG", "SHORT", "SCHAR", "CHAR_S", "INT128")
UNSIGNED_KINDS = ("UINT", "ULONG", "ULONGLONG", "USHORT", "UCHAR", "CHAR_U", "UINT128", "BOOL")


def cindex():
    try:
        import clang.cindex as ci
    except ImportError:
        raise InputError("the rule checker needs libclang: pip install libclang (see pyproject.toml)") from None
    return ci


@functools.lru_cache(maxsize=1)
def compiler_include_dir() -> str:
    """The compiler's own headers (stddef.h, ...), which the libclang wheel does not ship."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise InputError("the rule checker needs gcc's builtin headers (install gcc)")
    return subprocess.run([cc, "-print-file-name=include"], capture_output=True, text=True).stdout.strip()


def parse(source: Path, include_dirs: list[Path]):
    """The translation unit of `source`; an error in our files is bad input."""
    from ..sim.csim import ap_types_dir

    ci = cindex()
    args = ["-x", "c++", f"-std={CXX_STANDARD}", *[f"-I{d}" for d in include_dirs],
            "-isystem", str(ap_types_dir()), "-isystem", compiler_include_dir()]
    # the preprocessing record keeps macro definitions and uses: pragmas written through macros (macros.py)
    tu = ci.Index.create().parse(str(source), args=args, options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD)
    for diag in tu.diagnostics:
        if diag.severity >= ci.Diagnostic.Error:
            where = f"{diag.location.file}:{diag.location.line}" if diag.location.file else str(source)
            raise InputError(f"{where}: does not compile as C++14: {diag.spelling}")
    return tu


@dataclass(frozen=True)
class Where:
    file: str
    line: int


def where(cursor) -> Where:
    loc = cursor.location
    return Where(loc.file.name if loc.file else "", loc.line)


def kind(cursor) -> str:
    return cursor.kind.name


class Tokens:
    """Every file's tokens, tokenized once: the spellings within an extent, by offset."""

    def __init__(self, tu):
        self.tu = tu
        self.files: dict[str, tuple[list[int], list[str]]] = {}

    def of_file(self, name: str) -> tuple[list[int], list[str]]:
        if name not in self.files:
            ci = cindex()
            f = self.tu.get_file(name)
            size = Path(name).stat().st_size
            extent = ci.SourceRange.from_locations(ci.SourceLocation.from_offset(self.tu, f, 0),
                                                   ci.SourceLocation.from_offset(self.tu, f, size))
            tokens = list(self.tu.get_tokens(extent=extent))
            self.files[name] = ([t.extent.start.offset for t in tokens], [t.spelling for t in tokens])
        return self.files[name]

    def spellings(self, cursor) -> list[str]:
        e = cursor.extent
        if e.start.file is None:
            return []
        starts, spellings = self.of_file(e.start.file.name)
        return spellings[bisect.bisect_left(starts, e.start.offset):bisect.bisect_left(starts, e.end.offset)]

    def text(self, cursor) -> str:
        """The cursor's tokens without spaces (`C::TM`, `b*C::LANES+l`)."""
        return "".join(self.spellings(cursor))

    def display(self, cursor, limit: int = 80) -> str:
        """The cursor's code for a message: a space only between two words (`typename S::t(x)>>k`)."""
        out = ""
        for t in self.spellings(cursor):
            out += (" " if out and (out[-1].isalnum() or out[-1] == "_") and (t[0].isalnum() or t[0] == "_")
                    else "") + t
        return out if len(out) <= limit else out[:limit - 3] + "..."

    def after(self, cursor, offset: int) -> str:
        """The first token of `cursor` at or after `offset`."""
        starts, spellings = self.of_file(cursor.extent.start.file.name)
        i = bisect.bisect_left(starts, offset)
        return spellings[i] if i < len(spellings) and starts[i] < cursor.extent.end.offset else ""


def children(cursor) -> list:
    return list(cursor.get_children())


def expr_children(cursor) -> list:
    """Children that are expressions (type references and template names dropped)."""
    return [c for c in cursor.get_children() if not kind(c).endswith("_REF") or kind(c) == "MEMBER_REF_EXPR"
            or kind(c) == "DECL_REF_EXPR"]


def operator_name(cursor) -> str | None:
    """The operator of a call to `operator<op>` (dependent or resolved), e.g. '+', '>>=', else None."""
    if kind(cursor) != "CALL_EXPR":
        return None
    if cursor.spelling.startswith("operator"):
        return cursor.spelling[len("operator"):]
    for c in cursor.get_children():
        if kind(c) in ("DECL_REF_EXPR", "UNEXPOSED_EXPR"):
            ref = next(c.get_children(), None)
            if ref is not None and kind(ref) == "OVERLOADED_DECL_REF" and ref.spelling.startswith("operator"):
                return ref.spelling[len("operator"):]
    return None


def operator_operands(cursor, tokens: Tokens) -> list:
    """The operands of an operator call: the children other than the operator's name."""
    op = operator_name(cursor)
    return [c for c in cursor.get_children() if tokens.text(c) != op]


def binary_operator(cursor, tokens: Tokens) -> tuple[str, object, object] | None:
    """(op, lhs, rhs) of a built-in or overloaded binary operator, else None."""
    k = kind(cursor)
    if k in ("BINARY_OPERATOR", "COMPOUND_ASSIGNMENT_OPERATOR"):
        lhs, rhs = children(cursor)[:2]
        return tokens.after(cursor, lhs.extent.end.offset), lhs, rhs
    op = operator_name(cursor)
    if op is not None:
        operands = operator_operands(cursor, tokens)
        if len(operands) == 2:
            return op, operands[0], operands[1]
    return None


def unary_operator(cursor, tokens: Tokens) -> tuple[str, object] | None:
    k = kind(cursor)
    if k == "UNARY_OPERATOR":
        spelled = tokens.spellings(cursor)
        operand = children(cursor)
        if not spelled or not operand:
            return None
        op = spelled[0] if spelled[0] in ("++", "--", "-", "+", "!", "~", "*", "&") else spelled[-1]
        return op, operand[0]
    op = operator_name(cursor)
    if op is not None:
        operands = operator_operands(cursor, tokens)
        if len(operands) == 1:
            return op, operands[0]
    return None


def callee_name(cursor) -> str:
    """The name a (possibly dependent) call refers to."""
    if cursor.spelling:
        return cursor.spelling
    first = next(cursor.get_children(), None)
    if first is None:
        return ""
    for d in first.walk_preorder():
        if kind(d) in ("OVERLOADED_DECL_REF", "DECL_REF_EXPR") and d.spelling:
            return d.spelling
    return ""


def call_arguments(cursor) -> list:
    args = list(cursor.get_arguments())
    return args if args else children(cursor)[1:]


def is_method_call(cursor) -> bool:
    """`object.method(...)`: the callee (possibly behind an implicit cast) is a member reference."""
    first = next(cursor.get_children(), None)
    return first is not None and kind(strip_implicit(first)) == "MEMBER_REF_EXPR"


def strip_implicit(cursor):
    while kind(cursor) == "UNEXPOSED_EXPR" and len(children(cursor)) == 1:
        cursor = children(cursor)[0]
    return cursor


def loop_variables(loop) -> list:
    """The variables a for statement declares in its init."""
    if kind(loop) != "FOR_STMT":
        return []
    first = next(loop.get_children(), None)
    if first is None or kind(first) != "DECL_STMT":
        return []
    return [c for c in first.get_children() if kind(c) == "VAR_DECL"]


def loop_bound_text(loop, tokens: Tokens) -> str | None:
    """`N` of `for (int i = 0; i < N; ...)`, as text, when the loop has that shape."""
    decls = loop_variables(loop)
    if len(decls) != 1 or tokens.text(decls[0]).split("=")[-1] != "0":
        return None
    for c in children(loop)[1:]:
        parts = binary_operator(c, tokens)
        if parts is not None and parts[0] == "<" and tokens.text(parts[1]) == decls[0].spelling:
            return tokens.text(parts[2])
    return None


def signedness(cursor) -> str:
    """'signed', 'unsigned' or '' (unknown) of an integer expression's type."""
    t = cursor.type
    spelling = t.spelling.replace("const ", "")
    if spelling.startswith("ap_int<") or spelling.startswith("ap_fixed<"):
        return "signed"
    if spelling.startswith("ap_uint<") or spelling.startswith("ap_ufixed<"):
        return "unsigned"
    canon = t.get_canonical().kind.name
    if canon in SIGNED_KINDS:
        return "signed"
    if canon in UNSIGNED_KINDS:
        return "unsigned"
    return ""


def decl_key(decl) -> tuple[str, int]:
    """Identity of a declaration: its file and offset."""
    loc = decl.location
    return (loc.file.name if loc.file else "", loc.offset)


def line_in(cursor, file: str, line: int) -> bool:
    e = cursor.extent
    return e.start.file is not None and e.start.file.name == file and e.start.line <= line <= e.end.line
