"""Progress bars: drawn on a terminal, silent in a pipe, under CI and with --quiet; the library's hooks do
nothing without an open task; simulating in batches gives the same logits."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from accelgen import progress

pytestmark = pytest.mark.sim


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def not_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    progress.set_quiet(False)
    yield
    progress.set_quiet(False)


def test_bar_counts_items_and_steps_on_a_terminal():
    screen = Terminal()
    with progress.task("simulate", total=10, unit="images", stream=screen):
        progress.advance(4)
        progress.advance(6)
    assert "simulate [" in screen.getvalue() and "10/10 images" in screen.getvalue()
    screen = Terminal()
    with progress.task("build", steps=("import", "search", "write"), stream=screen):
        progress.step("search")
        progress.step("write")
    assert "import (1/3)" in screen.getvalue() and "search (2/3)" in screen.getvalue()
    assert "write (3/3)" in screen.getvalue() and screen.getvalue().endswith("\r\x1b[2K")


@pytest.mark.parametrize("why", ["pipe", "quiet", "ci"])
def test_silent_in_pipes_with_quiet_and_under_ci(monkeypatch, why):
    screen = io.StringIO() if why == "pipe" else Terminal()
    progress.set_quiet(why == "quiet")
    if why == "ci":
        monkeypatch.setenv("CI", "true")
    with progress.task("simulate", total=3, unit="images", stream=screen):
        progress.advance(3)
    assert screen.getvalue() == ""


def test_hooks_without_a_task_do_nothing(capsys):
    progress.step("search")
    progress.advance(5)
    assert capsys.readouterr() == ("", "")


def test_batched_simulation_equals_one_run():
    from accelgen.api import load_integer_model, run_in_batches
    from accelgen.sim.numpy_sim import NumpySimulator

    loaded = load_integer_model(None)
    sim = NumpySimulator(loaded.graph)
    images = loaded.data.images[:100]
    assert np.array_equal(run_in_batches(sim, images, batch=7).logits, sim.run(images).logits)


def run_on_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit code, what the terminal received)."""
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "accelgen"), *args], stdout=subprocess.DEVNULL,
                            stderr=child, env=env)
    os.close(child)
    received = b""
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        received += data
    os.close(main)
    return proc.wait(timeout=120), received.decode(errors="replace")


def test_cli_draws_on_a_terminal_and_not_with_quiet():
    code, seen = run_on_terminal("simulate")
    assert code == 0 and "simulate [" in seen and "360/360 images" in seen
    code, seen = run_on_terminal("--quiet", "simulate")
    assert code == 0 and seen == ""


def test_child_processes_advance_the_parents_bar_through_a_relay():
    screen = Terminal()
    child = "from accelgen import progress\nfor _ in range(5):\n    progress.advance()\n"
    with progress.task("rtlsim", steps=("build", "simulate"), stream=screen) as bar:
        progress.step("simulate")
        with progress.relay("unit runs"):
            subprocess.run([sys.executable, "-c", child], check=True)
        assert bar.items == 5
    assert "simulate (2/2, 5 unit runs)" in screen.getvalue()
    assert progress.RELAY_ENV not in os.environ
