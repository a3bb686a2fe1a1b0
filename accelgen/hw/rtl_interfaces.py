"""The interfaces of the Verilog units (what both the RTL generator, accelgen/codegen/rtl_project.py, and the
RTL simulator, accelgen/sim/rtl_runner.py, read): the kind and module name of each unit, the ports of its
wrapper module, the per-layer runtime configuration a controller writes into its cfg ports, and what a
simulator compiles for a harness of rendered units."""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

from .units import EltwiseUnit, GemmUnit, GeluUnit, LayerNormUnit, SoftmaxUnit, clog2
from ..numerics import layernorm as ln_num
from ..numerics.softmax import E2SoftmaxParams

CFG_BITS = 8  # signed softmax configuration fields (in_frac - F, out_frac)


def addr_bits(n: int) -> int:
    """Address width of an n-entry array (at least 1), as the RTL computes it."""
    return clog2(n) if n > 1 else 1


UNIT_KIND = {GemmUnit: "gemm_tile", SoftmaxUnit: "e2softmax", LayerNormUnit: "ailayernorm", GeluUnit: "gelu",
             EltwiseUnit: "eltwise"}


UNIT_KINDS = tuple(UNIT_KIND.values())


def unit_kind(unit) -> str:
    """The kind (module suffix) of a unit's parameters."""
    return UNIT_KIND[type(unit)]


# ---------------------------------------------------------------------------------------------- ports
@dataclass(frozen=True)
class Port:
    direction: str  # "input" | "output"
    width: int
    name: str


def _p(direction: str, width: int, name: str) -> Port:
    return Port(direction, max(int(width), 1), name)


@singledispatch
def unit_ports(unit) -> list[Port]:
    """The ports of a unit's wrapper module."""
    raise TypeError(f"no RTL unit for {type(unit).__name__}")


@unit_ports.register
def tile_ports(t: GemmUnit) -> list[Port]:
    i, o = "input", "output"
    n = len(t.gelu_tables)
    return [
        _p(i, 1, "ld_w_en"), _p(i, 1, "ld_clr"), _p(i, 1, "ld_q_en"), _p(i, 1, "ld_b_en"), _p(i, 1, "ld_bank"),
        _p(i, addr_bits(t.lanes), "ld_lane"), _p(i, addr_bits(t.max_k_beats), "ld_addr"),
        _p(i, addr_bits(t.slots), "ld_slot"), _p(i, addr_bits(t.tm), "ld_sbank"),
        _p(i, addr_bits(t.max_bias_rows), "ld_brow"), _p(i, t.tm * t.weight_bits, "ld_w"),
        _p(i, t.mult_bits, "ld_mult"),
        _p(i, t.mult_bits, "ld_res_mult"), _p(i, t.res_shift_bits, "ld_res_shift"), _p(i, t.shift_bits, "ld_shift"), _p(i, t.bias_bits, "ld_bias"),
        _p(i, 1, "cmd_valid"), _p(o, 1, "cmd_ready"), _p(i, 1, "cmd_bank"), _p(i, 16, "cmd_rows"),
        _p(i, clog2(t.max_k_beats + 1), "cmd_kc"), _p(i, clog2(t.slots + 1), "cmd_slots"),
        _p(i, addr_bits(t.tm), "cmd_rot_fixed"), _p(i, addr_bits(t.tm), "cmd_rot_pot"),
        _p(i, clog2(t.max_bias_rows + 1), "cmd_bias_rows"),
        _p(i, 1, "cmd_has_res"), _p(i, 1, "cmd_clamp"), _p(i, t.output_bits, "cmd_qmin"),
        _p(i, t.output_bits, "cmd_qmax"),
        _p(i, 1, "cmd_gelu"), _p(i, clog2(n) if n > 1 else 1, "cmd_gelu_sel"),
        _p(i, 1, "x_valid"), _p(o, 1, "x_ready"), _p(i, t.tm * t.input_bits, "x_data"), _p(i, 1, "x_last"),
        _p(i, 1, "r_valid"), _p(o, 1, "r_ready"), _p(i, t.tm * t.residual_bits, "r_data"),
        _p(o, 1, "y_valid"), _p(i, 1, "y_ready"), _p(o, t.tm * t.output_bits, "y_data"), _p(o, t.tm, "y_sel"),
        _p(o, 1, "y_last"), _p(o, 1, "idle"),
    ]


