"""matplotlib figures rendered to inline SVG, byte for byte the same on every run.

Text stays text (``svg.fonttype = none``) so a browser and a test can read it; ids come from a fixed salt;
the RDF metadata block is dropped. Artists given a ``gid`` keep it as the id of their SVG group,
which is how tests find a plotted element and read its geometry back.
"""

from __future__ import annotations

import io
import re
from typing import Callable

import matplotlib
from matplotlib.figure import Figure

STYLE = {
    "svg.hashsalt": "accelgen",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
METADATA = {"Date": None}
BOUND_COLORS = {"compute": "#1f77b4", "memory": "#d62728", "unit": "#2ca02c", "fused": "#9e9e9e"}


def svg_figure(figure_id: str, width: float, height: float, draw: Callable[[Figure], None]) -> str:
    """Draw on a new ``width`` x ``height`` inch figure and return its ``<svg>`` element (no XML prolog)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        draw(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata=METADATA)
    text = buf.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    return re.sub(r"^<svg ", f'<svg id="{figure_id}" role="img" ', text, count=1)
