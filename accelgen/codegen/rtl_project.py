"""The Verilog units of a design: ``render_rtl(graph, design, board) -> {relative path: text}``.

The generic units (rtl/*.v, rtl/lanes/*.v: GEMM lanes and tile, requantization, E2Softmax, AILayerNorm,
GELU, elementwise) take every design-specific value as a Verilog parameter. This module turns the units of
a design (rtl_units.py: widths from the proven bounds, lane counts from the engine, the nonlinear units'
tables verbatim from ``accelgen.numerics``) into those parameters and renders one thin wrapper module
per unit (templates/rtl_unit.v.j2) that instantiates the generic core with them. The rendered folder is
self-contained: the generic sources are copied under ``lib/``, ``sources.f`` lists every file in compile
order and ``units.json`` records the units, their parameters and the per-layer runtime configuration.

Everything here is a pure function of (graph, design, board): same inputs, byte-identical files.
``harness_sources`` renders what ``accelgen rtlsim`` and the RTL tests simulate: the units side by side in
one simulation top (ports prefixed) with the generic sources, so one simulator build checks them all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import singledispatch
from pathlib import Path

from .. import ir
from ..board import Board
from ..design import Design
from ..hw.constants import UNIT_OUT_QUEUE_DEPTH
from ..hw.rtl_interfaces import (HARNESS, HarnessSources, Port, layernorm_config, module_name, softmax_config,
                                 unit_kind, unit_ports)
from ..hw.units import EltwiseUnit, GemmUnit, GeluUnit, LayerNormUnit, SoftmaxUnit
from ..resources import rtl_dir
from .names import sanitize
from .rtl_units import RtlDesign, op_unit, rtl_design
from .templates import render

LAYERNORM_OUT_DEPTH = 16  # its stage 2 is 7 registers deep
STATS_DEPTH = 16
BUFFER_SLACK = 16  # row/token buffer beats beyond two rows (short rows stream at II = 1)

# Generic sources in compile order (relative to the rtl package).
LIB_FILES = ("lanes/adder_tree.v", "lanes/fixed_lane.v", "lanes/pot_lane.v", "lanes/dsp_pack2.v",
             "axis_fifo.v", "ram_sdp.v", "delay_line.v", "row_flow.v", "requant_lane.v", "rotator.v", "gemm_tile.v",
             "e2softmax.v", "ailayernorm.v", "gelu_unit.v", "eltwise_unit.v")
CORE = {"gemm_tile": "gemm_tile", "e2softmax": "e2softmax", "ailayernorm": "ailayernorm", "gelu": "gelu_unit",
        "eltwise": "eltwise_unit"}


# ---------------------------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Param:
    name: str
    value: str  # a Verilog constant expression (scalars)
    table: tuple[str, ...] = ()  # sized literals, most significant (last entry) first, for tables
    comment: str = ""


def sized(value: int, bits: int) -> str:
    """A sized Verilog literal of ``value`` (negative values as -N'sdM, which is the same bit pattern)."""
    value = int(value)
    if value < 0:
        return f"-{bits}'sd{-value}"
    return f"{bits}'d{value}"


def table_param(name: str, values, bits: int, comment: str) -> Param:
    """A packed table parameter: entry i at [i*bits +: bits], so the concatenation lists the last first."""
    entries = tuple(sized(v, bits) for v in reversed([int(v) for v in values]))
    return Param(name, "", entries, f"{comment} ({len(entries)} x {bits} bits, entry 0 last)")


@singledispatch
def unit_params(unit, gelu_names: tuple[str, ...] = ()) -> list[Param]:
    """The Verilog parameters of a unit (``gelu_names``: comments naming the GELU tables)."""
    raise TypeError(f"no RTL unit for {type(unit).__name__}")


@unit_params.register
def tile_params(t: GemmUnit, gelu_names: tuple[str, ...] = ()) -> list[Param]:
    out = [Param("TM", str(t.tm)), Param("TNF", str(t.fixed_lanes)), Param("TNP", str(t.pot_lanes)),
           Param("SLOTS", str(t.slots)), Param("FSLOTS", str(t.fixed_slots)),
           Param("PACK", str(int(t.dsp_packing))), Param("XB", str(t.input_bits)), Param("WB", str(t.weight_bits)),
           Param("PWB", str(t.pot_code_bits)), Param("SH", str(t.pack_shift)), Param("ACCB", str(t.acc_bits)),
           Param("PIPE_LVLS", str(t.tree_levels_per_register)), Param("KC_MAX", str(t.max_k_beats)),
           Param("BIAS_ROWS", str(t.max_bias_rows)), Param("RB", str(t.residual_bits)), Param("MB", str(t.mult_bits)),
           Param("BB", str(t.bias_bits)), Param("SHB", str(t.shift_bits)), Param("RSB", str(t.res_shift_bits)),
           Param("OB", str(t.output_bits)),
           Param("OUT_DEPTH", str(t.output_queue_depth)), Param("LPAD", str(t.lane_latency_pad)),
           Param("NGELU", str(len(t.gelu_tables)))]
    if t.gelu_tables:
        names = gelu_names or tuple(f"table {i}" for i in range(len(t.gelu_tables)))
        out += [Param("GELU_IB", str(t.gelu_input_bits)), Param("GELU_OB", str(t.gelu_output_bits)),
                Param("GELU_IN_MIN", str(t.gelu_in_min)),
                table_param("GELU_TABLES", [v for tab in t.gelu_tables for v in tab], t.gelu_output_bits,
                            "GELU tables " + ", ".join(f"{i}: {n}" for i, n in enumerate(names))
                            + ", from accelgen.numerics.gelu (GeluTable.values)")]
    return out


def row_buffer_beats(max_beats: int) -> int:
    """Beats of a unit's ping-pong row / token buffer: two rows and the slack that lets short rows stream."""
    return 2 * max_beats + BUFFER_SLACK


@unit_params.register
def softmax_params(s: SoftmaxUnit, gelu_names: tuple[str, ...] = ()) -> list[Param]:
    return [Param("L", str(s.lanes)), Param("XB", str(s.input_bits)), Param("EB", str(s.exponent_bits)),
            Param("SB", str(s.sum_bits)), Param("F", str(s.exp_frac)), Param("M", str(s.recip_bits)),
            Param("KMAX", str(s.code_max)), Param("TFW", str(s.pow_table_bits)), Param("PW", str(s.out_table_bits)),
            Param("RF", str(s.recip_frac)), Param("OB", str(s.output_bits)), Param("NB_MAX", str(s.max_beats)),
            Param("BUF", str(row_buffer_beats(s.max_beats))), Param("OUT_DEPTH", str(UNIT_OUT_QUEUE_DEPTH)),
            Param("STATS_DEPTH", str(STATS_DEPTH)),
            table_param("TF", s.pow_table, s.pow_table_bits, "TF = E2SoftmaxParams.pow_table"),
            table_param("PT", s.out_table, s.out_table_bits, "P = E2SoftmaxParams.out_table")]


@unit_params.register
def layernorm_params(n: LayerNormUnit, gelu_names: tuple[str, ...] = ()) -> list[Param]:
    return [Param("L", str(n.lanes)), Param("XB", str(n.input_bits)), Param("DMAX", str(n.max_dim)),
            Param("EPSB", str(n.eps_bits)), Param("GB", str(n.gain_bits)), Param("BB", str(n.bias_bits)),
            Param("SHB", str(n.shift_bits)), Param("OB", str(n.output_bits)), Param("RSQF", str(n.rsqrt_frac)),
            Param("NF", str(n.norm_frac)), Param("IDX", str(n.rsqrt_index_bits)), Param("SQW_T", str(n.square_bits)),
            Param("RSW", str(n.rsqrt_bits)), Param("NB_MAX", str(n.max_beats)),
            Param("BUF", str(row_buffer_beats(n.max_beats))), Param("OUT_DEPTH", str(LAYERNORM_OUT_DEPTH)),
            Param("STATS_DEPTH", str(STATS_DEPTH)),
            table_param("SQ", n.squares, n.square_bits, "SQ = accelgen.numerics.layernorm.SQUARES"),
            table_param("RSQ", n.rsqrt, n.rsqrt_bits, "RSQ = accelgen.numerics.layernorm.RSQRT")]


@unit_params.register
def gelu_params(g: GeluUnit, names: tuple[str, ...] = ()) -> list[Param]:
    names = names or tuple(f"table {i}" for i in range(len(g.tables)))
    return [Param("L", str(g.lanes)), Param("IB", str(g.input_bits)), Param("OB", str(g.output_bits)),
            Param("IN_MIN", str(g.in_min)),
            Param("NT", str(len(g.tables))), Param("OUT_DEPTH", str(g.output_queue_depth)),
            table_param("TABLES", [v for t in g.tables for v in t], g.output_bits,
                        "GELU tables " + ", ".join(f"{i}: {n}" for i, n in enumerate(names))
                        + ", from accelgen.numerics.gelu (GeluTable.values)")]


@unit_params.register
def eltwise_params(e: EltwiseUnit, gelu_names: tuple[str, ...] = ()) -> list[Param]:
    return [Param("L", str(e.lanes)), Param("AB", str(e.a_bits)), Param("RB", str(e.b_bits)),
            Param("MB", str(e.mult_bits)), Param("BB", str(e.bias_bits)), Param("SHB", str(e.shift_bits)),
            Param("OB", str(e.output_bits)), Param("NB_MAX", str(e.max_beats)),
            Param("OUT_DEPTH", str(e.output_queue_depth))]


# ---------------------------------------------------------------------------------------------- rendering
DESCRIPTIONS = {
    "gemm_tile": "one GEMM output tile: fixed-point (DSP, packed pairs) and power-of-two (LUT) lanes, "
                 "ping-pong weights, a store ring of slots x TM positions with one requantizer per store bank, "
                 "fused GELU",
    "e2softmax": "E2Softmax (docs/numerics.md section 5), streaming, ping-pong row buffer",
    "ailayernorm": "AILayerNorm (docs/numerics.md section 6), streaming, ping-pong token buffer",
    "gelu": "GELU table unit (docs/numerics.md section 7)",
    "eltwise": "elementwise add / requantize (docs/numerics.md section 8)",
}


def _port_decl(p: Port) -> dict:
    return {"direction": f"{p.direction:<6s}", "range": "" if p.width == 1 else f"[{p.width - 1}:0] ", "name": p.name}


def render_unit(unit, module: str, gelu_names: tuple[str, ...] = (), params: list[Param] | None = None,
                model: str = "") -> str:
    """The wrapper module ``module`` around the generic core of ``unit``'s kind with its parameters
    (``params`` overrides them: the tests corrupt a table this way)."""
    kind = unit_kind(unit)
    params = unit_params(unit, gelu_names) if params is None else params
    ports = unit_ports(unit)
    ctx = {"module": module, "core": CORE[kind], "description": DESCRIPTIONS[kind], "model": model,
           "params": [asdict(p) for p in params], "ports": [_port_decl(p) for p in ports]}
    return render("rtl_unit.v.j2", ctx)


@dataclass(frozen=True)
class Instance:
    """One unit in a simulation harness: module, instance name and port prefix."""

    module: str
    name: str
    prefix: str
    ports: tuple[Port, ...]


def render_harness(module: str, instances: list[Instance]) -> str:
    """A simulation top with every instance's ports (except clk/rst) as top-level ports ``prefix + name``."""
    ctx = {"module": module, "instances": [
        {"module": i.module, "name": i.name,
         "ports": [dict(_port_decl(p), top=i.prefix + p.name) for p in i.ports]} for i in instances]}
    return render("rtl_harness.v.j2", ctx)


def harness_sources(units: dict[str, tuple]) -> HarnessSources:
    """The generic sources, the wrappers of ``units`` (prefix -> (kind, hw, module, wrapper text)) and the
    harness around them (instance ``u_<prefix>``), in compile order."""
    files = lib_sources()
    instances = []
    for prefix, (kind, hw, module, text) in units.items():
        files[f"{module}.v"] = text
        instances.append(Instance(module=module, name=f"u_{prefix.rstrip('_')}", prefix=prefix,
                                  ports=tuple(unit_ports(hw))))
    files[f"{HARNESS}.v"] = render_harness(HARNESS, instances)
    return HarnessSources(files=files, top=HARNESS, prefixes=tuple(units))


def lib_sources() -> dict[str, str]:
    """The generic RTL (rtl/ of the package), keyed by its path under lib/."""
    root = rtl_dir()
    return {f"lib/{name}": (root / name).read_text() for name in LIB_FILES}


@singledispatch
def layer_config(op: ir.Op, graph: ir.Graph, rd: RtlDesign) -> dict[str, int] | None:
    """What a controller writes into the cfg ports of ``op``'s unit (None: the unit has no per-layer
    configuration)."""
    return None


@layer_config.register
def _(op: ir.Softmax, graph: ir.Graph, rd: RtlDesign) -> dict[str, int]:
    return softmax_config(op.unit, graph.tensors[op.input].shape[-1], rd.softmax.lanes)


@layer_config.register
def _(op: ir.LayerNorm, graph: ir.Graph, rd: RtlDesign) -> dict[str, int]:
    return layernorm_config(op.unit, rd.layernorm.lanes)


@layer_config.register
def _(op: ir.Gelu, graph: ir.Graph, rd: RtlDesign) -> dict[str, int]:
    return {"cfg_sel": rd.gelu_index[op.name]}


LAYER_CONFIG_KEYS = {"e2softmax": "softmax", "ailayernorm": "layernorm", "gelu": "gelu"}  # units.json "layers"


def _layer_config(graph: ir.Graph, rd: RtlDesign) -> dict:
    """Per-layer runtime configuration of the units, by unit and layer name."""
    out: dict = {key: {} for key in LAYER_CONFIG_KEYS.values()}
    for op in graph.ops:
        cfg = layer_config(op, graph, rd)
        if cfg is not None:
            out[LAYER_CONFIG_KEYS[op_unit(op)]][op.name] = cfg
    return out


def render_rtl(graph: ir.Graph, design: Design, board: Board) -> dict[str, str]:
    """Every file of ``DIR/rtl/``: unit wrappers, the generic sources, sources.f and units.json."""
    rd = rtl_design(graph, design, board)
    files: dict[str, str] = {}
    units = rd.units()
    for kind, unit in units.items():
        names = rd.gelu_names if kind in ("gemm_tile", "gelu") else ()
        files[f"{module_name(kind)}.v"] = render_unit(unit, module_name(kind), names,
                                                      model=sanitize(design.model))
    files.update(lib_sources())
    files["sources.f"] = "".join(f"{name}\n" for name in _compile_order(files))
    manifest = {
        "model": design.model, "board": board.name, "part": board.part,
        "units": {kind: {"module": module_name(kind), "core": CORE[kind], "parameters": _json_unit(unit),
                         "latency": unit_latency(unit)} for kind, unit in units.items()},
        "gelu_tables": list(rd.gelu_names),
        "layers": _layer_config(graph, rd),
    }
    files["units.json"] = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    return dict(sorted(files.items()))


def _compile_order(files: dict[str, str]) -> list[str]:
    """Compile order: the generic sources, then the wrappers."""
    return [f"lib/{n}" for n in LIB_FILES] + sorted(k for k in files if not k.startswith("lib/") and k.endswith(".v"))


def _json_unit(unit) -> dict:
    d = asdict(unit)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def unit_latency(unit) -> int:
    """Cycles beyond the loop-nest term (docs/rtl.md): per tile, per layer of rows / tokens, per stream."""
    return unit.latency


def write_rtl(graph: ir.Graph, design: Design, board: Board, out_dir: str | Path) -> list[Path]:
    """Write ``render_rtl`` into ``out_dir`` (e.g. DIR/rtl); returns the written paths."""
    out_dir = Path(out_dir)
    written = []
    for rel, text in render_rtl(graph, design, board).items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
