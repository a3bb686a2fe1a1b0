"""What the placement keeps on chip for the DeiT presets: bank depth, elements, and the tensors live where
each activation memory reaches its high-water mark.

    python benchmarks/activation_memory.py [--archs deit_tiny deit_small deit_base] [--tm 16 32 64]

Prints a Markdown table (docs/performance.md): per preset and TM, the placement's depth (words per bank),
the elements of the NUM_MEMORIES x TM banks the model prices, and per memory the step at its high-water
mark with the tensors live there (name, words per bank).
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from accelgen.frontend.importer import import_qonnx
from accelgen.hw.constants import NUM_MEMORIES
from accelgen.hw.plan import head_sliced, lifetimes, place_tensors, schedule, tensor_views
from accelgen.model_source import export_preset
from accelgen.passes import to_integer


def peaks(graph, tm: int) -> tuple[int, list[str]]:
    """(depth, per memory: 'step: tensor words, ...' at the memory's high-water mark)."""
    steps = schedule(graph)
    views = tensor_views(graph, head_sliced(steps))
    places, depth = place_tensors(steps, views, graph.output, tm)
    life = lifetimes(steps)
    words = {t: views[t].rows * p.stride for t, p in places.items()}
    out = []
    for mem in range(NUM_MEMORIES):
        def live(i: int) -> list[str]:
            return [t for t, p in places.items() if p.mem == mem and life[t][0] <= i <= life[t][1]]

        # the step where the memory is highest, then fullest (earliest of those)
        top, _, at = max((max([places[t].base + words[t] for t in live(i)] or [0]),
                          sum(words[t] for t in live(i)), -i) for i in range(len(steps)))
        at = -at
        tensors = ", ".join(f"{t} {words[t]:,}"
                            for t in sorted(live(at), key=lambda t: places[t].base))
        out.append(f"{top:,} at {steps[at].name}: {tensors}")
    return depth, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["deit_tiny", "deit_small", "deit_base"])
    parser.add_argument("--tm", nargs="+", type=int, default=[16, 32, 64])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print("| model | tm | depth (words/bank) | elements | " +
          " | ".join(f"memory {m}: high-water mark, live tensors (words/bank)" for m in range(NUM_MEMORIES)) + " |")
    print("|---|---|---|---|" + "---|" * NUM_MEMORIES)
    for arch in args.archs:
        with tempfile.TemporaryDirectory() as tmp:
            graph = to_integer(import_qonnx(export_preset(arch, Path(tmp))))
        for tm in args.tm:
            depth, mems = peaks(graph, tm)
            print(f"| {arch} | {tm} | {depth:,} | {NUM_MEMORIES * tm * depth:,} | " + " | ".join(mems) + " |")


if __name__ == "__main__":
    main()
