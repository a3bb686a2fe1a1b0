"""The register layout Vitis HLS gives the top's s_axilite block, and a `.hwh` (Vivado's hardware handoff,
the XML schema pynq parses) describing an overlay with the accelerator at one address.

On a board both come from Vivado; here they describe the simulated overlay of CI (accelgen.deploy.simdevice)
and the fixtures of the real-pynq test. The layout follows Vitis HLS' conventions: CTRL/GIER/IP_IER/IP_ISR
at 0x00..0x0C, then each argument in the top's order -- a 64-bit argument as NAME_1 (low) and NAME_2 (high)
plus a reserved word, a 32-bit scalar as one word plus a reserved word, an output as its data words, its
NAME_ctrl (ap_vld) word and a reserved word -- and an array after the scalars, aligned to its power-of-two size.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET

from ..codegen.hls_project import AXILITE_PORTS, BLOCK_DESIGN, TOP
from ..runtime.design_data import Arguments, DesignData
from ..runtime.registers import CONTROL, REGISTER_BITS

WORD = REGISTER_BITS // 8
ARGS_START = 0x10
MIN_RANGE = 0x10000  # Vivado's smallest address segment (64 KiB)
IP_BASE = 0xA0000000  # first address of the ZynqMP's M_AXI_HPM0_FPD window
PS_MODTYPE = "zynq_ultra_ps_e"
PS_INSTANCE = f"{PS_MODTYPE}_0"
PS_MASTER = "M_AXI_HPM0_FPD"
CONTROL_INTERFACE = "s_axi_control"
AXI_MM = "xilinx.com:interface:aximm:1.0"
PS_CLOCKS = 4
CONTROL_FIELDS = (("AP_START", 0, "read-write"), ("AP_DONE", 1, "read-only"), ("AP_IDLE", 2, "read-only"),
                  ("AP_READY", 3, "read-only"), ("AUTO_RESTART", 7, "read-write"), ("INTERRUPT", 9, "read-only"))
INTERRUPT_REGISTERS = (("GIER", "Global Interrupt Enable Register"), ("IP_IER", "IP Interrupt Enable Register"),
                       ("IP_ISR", "IP Interrupt Status Register"))


@dataclass(frozen=True)
class Field:
    name: str
    bit_offset: int
    access: str


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    bits: int
    access: str
    description: str
    fields: tuple[Field, ...] = ()


def next_power_of_two(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def register_layout(args: Arguments, max_steps: int, descriptor_words: int) -> tuple[Register, ...]:
    """The s_axilite registers of the top for a descriptor table of max_steps rows."""
    wide_inputs = {args.params, args.images, args.logits, args.dump}
    regs = [Register(CONTROL, 0, REGISTER_BITS, "read-write", "Control signals",
                     tuple(Field(n, b, a) for n, b, a in CONTROL_FIELDS))]
    regs += [Register(name, WORD * (i + 1), REGISTER_BITS, "read-write", text)
             for i, (name, text) in enumerate(INTERRUPT_REGISTERS)]
    at = ARGS_START
    for name in (p for p in AXILITE_PORTS if p not in ("return", args.descriptors)):
        if name in wide_inputs:
            regs += [Register(f"{name}_1", at, REGISTER_BITS, "write-only", f"Data signal of {name}"),
                     Register(f"{name}_2", at + WORD, REGISTER_BITS, "write-only", f"Data signal of {name}")]
            at += 3 * WORD
        elif name == args.beats:
            regs += [Register(f"{name}_1", at, REGISTER_BITS, "read-only", f"Data signal of {name}"),
                     Register(f"{name}_2", at + WORD, REGISTER_BITS, "read-only", f"Data signal of {name}"),
                     Register(f"{name}_ctrl", at + 2 * WORD, REGISTER_BITS, "read-only", f"Control signal of {name}",
                              (Field(f"{name}_ap_vld", 0, "read-only"),))]
            at += 4 * WORD
        else:
            regs.append(Register(name, at, REGISTER_BITS, "write-only", f"Data signal of {name}"))
            at += 2 * WORD
    table_bytes = WORD * max_steps * descriptor_words
    span = next_power_of_two(table_bytes)
    base = -(-at // span) * span
    regs.append(Register(args.descriptors, base, 8 * table_bytes, "read-write", f"Memory {args.descriptors}"))
    return tuple(regs)


def address_range(layout: tuple[Register, ...]) -> int:
    end = max(r.offset + r.bits // 8 for r in layout)
    return max(MIN_RANGE, next_power_of_two(end))


def _props(parent: ET.Element, items: dict[str, str]) -> None:
    for name, value in items.items():
        ET.SubElement(parent, "PROPERTY", NAME=name, VALUE=value)


def _register_xml(parent: ET.Element, reg: Register) -> None:
    el = ET.SubElement(parent, "REGISTER", NAME=reg.name)
    _props(el, {"DESCRIPTION": reg.description, "ADDRESS_OFFSET": hex(reg.offset), "SIZE": str(reg.bits),
                "ACCESS": reg.access, "IS_ENABLED": "true", "RESET_VALUE": "0x0"})
    fields = ET.SubElement(el, "FIELDS")
    for f in reg.fields or (Field(reg.name, 0, reg.access),):
        fe = ET.SubElement(fields, "FIELD", NAME=f.name)
        width = 1 if reg.fields else reg.bits
        _props(fe, {"DESCRIPTION": reg.description, "ADDRESS_OFFSET": "0", "ACCESS": f.access,
                    "BIT_OFFSET": str(f.bit_offset), "BIT_WIDTH": str(width)})


def overlay_hwh(data: DesignData, instance: str = f"{TOP}_0") -> str:
    """A hardware handoff of a block design holding the PS and the accelerator at IP_BASE."""
    layout = register_layout(data.arguments, data.max_steps, data.descriptor_words)
    span = address_range(layout)
    root = ET.Element("EDKSYSTEM", EDWVERSION="1.2", VIVADOVERSION="2024.2")
    ET.SubElement(root, "SYSTEMINFO", ARCH="zynquplus", NAME=BLOCK_DESIGN)
    ET.SubElement(root, "EXTERNALPORTS")
    modules = ET.SubElement(root, "MODULES")
    ps = ET.SubElement(modules, "MODULE", FULLNAME=f"/{PS_INSTANCE}", INSTANCE=PS_INSTANCE,
                       MODTYPE=PS_MODTYPE, VLNV="xilinx.com:ip:zynq_ultra_ps_e:3.5")
    params = ET.SubElement(ps, "PARAMETERS")
    for i in range(PS_CLOCKS):
        ET.SubElement(params, "PARAMETER", NAME=f"PSU__FPGA_PL{i}_ENABLE", VALUE="1" if i == 0 else "0")
        for j in range(2):
            ET.SubElement(params, "PARAMETER", NAME=f"PSU__CRL_APB__PL{i}_REF_CTRL__DIVISOR{j}", VALUE="1")
    bus = f"{PS_INSTANCE}_{PS_MASTER}"
    ET.SubElement(ET.SubElement(ps, "BUSINTERFACES"), "BUSINTERFACE", BUSNAME=bus, NAME=PS_MASTER, TYPE="MASTER",
                  VLNV=AXI_MM)
    memory_map = ET.SubElement(ps, "MEMORYMAP")
    ET.SubElement(memory_map, "MEMRANGE", ADDRESSBLOCK="Reg", BASENAME="C_S_AXI_CONTROL_BASEADDR",
                  BASEVALUE=hex(IP_BASE), HIGHNAME="C_S_AXI_CONTROL_HIGHADDR", HIGHVALUE=hex(IP_BASE + span - 1),
                  INSTANCE=instance, IS_DATA="TRUE", IS_INSTRUCTION="TRUE", MASTERBUSINTERFACE=PS_MASTER,
                  MEMTYPE="REGISTER", SLAVEBUSINTERFACE=CONTROL_INTERFACE)
    ip = ET.SubElement(modules, "MODULE", FULLNAME=f"/{instance}", INSTANCE=instance, MODTYPE=TOP, VLNV=data.vlnv,
                       IPTYPE="PERIPHERAL")
    ET.SubElement(ip, "PARAMETERS")
    ET.SubElement(ET.SubElement(ip, "BUSINTERFACES"), "BUSINTERFACE", BUSNAME=bus, NAME=CONTROL_INTERFACE,
                  TYPE="SLAVE", VLNV=AXI_MM)
    block = ET.SubElement(ET.SubElement(ip, "ADDRESSBLOCKS"), "ADDRESSBLOCK", ACCESS="read-write",
                          INTERFACE=CONTROL_INTERFACE, NAME="Reg", RANGE=str(span), USAGE="register")
    registers = ET.SubElement(block, "REGISTERS")
    for reg in layout:
        _register_xml(registers, reg)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n' + ET.tostring(root, encoding="unicode") + "\n"
