"""A simulated PYNQ board: the C simulation of the generated HLS, built as a shared library, behind the pynq
interfaces the driver uses -- ``Overlay(bitfile)`` (parses the .hwh beside it into ``ip_dict`` and binds each
IP to the DefaultIP subclass registered for its VLNV), ``DefaultIP.read/write`` (the s_axilite register
file, ap_ctrl_hs with its interrupt registers), ``DefaultIP.interrupt`` (where the .hwh routes the IP's
interrupt pin through an axi_intc to the PS), the AXI Timer of the overlay (PG079's registers, capture on
the accelerator's interrupt line as wired in the .hwh), ``allocate(shape, dtype)`` (buffers with
``device_address``, ``flush``, ``invalidate``), ``Clocks.fclk0_mhz`` and ``Device.active_device``.

The caches are simulated too: the kernel sees a buffer's device copy, which ``flush()`` updates from the
host array, and the host sees the kernel's writes only after ``invalidate()``.

The C simulation has no clock: a run completes inside the AP_START write. The simulated timer therefore
counts the host's clock (``time.perf_counter_ns``) at the PL clock's rate, so what it captures is how long
the C simulation took, in PL clocks -- a measurement of the simulation, never of the accelerator, and the
device says so (``Device.active_device.tag``, printed by the driver's benchmark). The beat count and the
design id come from the compiled kernel itself.

In the simulated board folder ``accelgen.bit`` is the shared library and ``accelgen.hwh`` the overlay of
accelgen.deploy.hwh, so the driver runs unchanged: tests put this module in ``sys.modules["pynq"]``, and a
notebook kernel finds it through a ``pynq`` package on its PYTHONPATH (``write_pynq_shim``).
"""

from __future__ import annotations

import asyncio
import ctypes
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ..codegen.hls_project import PS_PORTS, TOP, render
from ..errors import VerificationError
from ..runtime.accelerator import WORD_MASK
from ..runtime.design_data import load_design_data
from ..runtime.overlay import BITSTREAM
from ..runtime import timer as axi_timer
from ..runtime.registers import AP_DONE_EVENT, CONTROL, GIER, IP_IER, IP_ISR, REGISTER_BITS
from ..sim.csim import OPTIMIZE, THREADED, CompileResult, compile_program
from .datafile import ARGUMENTS
from .hwh import (INTC_VLNV, IRQ_OUT, PS_CLOCK_MHZ, TIMER_TRIGGER, TIMER_VLNV, address_range, overlay_hwh,
                  register_layout)

SOURCE = "sim_device.cpp"
# Hidden visibility: each library keeps its own template instances and function-local statics (named alike
# in every design: Config is AccelConfig everywhere), so several simulated boards live in one process.
# THREADED: the DATAFLOW regions on threads over FIFOs of their declared depths, as in `accelgen csim`.
LIBRARY_FLAGS = (*OPTIMIZE, *THREADED, "-shared", "-fPIC", "-fvisibility=hidden", "-fvisibility-inlines-hidden")
SIZE_FIELDS = ("word_bits", "image_words", "logit_words", "dump_elems", "max_steps", "desc_words")
PAGE = 4096
FIRST_ADDRESS = 0x40000000
WORD = REGISTER_BITS // 8
DEVICE_TAG = "simulated board (C-sim: no PL clock; the timer counts host time at the PL clock's rate)"
INTERRUPT_POLL_S = 0.001  # how often a waiter looks at the simulated interrupt line


class SimulationError(VerificationError):
    """The simulated accelerator was driven against its protocol (a bad address, a start while busy)."""


# ----------------------------------------------------------------------------------------------
# The accelerator as a shared library


def compile_library(hls_dir: Path, library: Path) -> CompileResult:
    """Build DIR/hls with the extern "C" shim as a shared library (cached like the C-sim testbench)."""
    work = library.parent / f"{library.stem}_src"
    work.mkdir(parents=True, exist_ok=True)
    (work / SOURCE).write_text(render("sim_device.cpp.j2", {"top": TOP, "indent": " " * (4 + len(TOP) + 1)}))
    return compile_program([work / SOURCE, hls_dir / "accel_top.cpp"], [hls_dir], library, LIBRARY_FLAGS)


