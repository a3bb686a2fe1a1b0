"""Progress of long work on stderr: a bar on a terminal, nothing in pipes, under CI or with ``--quiet``.

A command opens a task (``with progress.task("build", steps=...)`` or ``total=`` a count of items); library
code deep inside reports to the innermost open task with ``progress.step(name)`` or ``progress.advance(n)``,
which do nothing when no task is open -- so the library stays usable (and silent) without the CLI.
``relay()`` extends that to child processes (a simulator's embedded Python): their ``advance`` calls append
to a file named in the environment, which a thread of the parent reads into the open task.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, TextIO

BAR_WIDTH = 28
REDRAW_SECONDS = 0.1
RELAY_ENV = "ACCELGEN_PROGRESS_RELAY"  # file a child process appends one line per item to
_settings = {"quiet": False}
_open: list["Task"] = []


def set_quiet(quiet: bool) -> None:
    """``--quiet``: draw nothing, even on a terminal."""
    _settings["quiet"] = quiet


def drawing_enabled(stream: TextIO) -> bool:
    return not _settings["quiet"] and not os.environ.get("CI") and stream.isatty()


@dataclass
class Task:
    """One bar: ``total`` items (or named steps), drawn on ``stream`` when ``enabled``."""

    label: str
    total: int
    unit: str
    steps: tuple[str, ...] = ()
    stream: TextIO = sys.stderr
    enabled: bool = False
    done: int = 0
    current: str = ""
    items: int = 0  # items done within the steps (relayed from a child process)
    item_unit: str = ""
    started: float = field(default_factory=time.monotonic)
    drawn_at: float = 0.0

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        self.draw(force=self.done == self.total)

    def step(self, name: str) -> None:
        """Enter a named step (a task starts in its first): the steps before it count as done."""
        if name in self.steps:
            self.done = self.steps.index(name)
        self.current = name
        self.draw(force=True)

    def line(self) -> str:
        filled = round(BAR_WIDTH * self.done / self.total) if self.total else BAR_WIDTH
        elapsed = time.monotonic() - self.started
        text = f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
        if self.steps:
            items = f", {self.items} {self.item_unit}" if self.items else ""
            return text + f"{self.current} ({self.done + 1}/{self.total}{items}) {elapsed:.0f} s"
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = f", {(self.total - self.done) / rate:.0f} s left" if 0 < rate and self.done < self.total else ""
        return text + f"{self.done}/{self.total} {self.unit} ({rate:.1f}/s{eta})"

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.drawn_at < REDRAW_SECONDS):
            return
        self.drawn_at = now
        self.stream.write("\r\x1b[2K" + self.line())
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


@contextmanager
def task(label: str, total: int = 0, unit: str = "", steps: tuple[str, ...] = (),
         stream: TextIO | None = None) -> Iterator[Task]:
    """Open a bar for the duration of the block; it is erased when the block ends."""
    stream = stream or sys.stderr
    bar = Task(label, len(steps) if steps else total, unit, steps, stream, drawing_enabled(stream),
               current=steps[0] if steps else "")
    _open.append(bar)
    try:
        bar.draw(force=True)
        yield bar
    finally:
        _open.remove(bar)
        bar.finish()


def step(name: str) -> None:
    """The innermost open task enters step ``name`` (no-op without one)."""
    if _open:
        _open[-1].step(name)


def advance(n: int = 1) -> None:
    """The innermost open task did ``n`` more items; in a child process under ``relay``, tell the parent.
    No-op otherwise."""
    if _open:
        _open[-1].advance(n)
    elif os.environ.get(RELAY_ENV):
        with open(os.environ[RELAY_ENV], "a") as f:
            f.write("\n" * n)


def _follow(path: str, bar: Task, stop: threading.Event) -> None:
    """Count the relayed items until ``stop`` (and once more after it)."""
    while True:
        stopped = stop.wait(REDRAW_SECONDS)
        with open(path) as f:
            bar.items = f.read().count("\n")
        bar.draw(force=stopped)
        if stopped:
            return


@contextmanager
def relay(unit: str) -> Iterator[None]:
    """Child processes started in this block advance the innermost open task (counted as ``unit``)."""
    if not _open or not _open[-1].enabled:
        yield
        return
    bar = _open[-1]
    bar.item_unit = unit
    stop = threading.Event()
    with tempfile.NamedTemporaryFile(prefix="accelgen_progress_") as file:
        os.environ[RELAY_ENV] = file.name
        follower = threading.Thread(target=_follow, args=(file.name, bar, stop), daemon=True)
        follower.start()
        try:
            yield
        finally:
            stop.set()
            follower.join()
            del os.environ[RELAY_ENV]
