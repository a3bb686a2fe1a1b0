"""C simulation of the generated HLS project: compile DIR/hls with g++ against the ap_types headers of the
installed hls4ml package, run its testbench on host-quantized images, and compare with the NumPy golden
model -- the logits, and (when they differ, or on request) every step's output tensor from the
testbench's debug dump, to name the first layer that disagrees."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .. import progress
from ..design import design_digest
from ..errors import InputError, VerificationError
from ..hw.image import quantize_images
from .numpy_sim import NumpySimulator

TESTBENCH_SOURCES = ("tb_accel.cpp", "accel_top.cpp")
# -Wno-unknown-pragmas / -Wno-unused-label: HLS pragmas and loop labels are addressed to Vitis HLS.
WARNINGS = ("-Wall", "-Wextra", "-Wno-unknown-pragmas", "-Wno-unused-label")
OPTIMIZE = ("-O2",)
# Each DATAFLOW region's processes on threads over FIFOs of the depths the STREAM pragmas declare
# (hls/dataflow_sim.h); without it they run one after another over unbounded streams, as in Vitis C-sim.
THREADED = ("-DACCEL_DATAFLOW_THREADS", "-pthread")
SANITIZE = ("-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fsanitize-recover=shift-base")
# ThreadSanitizer over the threaded DATAFLOW regions: processes that share memory other than through their
# streams fail the run (exit 66).
THREAD_SANITIZE = ("-O1", "-g", "-fsanitize=thread")
# The ap_types headers sign-extend with (int64_t)v << n >> n, a left shift of a negative value (undefined
# before C++20, two's complement everywhere): that one finding is suppressed inside those headers only;
# every other finding, and this one in our code, stops the run.
UBSAN_SUPPRESSIONS = "shift-base:*/ap_types/*\n"
STREAM_WARNING = "WARNING: Hls::stream"
DATAFLOW_FAILURE = re.compile(r"dataflow region '[^']*'.*")
WARNING_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? warning: (?P<text>.*)$", re.M)


def ap_types_dir() -> Path:
    """The Xilinx ap_int / hls_stream headers shipped with hls4ml (never copied into the repo)."""
    try:
        path = Path(str(resources.files("hls4ml") / "templates" / "vivado" / "ap_types"))
    except ModuleNotFoundError:
        raise InputError("hls4ml is not installed: the C simulation needs its ap_types headers") from None
    if not (path / "ap_int.h").is_file():
        raise InputError(f"{path}: no ap_int.h in the installed hls4ml")
    return path


def compiler() -> str:
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise InputError(f"C++ compiler '{cxx}' not found (install g++ or set CXX)")
    return cxx


@dataclass(frozen=True)
class CompileResult:
    binary: Path
    seconds: float
    cached: bool
    warnings: tuple[str, ...]  # warnings located in our sources (third-party headers excluded)


def own_warnings(log: str, third_party: Path) -> tuple[str, ...]:
    """Warnings whose location is not inside the third-party headers."""
    root = str(third_party.resolve())
    out = []
    for m in WARNING_LINE.finditer(log):
        if not str(Path(m.group("file")).resolve()).startswith(root):
            out.append(m.group(0))
    return tuple(out)


def compile_program(sources: list[Path], include_dirs: list[Path], binary: Path,
                    flags: tuple[str, ...] = OPTIMIZE) -> CompileResult:
    """g++ -std=c++17 with our warning set; the ap_types headers come in through -isystem. A digest of
    the compiler, the flags and every source and header (names and contents, not locations) next to the
    binary lets later calls -- also on a copied folder -- reuse the build."""
    binary.parent.mkdir(parents=True, exist_ok=True)
    prefix = [compiler(), "-std=c++17", *flags, *WARNINGS]
    command = [*prefix, *[f"-I{d}" for d in include_dirs], "-isystem", str(ap_types_dir()),
               *[str(s) for s in sources], "-o", str(binary)]
    h = hashlib.sha256(" ".join(prefix + [str(ap_types_dir())]).encode())
    files = sorted({p for d in include_dirs for p in Path(d).glob("*.h")} | set(map(Path, sources)),
                   key=lambda p: (p.name, str(p)))
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    stamp = binary.with_suffix(".sha256")
    if binary.is_file() and stamp.is_file() and stamp.read_text() == h.hexdigest():
        return CompileResult(binary, 0.0, True, ())
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip()[:300])
        raise VerificationError(f"C-sim build failed: {first}")
    stamp.write_text(h.hexdigest())
    return CompileResult(binary, seconds, False, own_warnings(proc.stderr, ap_types_dir()))


def compile_csim(hls_dir: str | Path, binary: str | Path | None = None, flags: tuple[str, ...] = OPTIMIZE,
                 threads: bool = True) -> CompileResult:
    """Compile a generated project's testbench (default binary: DIR/hls/csim/tb_accel, or tb_accel_seq for
    the sequential DATAFLOW regions of ``threads=False``)."""
    hls_dir = Path(hls_dir)
    for name in TESTBENCH_SOURCES:
        if not (hls_dir / name).is_file():
            raise InputError(f"{hls_dir}: {name} is missing (not a generated HLS project)")
    binary = Path(binary) if binary is not None else hls_dir / "csim" / ("tb_accel" if threads else "tb_accel_seq")
    return compile_program([hls_dir / s for s in TESTBENCH_SOURCES], [hls_dir], binary,
                           flags + THREADED if threads else flags)


@dataclass(frozen=True)
class Mismatch:
    step: str  # the layer(s) of the hardware step
    tensor: str
    index: tuple[int, ...]  # (image, position in the tensor)
    got: int
    want: int

    def message(self) -> str:
        where = ", ".join(map(str, self.index))
        return (f"C-sim differs from the NumPy simulator first in layer '{self.step}' (tensor '{self.tensor}') "
                f"at index ({where}): C-sim {self.got}, NumPy {self.want}")


@dataclass
class CsimResult:
    logits: np.ndarray  # int64 (images, classes)
    beats: int  # beat count of the whole batch (the loops' trip counts at II = 1, docs/hls.md; not clock cycles)
    compile_seconds: float
    run_seconds: float
    mismatch: Mismatch | None
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # dumped step outputs (images, ...)

    @property
    def ok(self) -> bool:
        return self.mismatch is None


def sanitizer_env(workdir: Path) -> dict[str, str]:
    """Environment of a sanitized run: any finding is fatal, except the suppressed third-party one."""
    supp = workdir / "ubsan.supp"
    supp.write_text(UBSAN_SUPPRESSIONS)
    return dict(os.environ, UBSAN_OPTIONS=f"suppressions={supp}:halt_on_error=1:print_stacktrace=1",
                ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1")


def run_testbench(binary: Path, hls_dir: Path, qimages: np.ndarray, dump: bool, workdir: Path
                  ) -> tuple[np.ndarray, np.ndarray | None, int, float]:
    """(logits int64 flat, dump int64 flat or None, beats, seconds) of one testbench run."""
    images_file, logits_file, dump_file = workdir / "images.bin", workdir / "logits.bin", workdir / "dump.bin"
    images_file.write_bytes(np.ascontiguousarray(qimages, dtype=np.int8).tobytes())
    args = [str(binary), str(hls_dir / "params.bin"), str(images_file), str(logits_file),
            str(dump_file) if dump else "-", "-"]
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=workdir, env=sanitizer_env(workdir))
    seconds = time.perf_counter() - start
    failure = DATAFLOW_FAILURE.search(proc.stderr)
    if failure:
        raise VerificationError(f"C-sim: {failure.group(0)} (exit {proc.returncode})")
    if proc.returncode != 0 or STREAM_WARNING in proc.stdout or "runtime error" in proc.stderr:
        detail = (proc.stdout + proc.stderr).strip().splitlines()
        cause = next((line for line in detail if "runtime error" in line or "ERROR: " in line), None)
        raise VerificationError(f"C-sim testbench failed (exit {proc.returncode}): "
                                f"{cause or (detail[-1] if detail else 'no output')}")
    beats = int(re.search(r"beats (\d+)", proc.stdout).group(1))
    logits = np.fromfile(logits_file, dtype=np.int64)
    dumped = np.fromfile(dump_file, dtype=np.int64) if dump else None
    return logits, dumped, beats, seconds


def dump_entries(hls_dir: Path) -> tuple[int, list[dict]]:
    data = json.loads((hls_dir / "params.json").read_text())
    return data["dump"]["elements_per_image"], data["dump"]["tensors"]


def split_dump(dumped: np.ndarray, images: int, per_image: int, entries: list[dict]) -> dict[str, np.ndarray]:
    rows = dumped.reshape(images, max(per_image, 1))
    return {e["tensor"]: rows[:, e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape([images] + e["shape"])
            for e in entries}


def first_mismatch(entries: list[dict], got: dict[str, np.ndarray], want: dict[str, np.ndarray],
                   image_offset: int = 0) -> Mismatch | None:
    """The first step (in execution order) whose output differs, and its first differing element."""
    for e in entries:
        a, b = got[e["tensor"]], np.asarray(want[e["tensor"]]).reshape(got[e["tensor"]].shape)
        diff = np.argwhere(a != b)
        if len(diff):
            idx = tuple(int(i) for i in diff[0])
            return Mismatch(e["step"], e["tensor"], (idx[0] + image_offset,) + idx[1:], int(a[idx]), int(b[idx]))
    return None


def run_csim(build, images: np.ndarray, *, check_layers: bool = False, flags: tuple[str, ...] = OPTIMIZE,
             binary: str | Path | None = None, threads: bool = True) -> CsimResult:
    """C-simulate DIR/hls of a Build on float32 NCHW ``images`` (accelgen.api.csimulate writes a missing
    project first).

    The logits are compared with the NumPy simulator; on a difference (or always, with ``check_layers``)
    the testbench dumps every step's output and the first differing layer is reported in ``mismatch``.
    A DATAFLOW region that deadlocks on its declared FIFO depths (``threads``, the default) raises
    VerificationError naming the region, its waiting processes and their streams.
    """
    hls_dir = Path(build.folder).resolve() / "hls"  # the testbench runs in a temporary folder
    if not (hls_dir / "tb_accel.cpp").is_file():
        raise InputError(f"{hls_dir}: no generated HLS project (`accelgen csim` writes it)")
    if json.loads((hls_dir / "params.json").read_text()).get("design_sha256") != design_digest(build.design):
        raise InputError(f"{hls_dir}: generated for another design than {Path(build.folder) / 'design.json'} "
                         f"(rebuild it, or delete the folder to have csim regenerate it)")
    sim = NumpySimulator(build.graph)
    images = sim.check_input(images)
    qimages = quantize_images(build.graph, images)
    compiled = compile_csim(hls_dir, binary, flags, threads)
    golden = sim.run(images, keep_tensors=check_layers)
    per_image, entries = dump_entries(hls_dir)
    with tempfile.TemporaryDirectory(prefix="accelgen_csim_") as tmp:
        work = Path(tmp)
        progress.step("run")
        logits, dumped, beats, seconds = run_testbench(compiled.binary, hls_dir, qimages, check_layers, work)
        logits = logits.reshape(len(images), -1)
        tensors: dict[str, np.ndarray] = {}
        mismatch = None
        if check_layers:
            tensors = split_dump(dumped, len(images), per_image, entries)
            mismatch = first_mismatch(entries, tensors, golden.tensors)
        if mismatch is None and not np.array_equal(logits, golden.logits):
            bad = int(np.argwhere(np.any(logits != golden.logits, axis=1))[0][0])
            one = images[bad:bad + 1]
            _, dumped1, _, _ = run_testbench(compiled.binary, hls_dir, qimages[bad:bad + 1], True, work)
            got = split_dump(dumped1, 1, per_image, entries)
            mismatch = first_mismatch(entries, got, sim.run(one, keep_tensors=True).tensors, bad)
            if mismatch is None:  # only the logits differ (cannot happen: they are dumped too)
                col = int(np.argwhere(logits[bad] != golden.logits[bad])[0][0])
                mismatch = Mismatch(entries[-1]["step"], build.graph.output, (bad, col), int(logits[bad, col]),
                                    int(golden.logits[bad, col]))
    return CsimResult(logits, beats, compiled.seconds, seconds, mismatch, tensors)
