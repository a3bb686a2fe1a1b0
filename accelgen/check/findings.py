"""A finding of the rule checker, and the rules it can report."""

from __future__ import annotations

from dataclasses import dataclass

RULES = {
    "runtime-bank": "runtime bank index inside an unrolled loop over an ARRAY_PARTITION / ARRAY_RESHAPE'd array",
    "maxi-conditional": "m_axi access under a condition inside a pipelined loop (blocks burst inference)",
    "signed-shift": "shift by a signed runtime amount (bidirectional shifter)",
    "pipelined-division": "division or modulo by a runtime value inside a pipelined loop",
    "carried-chain": "carried variable updated from itself in every copy of an unrolled loop in a pipelined loop",
    "dependence-placement": "DEPENDENCE pragma where it does not reach the pipelined loop it is meant for",
    "cxx14": "construct beyond C++14, the standard Vitis HLS documents",
    "pragma-form": "HLS pragma kind or option value in a form UG1399 does not document (a template-id, arithmetic, "
                   "a call, a macro outside a two-level _Pragma macro)",
    "axilite-array": "s_axilite array read other than by the copy into a partitioned array in a pipelined loop",
}


@dataclass(frozen=True, order=True)
class Finding:
    file: str  # relative to the project folder
    line: int
    rule: str
    message: str

    def format(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message}"
