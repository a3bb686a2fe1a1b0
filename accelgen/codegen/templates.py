"""The one jinja2 environment of the generators: templates/ (package data), StrictUndefined, no escaping.
Templates hold no logic (loops and ifs only); every value comes from a tested Python function."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..resources import templates_dir


@cache
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(templates_dir())), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)


def render(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)
