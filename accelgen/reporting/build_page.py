"""report.html of a build, drawn from report.json alone (the page shows report.json's figures, nothing else):
roofline, per-layer time by bound, resources against the board and the caps, the Pareto front, accuracy and
the integer formats accelgen chose.

Plotted elements carry ids (``layer-<i>``, ``cycles-<i>``, ``roof-engine``, ``roof-board``, ``design``,
``resource-<kind>``, ``cap-<kind>``, ``pareto-<dsp|lut>-<i>``, ``chosen-<dsp|lut>``) so a browser, or a test, can find each one and read its position back.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .figures import BOUND_COLORS, svg_figure
from .page import figure, html_page, paragraph, section, table

ENGINE_UNITS = ("gemm", "attn")  # the GEMM engine; every other unit is drawn as "unit"
FORMATS_KEY = "chosen_formats"  # report.json: one flat record per tensor whose format accelgen chose (build.py)


def time_category(layer: dict) -> str:
    """Colour of a layer's bar: memory-bound, the GEMM engine (compute), another unit, or fused (no time)."""
    if layer["bound"] == "-":
        return "fused"
    if layer["bound"] == "memory":
        return "memory"
    return "compute" if layer["unit"] in ENGINE_UNITS else "unit"


def gmacs(macs: int, cycles: int, clock_mhz: float) -> float:
    """GMAC/s of ``macs`` done in ``cycles`` at ``clock_mhz``."""
    return macs * clock_mhz / (cycles * 1e3)


