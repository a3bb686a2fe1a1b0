"""A Design: every choice the DSE makes (engine shape, per-layer weight schemes, board, clock).

It is written as ``design.json`` — plain, editable JSON — and ``accelgen build --design`` rebuilds exactly
that design. ``integer_graph`` applies it to a model: the result is what every simulator level runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import ir
from .errors import InputError
from .hw.constants import FIXED_WEIGHT_BITS

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Engine:
    tm: int  # reduction width (inputs per cycle per lane)
    tn_fixed: int  # fixed-point (DSP) output lanes
    tn_pot: int  # power-of-two (LUT) output lanes
    dsp_packing: bool  # two 8-bit products per DSP48E2
    sm_lanes: int = 1
    ln_lanes: int = 1
    ew_lanes: int = 1
    weight_memory: str = "bram"  # ping-pong weight banks in "bram" or "lutram"


@dataclass(frozen=True)
class LayerChoice:
    name: str  # GEMM op with a weight (patch embedding, linear layers)
    weight_bits: int  # fixed-point rows: 8 or 4
    pot_rows: tuple[int, ...] = ()  # output rows in the power-of-two scheme


@dataclass(frozen=True)
class Design:
    model: str
    model_sha256: str
    board: str
    clock_mhz: float
    engine: Engine
    layers: tuple[LayerChoice, ...]
    caps: dict[str, float] = field(default_factory=dict)
    search: dict = field(default_factory=dict)  # how the DSE chose it: target FPS and the Pareto front
    # real ranges measured on calibration images for the tensors the model leaves in float (tensor ->
    # [min, max]); they fix the formats accelgen chooses (accelgen.passes.formats), so rebuilds agree
    calibration: dict[str, list[float]] = field(default_factory=dict)

    def choices(self) -> dict[str, tuple[int, tuple[int, ...]]]:
        return {c.name: (c.weight_bits, c.pot_rows) for c in self.layers}

    def to_json(self) -> str:
        data = {"format": FORMAT_VERSION, **asdict(self)}
        data["layers"] = [{**asdict(c), "pot_rows": list(c.pot_rows)} for c in self.layers]
        return json.dumps(data, indent=1) + "\n"

    @staticmethod
    def from_json(text: str, where: str = "design.json") -> "Design":
        try:
            data = json.loads(text)
            if data.pop("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported format version (expected {FORMAT_VERSION})")
            engine = Engine(**data.pop("engine"))
            layers = tuple(LayerChoice(name=c["name"], weight_bits=int(c["weight_bits"]),
                                       pot_rows=tuple(int(r) for r in c["pot_rows"])) for c in data.pop("layers"))
            return Design(engine=engine, layers=layers, **data)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InputError(f"{where}: not a valid design file ({type(err).__name__}: {err})") from None


def design_digest(design: "Design") -> str:
    """Identifies the design a generated project was made for (params.json, the driver's data file), so
    stale projects are noticed."""
    return hashlib.sha256(design.to_json().encode()).hexdigest()


DESIGN_ID_BITS = 32  # the accelerator's read-only design id register: the first bits of design_digest


def design_id(design: "Design") -> int:
    """The value of the design id register (the driver compares it with its data file before loading a blob)."""
    return int(design_digest(design)[:DESIGN_ID_BITS // 4], 16)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_design_against(design: Design, graph: ir.Graph, where: str = "design.json") -> None:
    """Every layer choice must name a weight GEMM of the model, with valid bits and rows."""
    gemms = {op.name: op for op in graph.ops_of(ir.GemmOp)}
    for choice in design.layers:
        op = gemms.get(choice.name)
        if op is None:
            raise InputError(f"{where}: layer '{choice.name}' is not a weight layer of model '{graph.name}'")
        if choice.weight_bits not in FIXED_WEIGHT_BITS:
            raise InputError(f"{where}: layer '{choice.name}': weight_bits must be 4 or 8")
        rows = op.weight.shape[0]
        if any(not 0 <= r < rows for r in choice.pot_rows) or len(set(choice.pot_rows)) != len(choice.pot_rows):
            raise InputError(f"{where}: layer '{choice.name}': pot_rows must be distinct rows in 0..{rows - 1}")
    e = design.engine
    if min(e.tm, e.tn_fixed, e.sm_lanes, e.ln_lanes, e.ew_lanes) < 1 or e.tn_pot < 0:
        raise InputError(f"{where}: engine sizes must be positive")
    if e.weight_memory not in ("bram", "lutram"):
        raise InputError(f"{where}: engine.weight_memory must be 'bram' or 'lutram'")
    if max(e.sm_lanes, e.ln_lanes, e.ew_lanes) > e.tm:
        raise InputError(f"{where}: unit lanes (sm/ln/ew) cannot exceed tm (they read consecutive banks)")
    if e.dsp_packing and e.tn_fixed % 2:
        raise InputError(f"{where}: dsp_packing pairs fixed lanes: tn_fixed must be even")
    if any(c.pot_rows for c in design.layers) and e.tn_pot == 0:
        raise InputError(f"{where}: power-of-two rows need tn_pot > 0")


def check_design_board(design: Design, board, where: str = "design.json") -> None:
    """Choices that depend on the board's DSPs."""
    if design.engine.dsp_packing and not board.dsp.int8_packing:
        raise InputError(f"{where}: dsp_packing needs a 27-bit DSP input ({board.name} has {board.dsp.name})")


def integer_graph(graph: ir.Graph, design: Design) -> ir.Graph:
    """The model with the design's weight schemes, lowered to integers (what the hardware computes)."""
    from .passes import to_integer
    from .passes.mixed_scheme import apply_weight_schemes

    return to_integer(apply_weight_schemes(graph, design.choices()))
