"""Rule `pragma-form`: every HLS pragma is one UG1399 documents (docs/hls.md "Pragma forms") -- a kind from
its pragma list, and option values that are an integer, a name (a variable, a constant, a keyword such as
`ram_s2p`), a member of the template's Config (`C::NAME`, as hls4ml's Vitis templates write
`CONFIG_T::reuse_factor`), or a macro written through a two-level `_Pragma` macro (ACCEL_PRAGMA)."""

from __future__ import annotations

import re

from .findings import Finding
from .pragmas import Pragma
from .project import Project

# UG1399 (2026.1) "HLS Pragmas": the `#pragma HLS <kind>` pages
KINDS = frozenset({
    "AGGREGATE", "ALIAS", "ALLOCATION", "ARRAY_PARTITION", "ARRAY_RESHAPE", "BIND_OP", "BIND_STORAGE", "CACHE",
    "DATAFLOW", "DEPENDENCE", "DISAGGREGATE", "EXPRESSION_BALANCE", "FUNCTION_INSTANTIATE", "INLINE", "INTERFACE",
    "LATENCY", "LOOP_FLATTEN", "LOOP_MERGE", "LOOP_TRIPCOUNT", "OCCURRENCE", "PERFORMANCE", "PIPELINE", "PROTOCOL",
    "RESET", "SHARED", "STABLE", "STREAM", "TOP", "UNROLL",
})
INTEGER = re.compile(r"^(?:\d+|0[xX][0-9a-fA-F]+)$")
NAME = re.compile(r"^[A-Za-z_]\w*$")
MEMBER = re.compile(r"^[A-Za-z_]\w*::[A-Za-z_]\w*$")
INSTEAD = ("emit a Config member (accelgen/codegen/config.py config_constants) and write `C::NAME`, "
           "or a macro of accel_config.h through ACCEL_PRAGMA")


def value_problem(value: str, project: Project) -> str | None:
    """Why an option value is not a documented form, or None."""
    items = [value] if re.search(r"[(<\[]", value) else value.split(",")  # ALIAS ports = a,b: one form each
    for item in items:
        if INTEGER.match(item) or MEMBER.match(item):
            continue
        if NAME.match(item):
            macro = project.macros.get(item)
            if macro is not None and macro.own and macro.params is None:
                return (f"macro `{item}` is not expanded here: UG1399 (2026.1, \"Using Constants with Pragmas\") "
                        "documents a macro value only through a two-level _Pragma macro; write it as "
                        f"ACCEL_PRAGMA(HLS ... = {item})")
            continue
        return f"`{item}` is not a form UG1399 documents for a pragma value; {INSTEAD}"
    return None


def where(p: Pragma) -> str:
    return f"{p.via}(HLS {p.kind})" if p.via else f"#pragma HLS {p.kind}"


def pragma_form_findings(project: Project) -> list[Finding]:
    out = []
    for p in project.pragmas:
        file = project.relative(p.file)
        if p.kind not in KINDS:
            out.append(Finding(file, p.line, "pragma-form",
                               f"{where(p)}: not a pragma UG1399 (2026.1, \"HLS Pragmas\") documents"))
            continue
        for option, value in p.options.items():
            problem = value_problem(value, project)
            if problem is not None:
                out.append(Finding(file, p.line, "pragma-form", f"{where(p)} {option} = {value}: {problem}"))
    return out
