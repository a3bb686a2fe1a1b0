"""`accelgen synth` and the report parsers, on report files written by hand to the published formats
(Vitis HLS csynth.xml, Vivado report_utilization and report_timing_summary), with stand-in `vitis_hls` and
`vivado` executables on the PATH that leave those files where the real tools do."""

from __future__ import annotations

import json
import re
import os
import stat
from pathlib import Path

import pytest

from accelgen.build import BuildRequest, build
from accelgen.cli import main
from accelgen.errors import InputError
from accelgen.vitis import flow
from accelgen.vitis.reports import Span, parse_csynth, parse_timing_summary, parse_utilization
from accelgen.vitis.synth import pipelined_loops

CSYNTH_TOP = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit><ProductFamily>zynquplus</ProductFamily><Part>xczu9eg-ffvb1156-2-e</Part>
    <TopModelName>accelgen_top</TopModelName><TargetClockPeriod>5.00</TargetClockPeriod>
    <ClockUncertainty>1.35</ClockUncertainty><FlowTarget>vivado</FlowTarget>
  </UserAssignments>
  <PerformanceEstimates>
    <PipelineType>no</PipelineType>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>3.650</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit>
      <Best-caseLatency>2</Best-caseLatency><Average-caseLatency>undef</Average-caseLatency>
      <Worst-caseLatency>undef</Worst-caseLatency>
      <Interval-min>3</Interval-min><Interval-max>undef</Interval-max>
    </SummaryOfOverallLatency>
    <SummaryOfLoopLatency>
      <images_loop>
        <TripCount><range><min>0</min><max>4</max></range></TripCount>
        <Latency><range><min>0</min><max>undef</max></range></Latency>
        <AbsoluteTimeLatency><range><min>0</min><max>undef</max></range></AbsoluteTimeLatency>
        <IterationLatency>undef</IterationLatency>
        <PipelineDepth>undef</PipelineDepth>
        <steps_loop>
          <TripCount><range><min>0</min><max>26</max></range></TripCount>
          <Latency>undef</Latency>
          <IterationLatency>undef</IterationLatency>
        </steps_loop>
      </images_loop>
    </SummaryOfLoopLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>9</BRAM_18K><DSP>16</DSP><FF>3120</FF><LUT>5410</LUT><URAM>0</URAM></Resources>
    <AvailableResources>
      <BRAM_18K>1824</BRAM_18K><DSP>2520</DSP><FF>548160</FF><LUT>274080</LUT><URAM>0</URAM>
    </AvailableResources>
  </AreaEstimates>
</profile>
"""

CSYNTH_SOFTMAX = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <UserAssignments>
    <TopModelName>softmax_layer_AccelConfig_s</TopModelName><TargetClockPeriod>5.00</TargetClockPeriod>
  </UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><EstimatedClockPeriod>4.100</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <Best-caseLatency>5</Best-caseLatency><Worst-caseLatency>70007</Worst-caseLatency>
    </SummaryOfOverallLatency>
    <SummaryOfLoopLatency>
      <softmax_beats>
        <TripCount><range><min>1</min><max>65536</max></range></TripCount>
        <Latency><range><min>4</min><max>2097155</max></range></Latency>
        <IterationLatency>6</IterationLatency><PipelineII>32</PipelineII><PipelineDepth>6</PipelineDepth>
      </softmax_beats>
      <ln_gains>
        <TripCount>32</TripCount><Latency>34</Latency>
        <IterationLatency>3</IterationLatency><PipelineII>1</PipelineII><PipelineDepth>3</PipelineDepth>
      </ln_gains>
    </SummaryOfLoopLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>2</BRAM_18K><DSP>0</DSP><FF>800</FF><LUT>1500</LUT><URAM>0</URAM></Resources>
  </AreaEstimates>
</profile>
"""

UTILIZATION_US = """Copyright 1986-2023 Xilinx, Inc. All Rights Reserved.
| Design       : accelgen_bd_wrapper
| Device       : xczu9egffvb1156-2
------------------------------------------------------------------------------------------------

1. CLB Logic
------------

+----------------------------+------+-------+------------+-----------+-------+
|          Site Type         | Used | Fixed | Prohibited | Available | Util% |
+----------------------------+------+-------+------------+-----------+-------+
| CLB LUTs                   | 9876 |     0 |          0 |    274080 |  3.60 |
|   LUT as Logic             | 9012 |     0 |          0 |    274080 |  3.29 |
|   LUT as Memory            |  864 |     0 |          0 |    144000 |  0.60 |
| CLB Registers              | 7654 |     0 |          0 |    548160 |  1.40 |
+----------------------------+------+-------+------------+-----------+-------+

2. BLOCKRAM
-----------

+-------------------+------+-------+------------+-----------+-------+
|     Site Type     | Used | Fixed | Prohibited | Available | Util% |
+-------------------+------+-------+------------+-----------+-------+
| Block RAM Tile    | 10.5 |     0 |          0 |       912 |  1.15 |
|   RAMB36/FIFO*    |   10 |     0 |          0 |       912 |  1.10 |
|   RAMB18          |    1 |     0 |          0 |      1824 |  0.05 |
| URAM              |    0 |     0 |          0 |         0 |  0.00 |
+-------------------+------+-------+------------+-----------+-------+

3. ARITHMETIC
-------------

+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| DSPs           |   16 |     0 |          0 |      2520 |  0.63 |
|   DSP48E2 only |   16 |       |            |           |       |
+----------------+------+-------+------------+-----------+-------+
"""

