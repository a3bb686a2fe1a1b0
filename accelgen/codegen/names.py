"""C identifiers from model node names (e.g. ``blocks.0.attn.qkv:q_quant`` -> ``blocks_0_attn_qkv_q_quant``)."""

from __future__ import annotations

import keyword
import re

CPP_KEYWORDS = frozenset("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class
compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype
default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline
int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template
this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t
while xor xor_eq
""".split())


def sanitize(name: str) -> str:
    """A valid C/C++ identifier: runs of other characters become one underscore, a leading digit gets a
    prefix, reserved forms (keywords, leading underscore + capital, double underscores) are avoided."""
    ident = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")
    ident = re.sub(r"_+", "_", ident)
    if not ident:
        ident = "unnamed"
    if ident[0].isdigit():
        ident = "n_" + ident
    if ident in CPP_KEYWORDS or keyword.iskeyword(ident):
        ident += "_"
    return ident


def unique_identifiers(names: list[str]) -> dict[str, str]:
    """Sanitized identifiers, made distinct by numeric suffixes where two names collide."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = sanitize(name)
        ident, k = base, 2
        while ident in used:
            ident, k = f"{base}_{k}", k + 1
        used.add(ident)
        out[name] = ident
    return out
