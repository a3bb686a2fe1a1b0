"""Per-layer exactness of the lowering against the QONNX reference, on the default model, the independent
model and every Brevitas-flow export; and that a rounding mistake in the lowering's multipliers is caught."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_truncating_multipliers_are_caught(default_model, images, monkeypatch):
    """Mutation: the dyadic multipliers truncated instead of rounded (docs/numerics.md section 3)."""
    graph, sources = import_with_sources(default_model)

    def truncated(real: float, shift: int) -> int:
        return int(real * 2.0 ** shift)

    def truncated_dyadic(real: float) -> tuple[int, int]:
        m, k = dyadic(real)
        return truncated(real, k), k

    dyadic = lower.dyadic
    monkeypatch.setattr(lower, "dyadic", truncated_dyadic)
    monkeypatch.setattr(lower, "dyadic_at", truncated)
    results = check_exactness(graph, to_integer(graph), sources, default_model, images)
    assert any(r.exact and r.errors for r in results)
