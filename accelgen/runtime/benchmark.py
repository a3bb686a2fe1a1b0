"""Frames per second and latency of the accelerator, measured two ways -- the host clock (the whole driver
path: quantize, pack, flush, run, invalidate, unpack) and the overlay's clock counter (the AXI Timer's
capture of ap_done: clocks from the start sequence to done, at the accelerator's clock) -- beside the
kernel's model-side beat count (loop trip counts, not a measurement) and the report's modelled figures."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .design_data import DeployError, Modelled


@dataclass(frozen=True)
class Benchmark:
    images: int
    device: str  # what ran it (pynq's active device)
    clock_mhz: float  # the accelerator's clock the counts are divided by
    host_fps: float  # throughput of full batches through infer()
    host_latency_ms: float  # one image through infer(), median of the repeats
    counter_cycles_per_image: float | None  # timer clocks of the batched runs per image (None: no timer)
    counter_latency_ms: float | None  # timer clocks of one single-image run, median of the repeats
    counter_floor_cycles: int | None  # timer clocks of the empty run: the start sequence and fixed cost
    beats_per_image: float  # the kernel's beat count: modelled loop trips, not clock cycles
    modelled: Modelled

    @property
    def counter_fps(self) -> float | None:
        c = self.counter_cycles_per_image
        return None if c is None else self.clock_mhz * 1e6 / c

    @property
    def beats_fps(self) -> float:
        """The rate if every loop ran at II = 1 without stalls (a model, not a measurement)."""
        return self.clock_mhz * 1e6 / self.beats_per_image if self.beats_per_image else float("nan")

    def lines(self) -> list[str]:
        m = self.modelled

        def num(value, fmt):
            return format(value, fmt) if value is not None else "n/a"

        rows = [f"{'':26}{'FPS':>12}{'latency ms':>14}{'cycles/image':>16}",
                f"{'host clock':26}{self.host_fps:12.1f}{self.host_latency_ms:14.3f}{'':>16}",
                f"{'accelerator timer':26}{num(self.counter_fps, '12.1f'):>12}"
                f"{num(self.counter_latency_ms, '14.3f'):>14}{num(self.counter_cycles_per_image, '16,.0f'):>16}",
                f"{'kernel beats (model-side)':26}{self.beats_fps:12.1f}{'':>14}{self.beats_per_image:16,.0f}",
                f"{'modelled (report.json)':26}{m.fps:12.1f}{m.latency_ms:14.3f}{m.cycles:16,}",
                f"{self.images} images on {self.device}; timer at {self.clock_mhz:g} MHz, empty run "
                f"{num(self.counter_floor_cycles, ',')} cycles (the start sequence: included in every count)"]
        return rows

    def __str__(self) -> str:
        return "\n".join(self.lines())


def measure(acc, n: int, images=None, repeats: int = 10) -> Benchmark:
    """Run ``n`` images (``images`` repeated, default: all-zero images) and time them."""
    if n < 1 or repeats < 1:
        raise DeployError(f"benchmark: n and repeats must be positive (got n={n}, repeats={repeats})")
    data, platform = acc.data, acc.platform
    pool = (np.zeros((1,) + data.image_shape, np.float32) if images is None else np.asarray(images))
    batch = pool[np.arange(n) % len(pool)]
    start = time.perf_counter()
    runs = acc.run_all(batch)
    seconds = time.perf_counter() - start
    single, single_cycles = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        (run,) = acc.run_all(batch[:1])
        single.append(time.perf_counter() - t0)
        single_cycles.append(run.cycles)
    cycles = [r.cycles for r in runs]
    timed = None not in cycles and None not in single_cycles
    return Benchmark(
        images=n, device=platform.device, clock_mhz=platform.clock_mhz, host_fps=n / seconds,
        host_latency_ms=1e3 * float(np.median(single)),
        counter_cycles_per_image=sum(cycles) / n if timed else None,
        counter_latency_ms=float(np.median(single_cycles)) / (platform.clock_mhz * 1e3) if timed else None,
        counter_floor_cycles=acc.empty_run_cycles, beats_per_image=sum(r.beats for r in runs) / n,
        modelled=data.modelled)