@dataclass(frozen=True)
class KernelSizes:
    word_bits: int
    image_words: int
    logit_words: int
    dump_elems: int
    max_steps: int
    desc_words: int


def pointer(array: np.ndarray | None) -> int | None:
    return None if array is None else array.ctypes.data


class Kernel:
    """ctypes binding of the shim (templates/sim_device.cpp.j2)."""

    def __init__(self, path: Path):
        self.lib = ctypes.CDLL(str(path))
        sizes = (ctypes.c_int64 * len(SIZE_FIELDS))()
        self.lib.accelgen_sim_sizes(sizes)
        self.sizes = KernelSizes(*map(int, sizes))
        p, i = ctypes.c_void_p, ctypes.c_int
        self.lib.accelgen_sim_run.argtypes = [p, ctypes.c_int64, p, p, p, p, i, i, i, p, p]
        self.lib.accelgen_sim_run.restype = ctypes.c_char_p

    def run(self, params: np.ndarray, images: np.ndarray, logits: np.ndarray, dump: np.ndarray | None,
            descs: np.ndarray, n_steps: int, n_images: int) -> tuple[int, int]:
        """(beats, design id) of one call of the top."""
        beats, design_id = ctypes.c_uint64(0), ctypes.c_uint32(0)
        words = len(params) * 8 // self.sizes.word_bits
        failure = self.lib.accelgen_sim_run(pointer(params), words, pointer(images), pointer(logits),
                                            pointer(dump), pointer(descs), n_steps, n_images, int(dump is not None),
                                            ctypes.byref(beats), ctypes.byref(design_id))
        if failure is not None:
            raise VerificationError(f"simulated accelerator: {failure.decode()}")
        return beats.value, design_id.value


# ----------------------------------------------------------------------------------------------
# DDR buffers with simulated caches


class SimBuffer(np.ndarray):
    """A contiguous buffer (pynq.allocate's PynqBuffer): the host array, and the device's copy."""

    def __array_finalize__(self, obj):
        self.device_address = None  # views are not buffers of their own
        self.device_bytes = None

    def flush(self) -> None:
        self.device_bytes[:] = self.view(np.ndarray).reshape(-1).view(np.uint8)

    def invalidate(self) -> None:
        self.view(np.ndarray).reshape(-1).view(np.uint8)[:] = self.device_bytes

    def freebuffer(self) -> None:
        MEMORY.buffers.pop(self.device_address, None)


