"""Register offsets of the accelerator, resolved by name in the overlay's register map (parsed by pynq from
the .hwh: {name: {"address_offset", "size", "fields": {name: {"bit_offset", ...}}}}), never hard-coded.

Vitis HLS splits an argument wider than 32 bits into NAME_1 (low word) and NAME_2 (high word); an
s_axilite array is one entry whose size covers all its words. The control register is CTRL with the
ap_ctrl_hs fields AP_START, AP_DONE and AP_IDLE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .design_data import Arguments, DeployError

CONTROL = "CTRL"
# The ap_ctrl_hs interrupt registers: global enable, per-event enable and (toggle-on-write) status; bit 0 of
# IP_IER / IP_ISR is ap_done.
GIER, IP_IER, IP_ISR = "GIER", "IP_IER", "IP_ISR"
AP_DONE_EVENT = 1
REGISTER_BITS = 32
# An s_axilite array in the HLS-exported header: X<TOP>_CONTROL_ADDR_<NAME>_BASE, ..._WIDTH_<NAME>, ..._DEPTH_<NAME>
HEADER_DEFINE = re.compile(r"^#define\s+X\w*?_CONTROL_(?:ADDR_(?P<base>\w+)_BASE|(?P<what>WIDTH|DEPTH)_(?P<name>\w+))"
                           r"\s+(?P<value>0x[0-9a-fA-F]+|\d+)\s*$", re.M)


@dataclass(frozen=True)
class ControlBits:
    start: int  # masks in CTRL
    done: int
    idle: int


@dataclass(frozen=True)
class RegisterOffsets:
    ctrl: int
    bits: ControlBits
    params: tuple[int, int]  # (low word, high word) of a 64-bit argument
    images: tuple[int, int]
    logits: tuple[int, int]
    dump: tuple[int, int]
    descriptors: int  # first word of the descriptor table
    descriptor_capacity: int  # words in the table
    n_steps: int
    n_images: int
    dump_enable: int
    beats: tuple[int, int]
    design_id: int
    gier: int
    ier: int
    isr: int


def entry(registers: dict, name: str) -> dict:
    if name not in registers:
        raise DeployError(f"the overlay's register map has no '{name}' (registers: {', '.join(sorted(registers))}); "
                          "the bitstream is not of this design")
    return registers[name]


def field_mask(register: dict, name: str, field: str) -> int:
    fields = register.get("fields", {})
    if field not in fields:
        raise DeployError(f"register {name} of the overlay has no field {field} (not an ap_ctrl_hs block)")
    return 1 << int(fields[field]["bit_offset"])


def wide_offsets(registers: dict, name: str) -> tuple[int, int]:
    """(low, high) word offsets of a 64-bit argument: one 64-bit entry, or NAME_1 and NAME_2."""
    if name in registers and int(registers[name]["size"]) >= 2 * REGISTER_BITS:
        low = int(registers[name]["address_offset"])
        return low, low + REGISTER_BITS // 8
    if f"{name}_1" in registers or f"{name}_2" in registers:
        return (int(entry(registers, f"{name}_1")["address_offset"]),
                int(entry(registers, f"{name}_2")["address_offset"]))
    raise DeployError(f"the overlay's register map has no 64-bit argument '{name}' (nor {name}_1/{name}_2); "
                      "the bitstream is not of this design")


def offset(registers: dict, name: str) -> int:
    return int(entry(registers, name)["address_offset"])


def header_memories(text: str) -> dict[str, dict]:
    """The s_axilite arrays of an HLS-exported register header (x<top>_hw.h), as register-map entries
    {name: {"address_offset", "size" (bits)}}: the record to fall back on where a .hwh lists no array."""
    base: dict[str, int] = {}
    shape: dict[tuple[str, str], int] = {}
    for m in HEADER_DEFINE.finditer(text):
        value = int(m["value"], 0)
        if m["base"]:
            base[m["base"].lower()] = value
        else:
            shape[(m["name"].lower(), m["what"])] = value
    return {name: {"address_offset": offset, "size": shape[(name, "WIDTH")] * shape[(name, "DEPTH")]}
            for name, offset in base.items() if (name, "WIDTH") in shape and (name, "DEPTH") in shape}


def resolve(registers: dict, args: Arguments) -> RegisterOffsets:
    ctrl = entry(registers, CONTROL)
    table = entry(registers, args.descriptors)
    return RegisterOffsets(
        ctrl=int(ctrl["address_offset"]),
        bits=ControlBits(start=field_mask(ctrl, CONTROL, "AP_START"), done=field_mask(ctrl, CONTROL, "AP_DONE"),
                         idle=field_mask(ctrl, CONTROL, "AP_IDLE")),
        params=wide_offsets(registers, args.params), images=wide_offsets(registers, args.images),
        logits=wide_offsets(registers, args.logits), dump=wide_offsets(registers, args.dump),
        descriptors=int(table["address_offset"]), descriptor_capacity=int(table["size"]) // REGISTER_BITS,
        n_steps=offset(registers, args.n_steps), n_images=offset(registers, args.n_images),
        dump_enable=offset(registers, args.dump_enable), beats=wide_offsets(registers, args.beats),
        design_id=offset(registers, args.design_id), gier=offset(registers, GIER), ier=offset(registers, IP_IER),
        isr=offset(registers, IP_ISR))