UTILIZATION_7SERIES = """1. Slice Logic
--------------

+----------------------------+------+-------+-----------+-------+
|          Site Type         | Used | Fixed | Available | Util% |
+----------------------------+------+-------+-----------+-------+
| Slice LUTs                 | 4321 |     0 |     53200 |  8.12 |
| Slice Registers            | 2345 |     0 |    106400 |  2.20 |
+----------------------------+------+-------+-----------+-------+
| Block RAM Tile    |    6 |     0 |       140 |  4.29 |
| DSPs           |   12 |     0 |       220 |  5.45 |
"""


def timing_report(wns: str, whs: str) -> str:
    return f"""------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints
    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------
     {wns:>6}       -0.000                      0                21804       {whs:>6}        0.000                      0                21804        1.500        0.000                       0                  9911


All user specified timing constraints are met.
"""


def test_csynth_loops_ranges_and_resources(tmp_path):
    (tmp_path / "csynth.xml").write_text(CSYNTH_TOP)
    top = parse_csynth(tmp_path / "csynth.xml")
    assert (top.top, top.target_ns, top.estimated_ns) == ("accelgen_top", 5.0, 3.65)
    assert top.latency == Span(2, None)
    assert top.resources == {"bram36": 4.5, "dsp": 16, "ff": 3120, "lut": 5410, "uram": 0}
    assert top.available["bram36"] == 912
    assert [(lp.path, lp.trip_count.text(), lp.latency.text(), lp.ii) for lp in top.loops] == [
        ("images_loop", "0..4", "0..undef", None),
        ("images_loop/steps_loop", "0..26", "undef", None)]
    (tmp_path / "sm_csynth.xml").write_text(CSYNTH_SOFTMAX)
    beats, gains = parse_csynth(tmp_path / "sm_csynth.xml").loops
    assert (beats.name, beats.ii, beats.depth, beats.trip_count.text()) == ("softmax_beats", 32, 6, "1..65536")
    assert (gains.trip_count, gains.latency, gains.ii) == (Span(32, 32), Span(34, 34), 1)


def test_utilization_tables(tmp_path):
    (tmp_path / "us.rpt").write_text(UTILIZATION_US)
    assert parse_utilization(tmp_path / "us.rpt") == {"lut": 9876, "ff": 7654, "bram36": 10.5, "uram": 0,
                                                      "dsp": 16}
    (tmp_path / "z7.rpt").write_text(UTILIZATION_7SERIES)
    assert parse_utilization(tmp_path / "z7.rpt") == {"lut": 4321, "ff": 2345, "bram36": 6, "dsp": 12}


def test_timing_summary(tmp_path):
    (tmp_path / "t.rpt").write_text(timing_report("0.125", "0.010"))
    t = parse_timing_summary(tmp_path / "t.rpt")
    assert (t.wns, t.tns, t.whs, t.ths, t.met) == (0.125, -0.0, 0.01, 0.0, True)
    (tmp_path / "t.rpt").write_text(timing_report("-0.412", "0.010"))
    assert not parse_timing_summary(tmp_path / "t.rpt").met


@pytest.mark.parametrize("parser, text", [(parse_csynth, "<profile><AreaEstimates/></profile>"),
                                          (parse_csynth, "not xml"),
                                          (parse_utilization, "| Site Type | Used |\n"),
                                          (parse_timing_summary, "no table here\n")])
def test_reports_of_another_shape_are_named(tmp_path, parser, text):
    path = tmp_path / "report.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=str(path)):
        parser(path)


FAKE_VITIS = """#!/bin/sh
[ "$*" = "-f run_hls.tcl" ] && [ -f run_hls.tcl ] || { echo "unexpected: $*" >&2; exit 9; }
mkdir -p accelgen_prj/sol1/syn/report
cp "$FIXTURES/csynth.xml" accelgen_prj/sol1/syn/report/csynth.xml
cp "$FIXTURES/sm_csynth.xml" accelgen_prj/sol1/syn/report/softmax_layer_AccelConfig_s_csynth.xml
"""
FAKE_VIVADO = """#!/bin/sh
[ "$*" = "-mode batch -source build_overlay.tcl" ] && [ -f build_overlay.tcl ] || { echo "unexpected: $*" >&2; exit 9; }
cp "$FIXTURES/utilization.rpt" "$FIXTURES/timing_summary.rpt" .
exit "$VIVADO_EXIT"
"""


