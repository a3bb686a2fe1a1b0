"""Per-layer exactness of the lowering against the QONNX reference, on the default model, the independent
model and every Brevitas-flow export; and that mistakes in the lowering's rounding are caught."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from accelgen.frontend.importer import import_with_sources
from accelgen.passes import lower, to_integer
from accelgen.sim.exactness import check_exactness

pytestmark = pytest.mark.sim
DATA = Path(__file__).parent / "data"
FLOWS = [name for name, entry in json.loads((DATA / "flows" / "flows.json").read_text()).items()
         if isinstance(entry, dict) and "brevitas_predictions" in entry]
IMAGES = 16


@pytest.fixture(scope="module")
def images():
    from accelgen.model_source import default_model_data

    return default_model_data().images[:IMAGES]


def model_path(which: str, default_model: Path) -> Path:
    return {"default": default_model, "independent": DATA / "indep_digits.onnx"}.get(
        which, DATA / "flows" / f"{which}.onnx")


@pytest.mark.parametrize("which", ["default", "independent", *FLOWS])
def test_every_layer_is_exact_up_to_documented_ties(which, default_model, images):
    path = model_path(which, default_model)
    graph, sources = import_with_sources(path)
    results = check_exactness(graph, to_integer(graph), sources, path, images)
    exact = [r for r in results if r.exact]
    assert exact, "no layer was checked exactly"
    assert not [r.op for r in exact if r.errors], "layers with differences beyond rounding ties"
    for r in exact:  # ties: at most twice the expected count (plus a few for small layers)
        assert r.ties <= 2 * r.tie_bound + 5, (r.op, r.ties, r.tie_bound)


@pytest.mark.parametrize("mutation", ["truncating shift", "residual one bit low"])
def test_lowering_mistakes_are_caught(mutation, default_model, images, monkeypatch):
    """Mutations of docs/numerics.md section 3: the rounding constant 2^(k-1) left out of B (the shift
    truncates instead of rounding), or the residual multiplier taken one bit too low. (Truncating the 16-bit
    multipliers instead of rounding them moves a product by at most 2^-15 of itself: within the documented
    error, so not a mistake this tool can tell from rounding.)"""
    graph, sources = import_with_sources(default_model)
    if mutation == "truncating shift":
        rounding_bias = lower.rounding_bias

        def truncating_bias(shift, value=0.0):
            k = np.asarray(shift, dtype=np.int64)
            return rounding_bias(shift, value) - (np.int64(1) << np.maximum(k - 1, 0)) * (k > 0)

        monkeypatch.setattr(lower, "rounding_bias", truncating_bias)
    else:
        residual_mult = lower.residual_mult
        monkeypatch.setattr(lower, "residual_mult", lambda real, shift: residual_mult(real, shift - 1))
    results = check_exactness(graph, to_integer(graph), sources, default_model, images)
    assert any(r.exact and r.errors for r in results)
