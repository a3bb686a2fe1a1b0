"""Wall time of `accelgen build` for DeiT-B on zcu102 (import + search + reports), by phase.

    python benchmarks/build_time.py [--arch deit_base] [--board zcu102] [--fps 30]

The QONNX file is exported once beforehand (export is Brevitas' work, not accelgen's); the phases timed
are what `accelgen build --model deit_base.onnx` does. Target: under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from accelgen.board import load_board
from accelgen.build import BuildRequest, build
from accelgen.frontend.brevitas_export import export_to_qonnx
from accelgen.frontend.importer import import_qonnx
from accelgen.models.presets import build_preset
from accelgen.perf.dse import DEFAULT_CAPS, explore
from accelgen.perf.model import profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="deit_base")
    parser.add_argument("--board", default="zcu102")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        model = build_preset(args.arch)
        path = export_to_qonnx(model, (3, 224, 224), Path(tmp) / f"{args.arch}.onnx")
        print(f"(not timed) preset + QONNX export: {time.perf_counter() - start:.1f} s, "
              f"{path.stat().st_size / 1e6:.0f} MB")
        board = load_board(args.board)
        t0 = time.perf_counter()
        graph = import_qonnx(path)
        t1 = time.perf_counter()
        prof = profile(graph)
        t2 = time.perf_counter()
        found = explore(prof, board, args.fps, board.default_clock_mhz, DEFAULT_CAPS, path.name, "-")
        t3 = time.perf_counter()
        print(f"import {t1 - t0:.1f} s, profile {t2 - t1:.1f} s, search {t3 - t2:.1f} s "
              f"({found.engines_fitting}/{found.engines_tried} engines fit); best {found.evaluation.fps:.1f} FPS")
        t4 = time.perf_counter()
        build(BuildRequest(model=str(path), board=args.board, fps=args.fps, out=Path(tmp) / "out"))
        print(f"whole `accelgen build --model {path.name} --board {args.board} --fps {args.fps:g}`: "
              f"{time.perf_counter() - t4:.1f} s")


if __name__ == "__main__":
    main()
