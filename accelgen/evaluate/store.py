"""The results folder of an evaluation, written as the work goes so an interrupted run resumes:

    OUT/manifest.json       what is evaluated: model, images and labels (sha256), image count, chunk size
    OUT/chunks/NNNNNN.npz   one file per finished chunk (its image range and both models' logits)
    OUT/evaluation.json     the totals, and OUT/evaluation.html, written when every chunk is there

Every file is written to a temporary name and renamed, so a killed run leaves whole chunks or none; a chunk
file is keyed by its index, so a chunk computed twice (a worker lost after finishing) is stored once.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .tasks import ChunkResult

MANIFEST = "manifest.json"
CHUNKS = "chunks"


@dataclass(frozen=True)
class Manifest:
    model_identity: str
    images_sha256: str
    labels_sha256: str
    images: int
    chunk_size: int

    def chunks(self) -> list[tuple[int, int]]:
        """(start, stop) of every chunk, in order."""
        return [(s, min(s + self.chunk_size, self.images)) for s in range(0, self.images, self.chunk_size)]


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class ResultStore:
    def __init__(self, folder: Path):
        self.folder = folder
        self.chunk_dir = folder / CHUNKS

    def stored_manifest(self) -> Manifest | None:
        path = self.folder / MANIFEST
        if not path.is_file():
            return None
        try:
            return Manifest(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            raise InputError(f"{path}: not an evaluation manifest (use --force to start over)") from None

    def check(self, manifest: Manifest, force: bool) -> None:
        """Refuse a folder that holds something else than an evaluation of the same inputs (unless ``force``)."""
        if force or not self.folder.exists():
            return
        stored = self.stored_manifest()
        if stored is None and any(self.folder.iterdir()):
            raise InputError(f"{self.folder}: exists and holds no evaluation (choose another --out or use --force)")
        if stored is not None and stored != manifest:
            what = [k for k, v in asdict(manifest).items() if asdict(stored)[k] != v]
            raise InputError(f"{self.folder}: holds an evaluation with another {', '.join(what)} "
                             "(choose another --out, or --force to start over)")

    def create(self, manifest: Manifest, force: bool) -> None:
        """Make the folder (emptied first with ``force``) and its manifest, if not there yet."""
        if force and self.folder.exists():
            shutil.rmtree(self.folder)
        self.chunk_dir.mkdir(parents=True, exist_ok=True)
        if self.stored_manifest() is None:
            write_atomic(self.folder / MANIFEST, (json.dumps(asdict(manifest), indent=1) + "\n").encode())

    def chunk_path(self, index: int) -> Path:
        return self.chunk_dir / f"{index:06d}.npz"

    def finished(self, manifest: Manifest) -> set[int]:
        """Indices of the chunks whose file is complete and covers the chunk's images."""
        done = set()
        for index, (start, stop) in enumerate(manifest.chunks()):
            result = self.read(index)
            if result is not None and (result.start, result.stop) == (start, stop):
                done.add(index)
        return done

    def write(self, result: ChunkResult) -> None:
        path = self.chunk_path(result.index)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, start=result.start, stop=result.stop, logits=result.logits,
                     reference_logits=result.reference_logits)
        os.replace(tmp, path)

    def read(self, index: int) -> ChunkResult | None:
        path = self.chunk_path(index)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as f:
                return ChunkResult(index, int(f["start"]), int(f["stop"]), f["logits"], f["reference_logits"])
        except (ValueError, OSError, KeyError):
            return None  # damaged: computed again

    def logits(self, manifest: Manifest) -> tuple[np.ndarray, np.ndarray]:
        """Both models' logits over all images, in image order."""
        results = [self.read(i) for i in range(len(manifest.chunks()))]
        return (np.concatenate([r.logits for r in results]),
                np.concatenate([r.reference_logits for r in results]))
