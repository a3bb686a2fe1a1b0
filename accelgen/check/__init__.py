"""Rule checker over a generated HLS project (docs/hls.md, ARCHITECTURE.md rule 9): the structures that
keep Vitis HLS from scheduling and allocating what the performance model prices, found on the C++ with
libclang since Vitis is not here to report them. ``check_project(DIR)`` -> sorted findings."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from . import clang_ast as ca
from .findings import RULES, Finding
from .pragma_form import pragma_form_findings
from .project import Project, declared_names, enclosing_function, load_project
from .walker import Walker

TOP_SOURCE = "accel_top.cpp"
CXX_EXTENSION_WARNINGS = ("c++17-extensions", "c++20-extensions", "c++23-extensions", "c++2b-extensions")

__all__ = ["RULES", "Finding", "check_project", "check_source", "project_dir"]


def dependence_findings(project: Project) -> list[Finding]:
    """DEPENDENCE pragmas naming no variable of their function, or placed where no pipelined loop sees them."""
    out = []
    for p in project.pragmas:
        if p.kind != "DEPENDENCE":
            continue
        fn = enclosing_function(project, p)
        if fn is None:
            continue
        file = project.relative(p.file)
        var = p.option("variable")
        if var and var not in declared_names(fn):
            out.append(Finding(file, p.line, "dependence-placement",
                               f"DEPENDENCE names `{var}`, which is not a variable of `{fn.spelling}`"))
        holder = project.scope_cursors.get((p.file, p.line))
        scope = holder if holder is not None and ca.kind(holder) in ca.LOOPS else None
        pipelined = scope is not None and any(q.kind == "PIPELINE" for q in project.pragmas_of(scope))
        if scope is None and not any(q.kind == "PIPELINE" for q in project.pragmas_of(fn)):
            out.append(Finding(file, p.line, "dependence-placement",
                               f"DEPENDENCE on `{var}` at function scope of `{fn.spelling}`, which is not pipelined: "
                               "it concerns consecutive calls, not the loops inside; put it in the body of the "
                               "pipelined loop it is meant for"))
        elif scope is not None and not pipelined:
            out.append(Finding(file, p.line, "dependence-placement",
                               f"DEPENDENCE on `{var}` in a loop without PIPELINE (line {scope.location.line}): "
                               "put it in the body of the pipelined loop"))
    return out


def language_findings(project: Project) -> list[Finding]:
    """clang's C++17-and-later extension warnings in our files, under -std=c++14."""
    out = []
    for diag in project.tu.diagnostics:
        f = diag.location.file
        if f is not None and any(w in diag.option for w in CXX_EXTENSION_WARNINGS) \
                and Path(f.name).resolve().is_relative_to(project.root):
            out.append(Finding(project.relative(f.name), diag.location.line, "cxx14", diag.spelling))
    return out


def check_source(source: Path, include_dirs: list[Path] | None = None) -> list[Finding]:
    """Findings on the translation unit `source` (its folder is the project; includes resolve there)."""
    source = Path(source)
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    project = load_project(source, [source.parent, *(include_dirs or [])])
    findings = Walker(project).run() | set(dependence_findings(project)) | set(language_findings(project)) \
        | set(pragma_form_findings(project))
    return sorted(findings)


def project_dir(path: str | Path) -> Path:
    """The HLS folder of a build folder (DIR/hls) or an HLS project folder itself."""
    path = Path(path)
    for candidate in (path / "hls", path):
        if (candidate / TOP_SOURCE).is_file():
            return candidate
    raise InputError(f"{path}: no {TOP_SOURCE} here or in {path / 'hls'} (give a build folder or its hls/ folder)")


def check_project(path: str | Path) -> list[Finding]:
    return check_source(project_dir(path) / TOP_SOURCE)
