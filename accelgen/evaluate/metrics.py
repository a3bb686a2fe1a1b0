"""Accuracy of the integer design and of the float reference, top-1 agreement, per-class accuracy and the
confusion matrix -- all from integer counts, so they do not depend on how the images were chunked."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..summary import format_table

MAX_CLASSES_SHOWN = 20  # larger confusion matrices go to evaluation.json only


@dataclass(frozen=True)
class ClassScore:
    label: int
    images: int
    design_correct: int
    reference_correct: int


@dataclass(frozen=True)
class Metrics:
    images: int
    design_correct: int
    reference_correct: int
    agreeing: int  # images where the design's top-1 equals the reference's
    classes: tuple[ClassScore, ...]
    confusion: tuple[tuple[int, ...], ...]  # [true label][design's prediction] -> images

    @property
    def design_accuracy(self) -> float:
        return self.design_correct / self.images

    @property
    def reference_accuracy(self) -> float:
        return self.reference_correct / self.images

    @property
    def agreement(self) -> float:
        return self.agreeing / self.images

    def to_dict(self) -> dict:
        return {"images": self.images, "design_accuracy": round(self.design_accuracy, 6),
                "reference_accuracy": round(self.reference_accuracy, 6), "top1_agreement": round(self.agreement, 6),
                **asdict(self)}


def compute_metrics(labels: np.ndarray, design: np.ndarray, reference: np.ndarray, classes: int) -> Metrics:
    """``design`` and ``reference``: top-1 predictions per image."""
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, design), 1)
    ref_right = np.bincount(labels[reference == labels], minlength=classes)
    scores = tuple(ClassScore(c, int(confusion[c].sum()), int(confusion[c, c]), int(ref_right[c]))
                   for c in range(classes))
    return Metrics(images=len(labels), design_correct=int(np.trace(confusion)),
                   reference_correct=int(np.sum(reference == labels)), agreeing=int(np.sum(design == reference)),
                   classes=scores, confusion=tuple(tuple(int(v) for v in row) for row in confusion))


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"


def format_metrics(m: Metrics) -> str:
    lines = [f"{m.images} images: integer design {percent(m.design_correct, m.images)}, Brevitas float reference "
             f"{percent(m.reference_correct, m.images)}, top-1 agreement {percent(m.agreeing, m.images)}"]
    rows = [("class", "images", "design", "reference")]
    rows += [(str(c.label), str(c.images), percent(c.design_correct, c.images), percent(c.reference_correct, c.images))
             for c in m.classes]
    lines += format_table(rows, right=(1, 2, 3))
    if len(m.classes) <= MAX_CLASSES_SHOWN:
        lines.append("confusion matrix of the design (rows: true label, columns: prediction)")
        header = ("",) + tuple(str(c.label) for c in m.classes)
        lines += format_table([header] + [(str(i),) + tuple(map(str, row)) for i, row in enumerate(m.confusion)],
                              right=tuple(range(1, len(header))))
    return "\n".join(lines)
