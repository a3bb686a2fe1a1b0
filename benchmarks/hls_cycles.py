"""The perf model's cycles per image next to the generated HLS design's beat count (C-sim).

    python benchmarks/hls_cycles.py [--deit]

Builds the designs the search picks for the default model on every board at --fps 30 and --fps max
(`accelgen build`), C-simulates each on one test image and prints, per design, the modelled cycles, the
HLS beat count (the trip counts of its II = 1 loops, docs/hls.md) and their ratio.
--deit adds deit_tiny on zcu102 at --fps max (about 2 minutes more).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from accelgen.build_dir import load_build
from accelgen.cli import main as accelgen
from accelgen.frontend.importer import import_qonnx
from accelgen.model_source import default_model_data
from accelgen.perf.model import evaluate, profile
from accelgen.sim.csim import run_csim

BOARDS = ("zcu102", "zcu104", "kv260", "ultra96v2", "pynqz2")
DESIGNS = tuple((f"digits, {board} --fps {fps}", ["--board", board, "--fps", fps])  # (label, build arguments)
                for board in BOARDS for fps in ("30", "max"))
DEIT = ("deit_tiny, zcu102 --fps max", ["--arch", "deit_tiny", "--board", "zcu102", "--fps", "max"])


def measure(folder: Path, image: np.ndarray) -> tuple[int, int, str]:
    build = load_build(folder)
    modelled = evaluate(profile(import_qonnx(build.model_path)), build.design, build.board).beats
    result = run_csim(build, image)
    if not result.ok:
        raise SystemExit(f"{folder}: C-sim differs from the NumPy simulator: {result.mismatch.message()}")
    e = build.design.engine
    engine = f"tm {e.tm}, {e.tn_fixed} + {e.tn_pot} lanes, unit lanes {e.sm_lanes}"
    return modelled, result.beats, engine


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deit", action="store_true", help="also deit_tiny on zcu102 at --fps max")
    args = ap.parse_args()
    designs = DESIGNS + ((DEIT,) if args.deit else ())
    digits = default_model_data().images[:1]
    print("| design | engine | perf model beats (cycles at II = 1) | HLS C-sim beats | ratio |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="accelgen_hls_cycles_") as tmp:
        for i, (label, build_args) in enumerate(designs):
            folder = Path(tmp) / f"d{i}"
            if accelgen(["build", *build_args, "--out", str(folder)]) != 0:
                return 1
            image = digits if "--arch" not in build_args else \
                np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
            modelled, counted, engine = measure(folder, image)
            print(f"| {label} | {engine} | {modelled:,} | {counted:,} | {counted / modelled:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
