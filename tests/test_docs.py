"""The README and docs/ are self-contained: every repository path they name exists, nothing points outside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
TOP = ("docs", "accelgen", "scripts", "benchmarks", "tests", "hls", "rtl", "templates", "boards")
PATH = re.compile(rf"(?<![\w/.<-])(?:{'|'.join(TOP)})/[\w./-]*\w")
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.name)
def test_named_paths_exist_and_stay_inside(doc):
    text = doc.read_text()
    assert not re.search(r"(?<![\w/])\.\./", text)  # no path leaving the repository
    missing = sorted({p for p in PATH.findall(text) if not (ROOT / p).exists()})
    assert not missing, missing
