"""`#pragma HLS` lines of a source file, parsed into a kind, its flags and its key = value options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PRAGMA_LINE = re.compile(r"^\s*#\s*pragma\s+HLS\s+(?P<kind>\w+)(?P<rest>.*)$", re.I | re.M)
OPTION = re.compile(r"(\w+)\s*=\s*(\S+)|(\S+)")


@dataclass(frozen=True)
class Pragma:
    file: str
    line: int
    kind: str  # upper case: PIPELINE, UNROLL, ARRAY_PARTITION, DEPENDENCE, ...
    flags: frozenset[str] = frozenset()  # bare words, lower case: complete, cyclic, inter, false, ...
    options: dict[str, str] = field(default_factory=dict)  # key (lower case) -> value as written

    def option(self, name: str, default: str = "") -> str:
        return self.options.get(name, default)


def parse_pragmas(text: str, file: str) -> list[Pragma]:
    out = []
    for m in PRAGMA_LINE.finditer(text):
        flags, options = set(), {}
        for key, value, word in OPTION.findall(m.group("rest")):
            if key:
                options[key.lower()] = value
            else:
                flags.add(word.lower())
        line = text.count("\n", 0, m.start()) + 1
        out.append(Pragma(file, line, m.group("kind").upper(), frozenset(flags), options))
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
