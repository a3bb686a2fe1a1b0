"""DIR/deploy/: what `accelgen build` prepares for the board (see templates/deploy_readme.md.j2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import ir
from ..board import Board
from ..codegen.hls_project import TOP, render, synthetic_images
from ..design import Design
from ..model_source import ModelData
from ..resources import data_dir
from ..runtime.design_data import DATA_FILE
from ..sim.numpy_sim import NumpySimulator
from .datafile import PARAMS_FILE, data_file_and_blob
from .notebook import demo_notebook

DEPLOY_DIR = "deploy"
DRIVER_DIR = "driver"
NOTEBOOK = "accelgen_demo.ipynb"
SAMPLE_IMAGES, SAMPLE_LABELS, EXPECTED_LOGITS = "sample_images.npy", "sample_labels.npy", "expected_logits.npy"
SAMPLES = 32  # sample images shipped when the model has test images

FILE_NOTES = {
    DRIVER_DIR + "/": "the driver package: `from driver import open_accelerator`",
    DATA_FILE: "the design as the driver needs it: buffer sizes, descriptors, input quantization, logit scale",
    PARAMS_FILE: "the parameter blob (weights, biases, requantization, tables), loaded into DDR once",
    NOTEBOOK: "demo: predictions, confusion matrix, exact check against the simulator, frame rate",
    SAMPLE_IMAGES: "sample images (float32 NCHW, as fed to the Brevitas model)",
    SAMPLE_LABELS: "their labels",
    EXPECTED_LOGITS: "their logits from the bit-accurate simulator (int64): the board must match exactly",
}


def driver_sources() -> dict[str, str]:
    """The runtime package's modules, by file name."""
    return {p.name: p.read_text() for p in sorted(data_dir("runtime").glob("*.py"))}


def npy_bytes(array: np.ndarray) -> bytes:
    from io import BytesIO

    out = BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def deploy_files(graph: ir.Graph, design: Design, board: Board, report: dict, data: ModelData | None,
                 build_name: str) -> dict[str, bytes | str]:
    """Relative path -> content of DIR/deploy."""
    data_text, blob = data_file_and_blob(graph, design, board, report)
    images = synthetic_images(graph) if data is None else data.images[:SAMPLES]
    files: dict[str, bytes | str] = {f"{DRIVER_DIR}/{name}": text for name, text in driver_sources().items()}
    files |= {DATA_FILE: data_text, PARAMS_FILE: blob, SAMPLE_IMAGES: npy_bytes(images.astype(np.float32)),
              EXPECTED_LOGITS: npy_bytes(NumpySimulator(graph).run(images).logits.astype(np.int64)),
              NOTEBOOK: demo_notebook(report["model"], board.name, data is not None)}
    if data is not None:
        files[SAMPLE_LABELS] = npy_bytes(data.labels[:SAMPLES].astype(np.int64))
    notes = [{"name": n, "what": w} for n, w in FILE_NOTES.items() if n in files or n.endswith("/")]
    files["README.md"] = render("deploy_readme.md.j2", {"model": report["model"], "board": board.name, "files": notes,
                                                        "build": build_name, "top": TOP, "notebook": NOTEBOOK})
    return dict(sorted(files.items()))


def write_deploy(folder: Path, graph: ir.Graph, design: Design, board: Board, report: dict,
                 data: ModelData | None, build_name: str) -> None:
    """Write DIR/deploy into ``folder`` (a build folder, or its staging copy)."""
    for name, content in deploy_files(graph, design, board, report, data, build_name).items():
        path = folder / DEPLOY_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
