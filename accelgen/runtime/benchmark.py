"""Frames per second and latency of the accelerator: from the host clock (the whole driver path: quantize,
pack, flush, run, invalidate, unpack) and from the accelerator's beat count, beside the report's
modelled figures."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .design_data import DeployError, Modelled


@dataclass(frozen=True)
class Benchmark:
    images: int
    host_fps: float  # throughput of full batches through infer()
    host_latency_ms: float  # one image through infer(), median of the repeats
    counter_beats_per_image: float  # the kernel's beat count: modelled loop trips, not clock cycles
    counter_fps: float  # clock / beats per image: the rate if every loop ran at II = 1 without stalls
    modelled: Modelled

    def lines(self) -> list[str]:
        m = self.modelled
        return [f"{'':24}{'FPS':>12}{'latency ms':>14}{'beats|cycles/image':>20}",
                f"{'host clock':24}{self.host_fps:12.1f}{self.host_latency_ms:14.3f}{'':>20}",
                f"{'accelerator beats':24}{self.counter_fps:12.1f}{'':>14}{self.counter_beats_per_image:20,.0f}",
                f"{'modelled (report.json)':24}{m.fps:12.1f}{m.latency_ms:14.3f}{m.cycles:20,}"]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def measure(acc, n: int, images=None, repeats: int = 10) -> Benchmark:
    """Run ``n`` images (``images`` repeated, default: all-zero images) and time them."""
    if n < 1 or repeats < 1:
        raise DeployError(f"benchmark: n and repeats must be positive (got n={n}, repeats={repeats})")
    data = acc.data
    pool = (np.zeros((1,) + data.image_shape, np.float32) if images is None else np.asarray(images))
    batch = pool[np.arange(n) % len(pool)]
    start = time.perf_counter()
    runs = acc.run_all(batch)
    seconds = time.perf_counter() - start
    single = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        acc.infer(batch[:1])
        single.append(time.perf_counter() - t0)
    beats = sum(r.beats for r in runs) / n
    return Benchmark(images=n, host_fps=n / seconds, host_latency_ms=1e3 * float(np.median(single)),
                     counter_beats_per_image=beats,
                     counter_fps=data.clock_mhz * 1e6 / beats if beats else float("nan"), modelled=data.modelled)