def roofline_svg(r: dict) -> str:
    roof, clock = r["roofline"], r["clock_mhz"]
    gbps = roof["ddr_bytes_per_cycle"] * clock / 1e3
    placed = [(i, layer) for i, layer in enumerate(r["layers"]) if layer["macs"] and layer["cycles"]]
    streamed = [(i, layer) for i, layer in placed if layer["ddr_bytes"]]
    total_macs = sum(layer["macs"] for layer in r["layers"])
    design_x = total_macs / r["ddr_bytes_per_frame"]
    xs = [layer["macs"] / layer["ddr_bytes"] for _, layer in streamed] + [design_x]
    ridge = roof["board_macs_per_cycle"] * clock / 1e3 / gbps
    lo, hi = min(xs) / 4, max(max(xs), ridge) * 4
    on_chip_x = hi * 2  # the column of layers that read nothing from DDR

    def draw(fig):
        ax = fig.subplots()
        grid = np.geomspace(lo, hi, 200)
        for peak, style, name, gid in ((roof["engine_macs_per_cycle"], "-", "this design's engine", "roof-engine"),
                                       (roof["board_macs_per_cycle"], "--", "board peak within the caps",
                                        "roof-board")):
            ax.plot(grid, np.minimum(peak * clock / 1e3, gbps * grid), style, color="black", lw=1,
                    label=f"{name}: {peak:,.0f} MAC/cycle, DDR {gbps:.2f} GB/s", gid=gid)
        for i, layer in placed:
            x = layer["macs"] / layer["ddr_bytes"] if layer["ddr_bytes"] else on_chip_x
            ax.plot([x], [gmacs(layer["macs"], layer["cycles"], clock)], "o" if layer["ddr_bytes"] else ">",
                    color=BOUND_COLORS[time_category(layer)], ms=5, alpha=0.8, gid=f"layer-{i}")
        ax.plot([design_x], [gmacs(total_macs, r["cycles"], clock)], "*", color="gold", mec="black", ms=14,
                label="whole design", gid="design")
        for name in ("compute", "memory"):
            ax.plot([], [], "o", color=BOUND_COLORS[name], label=f"{name}-bound layer")
        ax.axvline(on_chip_x / 1.4, color="grey", lw=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.text(on_chip_x, ax.get_ylim()[1], "no DDR\ntraffic", ha="center", va="top", fontsize=7)
        ax.set_xlabel("arithmetic intensity (MAC per DDR byte)")
        ax.set_ylabel("GMAC/s")
        fig.legend(loc="outside upper center", ncols=3, fontsize=7)

    return svg_figure("roofline", 8, 5, draw)


def layer_time_svg(r: dict) -> str:
    layers = r["layers"]

    def draw(fig):
        ax = fig.subplots()
        y = np.arange(len(layers))
        for i, layer in enumerate(layers):
            ax.barh(y[i], layer["cycles"], color=BOUND_COLORS[time_category(layer)], gid=f"cycles-{i}")
            if layer["bound"] == "-":
                ax.text(0, y[i], "  fused into the previous layer", va="center", fontsize=7, color="grey")
        ax.set_yticks(y, [f"{layer['name']} [{layer['unit']}]" for layer in layers], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"cycles per image (total {r['cycles']:,} at {r['clock_mhz']:g} MHz)")
        for name, color in BOUND_COLORS.items():
            ax.barh([0], [0], color=color, label={"unit": "nonlinear / other unit", "compute": "GEMM engine",
                                                  "memory": "memory (DDR)", "fused": "fused"}[name])
        fig.legend(loc="outside upper center", ncols=4, fontsize=7)

    return svg_figure("layer-time", 8, 1.5 + 0.2 * len(layers), draw)


def resources_svg(r: dict) -> str:
    kinds = list(r["resources"])

    def draw(fig):
        ax = fig.subplots()
        for i, kind in enumerate(kinds):
            res = r["resources"][kind]
            share = 100 * res["used"] / res["available"] if res["available"] else 0.0
            ax.barh(i, share, color="#1f77b4", gid=f"resource-{kind}")
            ax.plot([100 * res["cap"]] * 2, [i - 0.4, i + 0.4], color="#d62728", lw=2, gid=f"cap-{kind}")
            note = (f"{res['used']:,} / {res['available']:,}" if res["available"] else "none on this board")
            ax.text(max(share, 0) + 1, i, note, va="center", fontsize=7)
        ax.plot([], [], color="#d62728", lw=2, label="cap")
        ax.set_yticks(range(len(kinds)), kinds)
        ax.invert_yaxis()
        ax.set_xlim(0, 105)
        ax.set_xlabel("% of the board")
        ax.legend(loc="lower right", fontsize=7)

    return svg_figure("resources", 8, 2.6, draw)


def pareto_svg(r: dict) -> str:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    front = r["pareto_front"]
    costs = [p["weight_error_cost"] for p in front] or [r["weight_error_cost"]]
    scale = ScalarMappable(Normalize(min(costs), max(costs)), "viridis")

    def draw(fig):
        axes = fig.subplots(1, 2, sharey=True)
        for ax, kind in zip(axes, ("dsp", "lut")):
            for i, p in enumerate(front):
                ax.plot([p["resources"][kind]], [p["fps"]], "o", ms=6, gid=f"pareto-{kind}-{i}",
                        color=scale.to_rgba(p["weight_error_cost"]))
            ax.plot([r["resources"][kind]["used"]], [r["fps"]], "*", ms=16, color="gold", mec="black",
                    gid=f"chosen-{kind}", label="chosen design")
            ax.set_xlabel(f"{kind.upper()} used")
        axes[0].set_ylabel("FPS")
        axes[0].legend(loc="lower right", fontsize=7)
        fig.colorbar(scale, ax=axes, label="weight-error cost")

    return svg_figure("pareto", 8, 3.6, draw)


def summary_table(r: dict) -> str:
    e = r["engine"]
    rows = [("", ""), ("board", f"{r['board']} ({r['part']}) at {r['clock_mhz']:g} MHz"),
            ("FPS", f"{r['fps']:,.1f} (target {r['target_fps'] if r['target_fps'] else 'max'})"),
            ("latency", f"{r['latency_ms']:.4f} ms ({r['cycles']:,} cycles)"),
            ("DDR traffic", f"{r['ddr_bytes_per_frame']:,} bytes per image"),
            ("engine", f"tm={e['tm']}, {e['tn_fixed']} fixed-point + {e['tn_pot']} power-of-two lanes, "
                       f"softmax/LayerNorm lanes {e['sm_lanes']}/{e['ln_lanes']}"),
            ("weight-error cost", f"{r['weight_error_cost']:.4g}")]
    return table(rows, table_id="summary")


def accuracy_section(r: dict) -> str:
    if "accuracy" not in r:
        return section("accuracy", "Accuracy", paragraph("No labelled test images ship with this model; run "
                                                         "`accelgen evaluate` on a labelled set."))
    a = r["accuracy"]
    rows = [("model", "top-1 accuracy"), ("integer design", f"{100 * a['integer_design']:.2f}%"),
            ("integer, every weight 8-bit fixed point", f"{100 * a['integer_all_fixed8']:.2f}%")]
    if a["brevitas_float"] is not None:
        rows.append(("Brevitas float model", f"{100 * a['brevitas_float']:.2f}%"))
    return section("accuracy", f"Accuracy on {a['test_images']} test images",
                   table(rows, numeric=(1,), table_id="accuracy-table"))


def formats_section(r: dict) -> str:
    records = r.get(FORMATS_KEY)
    if not records:
        return ""
    columns = list(dict.fromkeys(k for rec in records for k in rec))
    rows = [tuple(columns)] + [tuple("" if rec.get(c) is None else str(rec.get(c)) for c in columns)
                               for rec in records]
    return section("formats", "Integer formats chosen by accelgen", table(rows, table_id="formats-table"))


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, float)) and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def vitis_section(r: dict) -> str:
    """What `accelgen synth` measured (report.json "vitis"), beside the model's figures."""
    v = r.get("vitis")
    if not v:
        return ""
    t = v["timing"]
    timing = ("Implementation: not run." if t is None else
              f"Implementation: WNS {t['wns_ns']:g} ns, WHS {t['whs_ns']:g} ns ({'met' if t['met'] else 'MISSED'}).")
    resources = [("resource", "model", "csynth", "implemented", "available")] + [
        (x["kind"], _cell(x["model"]), _cell(x["csynth"]), _cell(x["implemented"]), _cell(x["available"]))
        for x in v["resources"]]
    loops = [("loop", "trip count", "latency", "II", "modelled II", "")] + [
        (lp["loop"], lp["trip_count"], lp["latency"], _cell(lp["ii"]), _cell(lp["modelled_ii"]),
         "" if lp["as_modelled"] else "differs") for lp in v["loops"]]
    return section("vitis", "Vitis results", paragraph(
        f"Clock: target {_cell(v['target_ns'])} ns, csynth estimate {_cell(v['estimated_ns'])} ns. Cycles per "
        f"frame: model {v['modelled_cycles']:,}, csynth latency {v['csynth_latency']} (whole batch call). {timing}"),
        table(resources, numeric=(1, 2, 3, 4), table_id="vitis-resources"),
        table(loops, numeric=(1, 2, 3, 4), table_id="vitis-loops"))


