"""A simulated PYNQ board: the C simulation of the generated HLS, built as a shared library, behind the pynq
interfaces the driver uses -- ``Overlay(bitfile)`` (parses the .hwh beside it into ``ip_dict`` and binds each
IP to the DefaultIP subclass registered for its VLNV), ``DefaultIP.read/write`` (the s_axilite register
file, ap_ctrl_hs), and ``allocate(shape, dtype)`` (buffers with ``device_address``, ``flush``, ``invalidate``).

The caches are simulated too: the kernel sees a buffer's device copy, which ``flush()`` updates from the
host array, and the host sees the kernel's writes only after ``invalidate()``. In the simulated board
folder ``accelgen.bit`` is the shared library and ``accelgen.hwh`` the overlay of accelgen.deploy.hwh, so
the driver runs unchanged: tests put this module in ``sys.modules["pynq"]``, and a notebook kernel finds it
through a ``pynq`` package on its PYTHONPATH (``write_pynq_shim``).
"""

from __future__ import annotations

import ctypes
import shutil
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from ..codegen.hls_project import TOP, render
from ..errors import VerificationError
from ..runtime.accelerator import WORD_MASK
from ..runtime.design_data import load_design_data
from ..runtime.overlay import BITSTREAM
from ..runtime.registers import CONTROL, REGISTER_BITS
from ..sim.csim import OPTIMIZE, THREADED, CompileResult, compile_program
from .datafile import ARGUMENTS
from .hwh import address_range, overlay_hwh, register_layout

