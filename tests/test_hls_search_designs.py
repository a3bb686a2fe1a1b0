"""The designs the search itself picks -- the default model on every board at --fps 30 and --fps max --
C-simulated: equal to the NumPy simulator, and their beat counts next to the report's cycles.

The HLS counter sums the trip counts of the design's II = 1 loops (docs/hls.md): it has neither the
units' pipeline latencies the model charges per tile / layer (14 cycles per GEMM tile) nor the wait for
DDR on memory-bound layers. Over these ten designs the counter is 0.82 to 0.97 of the model
(benchmarks/hls_cycles.py, docs/performance.md); csim_helpers.BEATS_OVER_MODEL is that spread with a margin.
Designs that render to the same C++ (same engine, layer choices and DDR word) are compiled once.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from csim_helpers import assert_beats_near_model

from accelgen.board import load_board
from accelgen.build_dir import load_build
from accelgen.cli import main as accelgen
from accelgen.model_source import default_model_data
from accelgen.sim.csim import compile_csim, run_csim

pytestmark = pytest.mark.csim

BOARDS = ("zcu102", "zcu104", "kv260", "ultra96v2", "pynqz2")
TARGETS = ("30", "max")


def project_key(folder) -> str:
    """What the generated C++ depends on: the engine, the layer choices and the DDR word width."""
    design = json.loads((folder / "design.json").read_text())
    word = load_board(design["board"]).hp_ports.width_bits
    return json.dumps([design["engine"], design["layers"], word], sort_keys=True)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """(board, target) -> (counter cycles per image, the report's beats: its cycles at II = 1)."""
    root = tmp_path_factory.mktemp("search_designs")
    folders = {}
    for board in BOARDS:
        for target in TARGETS:
            folder = root / f"{board}_{target}"
            assert accelgen(["build", "--board", board, "--fps", target, "--out", str(folder)]) == 0
            folders[(board, target)] = folder
    first: dict[str, tuple] = {}
    for key, folder in folders.items():
        first.setdefault(project_key(folder), key)
    distinct = sorted(set(first.values()))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(lambda k: compile_csim(folders[k] / "hls"), distinct))
    image = default_model_data().images[:1]
    counters = {}
    for key in distinct:
        result = run_csim(load_build(folders[key]), image)
        assert result.ok, f"{key}: {result.mismatch.message()}"
        counters[key] = result.beats
    return {key: (counters[first[project_key(folder)]], json.loads((folder / "report.json").read_text())["beats"])
            for key, folder in folders.items()}


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("target", TARGETS)
def test_search_design_counter_is_the_modelled_cycles(measured, board, target):
    counted, modelled = measured[(board, target)]
    assert_beats_near_model(counted, modelled)
