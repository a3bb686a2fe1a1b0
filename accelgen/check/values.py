"""What an index expression can take per cycle, as far as banking is concerned.

An index is *runtime* when it depends on data or on a loop counter that HLS does not unroll, *varying*
when it depends on the counter of an unrolled loop (a different compile-time value in every copy), and
constant otherwise. For a runtime index we also keep the constants every runtime term is a multiple of
(`b * C::LANES + l` is a multiple of `C::LANES` plus a varying part), so that `% C::LANES` -- the bank of a
cyclic partition by that factor -- can be seen to drop the runtime part.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Index:
    runtime: bool = False
    varying: bool = False
    multiples: frozenset[str] = frozenset()  # constant texts every runtime term is a multiple of

    @property
    def constant(self) -> bool:
        return not self.runtime and not self.varying

    @property
    def distinct_per_copy(self) -> bool:
        """A compile-time value that differs between the copies of an unrolled loop."""
        return self.varying and not self.runtime


CONSTANT = Index()
VARYING = Index(varying=True)
RUNTIME = Index(runtime=True)


def join(parts: list[Index]) -> Index:
    """Any combination that keeps no arithmetic structure (comparisons, calls, bit operations)."""
    return Index(any(p.runtime for p in parts), any(p.varying for p in parts))


def add(parts: list[Index]) -> Index:
    """a + b, a - b: the runtime terms keep the multiples they all share."""
    runtime = [p for p in parts if p.runtime]
    shared = frozenset.intersection(*(p.multiples for p in runtime)) if runtime else frozenset()
    return Index(bool(runtime), any(p.varying for p in parts), shared)


def multiply(a: Index, a_text: str, b: Index, b_text: str) -> Index:
    """a * b: a runtime value times a constant is a multiple of that constant."""
    if a.runtime and b.constant:
        return Index(True, a.varying, a.multiples | {b_text})
    if b.runtime and a.constant:
        return Index(True, b.varying, b.multiples | {a_text})
    return join([a, b])


def modulo(a: Index, divisor: Index, divisor_text: str) -> Index:
    """a % m: a runtime part that is a multiple of the constant m vanishes."""
    if divisor.constant and a.runtime and divisor_text in a.multiples:
        return Index(False, a.varying)
    return join([a, divisor])