def _stream_ports(in_width: int, out_width: int) -> list[Port]:
    i, o = "input", "output"
    return [_p(i, 1, "s_valid"), _p(o, 1, "s_ready"), _p(i, in_width, "s_data"), _p(i, 1, "s_last"),
            _p(o, 1, "m_valid"), _p(i, 1, "m_ready"), _p(o, out_width, "m_data"), _p(o, 1, "m_last"),
            _p(o, 1, "idle")]


@unit_ports.register
def softmax_ports(s: SoftmaxUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(s.max_beats + 1), "cfg_beats"), _p(i, clog2(s.lanes + 1), "cfg_tail"),
            _p(i, CFG_BITS, "cfg_in_shift"), _p(i, CFG_BITS, "cfg_out_frac"), _p(i, s.output_bits, "cfg_out_max"),
            *_stream_ports(s.lanes * s.input_bits, s.lanes * s.output_bits)]


@unit_ports.register
def layernorm_ports(n: LayerNormUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(n.max_beats + 1), "cfg_beats"), _p(i, clog2(n.lanes + 1), "cfg_tail"),
            _p(i, clog2(n.max_dim + 1), "cfg_dim"), _p(i, n.eps_bits, "cfg_eps"), _p(i, n.shift_bits, "cfg_shift"),
            _p(i, n.output_bits, "cfg_out_min"), _p(i, n.output_bits, "cfg_out_max"),
            _p(i, 1, "ld_en"), _p(i, addr_bits(n.max_beats), "ld_beat"), _p(i, addr_bits(n.lanes), "ld_lane"),
            _p(i, n.gain_bits, "ld_gain"), _p(i, n.bias_bits, "ld_bias"),
            *_stream_ports(n.lanes * n.input_bits, n.lanes * n.output_bits)]


@unit_ports.register
def gelu_ports(g: GeluUnit) -> list[Port]:
    n = len(g.tables)
    return [_p("input", clog2(n) if n > 1 else 1, "cfg_sel"),
            *_stream_ports(g.lanes * g.input_bits, g.lanes * g.output_bits)]


@unit_ports.register
def eltwise_ports(e: EltwiseUnit) -> list[Port]:
    i = "input"
    return [_p(i, clog2(e.max_beats + 1), "cfg_beats"), _p(i, clog2(e.lanes + 1), "cfg_tail"),
            _p(i, e.mult_bits, "cfg_mult"), _p(i, e.mult_bits, "cfg_res_mult"), _p(i, e.bias_bits, "cfg_bias"),
            _p(i, e.shift_bits, "cfg_shift"), _p(i, 1, "cfg_clamp"), _p(i, e.output_bits, "cfg_qmin"),
            _p(i, e.output_bits, "cfg_qmax"),
            *_stream_ports(e.lanes * (e.a_bits + e.b_bits), e.lanes * e.output_bits)]


def softmax_config(p: E2SoftmaxParams, n: int, lanes: int) -> dict[str, int]:
    beats = -(-n // lanes)
    return {"cfg_beats": beats, "cfg_tail": n - (beats - 1) * lanes, "cfg_in_shift": p.in_frac - p.exp_frac,
            "cfg_out_frac": p.out_frac, "cfg_out_max": int(p.out_max)}


def layernorm_config(p: ln_num.AILayerNormParams, lanes: int) -> dict[str, int]:
    beats = -(-p.dim // lanes)
    return {"cfg_beats": beats, "cfg_tail": p.dim - (beats - 1) * lanes, "cfg_dim": p.dim, "cfg_eps": int(p.eps),
            "cfg_shift": int(p.shift), "cfg_out_min": int(p.out_min), "cfg_out_max": int(p.out_max)}

# ---------------------------------------------------------------------------------------------- modules
PREFIX = "accel"  # module names of the design's units: accel_gemm_tile, accel_e2softmax, ...


def module_name(kind: str, prefix: str = PREFIX) -> str:
    return f"{prefix}_{kind}"


# ---------------------------------------------------------------------------------------------- harness
HARNESS = "rtlsim_top"  # the simulation top around the units


@dataclass(frozen=True)
class HarnessSources:
    """What a simulator compiles for a harness (rendered by accelgen.codegen.rtl_project.harness_sources):
    every file, path relative to the source folder -> text, in compile order; the top module; the port
    prefix of each unit instance in it."""

    files: dict[str, str]
    top: str
    prefixes: tuple[str, ...]