def report_html(r: dict) -> str:
    """The whole page, from a report.json dictionary."""
    memory = r["memory_bound_layers"]
    no_macs = Counter(layer["unit"] for layer in r["layers"] if not layer["macs"])
    parts = [
        section("summary", "Summary", summary_table(r)),
        section("roofline-section", "Roofline", figure(roofline_svg(r), (
            "Each layer with multiply-accumulates at its arithmetic intensity (MACs over the DDR bytes it streams) "
            "and the GMAC/s it reaches; triangles on the right read nothing from DDR. Not on the plot (no MACs): "
            + (", ".join(f"{n} {unit}" for unit, n in no_macs.items()) or "none") + " layers."))),
        section("time", "Where the time goes", figure(layer_time_svg(r), (
            f"Cycles per layer, coloured by what bounds it. Memory-bound: {', '.join(memory) or 'none'}."))),
        section("resources-section", "Resources", figure(resources_svg(r), "Used share of each resource of "
                                                          "the board; the red mark is the utilisation cap.")),
        section("pareto-section", "Pareto front", figure(pareto_svg(r), (
            f"The {len(r['pareto_front'])} engines the search kept (fastest weight assignment each), coloured by "
            "weight-error cost; the star is the chosen design."))),
        accuracy_section(r),
        formats_section(r),
        vitis_section(r),
    ]
    return html_page(f"accelgen build report: {r['model']} on {r['board']}",
                     [p for p in parts if p])