class Memory:
    def __init__(self):
        self.buffers: dict[int, SimBuffer] = {}
        self.next_address = FIRST_ADDRESS

    def allocate(self, shape, dtype) -> SimBuffer:
        buf = np.zeros(shape, dtype=dtype).view(SimBuffer)
        buf.device_address = self.next_address
        buf.device_bytes = np.zeros(buf.nbytes, dtype=np.uint8)
        self.buffers[buf.device_address] = buf
        self.next_address += -(-max(buf.nbytes, 1) // PAGE) * PAGE
        return buf

    def buffer_at(self, address: int, what: str) -> tuple[int, SimBuffer]:
        for base, buf in self.buffers.items():
            if base <= address < base + buf.nbytes:
                return base, buf
        raise SimulationError(f"the accelerator's {what} address 0x{address:x} is not in an allocated buffer")

    def device_view(self, address: int, nbytes: int | None, what: str) -> np.ndarray:
        """The device bytes [address, address + nbytes) of one buffer (nbytes None: to its end)."""
        base, buf = self.buffer_at(address, what)
        end = buf.nbytes if nbytes is None else address - base + nbytes
        if end > buf.nbytes:
            raise SimulationError(f"the accelerator's {what} ({nbytes} bytes at 0x{address:x}) run past the end of "
                                  f"the buffer at 0x{base:x} ({buf.nbytes} bytes)")
        return buf.device_bytes[address - base:end]


MEMORY = Memory()


def allocate(shape, dtype="u4", **_) -> SimBuffer:
    return MEMORY.allocate(shape, dtype)


# ----------------------------------------------------------------------------------------------
# The s_axilite register file and the ap_ctrl_hs protocol


class SimAccelerator:
    """The accelerator behind its s_axilite block: the register file has the layout Vitis HLS gives the top
    for the compiled kernel's sizes (whatever a .hwh says about it), AP_START runs the kernel, and the
    interrupt output is Vitis' ``GIER & (IP_ISR != 0)``, IP_ISR.ap_done set on done where IP_IER enables it
    and toggled by a write of 1. ``listeners`` are called on each rising edge of the interrupt line."""

    def __init__(self, kernel: Kernel, memory: Memory):
        layout = register_layout(ARGUMENTS, kernel.sizes.max_steps, kernel.sizes.desc_words)
        self.regs = np.zeros(address_range(layout) // WORD, dtype=np.uint32)
        self.offsets = {r.name: r.offset for r in layout}
        fields = {f.name: f.bit_offset for r in layout if r.name == CONTROL for f in r.fields}
        self.start_bit, self.done_bit, self.idle_bit = (1 << fields[f] for f in ("AP_START", "AP_DONE", "AP_IDLE"))
        self.ctrl, self.gier, self.ier, self.isr = (self.offsets[n] for n in (CONTROL, GIER, IP_IER, IP_ISR))
        self.kernel = kernel
        self.memory = memory
        self.hang = False  # a test switch: a started run does not finish by itself
        self.runs = 0
        self.listeners: list = []
        self.regs[self.ctrl // WORD] = self.idle_bit

    def read(self, offset: int) -> int:
        value = int(self.regs[offset // WORD])
        if offset == self.ctrl:
            self.regs[offset // WORD] = value & ~self.done_bit  # AP_DONE clears on read
        return value

    def write(self, offset: int, value: int) -> None:
        if not 0 <= value <= WORD_MASK:
            raise SimulationError(f"register write of {value} at 0x{offset:x}: not a 32-bit word")
        if offset == self.ctrl:
            if value & self.start_bit:
                self.start()
            return
        if offset == self.isr:
            value = int(self.regs[offset // WORD]) ^ value  # toggle on write
        self.set_word(offset, value)

    def interrupt_line(self) -> bool:
        return bool(self.regs[self.gier // WORD] & 1) and self.regs[self.isr // WORD] != 0

    def set_word(self, offset: int, value: int) -> None:
        """A register update; a rising interrupt line reaches the listeners."""
        before = self.interrupt_line()
        self.regs[offset // WORD] = value
        if self.interrupt_line() and not before:
            for listener in self.listeners:
                listener()

    def word(self, name: str) -> int:
        return int(self.regs[self.offsets[name] // WORD])

    def wide(self, name: str) -> int:
        return self.word(f"{name}_1") | self.word(f"{name}_2") << REGISTER_BITS

    def start(self) -> None:
        if not self.regs[self.ctrl // WORD] & self.idle_bit:
            raise SimulationError("AP_START written while the accelerator is busy")
        self.regs[self.ctrl // WORD] = self.start_bit
        if not self.hang:
            self.finish()

    def finish(self) -> None:
        """The run: the kernel on the registers' arguments, then done (a test calls it late on a hung run)."""
        beats, design_id = self.kernel.run(*self.kernel_arguments())
        self.regs[self.offsets[f"{ARGUMENTS.beats}_1"] // WORD] = beats & WORD_MASK
        self.regs[self.offsets[f"{ARGUMENTS.beats}_2"] // WORD] = beats >> REGISTER_BITS
        self.regs[self.offsets[ARGUMENTS.design_id] // WORD] = design_id
        self.regs[self.ctrl // WORD] = self.done_bit | self.idle_bit
        if self.word(IP_IER) & AP_DONE_EVENT:
            self.set_word(self.isr, self.word(IP_ISR) | AP_DONE_EVENT)
        self.runs += 1

    def kernel_arguments(self) -> tuple:
        """The top's arguments from the registers: a run of zero images touches no memory (as the kernel's
        image loop never starts), so its addresses and step count are not checked."""
        s, a = self.kernel.sizes, ARGUMENTS
        wb = s.word_bits // 8
        n = self.word(a.n_images)
        n_steps = self.word(a.n_steps)
        table = self.offsets[a.descriptors] // WORD
        descs = self.regs[table:table + s.max_steps * s.desc_words].view(np.int32).copy()
        if n == 0:
            nothing = np.zeros(0, dtype=np.uint8)
            return nothing, nothing, nothing, None, descs, n_steps, 0
        if not 0 < n_steps <= s.max_steps:
            raise SimulationError(f"{a.n_steps} = {n_steps}: the descriptor table holds 1..{s.max_steps} steps")
        dumping = self.word(a.dump_enable) != 0
        params = self.memory.device_view(self.wide(a.params), None, "parameter")
        images = self.memory.device_view(self.wide(a.images), n * s.image_words * wb, "images")
        logits = self.memory.device_view(self.wide(a.logits), n * s.logit_words * wb, "logits")
        dump = (self.memory.device_view(self.wide(a.dump), n * s.dump_elems * 8, "dump").view(np.int64)
                if dumping else None)
        return params, images, logits, dump, descs, n_steps, n


class SimTimer:
    """The AXI Timer (PG079) with two 32-bit counters, or one 64-bit counter in cascade mode (TCSR0
    controls it, TCSR1 is ignored): up/down counting from the loaded value, LOAD, ENT, capture mode with
    the capture trigger ``trigger()`` (a rising edge of capturetrig0), ARHT (hold the capture until TINT is
    cleared, or overwrite it), TINT cleared by writing 1. Generate and PWM modes, which the driver does not
    use, are not modelled: enabling them is an error. Its clock is the host's, at the PL clock's rate."""

    def __init__(self, clock_mhz: float):
        self.clock_mhz = clock_mhz
        self.tcsr = [0, 0]
        self.tlr = [0, 0]
        self.value = [0, 0]  # counter values at self.since (ticks) ...
        self.since = [0, 0]  # ... while enabled

    def ticks(self) -> int:
        return time.perf_counter_ns() * int(round(self.clock_mhz * 1000)) // 1_000_000

    def cascaded(self) -> bool:
        return bool(self.tcsr[0] & axi_timer.CASC)

    def counter(self, i: int) -> int:
        """Counter i now (in cascade mode counter 0 is the 64-bit counter)."""
        bits = 64 if self.cascaded() else 32
        csr = self.tcsr[0 if self.cascaded() else i]
        if not csr & axi_timer.ENT:
            return self.value[i]
        step = self.ticks() - self.since[i]
        return (self.value[i] + (-step if csr & axi_timer.UDT else step)) % (1 << bits)

    def read(self, offset: int) -> int:
        i, reg = divmod(offset, 0x10)
        if reg == axi_timer.TCSR0:
            return self.tcsr[i]
        if reg == axi_timer.TLR0:
            return self.tlr[i]
        if reg == axi_timer.TCR0:
            if self.cascaded():
                return (self.counter(0) >> (32 * i)) & WORD_MASK
            return self.counter(i)
        raise SimulationError(f"AXI Timer: no register at 0x{offset:x}")

    def write(self, offset: int, value: int) -> None:
        i, reg = divmod(offset, 0x10)
        if reg == axi_timer.TLR0:
            self.tlr[i] = value
        elif reg == axi_timer.TCSR0:
            self.write_control(i, value)
        else:
            raise SimulationError(f"AXI Timer: register 0x{offset:x} is not writable")

    def write_control(self, i: int, value: int) -> None:
        if not value & axi_timer.MDT and value & axi_timer.ENT:
            raise SimulationError("AXI Timer: generate mode is not modelled by the simulated board")
        tint = self.tcsr[i] & axi_timer.TINT & ~value  # TINT: written 1 clears it
        if i == 1 and self.cascaded():  # TCSR1 is ignored in cascade mode
            self.tcsr[1] = (value & ~axi_timer.TINT) | tint
            return
        now = self.counter(i)
        self.tcsr[i] = (value & ~axi_timer.TINT) | tint
        if value & axi_timer.LOAD:
            now = self.tlr[0] | self.tlr[1] << 32 if self.cascaded() else self.tlr[i]
        self.value[i], self.since[i] = now, self.ticks()

    def trigger(self) -> None:
        """A rising edge of capturetrig0 (counter 0; the cascaded counter in cascade mode)."""
        csr = self.tcsr[0]
        wanted = axi_timer.MDT | axi_timer.CAPT | axi_timer.ENT
        if csr & wanted != wanted or (csr & axi_timer.TINT and not csr & axi_timer.ARHT):
            return
        value = self.counter(0)
        if self.cascaded():
            self.tlr = [value & WORD_MASK, value >> 32]
        else:
            self.tlr[0] = value
        self.tcsr[0] |= axi_timer.TINT


class SimRegisters:
    """An IP the driver never touches itself (the interrupt controller: pynq drives it on a board)."""

    def read(self, offset: int) -> int:
        raise SimulationError(f"the simulated board does not model this IP's registers (read at 0x{offset:x})")

    def write(self, offset: int, value: int) -> None:
        raise SimulationError(f"the simulated board does not model this IP's registers (write at 0x{offset:x})")


class SimInterrupt:
    """pynq.Interrupt of an IP pin: ``await wait()`` returns once the (level) interrupt line is high."""

    def __init__(self, line):
        self.line = line

    async def wait(self) -> None:
        while not self.line():
            await asyncio.sleep(INTERRUPT_POLL_S)


# ----------------------------------------------------------------------------------------------
# pynq's overlay and IP classes


class DefaultIP:
    """pynq.DefaultIP: subclasses with ``bindto = [VLNV, ...]`` become the driver of those IPs; an interrupt
    pin routed to the PS becomes an attribute of its name."""

    drivers: dict[str, type] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for vlnv in getattr(cls, "bindto", ()):
            DefaultIP.drivers[vlnv] = cls

    def __init__(self, description: dict):
        self.mmio = description["device"]
        self.description = description
        for pin in description.get("interrupts", {}):
            setattr(self, pin, SimInterrupt(self.mmio.interrupt_line))

    def read(self, offset: int = 0) -> int:
        return self.mmio.read(offset)

    def write(self, offset: int, value: int) -> None:
        self.mmio.write(offset, value)


class Clocks:
    """pynq.Clocks: the PL clock the overlay asked the PS for (its .hwh)."""

    fclk0_mhz = 0.0


class Device:
    """pynq.Device: ``active_device.tag`` names what runs the overlay."""

    tag = DEVICE_TAG
    active_device: "Device"


Device.active_device = Device()


def _connections(root: ET.Element) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(instance, pin) -> the (instance, pin)s its net reaches, from the modules' PORT/CONNECTIONS."""
    out = {}
    for mod in root.iter("MODULE"):
        for port in mod.iter("PORT"):
            out[(mod.get("INSTANCE"), port.get("NAME"))] = [(c.get("INSTANCE"), c.get("PORT"))
                                                             for c in port.iter("CONNECTION")]
    return out


def parse_hwh(path: Path) -> dict:
    """ip_dict of a .hwh: the IPs in the PS's memory map, with their register maps (pynq's keys), and as
    ``interrupts`` the pins that reach an axi_intc whose ``irq`` reaches the PS."""
    root = ET.parse(path).getroot()
    modules = {m.get("INSTANCE"): m for m in root.iter("MODULE")}
    nets = _connections(root)

    def ps_irq(instance: str, pin: str) -> bool:
        ps = PS_PORTS.get(modules[instance].get("MODTYPE"))
        return ps is not None and pin == ps.irq_pin

    to_ps = {name for name, m in modules.items()
             if m.get("VLNV") == INTC_VLNV and any(ps_irq(*peer) for peer in nets.get((name, "irq"), ()))}
    ip_dict = {}
    for rng in root.iter("MEMRANGE"):
        instance = rng.get("INSTANCE")
        mod = modules[instance]
        base, high = int(rng.get("BASEVALUE"), 16), int(rng.get("HIGHVALUE"), 16)
        registers = {}
        for reg in mod.iter("REGISTER"):
            prop = {p.get("NAME"): p.get("VALUE") for p in reg.findall("PROPERTY")}
            registers[reg.get("NAME")] = {
                "address_offset": int(prop["ADDRESS_OFFSET"], 0), "size": int(prop["SIZE"]),
                "access": prop["ACCESS"],
                "fields": {f.get("NAME"): {p.get("NAME").lower(): p.get("VALUE") for p in f.findall("PROPERTY")}
                           for f in reg.iter("FIELD")}}
        name = mod.get("FULLNAME").lstrip("/")
        interrupts = {port.get("NAME"): {"controller": peer, "index": 0, "fullpath": f"{name}/{port.get('NAME')}"}
                      for port in mod.iter("PORT") if port.get("SIGIS") == "INTERRUPT" and port.get("DIR") == "O"
                      for peer, pin in nets[(instance, port.get("NAME"))] if peer in to_ps and pin == "intr"}
        ip_dict[name] = {"fullpath": name, "type": mod.get("VLNV"), "phys_addr": base, "addr_range": high - base + 1,
                         "registers": registers, "interrupts": interrupts}
    return ip_dict


def ps_clock_mhz(root: ET.Element) -> float:
    (value,) = {p.get("VALUE") for p in root.iter("PARAMETER") if p.get("NAME") == PS_CLOCK_MHZ}
    return float(value)


class Overlay:
    """The overlay of a .hwh: an accelerator per accelgen IP (the shared library of the .bit), an AXI Timer
    per axi_timer, capture triggers wired as the .hwh's nets say."""

    def __init__(self, bitfile: str, download: bool = True):
        bit = Path(bitfile).resolve()
        hwh = bit.with_suffix(".hwh")
        if not hwh.is_file():
            raise OSError(f"{hwh}: no such file")
        root = ET.parse(hwh).getroot()
        self.ip_dict = parse_hwh(hwh)
        Clocks.fclk0_mhz = ps_clock_mhz(root)
        kernel = Kernel(bit)
        devices = {name: (SimTimer(Clocks.fclk0_mhz) if desc["type"] == TIMER_VLNV
                          else SimRegisters() if desc["type"] == INTC_VLNV else SimAccelerator(kernel, MEMORY))
                   for name, desc in self.ip_dict.items()}
        for (source, pin), peers in _connections(root).items():
            if isinstance(devices.get(source), SimAccelerator) and pin == IRQ_OUT:
                devices[source].listeners += [devices[peer].trigger for peer, peer_pin in peers
                                              if isinstance(devices.get(peer), SimTimer) and peer_pin == TIMER_TRIGGER]
        for name, desc in self.ip_dict.items():
            driver = DefaultIP.drivers.get(desc["type"], DefaultIP)
            setattr(self, name, driver({**desc, "device": devices[name]}))


# ----------------------------------------------------------------------------------------------
# A simulated board folder


PYNQ_SHIM = "from accelgen.deploy.simdevice import Clocks, DefaultIP, Device, Overlay, allocate  # simulated board\n"


def write_pynq_shim(folder: Path) -> Path:
    """A folder holding a ``pynq`` package that is this module (put it on a kernel's PYTHONPATH)."""
    (folder / "pynq").mkdir(parents=True, exist_ok=True)
    (folder / "pynq" / "__init__.py").write_text(PYNQ_SHIM)
    return folder


def simulated_board(build_dir: Path, board_dir: Path, interrupt_controller: bool = True) -> Path:
    """A copy of DIR/deploy as it sits on a board after Vivado: accelgen.hwh (the simulated overlay, with
    or without the interrupt controller) and accelgen.bit (here: the shared library of DIR/hls) beside the
    driver."""
    build_dir, board_dir = Path(build_dir), Path(board_dir)
    shutil.copytree(build_dir / "deploy", board_dir, dirs_exist_ok=True)
    bit = board_dir / BITSTREAM
    compile_library(build_dir / "hls", bit)
    bit.with_suffix(".hwh").write_text(overlay_hwh(load_design_data(board_dir), interrupt_controller))
    return board_dir
