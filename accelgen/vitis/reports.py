"""Parsers of the reports Vitis HLS and Vivado write: csynth.xml (per-loop II, trip count, latency;
estimated resources and clock), Vivado's report_utilization text tables and report_timing_summary's
design timing summary. Each returns typed values; a file that does not have the published shape is bad
input naming the file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

LOOP_FIELDS = ("TripCount", "Latency", "IterationLatency", "PipelineII", "PipelineDepth")
# csynth.xml resource names -> the model's resource kinds (BRAM_18K counts halves of a BRAM36)
CSYNTH_RESOURCES = {"LUT": "lut", "FF": "ff", "DSP": "dsp", "BRAM_18K": "bram36", "URAM": "uram"}
# report_utilization site types (UltraScale+ and 7-series names) -> resource kinds
UTILIZATION_SITES = {"CLB LUTs": "lut", "Slice LUTs": "lut", "CLB Registers": "ff", "Slice Registers": "ff",
                     "Block RAM Tile": "bram36", "URAM": "uram", "DSPs": "dsp"}


@dataclass(frozen=True)
class Span:
    """A count that csynth gives as one number, a min/max range, or `undef` (None)."""

    low: int | None
    high: int | None

    def text(self) -> str:
        low, high = ("undef" if v is None else str(v) for v in (self.low, self.high))
        return low if low == high else f"{low}..{high}"


@dataclass(frozen=True)
class LoopReport:
    name: str
    path: str  # enclosing loops / name
    trip_count: Span
    latency: Span
    ii: int | None  # achieved initiation interval (None: not pipelined or undef)
    depth: int | None


@dataclass
class CsynthReport:
    top: str
    target_ns: float | None
    estimated_ns: float | None
    latency: Span
    resources: dict[str, float] = field(default_factory=dict)  # resource kind -> estimate
    available: dict[str, float] = field(default_factory=dict)
    loops: list[LoopReport] = field(default_factory=list)


def _number(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if re.fullmatch(r"\d+", text) else None


def _float(text: str | None) -> float | None:
    try:
        return float((text or "").strip())
    except ValueError:
        return None


def _span(node: ET.Element | None) -> Span:
    if node is None:
        return Span(None, None)
    rng = node.find("range")
    if rng is not None:
        return Span(_number(rng.findtext("min")), _number(rng.findtext("max")))
    value = _number(node.text)
    return Span(value, value)


def _loops(parent: ET.Element, prefix: str) -> list[LoopReport]:
    out = []
    for node in parent:
        if not any(node.find(f) is not None for f in LOOP_FIELDS):
            continue
        name = node.findtext("Name") or node.tag
        path = f"{prefix}/{name}" if prefix else name
        out.append(LoopReport(name, path, _span(node.find("TripCount")), _span(node.find("Latency")),
                              _number(node.findtext("PipelineII")), _number(node.findtext("PipelineDepth"))))
        out += _loops(node, path)
    return out


def _resources(node: ET.Element | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for child in node if node is not None else []:
        kind = CSYNTH_RESOURCES.get(child.tag)
        value = _float(child.text)
        if kind is not None and value is not None:
            out[kind] = value / 2 if child.tag == "BRAM_18K" else value
    return out


def parse_csynth(path: Path) -> CsynthReport:
    """One csynth.xml (the top's, or a sub-function's <name>_csynth.xml)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise InputError(f"{path}: not a readable csynth.xml ({err})") from None
    perf = root.find("PerformanceEstimates")
    if root.tag != "profile" or perf is None:
        raise InputError(f"{path}: no <profile><PerformanceEstimates> (not a Vitis HLS csynth.xml)")
    overall = perf.find("SummaryOfOverallLatency")
    latency = Span(None, None) if overall is None else Span(_number(overall.findtext("Best-caseLatency")),
                                                             _number(overall.findtext("Worst-caseLatency")))
    loops = perf.find("SummaryOfLoopLatency")
    area = root.find("AreaEstimates")
    return CsynthReport(
        top=root.findtext("UserAssignments/TopModelName", ""),
        target_ns=_float(root.findtext("UserAssignments/TargetClockPeriod")),
        estimated_ns=_float(perf.findtext("SummaryOfTimingAnalysis/EstimatedClockPeriod")),
        latency=latency,
        resources=_resources(None if area is None else area.find("Resources")),
        available=_resources(None if area is None else area.find("AvailableResources")),
        loops=[] if loops is None else _loops(loops, ""))


TABLE_ROW = re.compile(r"^\|\s*(?P<site>[^|]*?)\s*\|\s*(?P<used>[\d.]+)\s*\|(?P<rest>.*)\|\s*$")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError as err:
        raise InputError(f"{path}: cannot read the report ({err})") from None


def parse_utilization(path: Path) -> dict[str, float]:
    """Resource kind -> used, from the first table row of each site type in a report_utilization file."""
    lines = _lines(path)
    used: dict[str, float] = {}
    for line in lines:
        m = TABLE_ROW.match(line)
        if m is not None and m.group("site") in UTILIZATION_SITES:
            used.setdefault(UTILIZATION_SITES[m.group("site")], float(m.group("used")))
    if "lut" not in used:
        raise InputError(f"{path}: no 'CLB LUTs' / 'Slice LUTs' row (not a Vivado report_utilization file)")
    return used


@dataclass(frozen=True)
class Timing:
    wns: float
    tns: float
    whs: float
    ths: float

    @property
    def met(self) -> bool:
        return self.wns >= 0 and self.whs >= 0


def parse_timing_summary(path: Path) -> Timing:
    """The Design Timing Summary row of a report_timing_summary file."""
    lines = _lines(path)
    for i, line in enumerate(lines):
        if "WNS(ns)" not in line:
            continue
        columns = re.split(r"\s{2,}", line.strip())
        for row in lines[i + 1:i + 4]:
            values = row.split()
            if len(values) == len(columns) and _float(values[0]) is not None:
                by_name = dict(zip(columns, values))
                return Timing(*(float(by_name[k]) for k in ("WNS(ns)", "TNS(ns)", "WHS(ns)", "THS(ns)")))
    raise InputError(f"{path}: no Design Timing Summary (WNS(ns) ...) table (not a report_timing_summary file)")
