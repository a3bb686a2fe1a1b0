"""accelgen_demo.ipynb: open the overlay, run the sample images, show the predictions next to the images and
a confusion matrix, check the logits against the simulator's exactly, and measure the frame rate against
the modelled one. Cells get fixed ids, so the same build writes the same file."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

BENCHMARK_RUNS = 10  # the benchmark runs this many full batches

INTRO = """# accelgen on the board: {model} on {board}

This notebook drives the accelerator through the driver in `driver/` (numpy and pynq only): it programs
`accelgen.bit`, runs the sample images shipped with the build, compares the logits with the ones the
bit-accurate simulator computed on the build machine (`expected_logits.npy`) -- they must be equal, integer
for integer -- and measures the frame rate."""

OPEN = """import numpy as np
import matplotlib.pyplot as plt
from driver import open_accelerator

acc = open_accelerator(".")
data = acc.data
print(f"design {data.design_sha256[:12]}: {data.batch_images} images per run, {len(acc.class_names)} classes, "
      f"clock {data.clock_mhz:g} MHz")"""

RUN = """images = np.load("sample_images.npy")
expected = np.load("expected_logits.npy")
logits = acc.infer(images)
predictions = logits.argmax(axis=1)
print(f"{len(images)} images, predicted classes: {' '.join(acc.class_names[p] for p in predictions)}")"""

SHOW = """def picture(image):
    shown = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
    return (shown - shown.min()) / max(float(np.ptp(shown)), 1e-12)

cols = 8
rows = -(-min(len(images), 32) // cols)
fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.9 * rows), squeeze=False)
for i, ax in enumerate(axes.flat):
    ax.axis("off")
    if i < min(len(images), rows * cols):
        ax.imshow(picture(images[i]), cmap="gray")
        ax.set_title(f"predicted {acc.class_names[predictions[i]]}", fontsize=8)
plt.tight_layout()
plt.show()"""

CONFUSION = """labels = np.load("sample_labels.npy")
n = len(acc.class_names)
confusion = np.zeros((n, n), dtype=int)
np.add.at(confusion, (labels, predictions), 1)
print(f"accuracy on the {len(labels)} sample images: {100 * np.mean(predictions == labels):.2f}%")
fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(confusion, cmap="Blues")
for (t, p), count in np.ndenumerate(confusion):
    if count:
        ax.text(p, t, str(count), ha="center", va="center", fontsize=8)
ax.set_xticks(range(n), acc.class_names)
ax.set_yticks(range(n), acc.class_names)
ax.set_xlabel("predicted")
ax.set_ylabel("true")
ax.set_title("confusion matrix")
plt.show()"""

CHECK = """equal = np.array_equal(logits, expected)
print(f"board logits equal the simulator's: {equal}")
if not equal:
    bad = np.argwhere(logits != expected)[0]
    raise AssertionError(f"first difference at image {bad[0]}, logit {bad[1]}: "
                         f"board {logits[tuple(bad)]}, simulator {expected[tuple(bad)]}")"""

FRAME_RATE = """The accelerator's frame rate three ways: the **host clock** around the driver's whole path
(quantize, pack, flush, run, invalidate, unpack); the **accelerator timer**, the clocks the overlay's AXI
Timer captured from the driver's start sequence to the kernel's ap_done (it includes the start sequence's
AXI writes, the "empty run" figure); and the **modelled** figure of `report.json`. The kernel's **beats**
are its loop trip counts, a model-side figure, not a measurement. The last line says what ran it: on the
simulated board of accelgen's CI the C simulation has no clock and its timer counts host time."""

BENCHMARK = """bench = acc.benchmark({runs} * data.batch_images, images)
print(bench)
rates = {{"host clock": bench.host_fps, "accelerator timer": bench.counter_fps, "modelled": bench.modelled.fps}}
shown = {{name: fps for name, fps in rates.items() if fps is not None}}
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(shown), list(shown.values()))
ax.set_xscale("log")
ax.set_xlabel("frames per second")
plt.show()"""


def demo_notebook(model: str, board: str, has_labels: bool) -> str:
    cells = [new_markdown_cell(INTRO.format(model=model, board=board)),
             new_markdown_cell("## Open the overlay"), new_code_cell(OPEN),
             new_markdown_cell("## Run the sample images"), new_code_cell(RUN), new_code_cell(SHOW)]
    if has_labels:
        cells.append(new_code_cell(CONFUSION))
    cells += [new_markdown_cell("## The board's logits against the simulator's"), new_code_cell(CHECK),
              new_markdown_cell("## Frame rate: measured against modelled"), new_markdown_cell(FRAME_RATE),
              new_code_cell(BENCHMARK.format(runs=BENCHMARK_RUNS))]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:02d}"
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    return nbformat.writes(nb)
