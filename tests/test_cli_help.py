"""`accelgen --version`, and every subcommand's --help ends with runnable-looking examples of itself."""

from __future__ import annotations

import pytest
from conftest import run_cli

from accelgen.cli import build_parser, package_version

pytestmark = pytest.mark.unit


def subcommands() -> dict:
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"accelgen {package_version()}"
    assert package_version().count(".") == 2


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_subcommand_help_has_an_example(name):
    text = subcommands()[name].format_help()
    examples = text[text.index("examples:"):].splitlines()[1:]
    assert examples and all(line.strip().startswith(f"accelgen {name}") for line in examples)


def test_quiet_before_or_after_the_subcommand():
    parser = build_parser()
    assert parser.parse_args(["--quiet", "boards"]).quiet and parser.parse_args(["boards", "--quiet"]).quiet
    assert not parser.parse_args(["boards"]).quiet
