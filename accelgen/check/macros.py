"""Pragmas written through a function-like macro (`ACCEL_PRAGMA(HLS ...)`, UG1399 "Using Constants with
Pragmas"), read from libclang's preprocessing record and expanded as the preprocessor does: a macro whose body
is `_Pragma(#x)` stringizes its argument as written; one that passes its argument on to such a macro first
replaces the argument's object-like macros (C++14 [cpp.subst]), which is how a macro value reaches a pragma."""

from __future__ import annotations

from dataclasses import dataclass

from . import clang_ast as ca
from .pragmas import Pragma, pragma_of_text


@dataclass(frozen=True)
class Macro:
    params: tuple[str, ...] | None  # None: object-like
    body: tuple[str, ...]
    own: bool  # defined in the project's files


def macro_table(tu, own) -> dict[str, Macro]:
    """Every macro the translation unit defines (the active definition), by name."""
    out = {}
    for c in tu.cursor.get_children():
        if ca.kind(c) != "MACRO_DEFINITION":
            continue
        tokens = list(c.get_tokens())
        if not tokens:
            continue
        spelled = [t.spelling for t in tokens]
        function_like = len(tokens) > 1 and spelled[1] == "(" \
            and tokens[1].extent.start.offset == tokens[0].extent.end.offset
        if function_like:
            close = spelled.index(")")
            out[spelled[0]] = Macro(tuple(t for t in spelled[2:close] if t != ","), tuple(spelled[close + 1:]),
                                    own(c))
        else:
            out[spelled[0]] = Macro(None, tuple(spelled[1:]), own(c))
    return out


def pragma_levels(name: str, macros: dict[str, Macro], seen: frozenset[str] = frozenset()) -> int:
    """How many macros deep `name(x)` reaches `_Pragma(#x)`: 1 stringizes x as written, 2 or more expand its
    macros first; 0 when it is not a pragma macro."""
    m = macros.get(name)
    if m is None or m.params is None or len(m.params) != 1 or name in seen:
        return 0
    (p,) = m.params
    if m.body == ("_Pragma", "(", "#", p, ")"):
        return 1
    if len(m.body) == 4 and m.body[1:] == ("(", p, ")"):
        inner = pragma_levels(m.body[0], macros, seen | {name})
        return inner + 1 if inner else 0
    return 0


def expand(tokens: list[str], macros: dict[str, Macro], seen: frozenset[str] = frozenset()) -> list[str]:
    """The tokens with their object-like macros replaced, recursively (a macro is not expanded inside itself)."""
    out = []
    for t in tokens:
        m = macros.get(t)
        if m is not None and m.params is None and t not in seen:
            out += expand(list(m.body), macros, seen | {t})
        else:
            out.append(t)
    return out


def macro_pragmas(tu, own, macros: dict[str, Macro]) -> list[Pragma]:
    """The HLS pragmas of the pragma-macro uses in the project's files, as the compiler receives them."""
    out = []
    for c in tu.cursor.get_children():
        if ca.kind(c) != "MACRO_INSTANTIATION" or not own(c):
            continue
        levels = pragma_levels(c.spelling, macros)
        if not levels:
            continue
        spelled = [t.spelling for t in c.get_tokens()]
        argument = spelled[2:-1]  # NAME ( argument )
        text = " ".join(expand(argument, macros) if levels > 1 else argument)
        pragma = pragma_of_text(text, c.location.file.name, c.location.line, c.spelling)
        if pragma is not None:
            out.append(pragma)
    return out
