"""Run an evaluation: plan the chunks, compute the missing ones on a dask.distributed client, store each as
it finishes, total them. One code path: a ``LocalCluster`` of worker processes when no scheduler is given,
else the cluster at ``scheduler``. Dask re-runs the chunks of a worker that dies; the store keeps one result
per chunk, so nothing counts twice."""

from __future__ import annotations

import hashlib
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .. import progress
from ..errors import InputError
from .metrics import Metrics, compute_metrics
from .store import Manifest, ResultStore, write_atomic
from .tasks import ChunkResult, ChunkTask, ImageSource, model_identity, run_chunk

DEFAULT_CHUNK = 256
CONNECT_TIMEOUT = "20s"  # to reach an existing scheduler


@dataclass(frozen=True)
class EvaluateRequest:
    model: str  # QONNX file or build folder (absolute)
    images: ImageSource
    labels: np.ndarray  # int (images,)
    classes: int
    out: Path
    chunk_size: int | None = None  # None: the stored evaluation's, else DEFAULT_CHUNK
    workers: int | None = None  # local worker processes (None: one per core); ignored with a scheduler
    scheduler: str | None = None  # address of an existing Dask scheduler
    force: bool = False


@dataclass(frozen=True)
class Outcome:
    metrics: Metrics
    chunks: int
    computed: int  # chunks computed by this run (the others were stored by an earlier one)


def streamed_sha256(path: str) -> str:
    """sha256 of a file read in blocks (image sets can be far larger than memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def images_identity(source: ImageSource) -> str:
    return streamed_sha256(source.path) + ("" if source.member is None else f":{source.member}")


@contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator:
    """A client of the cluster at ``scheduler``, or of a new LocalCluster of single-threaded processes."""
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as err:
            raise InputError(f"--scheduler {scheduler}: cannot connect ({err})") from None
        with client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    # dashboard_address ":0": the scheduler's HTTP endpoint on a free port (none is fixed, nothing to collide)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        yield client


def plan(req: EvaluateRequest, store: ResultStore) -> Manifest:
    (n, *_), _ = req.images.shape_and_dtype()
    stored = store.stored_manifest() if not req.force else None
    size = req.chunk_size or (stored.chunk_size if stored is not None else DEFAULT_CHUNK)
    labels_sha = hashlib.sha256(np.ascontiguousarray(req.labels, dtype=np.int64).tobytes()).hexdigest()
    return Manifest(model_identity(req.model), images_identity(req.images), labels_sha, n, size)


def evaluate(req: EvaluateRequest, on_chunk: Callable[[ChunkResult], None] | None = None) -> Outcome:
    """Compute the chunks not stored yet, then total all of them. ``on_chunk`` sees each stored result.
    Nothing is written before the cluster is reached."""
    store = ResultStore(req.out)
    manifest = plan(req, store)
    store.check(manifest, req.force)
    spans = manifest.chunks()
    done = set() if req.force else store.finished(manifest)
    tasks = [ChunkTask(i, *spans[i], req.model, manifest.model_identity, req.images)
             for i in range(len(spans)) if i not in done]
    if tasks:
        with progress.task("evaluate", total=manifest.images, unit="images") as bar, \
                dask_client(req.scheduler, req.workers) as client:
            store.create(manifest, req.force)
            bar.advance(manifest.images - sum(t.stop - t.start for t in tasks))
            run_tasks(client, tasks, store, on_chunk)
    logits, reference_logits = store.logits(manifest)
    metrics = compute_metrics(np.asarray(req.labels, dtype=np.int64), logits.argmax(1), reference_logits.argmax(1),
                              req.classes)
    return Outcome(metrics, len(spans), len(tasks))


def run_tasks(client, tasks: list[ChunkTask], store: ResultStore,
              on_chunk: Callable[[ChunkResult], None] | None) -> None:
    from dask.distributed import as_completed

    futures = [client.submit(run_chunk, t, key=f"accelgen-evaluate-{t.model_identity[:16]}-{t.index}", pure=False)
               for t in tasks]
    for future in as_completed(futures):
        result = future.result()
        store.write(result)
        progress.advance(result.stop - result.start)
        if on_chunk is not None:
            on_chunk(result)


def write_results(out: Path, outcome: Outcome, html: str) -> None:
    """evaluation.json (totals only: the same bytes for every chunking and worker count) and the page."""
    import json

    write_atomic(out / "evaluation.json", (json.dumps(outcome.metrics.to_dict(), indent=1) + "\n").encode())
    write_atomic(out / "evaluation.html", html.encode())
