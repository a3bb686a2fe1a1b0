"""Graph -> Graph passes, applied in the order listed."""

from __future__ import annotations

from .. import ir
from .bounds import prove_bounds
from .lower import lower_to_integer

INTEGER_PIPELINE = (lower_to_integer, prove_bounds)


def to_integer(graph: ir.Graph) -> ir.Graph:
    """The integer-only graph that every simulator level runs."""
    for p in INTEGER_PIPELINE:
        graph = p(graph)
    return graph
