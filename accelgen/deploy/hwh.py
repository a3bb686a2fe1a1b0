"""The register layout Vitis HLS gives the top's s_axilite block, and a `.hwh` (Vivado's hardware handoff,
the XML schema pynq parses) describing the overlay build_overlay.tcl makes: the PS, the accelerator, the
AXI Timer whose capture trigger is the accelerator's interrupt line, and (optionally) the axi_intc that
routes that line to the PS's first interrupt pin.

On a board both come from Vivado; here they describe the simulated overlay of CI (accelgen.deploy.simdevice)
and the fixtures of the real-pynq test. The layout follows Vitis HLS' conventions: CTRL/GIER/IP_IER/IP_ISR
at 0x00..0x0C, then each argument in the top's order -- a 64-bit argument as NAME_1 (low) and NAME_2 (high)
plus a reserved word, a 32-bit scalar as one word plus a reserved word, an output as its data words, its
NAME_ctrl (ap_vld) word and a reserved word -- and an array after the scalars, aligned to its power-of-two size.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET

from ..codegen.hls_project import (ACCEL_CELL, AXILITE_PORTS, BLOCK_DESIGN, INTC_CELL, PS_PORTS, TIMER_CELL,
                                   TIMER_TRIGGER)
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
PS_CLOCK_MHZ = "PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ"  # the PL clock the PS gives (pynq.Clocks.fclk0_mhz)
TIMER_VLNV = "xilinx.com:ip:axi_timer:2.0"
INTC_VLNV = "xilinx.com:ip:axi_intc:4.1"
IRQ_OUT = "interrupt"  # the HLS IP's interrupt pin (ap_ctrl_hs)
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
        elif name == args.design_id:
            regs += [Register(name, at, REGISTER_BITS, "read-only", f"Data signal of {name}"),
                     Register(f"{name}_ctrl", at + WORD, REGISTER_BITS, "read-only", f"Control signal of {name}",
                              (Field(f"{name}_ap_vld", 0, "read-only"),))]
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


@dataclass(frozen=True)
class Slave:
    """An IP on the PS's AXI-lite master in the .hwh."""

    instance: str
    vlnv: str
    interface: str
    base: int
    span: int
    registers: tuple[Register, ...] = ()


def _port(parent: ET.Element, name: str, direction: str, signal: str, peers: list[tuple[str, str]],
          interrupt: bool = False) -> None:
    extra = {"SIGIS": "INTERRUPT", "SENSITIVITY": "LEVEL_HIGH"} if interrupt else {}
    port = ET.SubElement(parent, "PORT", DIR=direction, NAME=name, SIGNAME=signal, **extra)
    connections = ET.SubElement(port, "CONNECTIONS")
    for instance, pin in peers:
        ET.SubElement(connections, "CONNECTION", INSTANCE=instance, PORT=pin)


def overlay_hwh(data: DesignData, interrupt_controller: bool = True) -> str:
    """A hardware handoff of the block design: PS, accelerator, timer (and the interrupt controller)."""
    layout = register_layout(data.arguments, data.max_steps, data.descriptor_words)
    slaves = [Slave(ACCEL_CELL, data.vlnv, CONTROL_INTERFACE, IP_BASE, address_range(layout), layout),
              Slave(TIMER_CELL, TIMER_VLNV, "S_AXI", IP_BASE + MIN_RANGE, MIN_RANGE)]
    if interrupt_controller:
        slaves.append(Slave(INTC_CELL, INTC_VLNV, "s_axi", IP_BASE + 2 * MIN_RANGE, MIN_RANGE))
    irq_pin = PS_PORTS[PS_MODTYPE].irq_pin
    line, irq = f"{ACCEL_CELL}_{IRQ_OUT}", f"{INTC_CELL}_irq"
    listeners = [(TIMER_CELL, TIMER_TRIGGER)] + ([(INTC_CELL, "intr")] if interrupt_controller else [])
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
    ET.SubElement(params, "PARAMETER", NAME=PS_CLOCK_MHZ, VALUE=f"{data.clock_mhz:g}")
    if interrupt_controller:
        _port(ET.SubElement(ps, "PORTS"), irq_pin, "I", irq, [(INTC_CELL, "irq")], interrupt=True)
    bus = f"{PS_INSTANCE}_{PS_MASTER}"
    ET.SubElement(ET.SubElement(ps, "BUSINTERFACES"), "BUSINTERFACE", BUSNAME=bus, NAME=PS_MASTER, TYPE="MASTER",
                  VLNV=AXI_MM)
    memory_map = ET.SubElement(ps, "MEMORYMAP")
    for s in slaves:
        ET.SubElement(memory_map, "MEMRANGE", ADDRESSBLOCK="Reg", BASENAME="C_BASEADDR", BASEVALUE=hex(s.base),
                      HIGHNAME="C_HIGHADDR", HIGHVALUE=hex(s.base + s.span - 1), INSTANCE=s.instance, IS_DATA="TRUE",
                      IS_INSTRUCTION="TRUE", MASTERBUSINTERFACE=PS_MASTER, MEMTYPE="REGISTER",
                      SLAVEBUSINTERFACE=s.interface)
    for s in slaves:
        module = ET.SubElement(modules, "MODULE", FULLNAME=f"/{s.instance}", INSTANCE=s.instance,
                               MODTYPE=s.vlnv.split(":")[2], VLNV=s.vlnv, IPTYPE="PERIPHERAL")
        ET.SubElement(module, "PARAMETERS")
        ports = ET.SubElement(module, "PORTS")
        if s.instance == ACCEL_CELL:
            _port(ports, IRQ_OUT, "O", line, listeners, interrupt=True)
        elif s.instance == TIMER_CELL:
            _port(ports, TIMER_TRIGGER, "I", line, [(ACCEL_CELL, IRQ_OUT)])
        else:
            _port(ports, "intr", "I", line, [(ACCEL_CELL, IRQ_OUT)], interrupt=True)
            _port(ports, "irq", "O", irq, [(PS_INSTANCE, irq_pin)], interrupt=True)
        ET.SubElement(ET.SubElement(module, "BUSINTERFACES"), "BUSINTERFACE", BUSNAME=bus, NAME=s.interface,
                      TYPE="SLAVE", VLNV=AXI_MM)
        block = ET.SubElement(ET.SubElement(module, "ADDRESSBLOCKS"), "ADDRESSBLOCK", ACCESS="read-write",
                              INTERFACE=s.interface, NAME="Reg", RANGE=str(s.span), USAGE="register")
        if s.registers:  # the timer's and the controller's (fixed, PG079/PG099) are not needed here
            registers = ET.SubElement(block, "REGISTERS")
            for reg in s.registers:
                _register_xml(registers, reg)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n' + ET.tostring(root, encoding="unicode") + "\n"
