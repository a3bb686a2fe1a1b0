"""evaluation.html: the totals, per-class accuracy of both models and the design's confusion matrix."""

from __future__ import annotations

import numpy as np

from ..reporting.figures import svg_figure
from ..reporting.page import figure, html_page, section, table
from .metrics import MAX_CLASSES_SHOWN, Metrics, percent


def per_class_svg(m: Metrics) -> str:
    def draw(fig):
        ax = fig.subplots()
        x = np.arange(len(m.classes))
        for offset, name, color, correct in ((-0.2, "integer design", "#1f77b4", "design_correct"),
                                             (0.2, "Brevitas float", "#ff7f0e", "reference_correct")):
            values = [100 * getattr(c, correct) / c.images if c.images else 0.0 for c in m.classes]
            bars = ax.bar(x + offset, values, width=0.4, label=name, color=color)
            for c, bar in zip(m.classes, bars):
                bar.set_gid(f"acc-{correct.split('_')[0]}-{c.label}")
        if len(m.classes) <= MAX_CLASSES_SHOWN:
            ax.set_xticks(x, [str(c.label) for c in m.classes])
        ax.set_xlabel("class")
        ax.set_ylabel("top-1 accuracy (%)")
        ax.set_ylim(0, 100)
        fig.legend(loc="outside upper center", ncols=2)

    return svg_figure("per-class", 8, 3.4, draw)


def confusion_svg(m: Metrics) -> str:
    matrix = np.array(m.confusion)

    def draw(fig):
        ax = fig.subplots()
        ax.grid(False)
        mesh = ax.pcolormesh(matrix, cmap="Blues")
        mesh.set_gid("confusion-cells")
        for (i, j), v in np.ndenumerate(matrix):
            if v:
                ax.text(j + 0.5, i + 0.5, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > matrix.max() / 2 else "black", gid=f"cell-{i}-{j}")
        ticks = np.arange(len(matrix)) + 0.5
        ax.set_xticks(ticks, [str(c.label) for c in m.classes])
        ax.set_yticks(ticks, [str(c.label) for c in m.classes])
        ax.invert_yaxis()
        ax.set_xlabel("predicted by the integer design")
        ax.set_ylabel("true label")
        fig.colorbar(mesh, ax=ax, label="images")

    return svg_figure("confusion", 6, 5, draw)


def evaluation_html(model: str, m: Metrics) -> str:
    totals = table([("", "top-1 accuracy", "correct / images"),
                    ("integer design", percent(m.design_correct, m.images), f"{m.design_correct} / {m.images}"),
                    ("Brevitas float reference", percent(m.reference_correct, m.images),
                     f"{m.reference_correct} / {m.images}"),
                    ("top-1 agreement", percent(m.agreeing, m.images), f"{m.agreeing} / {m.images}")],
                   numeric=(1, 2), table_id="totals")
    parts = [section("totals", "Accuracy", totals),
             section("classes", "Per-class accuracy", figure(per_class_svg(m), "Top-1 accuracy per true class."))]
    if len(m.classes) <= MAX_CLASSES_SHOWN:
        parts.append(section("confusion-matrix", "Confusion matrix",
                             figure(confusion_svg(m), "Images per (true label, prediction of the integer design).")))
    return html_page(f"accelgen evaluation: {model}", parts)
