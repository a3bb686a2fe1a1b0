"""The board's limits: peak MAC/cycle of the largest GEMM engine the caps allow, and the DDR roofline."""

from __future__ import annotations

from dataclasses import dataclass

from ..board import Board
from .dse import DEFAULT_CAPS
from .model import bytes_per_cycle
from .resource_model import lane_fit

REFERENCE_TM = 16  # lane costs are taken at a typical reduction width


@dataclass(frozen=True)
class Roofline:
    dsp_macs_per_cycle: float  # fixed-point lanes on DSPs (two 8-bit products per DSP with packing)
    lut_macs_per_cycle: float  # power-of-two lanes in LUTs
    ddr_gbps: float  # DDR bandwidth of the accelerator's weight stream at the board's default clock
    clock_mhz: float

    @property
    def macs_per_cycle(self) -> float:
        return self.dsp_macs_per_cycle + self.lut_macs_per_cycle

    @property
    def ridge_macs_per_byte(self) -> float:
        """Arithmetic intensity above which a layer is compute-bound at peak."""
        return self.macs_per_cycle * self.clock_mhz * 1e6 / (self.ddr_gbps * 1e9)

    def fps_bound(self, macs_per_frame: int, ddr_bytes_per_frame: int) -> float:
        compute = self.macs_per_cycle * self.clock_mhz * 1e6 / macs_per_frame
        memory = self.ddr_gbps * 1e9 / ddr_bytes_per_frame
        return min(compute, memory)


def roofline(board: Board, caps: dict[str, float] = DEFAULT_CAPS) -> Roofline:
    fam = board.yosys_family
    per_dsp = 2.0 if board.dsp.int8_packing else 1.0
    pot = lane_fit(fam, "pot", REFERENCE_TM)
    lut_per_mac = pot.lut / REFERENCE_TM
    return Roofline(dsp_macs_per_cycle=board.resources["dsp"] * caps["dsp"] * per_dsp,
                    lut_macs_per_cycle=board.resources["lut"] * caps["lut"] / lut_per_mac,
                    ddr_gbps=bytes_per_cycle(board, board.default_clock_mhz) * board.default_clock_mhz / 1e3,
                    clock_mhz=board.default_clock_mhz)
