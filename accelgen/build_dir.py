"""The build folder: everything `accelgen build` writes, readable back by `simulate`, `csim` and `rtlsim`.

    DIR/model.onnx    the QONNX model the design was built for (a copy, so DIR is self-contained)
    DIR/design.json   every choice of the design (editable; `accelgen build --design` rebuilds it)
    DIR/report.json   FPS, latency, resources, per-layer cycles   (and report.md)
    DIR/hls/          the Vitis HLS project
    DIR/rtl/          the design's Verilog units
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import ir
from .board import Board, load_board
from .design import Design, check_design_against, check_design_board, file_sha256, integer_graph
from .errors import InputError

MODEL_FILE = "model.onnx"
DESIGN_FILE = "design.json"


@dataclass(frozen=True)
class Build:
    folder: Path
    design: Design
    board: Board
    graph: ir.Graph  # the integer graph of the design (mixed-scheme weights applied, lowered, bounded)
    sources: dict  # IR tensor -> (ONNX tensor, index), for comparisons with the float reference

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE


def is_build_dir(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / DESIGN_FILE).is_file()


def load_build(folder: str | Path) -> Build:
    from .frontend.importer import import_with_sources

    folder = Path(folder)
    if not is_build_dir(folder):
        raise InputError(f"{folder}: not a build folder (no {DESIGN_FILE}; run `accelgen build` first)")
    design = Design.from_json((folder / DESIGN_FILE).read_text(), str(folder / DESIGN_FILE))
    model = folder / MODEL_FILE
    if not model.is_file():
        raise InputError(f"{folder}: {MODEL_FILE} is missing")
    if file_sha256(model) != design.model_sha256:
        raise InputError(f"{model}: does not match the model the design was built for (sha256 differs)")
    graph, sources = import_with_sources(model, design.calibration or None)
    check_design_against(design, graph, str(folder / DESIGN_FILE))
    board = load_board(design.board)
    check_design_board(design, board, str(folder / DESIGN_FILE))
    return Build(folder, design, board, integer_graph(graph, design), sources)
