"""Resource model: DSP, LUT, FF, BRAM36, URAM of a design.

LUT/FF/DSP of the GEMM lanes come from Yosys `synth_xilinx` of our own lane RTL (lane_costs.json, made by
scripts/measure_lanes.py); those of the softmax, LayerNorm, requantization and GELU units from Yosys
synthesis of the RTL units (unit_costs.json, made by scripts/synth_units.py). Memories are counted from
the buffer plan (perf/memory.py). Nothing is fitted to published accelerators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources

from ..board import RESOURCE_KINDS, Board
from ..design import Engine
from ..hw.constants import GELU_ENTRY_BITS, NUM_MEMORIES, POT_CODE_BITS, WEIGHT_ITEM_BITS
from ..hw.memory import activation_storage
from ..hw.plan import ActivationMemories
from ..numerics.softmax import CODE_MAX, E2SoftmaxParams
from .memory import Blocks, banked_buffer

ACT_BITS = 8  # elements of the units' row / token buffers
SOFTMAX_ROW_BITS = 16  # exponent values held in the E2Softmax ping-pong row buffer
SOFTMAX_CODE_BITS = CODE_MAX.bit_length() + E2SoftmaxParams.exp_frac  # its second buffer: codes (k, frac)


@dataclass(frozen=True)
class Resources:
    dsp: float = 0.0
    lut: float = 0.0
    ff: float = 0.0
    bram36: float = 0.0
    uram: float = 0.0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def times(self, n: float) -> "Resources":
        return Resources(*(getattr(self, f.name) * n for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {k: int(round(getattr(self, k))) for k in RESOURCE_KINDS}

    def utilization(self, board: Board) -> dict[str, float]:
        """Used / available per kind (inf when the board has none of a kind that is used)."""
        out = {}
        for k in RESOURCE_KINDS:
            avail, used = board.resources[k], getattr(self, k)
            out[k] = used / avail if avail else (0.0 if used == 0 else float("inf"))
        return out


@cache
def _json(name: str) -> dict:
    return json.loads((resources.files("accelgen.perf") / name).read_text())


def lane_fit(family: str, kind: str, tm: int) -> Resources:
    """A lane's cost at reduction width ``tm`` from the linear fit a + b*tm over the Yosys grid."""
    fit = _json("lane_costs.json")["fits"][family][kind]
    at = {r: max(0.0, fit[r]["a"] + fit[r]["b"] * tm) for r in ("LUT", "FF", "DSP", "FF_dsp_adjacent")}
    # Vivado absorbs the registers next to a DSP into it (AREG/BREG/PREG); Yosys on xcup does not.
    ff = at["FF"] - at["FF_dsp_adjacent"] if family == "xcup" else at["FF"]
    return Resources(dsp=at["DSP"], lut=at["LUT"], ff=ff)


def unit_cost(family: str, unit: str) -> Resources:
    """LUT/FF/DSP (and BRAM) of one instance of an RTL unit, from Yosys."""
    u = _json("unit_costs.json")["units"][family][unit]
    return Resources(dsp=u["dsp"], lut=u["lut"], ff=u["ff"], bram36=u.get("bram36", 0.0))


def lanes(engine: Engine, family: str) -> Resources:
    """GEMM lanes. Each lane module registers its own activations; the engine broadcasts one register,
    so the per-lane activation register is taken out and counted once."""
    tm = engine.tm
    x_reg = Resources(ff=tm * ACT_BITS)
    if engine.dsp_packing:
        fixed = (lane_fit(family, "pack2", tm) + x_reg.times(-1)).times(engine.tn_fixed / 2)
    else:
        fixed = (lane_fit(family, "fixed_w8", tm) + x_reg.times(-1)).times(engine.tn_fixed)
    pot = (lane_fit(family, "pot", tm) + x_reg.times(-1)).times(engine.tn_pot)
    return fixed + pot + x_reg


def blocks_resources(b: Blocks) -> Resources:
    return Resources(bram36=b.bram36, uram=b.uram, lut=b.luts)


@dataclass(frozen=True)
class BufferPlan:
    """Sizes the buffers depend on: the largest reduction length, token count and width, the activation
    memories of the plan and the GELU table entries (0: no GELU)."""

    k_max: int
    tokens_max: int
    dim_max: int
    activations: ActivationMemories
    gelu_entries: int


def weight_buffers(engine: Engine, plan: BufferPlan) -> Blocks:
    """Ping-pong weight tiles: every lane reads tm weights per cycle from its own bank (block RAM, or
    LUT RAM — cheaper when the banks are shallow, i.e. k/tm is small). The two halves are the two
    address halves of one simple dual-port bank: the fill writes one while the lane reads the other."""
    depth = 2 * -(-plan.k_max // engine.tm)
    fixed = banked_buffer(engine.tm * WEIGHT_ITEM_BITS, depth, engine.tn_fixed, engine.weight_memory)
    pot = banked_buffer(engine.tm * POT_CODE_BITS, depth, engine.tn_pot, engine.weight_memory)
    return fixed + pot


def activation_buffers(engine: Engine, plan: BufferPlan, board: Board) -> Blocks:
    """The placement's activation memories (hw/plan.py): NUM_MEMORIES x TM banks of its depth."""
    depth = plan.activations.depth(engine.tm)
    kind = activation_storage(plan.activations.bits, depth, engine.tm, board)
    return banked_buffer(plan.activations.bits, depth, NUM_MEMORIES * engine.tm, kind)


def unit_buffers(engine: Engine, plan: BufferPlan) -> Blocks:
    """Ping-pong row / token buffers of the softmax and LayerNorm units (the softmax's second buffer holds
    6-bit codes per lane: LUT RAM, as Yosys maps rtl/e2softmax.v's code buffer to RAM64M8 on UltraScale+;
    unit_costs.json, e2softmax_l*_buffer_codes); the fused GELU table as the HLS engine holds it: one copy
    per store bank (TM), LUT RAM loaded from the parameter stream per layer."""
    softmax = banked_buffer(SOFTMAX_ROW_BITS, 2 * plan.tokens_max, engine.sm_lanes, "bram") \
        + banked_buffer(SOFTMAX_CODE_BITS, 2 * plan.tokens_max, engine.sm_lanes, "lutram")
    layernorm = banked_buffer(ACT_BITS, 2 * plan.dim_max, engine.ln_lanes, "bram")
    gelu = banked_buffer(GELU_ENTRY_BITS, plan.gelu_entries, engine.tm, "lutram")
    return softmax + layernorm + gelu


def design_resources(engine: Engine, board: Board, plan: BufferPlan) -> Resources:
    fam = board.yosys_family
    compute = (lanes(engine, fam)
               + unit_cost(fam, "requant").times(engine.tn_fixed + engine.tn_pot)
               + unit_cost(fam, "e2softmax").times(engine.sm_lanes)
               + unit_cost(fam, "ailayernorm").times(engine.ln_lanes)
               + unit_cost(fam, "eltwise").times(engine.ew_lanes))
    memory = weight_buffers(engine, plan) + activation_buffers(engine, plan, board) \
        + unit_buffers(engine, plan)
    return compute + blocks_resources(memory)
