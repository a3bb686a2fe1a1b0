"""Locations of the data folders shipped with the package (found through importlib.resources,
so an installed accelgen works from any directory)."""

from importlib import resources
from pathlib import Path


def data_dir(package: str) -> Path:
    """Filesystem path of one of the data packages: templates, hls, rtl, boards, models."""
    return Path(str(resources.files(f"accelgen.{package}")))


def templates_dir() -> Path:
    return data_dir("templates")


def hls_dir() -> Path:
    return data_dir("hls")


def rtl_dir() -> Path:
    return data_dir("rtl")


def boards_dir() -> Path:
    return data_dir("boards")


def default_model_dir() -> Path:
    return data_dir("models") / "default"
