"""accelgen/perf/unit_costs.json (scripts/synth_units.py, Yosys synth_xilinx of the RTL units) agrees with the
current RTL, the installed Yosys, a fresh synthesis, the perf model that reads it, and docs/rtl.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_script

from accelgen.perf.resource_model import Resources, unit_cost

pytestmark = pytest.mark.rtl

REPO = Path(__file__).resolve().parents[1]
COSTS = REPO / "accelgen" / "perf" / "unit_costs.json"
DOC = REPO / "docs" / "rtl.md"
UNITS = ("requant", "e2softmax", "ailayernorm", "eltwise", "gelu")




@pytest.fixture(scope="module")
def costs():
    if not COSTS.is_file():
        pytest.fail(f"{COSTS} missing: run scripts/synth_units.py")
    return json.loads(COSTS.read_text())


def test_unit_costs_complete_and_read_by_the_model(costs):
    assert "provisional" not in costs
    for family in ("xcup", "xc7"):
        for unit in UNITS:
            u = costs["units"][family][unit]
            for key in ("lut", "ff", "dsp", "bram36"):
                assert isinstance(u[key], (int, float)) and u[key] >= 0, (family, unit, key)
            assert u["lut"] > 0 and u["ff"] > 0, (family, unit)
            assert unit_cost(family, unit) == Resources(dsp=u["dsp"], lut=u["lut"], ff=u["ff"], bram36=u["bram36"])
        # the requantization multiplies on DSPs; E2Softmax has no multiplier; the GELU unit is a table
        assert costs["units"][family]["requant"]["dsp"] >= 1
        assert costs["units"][family]["e2softmax"]["dsp"] == 0
        assert costs["units"][family]["gelu"]["dsp"] == 0
        # the buffers the perf model counts itself are not in the units' numbers
        for unit in ("e2softmax", "ailayernorm"):
            u = costs["units"][family][unit]
            assert u["buffer_bram36"] > 0 or u["buffer_lut"] > 0, (family, unit)


def test_unit_costs_match_rtl_yosys_and_points(costs):
    su = load_script("synth_units")
    assert costs["rtl_sha256"] == su.rtl_sha256(), "rtl/ changed since unit_costs.json: rerun scripts/synth_units.py"
    try:
        yosys = su.find_yosys()
    except FileNotFoundError as e:
        pytest.fail(str(e))
    assert su.yosys_version(yosys) == costs["yosys"]["version"]
    assert [(p["name"], p["family"], p["top"]) for p in costs["points"]] == \
        [(p["name"], p["family"], p["top"]) for p in su.points()]
    assert json.loads(json.dumps(su.unit_entries(costs["points"]))) == costs["units"]


def test_fresh_synthesis_of_the_requant_lane(costs):
    """Re-synthesize the smallest unit (requant_lane, xcup) with the pinned Yosys: identical counts."""
    su = load_script("synth_units")
    point = next(p for p in su.points() if p["name"] == "requant" and p["family"] == "xcup")
    fresh = su.synth_point(point, su.find_yosys())
    stored = next(p for p in costs["points"] if p["name"] == "requant" and p["family"] == "xcup")
    assert {k: stored[k] for k in fresh} == fresh


def test_docs_tables(costs):
    su = load_script("synth_units")
    text = DOC.read_text()
    block = text.split(su.BEGIN.format("resources"))[1].split(su.END.format("resources"))[0]
    assert block.strip() == su.resource_table(costs).strip(), "docs/rtl.md is stale: rerun scripts/synth_units.py"
    for section in ("bench cycles", "rtlsim cycles"):
        rows = su.parse_cycles_table(text, section)
        assert rows, section
        for r in rows:
            assert float(r["diff"].rstrip("%")) <= 5.0, r
