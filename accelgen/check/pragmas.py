"""`#pragma HLS` lines of a source file, parsed into a kind, its flags and its key = value options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PRAGMA_LINE = re.compile(r"^\s*#\s*pragma\s+HLS\s+(?P<kind>\w+)(?P<rest>.*)$", re.I | re.M)
PRAGMA_TEXT = re.compile(r"^\s*HLS\s+(?P<kind>\w+)(?P<rest>.*)$", re.I | re.S)
TOKEN = re.compile(r"0[xX][0-9a-fA-F]+|\w+|::|->|<<|>>|\S")
OPEN, CLOSE = ("(", "[", "<"), (")", "]", ">")
OPERATORS = ("::", ".", "->", "+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "?", ":", ",")


@dataclass(frozen=True)
class Pragma:
    file: str
    line: int
    kind: str  # upper case: PIPELINE, UNROLL, ARRAY_PARTITION, DEPENDENCE, ...
    flags: frozenset[str] = frozenset()  # bare words, lower case: complete, cyclic, inter, false, ...
    options: dict[str, str] = field(default_factory=dict)  # key (lower case) -> value (spell())
    via: str = ""  # the function-like macro it was written through (`ACCEL_PRAGMA(HLS ...)`), "" for #pragma

    def option(self, name: str, default: str = "") -> str:
        return self.options.get(name, default)


def value_end(tokens: list[str], start: int) -> int:
    """End of the option value starting at tokens[start]: one operand, joined to more by operators and
    brackets (`C::N`, `E<C>::N`, `a + 1`, `f(x)`); a word after a complete operand starts the next option."""
    depth, operand = 0, False
    for i in range(start, len(tokens)):
        t = tokens[i]
        if depth == 0 and operand and t not in OPERATORS and t not in OPEN:
            return i
        closing = depth > 0 and t in CLOSE + (">>",)
        if t in OPEN:
            depth += 1
        elif closing:
            depth = max(depth - (2 if t == ">>" else 1), 0)
        if depth == 0:
            operand = closing or not (t in OPERATORS or t in OPEN)
    return len(tokens)


def spell(tokens: list[str]) -> str:
    """Tokens as one text, a space only between two words (`E<C>::N`, `a+1`, `mem inter false`)."""
    out = ""
    for t in tokens:
        out += (" " if out and (out[-1].isalnum() or out[-1] == "_") and (t[0].isalnum() or t[0] == "_") else "") + t
    return out


def split_options(rest: str) -> tuple[frozenset[str], dict[str, str]]:
    """Flags and `key = value` options of a pragma's text after its kind (a // comment dropped)."""
    tokens = TOKEN.findall(rest.split("//")[0])
    flags, options, i = set(), {}, 0
    while i < len(tokens):
        if i + 2 < len(tokens) and tokens[i + 1] == "=" and tokens[i] not in OPERATORS:
            end = value_end(tokens, i + 2)
            options[tokens[i].lower()] = spell(tokens[i + 2:end])
            i = end
        else:
            flags.add(tokens[i].lower())
            i += 1
    return frozenset(flags), options


def pragma_of_text(text: str, file: str, line: int, via: str) -> Pragma | None:
    """The pragma of a `_Pragma` text (`HLS BIND_STORAGE variable = w ...`); None for another tool's."""
    m = PRAGMA_TEXT.match(text)
    if m is None:
        return None
    return Pragma(file, line, m.group("kind").upper(), *split_options(m.group("rest")), via=via)


def parse_pragmas(text: str, file: str) -> list[Pragma]:
    out = []
    for m in PRAGMA_LINE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        out.append(Pragma(file, line, m.group("kind").upper(), *split_options(m.group("rest"))))
    return out


@dataclass(frozen=True)
class Banking:
    """How one dimension of an array is split into banks (ARRAY_PARTITION or ARRAY_RESHAPE)."""

    style: str  # complete, cyclic or block
    factor: str  # the factor as written ("" for complete)


def array_banking(pragmas: list[Pragma]) -> dict[str, dict[int, Banking]]:
    """variable -> {dimension (1-based; 0 = every dimension): banking} from the partition pragmas."""
    out: dict[str, dict[int, Banking]] = {}
    for p in pragmas:
        if p.kind not in ("ARRAY_PARTITION", "ARRAY_RESHAPE") or "variable" not in p.options:
            continue
        style = next((s for s in ("complete", "cyclic", "block") if s in p.flags or p.option("type") == s),
                     "complete")
        dim = int(p.option("dim", "1")) if p.option("dim", "1").isdigit() else 1
        out.setdefault(p.options["variable"], {})[dim] = Banking(style, p.option("factor"))
    return out
