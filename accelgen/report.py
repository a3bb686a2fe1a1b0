"""report.json / report.md of a build: FPS, latency, resources, per-layer cycles and bound, accuracy."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .board import RESOURCE_KINDS, Board
from .design import Design
from .perf.dse import DEFAULT_CAPS
from .perf.model import Evaluation
from .summary import format_table


@dataclass(frozen=True)
class Accuracy:
    """Measured on the model's shipped test images with the NumPy simulator of this design."""

    images: int
    design: float  # the built design (mixed-scheme weights, integer units)
    all_fixed8: float  # the same integer graph with every row 8-bit fixed point (no PoT, no 4-bit)
    brevitas: float | None  # the Brevitas float model, as recorded with the model


def roofline_figures(board: Board, design: Design) -> dict:
    """The roofs report.html draws: the design's engine, the board's largest engine within the design's caps
    (accelgen.perf.roofline), and the weight stream's DDR bytes per cycle at the design's clock."""
    from .perf.model import bytes_per_cycle
    from .perf.roofline import roofline

    e = design.engine
    board_peak = roofline(board, dict(DEFAULT_CAPS, **design.caps)).macs_per_cycle
    return {"engine_macs_per_cycle": e.tm * (e.tn_fixed + e.tn_pot), "board_macs_per_cycle": round(board_peak, 3),
            "ddr_bytes_per_cycle": round(bytes_per_cycle(board, design.clock_mhz), 4)}


def report_dict(model: str, board: Board, design: Design, ev: Evaluation, accuracy: Accuracy | None,
                cost: float) -> dict:
    """Everything is a function of (model, design, board): rebuilding from design.json gives the same bytes."""
    target_fps = design.search.get("target_fps")
    resources = {k: {"used": ev.resources.as_dict()[k], "available": board.resources[k],
                     "cap": design.caps.get(k)} for k in RESOURCE_KINDS}
    layers = [{"name": layer.name, "op": layer.op, "unit": layer.unit, "cycles": layer.cycles,
               "bound": layer.bound, "pot_ratio": None if layer.pot_ratio is None else round(layer.pot_ratio, 4),
               "weight_bits": layer.weight_bits, "ddr_bytes": layer.ddr_bytes, "macs": layer.macs}
              for layer in ev.layers]
    out = {
        "model": model, "board": board.name, "part": board.part, "clock_mhz": design.clock_mhz,
        "target_fps": target_fps, "fps": round(ev.fps, 3), "latency_ms": round(ev.latency_ms, 4),
        "cycles": ev.cycles, "descriptor_cycles": ev.descriptor_cycles,
        "ddr_bytes_per_frame": ev.ddr_bytes,
        "ddr_gbps_usable": round(board.ddr_gbps(design.clock_mhz), 3),
        "engine": vars(design.engine),
        "resources": resources,
        "memory_bound_layers": [layer.name for layer in ev.layers if layer.bound == "memory"],
        "weight_error_cost": round(cost, 8),
        "layers": layers,
        "pareto_front": design.search.get("pareto_front", []),
        "roofline": roofline_figures(board, design),
    }
    if accuracy is not None:
        out["accuracy"] = {"test_images": accuracy.images, "integer_design": round(accuracy.design, 4),
                           "integer_all_fixed8": round(accuracy.all_fixed8, 4),
                           "pot_and_bits_cost_points": round(100 * (accuracy.all_fixed8 - accuracy.design), 2),
                           "brevitas_float": accuracy.brevitas}
    return out


def report_json(data: dict) -> str:
    return json.dumps(data, indent=1) + "\n"


def summary_lines(data: dict) -> list[str]:
    e = data["engine"]
    lines = [f"{data['model']} on {data['board']} ({data['part']}) at {data['clock_mhz']:g} MHz",
             f"  {data['fps']:.1f} FPS (target {data['target_fps'] if data['target_fps'] else 'max'}), "
             f"latency {data['latency_ms']:.3f} ms, {data['ddr_bytes_per_frame'] / 1e6:.2f} MB DDR traffic per frame",
             f"  engine tm={e['tm']} fixed lanes={e['tn_fixed']} PoT lanes={e['tn_pot']} "
             f"packing={'on' if e['dsp_packing'] else 'off'} softmax/LN lanes={e['sm_lanes']}/{e['ln_lanes']}"]
    rows = [("resource", "used", "available", "util", "cap")]
    for k, r in data["resources"].items():
        util = r["used"] / r["available"] if r["available"] else 0.0
        rows.append((k, f"{r['used']:,}", f"{r['available']:,}", f"{util:.1%}", f"{r['cap']:.0%}"))
    lines += ["  " + line for line in format_table(rows, right=(1, 2, 3, 4))]
    mem = data["memory_bound_layers"]
    lines.append(f"  memory-bound layers: {len(mem)}" + (f" ({', '.join(mem[:4])}{', ...' if len(mem) > 4 else ''})"
                                                         if mem else ""))
    if "accuracy" in data:
        a = data["accuracy"]
        brevitas = "" if a["brevitas_float"] is None else f", Brevitas float {100 * a['brevitas_float']:.2f}%"
        lines.append(f"  accuracy on {a['test_images']} test images: design {100 * a['integer_design']:.2f}%, "
                     f"all 8-bit fixed {100 * a['integer_all_fixed8']:.2f}%{brevitas}")
    return lines


def report_markdown(data: dict) -> str:
    lines = [f"# accelgen build report: {data['model']} on {data['board']}", "", "```", *summary_lines(data), "```",
             "", "## Layers", ""]
    rows = [("layer", "op", "unit", "cycles", "bound", "PoT ratio", "w bits", "DDR bytes")]
    for layer in data["layers"]:
        rows.append((layer["name"], layer["op"], layer["unit"], f"{layer['cycles']:,}", layer["bound"],
                     "-" if layer["pot_ratio"] is None else f"{layer['pot_ratio']:.2f}",
                     "-" if layer["weight_bits"] is None else str(layer["weight_bits"]), f"{layer['ddr_bytes']:,}"))
    lines += ["```", *format_table(rows, right=(3, 5, 6, 7)), "```", "",
              f"Every step first copies its descriptor into registers: {data['descriptor_cycles']:,} cycles per frame "
              "besides the layers'.", "", "## Pareto front", "",
              "FPS vs weight-error cost vs resources of the engines the search kept (fastest assignment each).", ""]
    rows = [("FPS", "cost", "tm", "fixed", "PoT", "DSP", "LUT", "FF", "BRAM36", "URAM")]
    for p in data["pareto_front"]:
        e, r = p["engine"], p["resources"]
        rows.append((f"{p['fps']:.1f}", f"{p['weight_error_cost']:.4g}", str(e["tm"]), str(e["tn_fixed"]),
                     str(e["tn_pot"]), f"{r['dsp']:,}",
                     f"{r['lut']:,}", f"{r['ff']:,}", str(r["bram36"]), str(r["uram"])))
    lines += ["```", *format_table(rows, right=tuple(range(10))), "```", ""]
    if data.get("chosen_formats"):
        rows = [("tensor", "role", "bits", "scale", "SNR dB")]
        rows += [(f["tensor"], f["role"], str(f["bits"]), f"{f['scale']:.4g}",
                  "-" if f["snr_db"] is None else f"{f['snr_db']:.1f}") for f in data["chosen_formats"]]
        lines += ["## Formats chosen by accelgen", "", "Tensors the model leaves in float, the integer format "
                  "accelgen chose for each, and its SNR against the float reference.", "",
                  "```", *format_table(rows, right=(2, 4)), "```", ""]
    return "\n".join(lines)
