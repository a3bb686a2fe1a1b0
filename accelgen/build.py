"""`accelgen build`: model + board + FPS target -> a build folder (design, reports, HLS project, RTL).

Everything is written into a temporary folder next to the destination and moved into place at the end,
so a failed or infeasible build never leaves a half-written folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from . import ir, progress
from .board import RESOURCE_KINDS, load_board
from .build_dir import DESIGN_FILE, MODEL_FILE
from .design import Design, check_design_against, check_design_board, file_sha256, integer_graph
from .errors import InputError
from .model_source import ModelData, export_preset, model_data_for, resolve_model_path
from .passes.formats import precision_warnings
from .perf.dse import DEFAULT_CAPS, explore
from .perf.model import design_cost, evaluate, profile
from .report import Accuracy, report_dict, report_json, report_markdown
from .reporting.build_page import report_html


BUILD_STEPS = ("import", "profile", "search", "accuracy", "reports", "projects")  # progress.step names


@dataclass(frozen=True)
class BuildRequest:
    model: str | None = None  # QONNX file (None: the default model)
    arch: str | None = None  # a preset built with seeded weights instead of a model file
    board: str | None = None
    fps: float | None = None  # None: the fastest design that fits
    clock_mhz: float | None = None
    out: Path | None = None
    force: bool = False
    design: Path | None = None  # rebuild this design.json without searching
    caps: dict[str, float] | None = None
    calibrate: Path | None = None  # images whose float ranges narrow the formats accelgen chooses


@dataclass(frozen=True)
class BuildResult:
    folder: Path
    report: dict


def measure_accuracy(graph: ir.Graph, designed: ir.Graph, data: ModelData) -> Accuracy:
    """Accuracy of the designed integer graph and of the plain all-8-bit one on the model's test images."""
    from .passes import to_integer
    from .sim.numpy_sim import NumpySimulator

    def acc(g: ir.Graph) -> float:
        return float((NumpySimulator(g).run(data.images).predictions == data.labels).mean())

    return Accuracy(len(data.labels), acc(designed), acc(to_integer(graph)), data.torch_accuracy)


def resolve_caps(caps: dict[str, float] | None) -> dict[str, float]:
    merged = dict(DEFAULT_CAPS, **(caps or {}))
    for k, v in merged.items():
        if k not in RESOURCE_KINDS or not 0 < v <= 1:
            raise InputError(f"utilisation cap {k}={v}: expected a resource ({', '.join(RESOURCE_KINDS)}) and a "
                             "fraction in (0, 1]")
    return merged


def load_design_file(path: Path, graph: ir.Graph, model_sha: str) -> Design:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    design = Design.from_json(path.read_text(), str(path))
    check_design_against(design, graph, str(path))
    if design.model_sha256 != model_sha:
        raise InputError(f"{path}: the design was made for another model (sha256 differs)")
    return design


def check_clock(clock: float) -> None:
    if not 10 <= clock <= 1000:
        raise InputError(f"--clock {clock:g} MHz is outside 10..1000 MHz")


