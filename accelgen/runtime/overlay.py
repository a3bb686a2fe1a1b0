"""Opening a deploy folder on the board: check the files, program the overlay with pynq, bind the HLS IP
to a pynq.DefaultIP subclass (bindto its VLNV), find the overlay's clock counter (the AXI Timer the data
file names) and the IP's interrupt (pynq gives the IP an ``interrupt`` attribute where an axi_intc routes
its pin to the PS), and wrap them in an Accelerator. pynq is imported here, when a folder is opened, so the
rest of the driver imports without it."""

from __future__ import annotations

import hashlib
from functools import reduce
from pathlib import Path

from .accelerator import Accelerator, Platform
from .design_data import DeployError, DesignData, load_design_data
from .registers import header_memories
from .timer import CycleCounter

BITSTREAM = "accelgen.bit"
TIMER_VLNV = "xilinx.com:ip:axi_timer:"  # any version: the register map of PG079
_ip_classes: dict[str, type] = {}


def ip_class(pynq, vlnv: str) -> type:
    """The DefaultIP subclass bound to the accelerator's VLNV (pynq registers it on creation)."""
    if vlnv not in _ip_classes:
        _ip_classes[vlnv] = type("AccelgenIP", (pynq.DefaultIP,), {
            "bindto": [vlnv], "__doc__": "The accelgen accelerator's HLS IP (registers through pynq's MMIO)."})
    return _ip_classes[vlnv]


def read_blob(folder: Path, data: DesignData) -> bytes:
    path = folder / data.params_file
    if not path.is_file():
        raise DeployError(f"{path}: missing (the parameter blob of the deploy folder)")
    blob = path.read_bytes()
    if len(blob) != data.params_bytes or hashlib.sha256(blob).hexdigest() != data.params_sha256:
        raise DeployError(f"{path}: does not match the data file's design {data.design_sha256[:12]} "
                          "(copy params.bin and accelgen_driver.json from the same build)")
    return blob


def overlay_files(folder: Path, bitstream: str) -> Path:
    bit = folder / bitstream
    for path in (bit, bit.with_suffix(".hwh")):
        if not path.is_file():
            raise DeployError(f"{path}: missing (copy accelgen.bit and accelgen.hwh from the Vivado project "
                              "into the deploy folder, see README.md)")
    return bit


def accelerator_ip(ip_dict: dict, vlnv: str) -> str:
    names = [name for name, desc in ip_dict.items() if desc.get("type") == vlnv]
    if len(names) != 1:
        found = ", ".join(sorted({str(d.get("type")) for d in ip_dict.values()}))
        raise DeployError(f"the overlay holds {len(names)} IPs of type {vlnv} (expected 1; types: {found}): "
                          "the bitstream is not of this design")
    return names[0]


def open_accelerator(folder: str | Path = ".", bitstream: str = BITSTREAM) -> Accelerator:
    """Program the overlay of a deploy folder and return its accelerator."""
    import pynq

    folder = Path(folder)
    data = load_design_data(folder)
    blob = read_blob(folder, data)
    bit = overlay_files(folder, bitstream)
    ip_class(pynq, data.vlnv)
    overlay = pynq.Overlay(str(bit))
    name = accelerator_ip(overlay.ip_dict, data.vlnv)
    ip = reduce(getattr, name.split("/"), overlay)
    platform = Platform(allocate=pynq.allocate, clock_mhz=float(pynq.Clocks.fclk0_mhz),
                        device=str(pynq.Device.active_device.tag), counter=cycle_counter(overlay, data.timer),
                        interrupt=getattr(ip, "interrupt", None))
    return Accelerator(ip, register_map(overlay.ip_dict[name]["registers"], folder / data.register_header), data,
                       blob, platform)


def cycle_counter(overlay, name: str) -> CycleCounter | None:
    """The overlay's AXI Timer of that name (None in an overlay without it: no clock counts)."""
    desc = overlay.ip_dict.get(name)
    if desc is None or not str(desc.get("type", "")).startswith(TIMER_VLNV):
        return None
    return CycleCounter(reduce(getattr, name.split("/"), overlay), name)


def register_map(registers: dict, header: Path) -> dict:
    """The overlay's register map, completed by the s_axilite arrays of the HLS register header where it is
    in the folder (an entry of the .hwh wins)."""
    return {**header_memories(header.read_text()), **registers} if header.is_file() else dict(registers)
