"""Resource model: DSP, LUT, FF, BRAM36, URAM of a design.

LUT/FF/DSP of the GEMM lanes come from Yosys `synth_xilinx` of our own lane RTL (lane_costs.json, made by
scripts/measure_lanes.py); those of the softmax, LayerNorm, requantization and GELU units from Yosys
synthesis of the RTL units (unit_costs.json, made by scripts/synth_units.py); the structures the generated
HLS instantiates around them (hw/structures.py: FIFOs, gearbox, selects, rotators, m_axi adapters) from Yosys
synthesis of RTL equivalents (structure_costs.json, made by scripts/synth_structures.py). Memories are
counted from the buffer plan and the structure list (perf/memory.py). Nothing is fitted to published
accelerators.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources

from ..board import RESOURCE_KINDS, Board
from ..design import Engine
from ..hw.constants import ELTWISE_LANES, NUM_MEMORIES, POT_CODE_BITS, WEIGHT_ITEM_BITS
from ..hw.memory import memory_kind
from ..hw.plan import ActivationMemories, image_lanes, scheme_slots
from ..hw.structures import StructureFacts, Structures, feature, structures
from .memory import Blocks, banked_buffer

ACT_BITS = 8  # the activation operand the lanes register


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
    """Sizes the buffers and structures depend on, whatever the engine: the largest reduction length,
    token count and width, the activation memories of the plan, the GELU table entries (1: no GELU), and
    the Config facts of hw/structures.py that follow from the graph alone."""

    k_max: int
    tokens_max: int
    dim_max: int
    activations: ActivationMemories
    gelu_entries: int
    acc_bits: int = 32  # acc_bits, out_bits: of the all-8-bit fixed-point graph (bounds any scheme choice)
    bias_rows_max: int = 1
    out_rows: int = 1
    out_cols: int = 1
    out_bits: int = 8
    steps: int = 1
    image: tuple[int, int] = (1, 1)  # (patch, image width) of the image loader
    attention: bool = False  # attention products run on the engine (their store slots)
    sm_e_bits: int = 1  # the units' buffer elements (hw/units.py config_units): softmax exponent and code,
    sm_code_bits: int = 1  # LayerNorm input
    ln_x_bits: int = 1


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
    kind = memory_kind(plan.activations.bits, depth, board)
    return banked_buffer(plan.activations.bits, depth, NUM_MEMORIES * engine.tm, kind)


def slots_estimate(engine: Engine, plan: BufferPlan) -> int:
    """Store slots of the engine before the layers' schemes are chosen (the search): the fixed and the
    power-of-two lanes' rows each in order, and the attention tiles' rotated columns."""
    tm = engine.tm
    gemm = scheme_slots(engine.tn_fixed, tm) + scheme_slots(engine.tn_pot, tm)
    return max(gemm, scheme_slots(engine.tn_fixed, tm) if plan.attention else 1)


def structure_facts(engine: Engine, board: Board, plan: BufferPlan, slots: int) -> StructureFacts:
    """The Config facts of hw/structures.py for ``engine`` on ``board`` with ``slots`` store slots."""
    word = board.hp_ports.width_bits
    return StructureFacts(tm=engine.tm, word_bits=word, slots_max=slots,
                          bias_rows_max=plan.bias_rows_max, gelu_entries=plan.gelu_entries, acc_bits=plan.acc_bits,
                          out_rows=plan.out_rows, out_cols=plan.out_cols, out_bits=plan.out_bits,
                          max_steps=plan.steps, img_lanes=image_lanes(*plan.image, engine.tm, word),
                          sm_lanes=engine.sm_lanes, sm_n_max=plan.tokens_max, sm_e_bits=plan.sm_e_bits,
                          sm_code_bits=plan.sm_code_bits, ln_lanes=engine.ln_lanes, ln_d_max=plan.dim_max,
                          ln_x_bits=plan.ln_x_bits, act_bits=plan.activations.bits)


def piecewise(xs: list[float], ys: list[float], x: float) -> float:
    """Linear between the measured points, continued by the end segments beyond them."""
    if len(xs) == 1:
        return ys[0]
    i = min(max(bisect.bisect_right(xs, x) - 1, 0), len(xs) - 2)
    return ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])


@cache
def structure_points(family: str, kind: str) -> tuple[list[float], dict[str, list[float]]]:
    """The Yosys points of a structure kind (structure_costs.json) by size feature: (x, resource -> y)."""
    points = sorted(_json("structure_costs.json")["structures"][family][kind]["points"], key=lambda p: p["x"])
    return [p["x"] for p in points], {r: [p[r] for p in points] for r in ("lut", "ff", "dsp", "bram36")}


def structure_fit(family: str, kind: str, params: dict) -> Resources:
    """One structure's cost from the Yosys points of its RTL equivalent (structure_costs.json), at its
    size feature (hw/structures.py feature)."""
    xs, ys = structure_points(family, kind)
    x = feature(kind, params)
    at = {r: max(0.0, piecewise(xs, y, x)) for r, y in ys.items()}
    return Resources(dsp=at["dsp"], lut=at["lut"], ff=at["ff"], bram36=at["bram36"])


def itemized_structures(s: Structures, family: str) -> list[tuple[str, Resources]]:
    """(name, cost) of every structure of ``s``, in the list's order."""
    out = [(f"fifo {f.function}.{f.variable}", structure_fit(family, "fifo", {"W": f.width}).times(f.count))
           for f in s.fifos]
    # A scalar channel is a 2-deep FIFO (UG1399: scalar propagation FIFOs, not registers; Vitis builds them
    # as shift-register FIFOs). Priced with the STREAM_DEPTH FIFO fit at its width: a LUT-based
    # FIFO costs about one LUT site per bit for any depth up to 32-64 (one SRL / LUT-RAM site holds that many
    # entries), so the deeper FIFO's fit prices the shallow one's storage and its handshake logic.
    out += [(f"channel {c.region}.{c.process}.{c.argument}",
             structure_fit(family, "fifo", {"W": c.width}).times(c.count)) for c in s.channels]
    out += [(f"memory {m.function}.{m.variable}",
             blocks_resources(banked_buffer(m.width, m.depth, m.banks, m.storage))) for m in s.memories]
    out += [(f"registers {r.function}.{r.variable}", Resources(ff=r.bits)) for r in s.registers]
    out += [(f"select {x.what}", structure_fit(family, "select", {"N": x.inputs, "W": x.width}).times(x.count))
            for x in s.selects if x.inputs > 1]
    out += [(f"rotator {r.what}", structure_fit(family, "rotator", {"N": r.inputs, "W": r.width}).times(r.count))
            for r in s.rotators if r.inputs > 1]
    g = s.gearbox
    out.append(("gearbox", structure_fit(family, "gearbox", {"WB": g.word_bits, "IB": g.item_bits})))
    for b in s.bundles:
        cost = Resources()
        if b.read:
            cost += structure_fit(family, "maxi_read", {"W": b.width})
        if b.write:
            cost += structure_fit(family, "maxi_write", {"W": b.width})
        out.append((f"m_axi {b.bundle}", cost))
    return out


def structure_resources(engine: Engine, board: Board, plan: BufferPlan, slots: int) -> Resources:
    s = structures(structure_facts(engine, board, plan, slots), board)
    return sum((r for _, r in itemized_structures(s, board.yosys_family)), Resources())


def design_resources(engine: Engine, board: Board, plan: BufferPlan, slots: int | None = None) -> Resources:
    """Resources of a design; ``slots``: the store slots of its layers' tile plans (None: the estimate the
    search uses before the schemes are chosen, slots_estimate)."""
    fam = board.yosys_family
    compute = (lanes(engine, fam)
               + unit_cost(fam, "requant").times(engine.tm)  # one per store bank (hls/gemm_engine.h engine_store)
               + unit_cost(fam, "e2softmax").times(engine.sm_lanes)
               + unit_cost(fam, "ailayernorm").times(engine.ln_lanes)
               + unit_cost(fam, "eltwise").times(ELTWISE_LANES))
    memory = weight_buffers(engine, plan) + activation_buffers(engine, plan, board)
    slots = slots_estimate(engine, plan) if slots is None else slots
    return compute + blocks_resources(memory) + structure_resources(engine, board, plan, slots)
