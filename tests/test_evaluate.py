"""`accelgen evaluate`: the same totals for every chunking and worker count (local processes, a Dask
LocalCluster of one and two workers), equal to a serial run of the simulator and the float reference;
resumes after being killed; a worker killed mid-run has its chunks re-run and nothing counts twice."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from html_checks import external_references

from accelgen.evaluate.metrics import compute_metrics
from accelgen.evaluate.runner import EvaluateRequest, evaluate
from accelgen.evaluate.tasks import ImageSource

pytestmark = [pytest.mark.sim, pytest.mark.xdist_group("dask")]


@pytest.fixture(scope="module")
def digits(tmp_path_factory, default_model):
    """All 1797 scikit-learn digits, scaled as the default model was trained, and the serial reference:
    the NumPy simulator and the float reference run on every image in one batch."""
    from sklearn.datasets import load_digits

    from accelgen.api import load_integer_model
    from accelgen.sim.numpy_sim import NumpySimulator
    from accelgen.sim.reference import QonnxReference

    raw = load_digits()
    images = (raw.images.astype(np.float32) / 8.0 - 1.0)[:, None]
    labels = raw.target.astype(np.int64)
    folder = tmp_path_factory.mktemp("digits")
    np.save(folder / "x.npy", images)
    np.save(folder / "y.npy", labels)
    loaded = load_integer_model(default_model)
    design = NumpySimulator(loaded.graph).run(images).predictions
    reference = QonnxReference(default_model).run(images)[0].argmax(1)
    return folder, images, labels, design, reference


def expected_totals(labels, design, reference) -> dict:
    """Counts by plain loops, independently of accelgen.evaluate.metrics."""
    confusion = [[0] * 10 for _ in range(10)]
    for t, p in zip(labels, design):
        confusion[t][p] += 1
    return {"images": len(labels), "design_correct": int(sum(design == labels)),
            "reference_correct": int(sum(reference == labels)), "agreeing": int(sum(design == reference)),
            "confusion": confusion,
            "reference_per_class": [int(sum((reference == labels) & (labels == c))) for c in range(10)]}


def totals_of(data: dict) -> dict:
    return {"images": data["images"], "design_correct": data["design_correct"],
            "reference_correct": data["reference_correct"], "agreeing": data["agreeing"],
            "confusion": data["confusion"], "reference_per_class": [c["reference_correct"] for c in data["classes"]]}


def test_metrics_count_every_image_once():
    rng = np.random.default_rng(1)
    labels, design, reference = (rng.integers(0, 4, 50) for _ in range(3))
    m = compute_metrics(labels, design, reference, 4)
    assert m.to_dict()["confusion"] == tuple(tuple(int(np.sum((labels == t) & (design == p))) for p in range(4))
                                             for t in range(4))
    assert (m.design_correct, m.reference_correct, m.agreeing) == \
        (np.sum(design == labels), np.sum(reference == labels), np.sum(design == reference))
    assert [c.images for c in m.classes] == [int(np.sum(labels == c)) for c in range(4)]


def test_same_totals_for_every_chunking_and_worker_count(digits, default_model, tmp_path):
    from dask.distributed import LocalCluster

    folder, images, labels, design, reference = digits
    want = expected_totals(labels, design, reference)
    args = ("--input", str(folder / "x.npy"), "--labels", str(folder / "y.npy"))
    local = run_cli("evaluate", str(default_model), *args, "--out", str(tmp_path / "local"), "--chunk-size", "500",
                    "--workers", "2")
    assert local.returncode == 0, local.stderr
    outputs = [tmp_path / "local" / "evaluation.json"]
    for workers, chunk in ((1, 1797), (2, 97)):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
            out = tmp_path / f"dask{workers}"
            proc = run_cli("evaluate", str(default_model), *args, "--out", str(out), "--chunk-size", str(chunk),
                           "--scheduler", cluster.scheduler_address)
            assert proc.returncode == 0, proc.stderr
            outputs.append(out / "evaluation.json")
    assert len(list((tmp_path / "dask2" / "chunks").glob("*.npz"))) == 19
    first = outputs[0].read_bytes()
    assert all(o.read_bytes() == first for o in outputs[1:])
    assert totals_of(json.loads(first)) == want
    assert f"{100 * want['design_correct'] / 1797:.2f}%" in local.stdout
    html = (tmp_path / "dask2" / "evaluation.html").read_text()
    assert html.count("<svg") == 2 and not external_references(html)
    cells = re.findall(r'<g id="cell-(\d+)-(\d+)">\s*<text[^>]*>(\d+)</text>', html)
    plotted = [[0] * 10 for _ in range(10)]
    for i, j, count in cells:
        plotted[int(i)][int(j)] = int(count)
    assert plotted == want["confusion"]


def test_resumes_after_being_killed(digits, default_model, tmp_path):
    folder, images, labels, design, reference = digits
    out = tmp_path / "ev"
    command = [str(Path(sys.executable).parent / "accelgen"), "evaluate", str(default_model), "--input",
               str(folder / "x.npy"), "--labels", str(folder / "y.npy"), "--out", str(out), "--chunk-size", "20",
               "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("chunks/*.npz"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("chunks/*.npz")}
    assert 3 <= len(before) < 90, "the evaluation was not interrupted midway"
    again = run_cli("evaluate", str(default_model), "--input", str(folder / "x.npy"), "--labels",
                    str(folder / "y.npy"), "--out", str(out), "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert f"90 chunks ({90 - len(before)} computed now, {len(before)} resumed)" in again.stdout
    assert all((out / "chunks" / name).stat().st_mtime_ns == t for name, t in before.items())
    assert totals_of(json.loads((out / "evaluation.json").read_text())) == expected_totals(labels, design, reference)


def test_a_killed_worker_has_its_chunks_rerun_and_nothing_counts_twice(digits, default_model, tmp_path):
    from dask.distributed import Client, LocalCluster

    folder, images, labels, design, reference = digits
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        def kill_a_busy_worker(result):
            busy = [w for w, keys in client.processing().items() if keys]
            if killed or not busy:
                return
            pids = client.run(os.getpid, workers=busy[:1])
            killed.append(len(client.processing()[busy[0]]))
            os.kill(pids[busy[0]], signal.SIGKILL)

        req = EvaluateRequest(str(default_model), ImageSource(str(folder / "x.npy")), labels, 10, tmp_path / "ev",
                              chunk_size=30, scheduler=cluster.scheduler_address)
        outcome = evaluate(req, on_chunk=kill_a_busy_worker)
    assert killed and killed[0] >= 1  # the killed worker was holding work
    assert outcome.computed == outcome.chunks == 60
    assert len(list((tmp_path / "ev" / "chunks").glob("*.npz"))) == 60
    m = outcome.metrics.to_dict()
    assert totals_of(m | {"confusion": [list(r) for r in m["confusion"]],
                          "classes": [vars(c) for c in outcome.metrics.classes]}) == \
        expected_totals(labels, design, reference)


@pytest.mark.parametrize("case, needle", [
    ("shape", "expected float32 images of shape (N, 1, 8, 8)"),
    ("labels", "expected 1797 integer labels"),
    ("range", "labels must lie in 0..9"),
    ("only-input", "give --input and --labels together"),
])
def test_bad_input_is_one_line_and_writes_nothing(digits, tmp_path, case, needle):
    folder = digits[0]
    x, y = str(folder / "x.npy"), str(folder / "y.npy")
    if case == "shape":
        np.save(tmp_path / "bad.npy", np.zeros((4, 1, 6, 6), np.float32))
        x = str(tmp_path / "bad.npy")
    elif case in ("labels", "range"):
        np.save(tmp_path / "bad.npy", np.arange(10) if case == "labels" else np.full(1797, 10))
        y = str(tmp_path / "bad.npy")
    args = ["--input", x] + ([] if case == "only-input" else ["--labels", y])
    proc = run_cli("evaluate", *args, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_resuming_with_other_inputs_is_refused(digits, tmp_path):
    folder = digits[0]
    out = tmp_path / "ev"
    first = run_cli("evaluate", "--out", str(out), "--workers", "1")
    assert first.returncode == 0, first.stderr
    other = run_cli("evaluate", "--input", str(folder / "x.npy"), "--labels", str(folder / "y.npy"), "--out",
                    str(out), "--workers", "1")
    assert other.returncode == 2 and "holds an evaluation with another images_sha256, labels_sha256, images" \
        in other.stderr, other.stderr


def test_unreachable_scheduler_is_a_user_error_and_writes_nothing(digits, default_model, tmp_path, monkeypatch):
    from accelgen.errors import InputError
    from accelgen.evaluate import runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT", "1s")
    folder, _, labels, _, _ = digits
    req = EvaluateRequest(str(default_model), ImageSource(str(folder / "x.npy")), labels, 10, tmp_path / "ev",
                          scheduler="tcp://127.0.0.1:9")
    with pytest.raises(InputError, match="--scheduler tcp://127.0.0.1:9: cannot connect"):
        evaluate(req)
    assert not (tmp_path / "ev").exists()


def test_bad_pixels_in_one_chunk_are_a_one_line_error_naming_the_images(digits, tmp_path):
    folder, images, _, _, _ = digits
    broken = images.copy()
    broken[1500, 0, 3, 3] = np.nan
    np.save(tmp_path / "x.npy", broken)
    proc = run_cli("evaluate", "--input", str(tmp_path / "x.npy"), "--labels", str(folder / "y.npy"), "--out",
                   str(tmp_path / "ev"), "--chunk-size", "300", "--workers", "1")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "x.npy (images 1500..1796): input images contain NaN or Inf values" in proc.stderr
    assert not (tmp_path / "ev" / "evaluation.json").exists()


def test_a_build_folder_is_evaluated_as_built(tmp_path):
    """The design's accuracy on the shipped test images equals the one its build report measured."""
    build = tmp_path / "b"
    assert run_cli("build", "--board", "zcu102", "--fps", "max", "--out", str(build)).returncode == 0
    report = json.loads((build / "report.json").read_text())
    proc = run_cli("evaluate", str(build), "--out", str(tmp_path / "ev"), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert result["images"] == report["accuracy"]["test_images"]
    assert round(result["design_correct"] / result["images"], 4) == report["accuracy"]["integer_design"]
    assert "accelgen evaluation: b<" in (tmp_path / "ev" / "evaluation.html").read_text()
