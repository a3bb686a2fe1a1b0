"""A parsed HLS project as the rules see it: the function definitions in the project's own files, every HLS
pragma (`#pragma HLS`, or written through a pragma macro: macros.py) with the scope (function body or loop
body) it sits in, and the configuration constants (`static constexpr int NAME = value;`) that let loop trip
counts be known."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import clang_ast as ca
from .macros import Macro, macro_pragmas, macro_table
from .pragmas import Pragma, parse_pragmas

FUNCTION_KINDS = ("FUNCTION_DECL", "FUNCTION_TEMPLATE")
CONSTANT = re.compile(r"static\s+constexpr\s+(?:int|bool|long)\s+(\w+)\s*=\s*(-?\d+|true|false)\s*;")
STATIC_MEMBER = re.compile(r"static\s+const(?:expr)?\s+int\s+(\w+)\s*=\s*([^;]+);")
QUALIFIED = re.compile(r"^(?:[A-Za-z_]\w*(?:<\w+>)?::)?([A-Za-z_]\w*)$")


@dataclass
class Project:
    root: Path
    tu: object
    tokens: ca.Tokens
    functions: dict[str, list] = field(default_factory=dict)  # name -> definitions in our files
    pragmas: list[Pragma] = field(default_factory=list)
    scopes: dict[tuple[str, int], list[Pragma]] = field(default_factory=dict)  # scope cursor -> its pragmas
    constants: dict[str, int] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # static constant member -> its initializer
    owned: dict[str, bool] = field(default_factory=dict)  # file name -> inside the project folder
    scope_cursors: dict[tuple[str, int], object] = field(default_factory=dict)  # pragma (file, line) -> scope
    macros: dict[str, Macro] = field(default_factory=dict)

    def own(self, cursor) -> bool:
        f = cursor.location.file
        if f is None:
            return False
        if f.name not in self.owned:
            self.owned[f.name] = Path(f.name).resolve().is_relative_to(self.root)
        return self.owned[f.name]

    def relative(self, file: str) -> str:
        path = Path(file).resolve()
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else path.name

    def pragmas_of(self, scope) -> list[Pragma]:
        """The pragmas directly in a function's or loop's body (not in a nested loop)."""
        return self.scopes.get(ca.decl_key(scope), [])

    def spellings(self, constant: str) -> set[str]:
        """Texts naming the same constant: `EngineTypes<C>::LANES` and its initializer `C::TN_FIXED+C::TN_POT`."""
        constant = constant.replace(" ", "")
        m = QUALIFIED.match(constant)
        alias = self.members.get(m.group(1)) if m else None
        return {constant} | ({alias} if alias else set())

    def trip_count(self, loop) -> int | None:
        bound = ca.loop_bound_text(loop, self.tokens)
        if bound is None:
            return None
        if bound.isdigit():
            return int(bound)
        m = QUALIFIED.match(bound)
        return self.constants.get(m.group(1)) if m else None


def load_project(source: Path, include_dirs: list[Path]) -> Project:
    tu = ca.parse(source, include_dirs)
    project = Project(source.parent.resolve(), tu, ca.Tokens(tu))
    scopes = []
    own = [c for top in tu.cursor.get_children() if project.own(top) for c in top.walk_preorder()]
    for c in own:
        k = ca.kind(c)
        if k in FUNCTION_KINDS and c.is_definition():
            project.functions.setdefault(c.spelling, []).append(c)
            scopes.append(c)
        elif k in ca.LOOPS:
            scopes.append(c)
    names = sorted({i.include.name for i in tu.get_includes() if i.include is not None} | {tu.spelling})
    for name in names:  # as libclang spells them, so that pragma and cursor locations compare
        if Path(name).resolve().is_relative_to(project.root):
            text = Path(name).read_text()
            project.pragmas += parse_pragmas(text, name)
            project.constants.update({n: int(v == "true") if v in ("true", "false") else int(v)
                                      for n, v in CONSTANT.findall(text)})
            project.members.update({n: re.sub(r"\s+", "", v) for n, v in STATIC_MEMBER.findall(text)})
    project.macros = macro_table(tu, project.own)
    project.pragmas += macro_pragmas(tu, project.own, project.macros)
    for p in project.pragmas:
        holders = [s for s in scopes if ca.line_in(s, p.file, p.line)]
        if holders:
            inner = min(holders, key=lambda s: s.extent.end.offset - s.extent.start.offset)
            project.scopes.setdefault(ca.decl_key(inner), []).append(p)
            project.scope_cursors[(p.file, p.line)] = inner
    return project


def enclosing_function(project: Project, pragma: Pragma):
    for defs in project.functions.values():
        for fn in defs:
            if ca.line_in(fn, pragma.file, pragma.line):
                return fn
    return None


def declared_names(fn) -> set[str]:
    """Parameters and local variables of a function definition."""
    return {c.spelling for c in fn.walk_preorder() if ca.kind(c) in ("PARM_DECL", "VAR_DECL")}