SOURCE = "sim_device.cpp"
# Hidden visibility: each library keeps its own template instances and function-local statics (named alike
# in every design: Config is AccelConfig everywhere), so several simulated boards live in one process.
# THREADED: the DATAFLOW regions on threads over FIFOs of their declared depths, as in `accelgen csim`.
LIBRARY_FLAGS = (*OPTIMIZE, *THREADED, "-shared", "-fPIC", "-fvisibility=hidden", "-fvisibility-inlines-hidden")
SIZE_FIELDS = ("word_bits", "image_words", "logit_words", "dump_elems", "max_steps", "desc_words")
PAGE = 4096
FIRST_ADDRESS = 0x40000000
WORD = REGISTER_BITS // 8


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
        self.lib.accelgen_sim_run.argtypes = [p, ctypes.c_int64, p, p, p, p, i, i, i, p]
        self.lib.accelgen_sim_run.restype = ctypes.c_char_p

    def run(self, params: np.ndarray, images: np.ndarray, logits: np.ndarray, dump: np.ndarray | None,
            descs: np.ndarray, n_steps: int, n_images: int) -> int:
        beats = ctypes.c_uint64(0)
        words = len(params) * 8 // self.sizes.word_bits
        failure = self.lib.accelgen_sim_run(pointer(params), words, pointer(images), pointer(logits),
                                            pointer(dump), pointer(descs), n_steps, n_images, int(dump is not None),
                                            ctypes.byref(beats))
        if failure is not None:
            raise VerificationError(f"simulated accelerator: {failure.decode()}")
        return beats.value


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
    for the compiled kernel's sizes (whatever a .hwh says about it), and AP_START runs the kernel."""

    def __init__(self, kernel: Kernel, memory: Memory):
        layout = register_layout(ARGUMENTS, kernel.sizes.max_steps, kernel.sizes.desc_words)
        self.regs = np.zeros(address_range(layout) // WORD, dtype=np.uint32)
        self.offsets = {r.name: r.offset for r in layout}
        fields = {f.name: f.bit_offset for r in layout if r.name == CONTROL for f in r.fields}
        self.start_bit, self.done_bit, self.idle_bit = (1 << fields[f] for f in ("AP_START", "AP_DONE", "AP_IDLE"))
        self.ctrl = self.offsets[CONTROL]
        self.kernel = kernel
        self.memory = memory
        self.hang = False  # a test switch: a started run never finishes
        self.runs = 0
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
        self.regs[offset // WORD] = value

    def word(self, name: str) -> int:
        return int(self.regs[self.offsets[name] // WORD])

    def wide(self, name: str) -> int:
        return self.word(f"{name}_1") | self.word(f"{name}_2") << REGISTER_BITS

    def start(self) -> None:
        if not self.regs[self.ctrl // WORD] & self.idle_bit:
            raise SimulationError("AP_START written while the accelerator is busy")
        self.regs[self.ctrl // WORD] = self.start_bit
        if self.hang:
            return
        s, a = self.kernel.sizes, ARGUMENTS
        wb = s.word_bits // 8
        n = self.word(a.n_images)
        dumping = self.word(a.dump_enable) != 0
        params = self.memory.device_view(self.wide(a.params), None, "parameter")
        images = self.memory.device_view(self.wide(a.images), n * s.image_words * wb, "images")
        logits = self.memory.device_view(self.wide(a.logits), n * s.logit_words * wb, "logits")
        dump = (self.memory.device_view(self.wide(a.dump), n * s.dump_elems * 8, "dump").view(np.int64)
                if dumping else None)
        table = self.offsets[a.descriptors] // WORD
        descs = self.regs[table:table + s.max_steps * s.desc_words].view(np.int32).copy()
        n_steps = self.word(a.n_steps)
        if not 0 < n_steps <= s.max_steps:
            raise SimulationError(f"{a.n_steps} = {n_steps}: the descriptor table holds 1..{s.max_steps} steps")
        beats = self.kernel.run(params, images, logits, dump, descs, n_steps, n)
        self.regs[self.offsets[f"{a.beats}_1"] // WORD] = beats & WORD_MASK
        self.regs[self.offsets[f"{a.beats}_2"] // WORD] = beats >> REGISTER_BITS
        self.regs[self.ctrl // WORD] = self.done_bit | self.idle_bit
        self.runs += 1


# ----------------------------------------------------------------------------------------------
# pynq's overlay and IP classes


class DefaultIP:
    """pynq.DefaultIP: subclasses with ``bindto = [VLNV, ...]`` become the driver of those IPs."""

    drivers: dict[str, type] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for vlnv in getattr(cls, "bindto", ()):
            DefaultIP.drivers[vlnv] = cls

    def __init__(self, description: dict):
        self.mmio = description["device"]
        self.description = description

    def read(self, offset: int = 0) -> int:
        return self.mmio.read(offset)

    def write(self, offset: int, value: int) -> None:
        self.mmio.write(offset, value)


def parse_hwh(path: Path) -> dict:
    """ip_dict of a .hwh: the IPs in the PS's memory map, with their register maps (pynq's keys)."""
    root = ET.parse(path).getroot()
    modules = {m.get("INSTANCE"): m for m in root.iter("MODULE")}
    ip_dict = {}
    for rng in root.iter("MEMRANGE"):
        mod = modules[rng.get("INSTANCE")]
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
        ip_dict[name] = {"fullpath": name, "type": mod.get("VLNV"), "phys_addr": base, "addr_range": high - base + 1,
                         "registers": registers}
    return ip_dict


class Overlay:
    def __init__(self, bitfile: str, download: bool = True):
        bit = Path(bitfile).resolve()
        if not bit.with_suffix(".hwh").is_file():
            raise OSError(f"{bit.with_suffix('.hwh')}: no such file")
        self.ip_dict = parse_hwh(bit.with_suffix(".hwh"))
        kernel = Kernel(bit)
        for name, desc in self.ip_dict.items():
            device = SimAccelerator(kernel, MEMORY)
            driver = DefaultIP.drivers.get(desc["type"], DefaultIP)
            setattr(self, name, driver({**desc, "device": device}))


# ----------------------------------------------------------------------------------------------
# A simulated board folder


PYNQ_SHIM = "from accelgen.deploy.simdevice import DefaultIP, Overlay, allocate  # the simulated board\n"


def write_pynq_shim(folder: Path) -> Path:
    """A folder holding a ``pynq`` package that is this module (put it on a kernel's PYTHONPATH)."""
    (folder / "pynq").mkdir(parents=True, exist_ok=True)
    (folder / "pynq" / "__init__.py").write_text(PYNQ_SHIM)
    return folder


def simulated_board(build_dir: Path, board_dir: Path) -> Path:
    """A copy of DIR/deploy as it sits on a board after Vivado: accelgen.hwh (the simulated overlay) and
    accelgen.bit (here: the shared library of DIR/hls) beside the driver."""
    build_dir, board_dir = Path(build_dir), Path(board_dir)
    shutil.copytree(build_dir / "deploy", board_dir, dirs_exist_ok=True)
    bit = board_dir / BITSTREAM
    compile_library(build_dir / "hls", bit)
    bit.with_suffix(".hwh").write_text(overlay_hwh(load_design_data(board_dir)))
    return board_dir
