"""Import rules of the package layout (docs/ARCHITECTURE: cli is argument parsing only and calls the API;
the simulators drive what hw/ describes and never reach into the code generators, which hw/ does not
reach either: the API renders what the RTL runner simulates). Checked on the source with ``ast`` (imports
inside functions count too), so a lazy import cannot slip past."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[1] / "accelgen"

def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved against its package)."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def reaches(path: Path, package: str) -> set[str]:
    return {m for m in imported_modules(path) if m == package or m.startswith(package + ".")}


def test_import_resolution():
    """The resolver the rules rely on: relative imports of every depth resolve to absolute names."""
    mods = imported_modules(PACKAGE / "sim" / "csim.py")
    assert "accelgen.design.design_digest" in mods and "accelgen.hw.image" in mods
    assert reaches(PACKAGE / "codegen" / "hls_project.py", "accelgen.hw")


@pytest.mark.parametrize("path", sorted((PACKAGE / "sim").glob("*.py")) + sorted((PACKAGE / "hw").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sim_and_hw_do_not_import_codegen(path):
    found = reaches(path, "accelgen.codegen")
    assert not found, (path.name, sorted(found))


@pytest.mark.parametrize("path", [PACKAGE / "cli.py", *sorted((PACKAGE / "commands").glob("*.py"))],
                         ids=lambda p: p.name)
def test_cli_does_not_import_sim(path):
    """The command line parses arguments and calls accelgen.api; it never reaches into the simulators."""
    assert not reaches(path, "accelgen.sim"), sorted(reaches(path, "accelgen.sim"))
