"""The library API behind the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ir, progress
from .errors import InputError
from .model_source import ModelData, model_data_for, resolve_model_path
from .sim.numpy_sim import NumpySimulator, SimOptions, SimResult


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    graph: ir.Graph  # the integer graph the simulators run
    sources: dict  # IR tensor -> (ONNX tensor, index) for comparisons
    data: ModelData | None


def load_integer_model(model: str | Path | None, calibrate: np.ndarray | None = None) -> LoadedModel:
    """A QONNX file (all-8-bit fixed-point integer graph), or a build folder (exactly the built design).
    ``calibrate``: images whose float ranges narrow the formats accelgen chooses (not for a build folder,
    whose design.json fixes them)."""
    from .build_dir import is_build_dir, load_build
    from .frontend.importer import import_with_sources
    from .passes import to_integer
    from .sim.calibration import measure_ranges

    if model is not None and is_build_dir(model):
        if calibrate is not None:
            raise InputError(f"{model}: a build folder's design.json fixes its formats; --calibrate applies to "
                             "a model file")
        build = load_build(model)
        return LoadedModel(build.model_path, build.graph, build.sources, model_data_for(build.model_path))
    path = resolve_model_path(model)
    graph, sources = import_with_sources(path, None if calibrate is None else measure_ranges(path, calibrate))
    return LoadedModel(path, to_integer(graph), sources, model_data_for(path))


def load_images(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not a NumPy .npy array ({str(err).splitlines()[0]})") from None


def simulate(model: str | Path | None = None, images: np.ndarray | None = None,
             options: SimOptions = SimOptions()) -> SimResult:
    """Run the bit-accurate integer simulator. ``images``: float32 NCHW as fed to the Brevitas model
    (default: the model's shipped test images)."""
    loaded = load_integer_model(model)
    if images is None:
        if loaded.data is None:
            raise InputError(f"{loaded.path}: no input images given and the model ships none")
        images = loaded.data.images
    return NumpySimulator(loaded.graph, options).run(images)


PROGRESS_BATCH = 256  # images per simulator call when progress is reported


def run_in_batches(simulator: NumpySimulator, images: np.ndarray, batch: int = PROGRESS_BATCH) -> SimResult:
    """``simulator.run(images)`` a batch at a time, advancing the open progress bar; the logits are the same
    (every image is simulated independently)."""
    parts = []
    for start in range(0, len(images), batch):
        parts.append(simulator.run(images[start:start + batch]))
        progress.advance(len(parts[-1].logits))
    return SimResult(logits=np.concatenate([p.logits for p in parts]), scale=parts[0].scale)


def check_images(graph: ir.Graph, images: np.ndarray, source: str | Path,
                 options: SimOptions = SimOptions()) -> np.ndarray:
    """``images`` checked against the model's input (shape, dtype); the error names ``source``."""
    try:
        return NumpySimulator(graph, options).check_input(images)
    except InputError as err:
        raise InputError(f"{source}: {err}") from None


def simulate_loaded(loaded: LoadedModel, images: np.ndarray, options: SimOptions = SimOptions()) -> SimResult:
    """The integer simulator over ``images``, a batch at a time (advancing the open progress bar)."""
    return run_in_batches(NumpySimulator(loaded.graph, options), images)


def compare_with_reference(loaded: LoadedModel, images: np.ndarray, labels: np.ndarray | None,
                           options: SimOptions = SimOptions()) -> str:
    """Per-layer agreement of the integer simulator with the float reference, formatted for the terminal."""
    from .sim.compare import compare, format_comparison, reference_for

    reference = reference_for(loaded.path, loaded.sources)
    return format_comparison(compare(loaded.graph, loaded.sources, reference, images, labels, options))


@dataclass(frozen=True)
class Inspection:
    graph: ir.Graph
    costs: list  # sim.calibration.FormatCost of the formats accelgen chose
    warnings: list[str]


def inspect_model(model: str | Path | None, calibrate: np.ndarray | None = None) -> Inspection:
    """The imported graph of a model, the cost of the formats accelgen chose for its unquantized tensors
    (measured on ``calibrate`` or the model's test images) and its precision warnings."""
    from .model_source import load_graph
    from .passes.formats import precision_warnings
    from .sim.calibration import chosen_format_costs, measure_ranges

    path = resolve_model_path(model)
    ranges = None if calibrate is None else measure_ranges(path, calibrate)
    graph = load_graph(model, ranges)
    data = model_data_for(path)
    costs = chosen_format_costs(path, ranges, calibrate if data is None else data.images)
    return Inspection(graph, costs, precision_warnings(graph))


def format_costs(costs: list) -> list[str]:
    """The chosen formats' costs as terminal lines."""
    from .sim.calibration import format_costs_lines

    return format_costs_lines(costs)


def csimulate(build, images: np.ndarray, threads: bool = True, check_layers: bool = False):
    """C-simulate a build folder's HLS project (written first when DIR/hls is missing) against the NumPy
    simulator (accelgen.sim.csim.run_csim; ``threads``: DATAFLOW processes on threads over bounded FIFOs)."""
    from .codegen.hls_project import write_hls_project
    from .sim.csim import run_csim

    hls_dir = Path(build.folder) / "hls"
    if not (hls_dir / "tb_accel.cpp").is_file():
        write_hls_project(build, hls_dir)
    return run_csim(build, images, threads=threads, check_layers=check_layers)


def rtl_simulator(name: str) -> None:
    """A one-line error when the RTL simulator ``name`` is not installed."""
    from .sim.rtl_runner import find_simulator

    find_simulator(name)


def rtlsim(build, sim: str, rows: int, work_dir: str | Path | None):
    """Simulate a build's RTL units on vectors captured from the NumPy simulator: (result, formatted
    result, what the images are). Codegen renders the units and their harness; the simulator drives them."""
    from .codegen.rtl_project import harness_sources
    from .codegen.rtl_units import rtl_design
    from .sim.rtl_runner import format_result, images_for, rtlsim_build
    from .sim.rtl_vectors import design_units

    _, source = images_for(build)
    rd = rtl_design(build.graph, build.design, build.board)
    wrappers, origin = design_wrappers(build)
    result = rtlsim_build(build, rd, harness_sources(design_units(rd, wrappers)), sim=sim, rows=rows,
                          work_dir=work_dir)
    result.source = origin
    return result, format_result(result), source


def design_wrappers(build) -> tuple[dict[str, str], str]:
    """The design's rendered RTL files, with DIR/rtl's own wrappers where it holds them, and where the
    units came from."""
    from .codegen.rtl_project import render_rtl

    rtl_folder = build.folder / "rtl"
    wrappers, from_folder = {}, 0
    for name, text in render_rtl(build.graph, build.design, build.board).items():
        on_disk = rtl_folder / name
        if on_disk.is_file() and name.endswith(".v") and not name.startswith("lib/"):
            wrappers[name] = on_disk.read_text()
            from_folder += 1
        else:
            wrappers[name] = text
    return wrappers, f"units from {rtl_folder}" if from_folder else "units rendered from design.json"
