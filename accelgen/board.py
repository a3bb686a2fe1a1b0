"""Boards are data: one JSON file per board in ``boards/``; nothing in the code names a board."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from .errors import InputError
from .resources import boards_dir

RESOURCE_KINDS = ("dsp", "lut", "ff", "bram36", "uram")


@dataclass(frozen=True)
class Dsp:
    name: str
    a_bits: int
    b_bits: int
    acc_bits: int
    int8_packing: bool  # two 8-bit products sharing one operand fit in one DSP (27-bit A port)


@dataclass(frozen=True)
class Ddr:
    type: str
    bus_bits: int
    mt_per_s: float
    efficiency: float  # fraction of the peak that a streaming accelerator achieves

    @property
    def peak_gbps(self) -> float:
        return self.bus_bits / 8 * self.mt_per_s / 1e3


@dataclass(frozen=True)
class HpPorts:
    count: int
    width_bits: int


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    family: str
    yosys_family: str
    ps_ip: str
    vivado_board_part: str
    resources: dict[str, int]
    default_clock_mhz: float
    dsp: Dsp
    ddr: Ddr
    hp_ports: HpPorts
    bram36_kbits: int
    uram_kbits: int
    pynq_supported: bool
    pynq_note: str
    sources: dict[str, str]

    def ddr_gbps(self, clock_mhz: float) -> float:
        """Achievable DDR bandwidth of the PL: the DDR's efficient share, capped by the HP ports."""
        ports = self.hp_ports.count * self.hp_ports.width_bits / 8 * clock_mhz / 1e3
        return min(self.ddr.peak_gbps * self.ddr.efficiency, ports)

    @staticmethod
    def from_dict(d: dict) -> "Board":
        return Board(
            name=d["name"], part=d["part"], family=d["family"], yosys_family=d["yosys_family"],
            ps_ip=d["ps_ip"], vivado_board_part=d["vivado_board_part"],
            resources={k: int(d["resources"][k]) for k in RESOURCE_KINDS},
            default_clock_mhz=float(d["default_clock_mhz"]), dsp=Dsp(**d["dsp"]), ddr=Ddr(**d["ddr"]),
            hp_ports=HpPorts(**d["hp_ports"]), bram36_kbits=d["bram36_kbits"], uram_kbits=d["uram_kbits"],
            pynq_supported=d["pynq"]["supported"], pynq_note=d["pynq"]["note"], sources=d["sources"],
        )


def board_names() -> list[str]:
    return sorted(p.stem for p in boards_dir().glob("*.json"))


@cache
def load_board(name: str) -> Board:
    names = board_names()
    if name not in names:
        raise InputError(f"unknown board '{name}' (known boards: {', '.join(names)})")
    with open(boards_dir() / f"{name}.json") as f:
        return Board.from_dict(json.load(f))
