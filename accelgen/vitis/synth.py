"""`accelgen synth`: run Vitis HLS and Vivado on a build folder's project when they are installed, then
set what they report beside what the model predicted -- per resource (model, csynth estimate,
implementation) and per loop (the II the source asks for against the II achieved) -- in report.json
(key "vitis") and report.md (section "Vitis results")."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..codegen.hls_project import PROJECT, SOLUTION
from ..errors import InputError, VerificationError
from ..report import report_json, report_markdown
from ..reporting.build_page import report_html
from . import flow
from .reports import CsynthReport, LoopReport, Timing, parse_csynth, parse_timing_summary, parse_utilization

RESOURCE_KINDS = ("lut", "ff", "dsp", "bram36", "uram")
LABEL = re.compile(r"^\s*(\w+):\s*$")
PIPELINE = re.compile(r"^\s*#\s*pragma\s+HLS\s+PIPELINE\b(?:.*\bII\s*=\s*(\d+))?", re.I)
SECTION = "## Vitis results"


@dataclass(frozen=True)
class Step:
    tool: str
    command: list[str]
    log: str


STEPS = (Step("vitis_hls", flow.hls_command(), "vitis_hls.log"), Step("vivado", flow.vivado_command(), "vivado.log"))


def hls_folder(build_dir: Path) -> Path:
    hls = build_dir / "hls"
    if not (hls / flow.HLS_SCRIPT).is_file() or not (build_dir / "report.json").is_file():
        raise InputError(f"{build_dir}: not a build folder (needs report.json and hls/{flow.HLS_SCRIPT}; "
                         "run `accelgen build` first)")
    return hls


def shell_commands(hls: Path) -> list[str]:
    """The exact commands to run where Vitis and Vivado are installed."""
    return [f"cd {hls} && {' '.join(step.command)}" for step in STEPS]


def run_tools(hls: Path) -> str | None:
    """Vitis HLS (csim, csynth, export) then Vivado (bitstream, reports), each logged next to its script;
    returns what failed, if anything (the reports written until then are still worth reading)."""
    missing = [step.tool for step in STEPS if shutil.which(step.tool) is None]
    if missing:
        for line in shell_commands(hls):
            print(line)
        raise InputError(f"{', '.join(missing)} not on the PATH: run the commands above where Vitis/Vivado are "
                         f"installed, then `accelgen synth {hls.parent} --reports-only`")
    for step in STEPS:
        with open(hls / step.log, "w") as log:
            proc = subprocess.run(step.command, cwd=hls, stdout=log, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            return f"{step.tool} failed (exit {proc.returncode}): see {hls / step.log}"
    return None


def pipelined_loops(hls: Path) -> dict[str, int]:
    """label -> the II its PIPELINE pragma asks for, over the project's sources (what the model assumes)."""
    out: dict[str, int] = {}
    for path in sorted(hls.glob("*.h")) + sorted(hls.glob("*.cpp")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = PIPELINE.match(line)
            if m is None:
                continue
            above = [LABEL.match(lines[j]) for j in range(max(0, i - 4), i)]
            labels = [a.group(1) for a in above if a is not None]
            if labels:
                out[labels[-1]] = int(m.group(1) or 1)
    return out


@dataclass(frozen=True)
class Results:
    csynth: CsynthReport
    loops: list[LoopReport]  # of the top and every sub-function report
    utilization: dict[str, float] | None
    timing: Timing | None


def collect(hls: Path) -> Results:
    report_dir = hls / flow.csynth_report(PROJECT, SOLUTION).parent
    top = report_dir / "csynth.xml"
    if not top.is_file():
        raise InputError(f"{top}: missing (run `vitis_hls -f {flow.HLS_SCRIPT}` in {hls} first)")
    csynth = parse_csynth(top)
    loops = {loop.path: loop for loop in csynth.loops}
    for sub in sorted(report_dir.glob("*_csynth.xml")):
        for loop in parse_csynth(sub).loops:
            loops.setdefault(loop.path, loop)
    util, timing = hls / flow.UTILIZATION_REPORT, hls / flow.TIMING_REPORT
    return Results(csynth, sorted(loops.values(), key=lambda lp: lp.path),
                   parse_utilization(util) if util.is_file() else None,
                   parse_timing_summary(timing) if timing.is_file() else None)


def comparison(model: dict, results: Results, asked: dict[str, int]) -> dict:
    """The "vitis" section of report.json."""
    used = model["resources"]
    resources = [{"kind": k, "model": used[k]["used"], "csynth": results.csynth.resources.get(k),
                  "implemented": None if results.utilization is None else results.utilization.get(k),
                  "available": used[k]["available"]} for k in RESOURCE_KINDS]
    loops = [{"loop": lp.path, "trip_count": lp.trip_count.text(), "latency": lp.latency.text(), "ii": lp.ii,
              "modelled_ii": asked.get(lp.name),
              "as_modelled": asked.get(lp.name) is None or lp.ii == asked.get(lp.name)} for lp in results.loops]
    timing = None if results.timing is None else {"wns_ns": results.timing.wns, "whs_ns": results.timing.whs,
                                                  "met": results.timing.met}
    return {"target_ns": results.csynth.target_ns, "estimated_ns": results.csynth.estimated_ns,
            "modelled_cycles": model["cycles"], "csynth_latency": results.csynth.latency.text(),
            "resources": resources, "loops": loops, "timing": timing}


def _cell(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def markdown(section: dict) -> str:
    lines = [SECTION, "", f"Clock: target {_cell(section['target_ns'])} ns, csynth estimate "
             f"{_cell(section['estimated_ns'])} ns. Cycles per frame: model {section['modelled_cycles']:,}, csynth "
             f"latency {section['csynth_latency']} (whole batch call)."]
    t = section["timing"]
    lines.append("Implementation: not run." if t is None else
                 f"Implementation: WNS {t['wns_ns']:g} ns, WHS {t['whs_ns']:g} ns ({'met' if t['met'] else 'MISSED'}).")
    lines += ["", "| resource | model | csynth | implemented | available |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['kind']} | {_cell(r['model'])} | {_cell(r['csynth'])} | {_cell(r['implemented'])} | "
              f"{_cell(r['available'])} |" for r in section["resources"]]
    lines += ["", "| loop | trip count | latency | II | modelled II | |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    lines += [f"| {lp['loop']} | {lp['trip_count']} | {lp['latency']} | {_cell(lp['ii'])} | "
              f"{_cell(lp['modelled_ii'])} | {'' if lp['as_modelled'] else '**differs**'} |" for lp in section["loops"]]
    return "\n".join(lines) + "\n"


def write_report(build_dir: Path, section: dict) -> None:
    """report.json gains (or replaces) its "vitis" key; report.md is the model's report plus the section;
    report.html shows it as its last section."""
    data = json.loads((build_dir / "report.json").read_text())
    data.pop("vitis", None)
    (build_dir / "report.md").write_text(report_markdown(data) + "\n" + markdown(section))
    data["vitis"] = section
    (build_dir / "report.json").write_text(report_json(data))
    (build_dir / "report.html").write_text(report_html(data))


def model_report(build_dir: Path) -> dict:
    """The build's report.json (the model's figures), checked for what the comparison reads."""
    path = build_dir / "report.json"
    try:
        data = json.loads(path.read_text())
        _ = data["cycles"], [data["resources"][k]["used"] for k in RESOURCE_KINDS]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not an accelgen report ({err!r} missing or malformed); rebuild with "
                         "`accelgen build`") from None
    return data


def synth(build_dir: str | Path, run: bool = True) -> dict:
    """Run the tools (unless `run` is False: parse what is there) and write the comparison; returns it."""
    build_dir = Path(build_dir)
    hls = hls_folder(build_dir)
    failure = run_tools(hls) if run else None
    if failure is not None and not (hls / flow.csynth_report(PROJECT, SOLUTION)).is_file():
        raise VerificationError(failure)
    section = comparison(model_report(build_dir), collect(hls), pipelined_loops(hls))
    write_report(build_dir, section)
    if failure is not None:
        raise VerificationError(f"{failure} (what was reported is in {build_dir / 'report.md'})")
    return section