def build(req: BuildRequest) -> BuildResult:
    from .frontend.importer import import_qonnx

    with tempfile.TemporaryDirectory() as scratch:
        if req.arch is not None:
            if req.model is not None:
                raise InputError("give either --model or --arch, not both")
            model_path = export_preset(req.arch, Path(scratch))
        else:
            model_path = resolve_model_path(req.model)
        sha = file_sha256(model_path)
        data = None if req.arch else model_data_for(model_path)
        calibration = calibration_ranges(req, model_path, sha)
        graph = import_qonnx(model_path, calibration or None)
        progress.step("profile")
        prof = profile(graph)
        if req.design is not None:
            design = load_design_file(req.design, graph, sha)
            if req.board is not None and req.board != design.board:
                raise InputError(f"{req.design}: the design is for board '{design.board}', not '{req.board}'")
            board = load_board(design.board)
            check_design_board(design, board, str(req.design))
        else:
            if req.board is None:
                raise InputError("--board is required (or --design)")
            board = load_board(req.board)
            clock = req.clock_mhz or board.default_clock_mhz
            check_clock(clock)
            progress.step("search")
            design = replace(explore(prof, board, req.fps, clock, resolve_caps(req.caps), model_path.name,
                                     sha).design, calibration=calibration)
        evaluation = evaluate(prof, design, board)
        designed = integer_graph(graph, design)
        progress.step("accuracy")
        accuracy = None if data is None else measure_accuracy(graph, designed, data)
        report = report_dict(graph.name, board, design, evaluation, accuracy, design_cost(prof, design))
        report["chosen_formats"] = chosen_formats_report(model_path, calibration, data, req)
        report["warnings"] = precision_warnings(graph)
        out = req.out or Path("build") / f"{graph.name}-{board.name}"
        if out.exists() and not req.force:
            raise InputError(f"{out}: already exists (use --force to replace it)")

        def write_more(staging: Path) -> None:
            from .deploy.package import write_deploy

            write_projects(staging, designed, design, board, None if data is None else data.images)
            write_deploy(staging, designed, design, board, report, data, str(out))

        write_build(out, model_path, design, report, write_more)
    return BuildResult(out, report)


def calibration_ranges(req: BuildRequest, model_path: Path, sha: str) -> dict:
    """The calibration of the formats accelgen chooses: measured on --calibrate images, or the one
    recorded in the --design being rebuilt."""
    from .api import load_images
    from .sim.calibration import measure_ranges

    if req.calibrate is not None:
        if req.design is not None:
            raise InputError("give either --calibrate or --design (the design records its calibration)")
        return measure_ranges(model_path, load_images(req.calibrate))
    if req.design is not None and req.design.is_file():
        return Design.from_json(req.design.read_text(), str(req.design)).calibration
    return {}


def chosen_formats_report(model_path: Path, calibration: dict, data: ModelData | None,
                          req: BuildRequest) -> list[dict]:
    """Every format accelgen chose, with its SNR against the float reference on the model's test images
    (or the calibration images; no SNR without images)."""
    from .api import load_images
    from .sim.calibration import chosen_format_costs

    images = data.images if data is not None else None if req.calibrate is None else load_images(req.calibrate)
    return [{"tensor": c.tensor, "role": c.role, "bits": c.bits, "scale": c.scale,
             "proven_range": list(c.proven), "calibrated_range": None if c.calibrated is None else list(c.calibrated),
             "snr_db": None if c.snr_db is None else round(c.snr_db, 2)}
            for c in chosen_format_costs(model_path, calibration or None, images)]


def write_projects(folder: Path, graph: ir.Graph, design: Design, board, images) -> None:
    """The generated projects: Vitis HLS (hls/) and the design's Verilog units (rtl/)."""
    from .codegen.hls_project import TB_IMAGES, write_hls_project
    from .codegen.rtl_project import write_rtl

    progress.step("projects")
    write_hls_project((graph, design, board), folder / "hls", None if images is None else images[:TB_IMAGES])
    write_rtl(graph, design, board, folder / "rtl")


def staging_dir(out: Path) -> Path:
    """An empty folder next to ``out`` to build into. mkdtemp makes it private (0700); the build folder
    gets the mode any folder the user creates gets (0777 minus the umask), so a team can read it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    return staging


def write_build(out: Path, model_path: Path, design: Design, report: dict, write_more) -> None:
    """Write everything into a staging folder next to ``out`` and move it into place at the end."""
    staging = staging_dir(out)
    progress.step("reports")
    try:
        shutil.copyfile(model_path, staging / MODEL_FILE)
        (staging / DESIGN_FILE).write_text(design.to_json())
        (staging / "report.json").write_text(report_json(report))
        (staging / "report.md").write_text(report_markdown(report))
        (staging / "report.html").write_text(report_html(report))
        write_more(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
