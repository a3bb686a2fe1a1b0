"""Modelled `--fps max` of the DeiT presets on the ZCU102-class boards, beside the roofline limits.

    python benchmarks/fps_table.py [--boards zcu102 kv260 zcu104] [--archs deit_tiny deit_small deit_base]

Prints a Markdown table (used in docs/performance.md): FPS, latency, the engine, DSP/LUT/BRAM/URAM use,
memory-bound layers, and the roofline bound of the board (peak MAC/cycle and usable DDR bandwidth) for the
same MACs and the DDR bytes of the chosen design; "does not fit" where no engine fits the caps.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from accelgen.board import load_board
from accelgen.errors import InfeasibleError
from accelgen.frontend.importer import import_qonnx
from accelgen.model_source import export_preset
from accelgen.perf.dse import DEFAULT_CAPS, explore
from accelgen.perf.model import profile
from accelgen.perf.roofline import roofline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", nargs="+", default=["zcu102", "kv260", "zcu104"])
    parser.add_argument("--archs", nargs="+", default=["deit_tiny", "deit_small", "deit_base"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print("| model | board | FPS (max) | latency ms | engine tm x (fixed+PoT) | DSP | LUT | BRAM36 | URAM | "
          "softmax/LN lanes | memory-bound layers | roofline FPS (compute / DDR) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for arch in args.archs:
        with tempfile.TemporaryDirectory() as tmp:
            prof = profile(import_qonnx(export_preset(arch, Path(tmp))))
        macs = sum(w.macs for w in prof.works)
        for name in args.boards:
            board = load_board(name)
            try:
                found = explore(prof, board, None, board.default_clock_mhz, DEFAULT_CAPS, arch, "-")
            except InfeasibleError:
                print(f"| {arch} | {name} | does not fit |" + " - |" * 9)
                continue
            ev, e = found.evaluation, found.design.engine
            roof = roofline(board)
            compute = roof.macs_per_cycle * roof.clock_mhz * 1e6 / macs
            memory = roof.ddr_gbps * 1e9 / ev.ddr_bytes
            r = ev.resources.as_dict()
            mem = sum(1 for layer in ev.layers if layer.bound == "memory")
            print(f"| {arch} | {name} | {ev.fps:.1f} | {ev.latency_ms:.2f} | {e.tm} x ({e.tn_fixed}+{e.tn_pot}) | "
                  f"{r['dsp']:,} | {r['lut']:,} | {r['bram36']} | {r['uram']} | "
                  f"{e.sm_lanes}/{e.ln_lanes} | {mem} | "
                  f"{compute:.1f} / {memory:.1f} |")


if __name__ == "__main__":
    main()
