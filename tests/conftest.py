"""Shared fixtures: exported QONNX files of the default model, the zoo and the presets."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Compiled (numba) numerics pay their compilation on first use: no per-example deadline.
settings.register_profile("accelgen", deadline=None)
settings.load_profile("accelgen")

sys.path.insert(0, str(Path(__file__).parent))

from accelgen.model_source import default_model_path  # noqa: E402


@pytest.fixture(scope="session")
def default_model() -> Path:
    return default_model_path()


@pytest.fixture(scope="session")
def zoo_exports(tmp_path_factory) -> dict:
    """name -> (torch module, QONNX path) for every independently written zoo model."""
    from zoo import ZOO, build_zoo_model

    from accelgen.frontend.brevitas_export import export_to_qonnx

    out = tmp_path_factory.mktemp("zoo")
    result = {}
    for name in ZOO:
        model, shape = build_zoo_model(name)
        result[name] = (model, export_to_qonnx(model, shape, out / f"{name}.onnx"))
    return result


@pytest.fixture(scope="session")
def preset_export(tmp_path_factory):
    """Factory: preset name -> (torch module, QONNX path), cached per session."""
    from accelgen.frontend.brevitas_export import export_to_qonnx
    from accelgen.models.presets import build_preset

    cache: dict = {}
    out = tmp_path_factory.mktemp("presets")

    def get(name: str):
        if name not in cache:
            model = build_preset(name)
            cfg = model.cfg
            cache[name] = (model, export_to_qonnx(model, (cfg.in_chans, cfg.img_size, cfg.img_size),
                                                  out / f"{name}.onnx"))
        return cache[name]

    return get


def load_script(name: str):
    """Import scripts/<name>.py as a module (the measurement scripts are not part of the package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(*args: str, cwd: str | Path | None = None):
    """Run the installed console script; returns the CompletedProcess."""
    import subprocess

    exe = Path(sys.executable).parent / "accelgen"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