@pytest.fixture(scope="module")
def build_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "build"
    build(BuildRequest(board="zcu102", fps=30.0, out=out))
    return out


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    bin_dir, fixtures = tmp_path / "bin", tmp_path / "fixtures"
    bin_dir.mkdir()
    fixtures.mkdir()
    for name, script in (("vitis_hls", FAKE_VITIS), ("vivado", FAKE_VIVADO)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(stat.S_IRWXU)
    for name, text in (("csynth.xml", CSYNTH_TOP), ("sm_csynth.xml", CSYNTH_SOFTMAX),
                       (flow.UTILIZATION_REPORT, UTILIZATION_US),
                       (flow.TIMING_REPORT, timing_report("0.125", "0.010"))):
        (fixtures / name).write_text(text)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FIXTURES", str(fixtures))
    monkeypatch.setenv("VIVADO_EXIT", "0")
    return fixtures


def test_pipelined_loops_of_the_generated_project(build_folder):
    asked = pipelined_loops(build_folder / "hls")
    for label in ("beat", "gear", "ddr_burst", "softmax_beats", "layernorm_beats", "image_load", "eltwise_beats"):
        assert asked[label] == 1, label


def test_synth_runs_the_tools_and_reports_beside_the_model(build_folder, fake_tools, capsys):
    model = json.loads((build_folder / "report.json").read_text())
    assert main(["synth", str(build_folder)]) == 0
    out = capsys.readouterr().out
    assert "loop softmax_beats: II 32, modelled 1" in out and "WNS 0.125 ns" in out
    data = json.loads((build_folder / "report.json").read_text())
    section = data.pop("vitis")
    assert data == model  # the model's figures are kept as they were
    lut = next(r for r in section["resources"] if r["kind"] == "lut")
    assert (lut["model"], lut["csynth"], lut["implemented"]) == (model["resources"]["lut"]["used"], 5410, 9876)
    loops = {lp["loop"]: lp for lp in section["loops"]}
    assert not loops["softmax_beats"]["as_modelled"] and loops["ln_gains"]["as_modelled"]
    assert loops["images_loop/steps_loop"]["modelled_ii"] is None
    md = (build_folder / "report.md").read_text()
    assert md.count("## Vitis results") == 1 and "| softmax_beats | 1..65536 |" in md and "**differs**" in md
    html = (build_folder / "report.html").read_text()
    assert html.count('<section id="vitis">') == 1 and "WNS 0.125 ns" in html
    lut_row = re.search(r"<tr><td>lut</td>(.*?)</tr>", html[html.index('id="vitis-resources"'):]).group(1)
    assert re.findall(r">([^<]*)</td>", lut_row)[:3] == [f"{model['resources']['lut']['used']:,}", "5,410", "9,876"]
    assert re.search(r"<td>softmax_beats</td>.*?<td[^>]*>32</td><td[^>]*>1</td><td>differs</td>", html)
    assert main(["synth", str(build_folder), "--reports-only"]) == 0
    assert (build_folder / "report.md").read_text() == md  # rerun: same section, not a second one
    assert (build_folder / "report.html").read_text() == html


def test_synth_reports_a_failed_implementation_after_writing_what_it_has(build_folder, fake_tools, monkeypatch,
                                                                         capsys):
    (fake_tools / flow.TIMING_REPORT).write_text(timing_report("-0.412", "0.010"))
    monkeypatch.setenv("VIVADO_EXIT", "1")
    assert main(["synth", str(build_folder)]) == 1
    assert "vivado failed (exit 1)" in capsys.readouterr().err
    assert json.loads((build_folder / "report.json").read_text())["vitis"]["timing"]["met"] is False


def test_synth_without_the_tools_prints_the_commands(build_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["synth", str(build_folder)]) == 2
    captured = capsys.readouterr()
    hls = build_folder / "hls"
    assert captured.out.splitlines() == [f"cd {hls} && vitis_hls -f run_hls.tcl",
                                         f"cd {hls} && vivado -mode batch -source build_overlay.tcl"]
    assert "not on the PATH" in captured.err and captured.err.count("\n") == 1
    assert main(["synth", str(tmp_path / "nothing")]) == 2
    assert "not a build folder" in capsys.readouterr().err


def test_synth_names_a_report_json_it_cannot_use(tmp_path, capsys):
    (tmp_path / "hls").mkdir()
    (tmp_path / "hls" / flow.HLS_SCRIPT).write_text("exit\n")
    (tmp_path / "report.json").write_text('{"cycles": 5}')
    assert main(["synth", str(tmp_path), "--reports-only"]) == 2
    err = capsys.readouterr().err
    assert "report.json: not an accelgen report" in err and err.count("\n") == 1


def test_build_with_synth_runs_the_tools_on_the_new_folder(tmp_path, fake_tools, capsys):
    out = tmp_path / "built"
    assert main(["build", "--board", "zcu102", "--fps", "30", "--out", str(out), "--synth"]) == 0
    assert "synth: " in capsys.readouterr().out
    assert json.loads((out / "report.json").read_text())["vitis"]["timing"]["met"] is True
    assert (out / "hls" / "vitis_hls.log").is_file() and (out / "hls" / "vivado.log").is_file()
