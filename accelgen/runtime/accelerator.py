"""The accelerator behind its s_axilite registers and its DDR buffers (parameters, images, logits, debug dump).

Protocol (ap_ctrl_hs): at construction, the interrupt output is enabled (GIER, IP_IER.ap_done: it triggers
the overlay's timer and, where there is one, the interrupt controller) and an empty run (zero images, no
memory access) identifies the bitstream by its read-only design id before anything is loaded; then the
parameter blob is copied into a DDR buffer and flushed, and the buffer addresses, the descriptor table, the
step count and the debug switch (off) are written. Per run of up to ``batch_images`` images, the quantized
images are packed and flushed, the image count is written, the clock counter cleared and started, AP_START
set, and the run awaited -- on the interrupt where the overlay routes it to the PS, else by polling CTRL
for AP_DONE -- within a timeout; then IP_ISR is cleared, the logit buffer invalidated and read, and the
beat count and the captured clock count read. ``ip`` needs only ``read(offset)`` and ``write(offset,
value)`` (a pynq DefaultIP; its ``interrupt`` a pynq.Interrupt); ``allocate(shape, dtype)`` returns buffers
with ``device_address``, ``flush()`` and ``invalidate()`` (pynq.allocate).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .design_data import DeployError, DesignData
from .interrupts import InterruptWaiter
from .io_format import check_images, logit_row_elems, pack_images, quantize, unpack_logits
from .registers import AP_DONE_EVENT, REGISTER_BITS, resolve
from .timer import CycleCounter

WORD_MASK = (1 << REGISTER_BITS) - 1


@dataclass(frozen=True)
class RunResult:
    logits: np.ndarray  # int64 (images, classes)
    beats: int  # the kernel's model-side count: its loops' trip counts (as at II = 1), not a measurement
    cycles: int | None  # clocks the overlay's timer captured from its start to ap_done (None: no timer)


@dataclass(frozen=True)
class Platform:
    """What the board around the IP offers the driver."""

    allocate: object  # pynq.allocate
    clock_mhz: float  # the accelerator's clock (pynq.Clocks.fclk0_mhz on a board)
    device: str  # what runs it (pynq's active device), printed with the measurements
    counter: CycleCounter | None = None  # the overlay's AXI Timer
    interrupt: object | None = None  # the IP's pynq.Interrupt, where an axi_intc routes it to the PS


class Accelerator:
    def __init__(self, ip, registers: dict, data: DesignData, blob: bytes, platform: Platform):
        self.ip = ip
        self.data = data
        self.platform = platform
        self.regs = resolve(registers, data.arguments)
        table_words = data.max_steps * data.descriptor_words
        if self.regs.descriptor_capacity != table_words:
            raise DeployError(f"the overlay's descriptor table holds {self.regs.descriptor_capacity} words, this "
                              f"design's {table_words}: the bitstream is of another design")
        self.waiter = (None if platform.interrupt is None
                       else InterruptWaiter(platform.interrupt, lambda: self.ip.read(self.regs.isr) & AP_DONE_EVENT))
        stale = int(self.ip.read(self.regs.isr))  # an ap_done a previous program left uncleared
        if stale:
            self.write_word(self.regs.isr, stale)  # toggle on write: cleared
        self.write_word(self.regs.gier, 1)
        self.write_word(self.regs.ier, AP_DONE_EVENT)
        self.empty_run_cycles = self.identify()
        allocate = platform.allocate
        self.params = allocate((len(blob),), np.uint8)
        self.images = allocate((data.batch_images, data.image_words * data.word_bytes), np.uint8)
        self.logits = allocate((data.batch_images, logit_row_elems(data)), np.int64)
        self.dump = allocate((1,), np.int64)  # the debug switch stays off: the kernel never writes here
        self.params[:] = np.frombuffer(blob, dtype=np.uint8)
        self.params.flush()
        self.write_setup()

    # -- registers ----------------------------------------------------------------------------------

    def write_word(self, offset: int, value: int) -> None:
        self.ip.write(offset, int(value) & WORD_MASK)

    def write_wide(self, offsets: tuple[int, int], value: int) -> None:
        self.write_word(offsets[0], value)
        self.write_word(offsets[1], int(value) >> REGISTER_BITS)

    def read_wide(self, offsets: tuple[int, int]) -> int:
        return int(self.ip.read(offsets[0])) | int(self.ip.read(offsets[1])) << REGISTER_BITS

    def write_setup(self) -> None:
        r = self.regs
        for offsets, buffer in ((r.params, self.params), (r.images, self.images), (r.logits, self.logits),
                                (r.dump, self.dump)):
            self.write_wide(offsets, buffer.device_address)
        table = np.zeros((self.data.max_steps, self.data.descriptor_words), dtype=np.int64)
        table[:len(self.data.descriptors)] = self.data.descriptors
        for i, word in enumerate(table.ravel()):
            self.write_word(r.descriptors + 4 * i, int(word))
        self.write_word(r.n_steps, len(self.data.descriptors))
        self.write_word(r.dump_enable, 0)

    # -- runs ---------------------------------------------------------------------------------------

    def identify(self) -> int | None:
        """An empty run (zero images: the kernel touches no memory) before anything is loaded: the bitstream
        must carry this deploy folder's design id. Returns the clocks the timer captured for it: the floor
        of every measurement (the start sequence's AXI writes and the kernel's fixed cost)."""
        self.check_idle()
        cycles = self.start(0, self.data.timeout_s)
        found = int(self.ip.read(self.regs.design_id))
        if found != self.data.design_id:
            raise DeployError(f"the bitstream's design id is 0x{found:08x}, the data file's 0x{self.data.design_id:08x}"
                              ": program the accelgen.bit/.hwh built from the same `accelgen build` as this deploy "
                              "folder (or copy that build's deploy folder here)")
        return cycles

    def check_idle(self) -> None:
        if not self.ip.read(self.regs.ctrl) & self.regs.bits.idle:
            raise DeployError("the accelerator is busy (CTRL.AP_IDLE is 0): is another program driving it?")

    def start(self, n: int, timeout_s: float) -> int | None:
        """Start a run of n images, wait for it, clear its interrupt; the clocks the timer captured."""
        r = self.regs
        self.write_word(r.n_images, n)
        counter = self.platform.counter
        if counter is not None:
            counter.arm()
        self.write_word(r.ctrl, r.bits.start)
        self.wait_done(timeout_s)
        self.write_word(r.isr, AP_DONE_EVENT)  # toggle on write: the interrupt line drops
        return None if counter is None else counter.capture()

    def run(self, codes: np.ndarray, timeout_s: float | None = None) -> RunResult:
        """One accelerator run on int8 codes (images, C, H, W), at most batch_images of them."""
        n = len(codes)
        if not 0 < n <= self.data.batch_images:
            raise DeployError(f"one run takes 1..{self.data.batch_images} images, got {n}")
        self.check_idle()
        self.images[:n] = pack_images(codes, self.data)
        self.images.flush()
        cycles = self.start(n, self.data.timeout_s if timeout_s is None else timeout_s)
        self.logits.invalidate()
        return RunResult(unpack_logits(self.logits[:n], self.data), self.read_wide(self.regs.beats), cycles)

    def wait_done(self, timeout_s: float) -> None:
        if self.waiter is not None:
            if not self.waiter.wait(timeout_s):
                self.timed_out(timeout_s, int(self.ip.read(self.regs.ctrl)), "its interrupt never came")
            return
        deadline = time.monotonic() + timeout_s
        while True:
            ctrl = int(self.ip.read(self.regs.ctrl))
            if ctrl & self.regs.bits.done:
                return
            if time.monotonic() > deadline:
                self.timed_out(timeout_s, ctrl, "polled")

    @staticmethod
    def timed_out(timeout_s: float, ctrl: int, how: str):
        raise DeployError(f"the accelerator did not finish within {timeout_s:g} s ({how}; CTRL = 0x{ctrl:x}); "
                          "check that the bitstream is loaded and its clock and HP ports are enabled")

    def run_all(self, images) -> list[RunResult]:
        """Quantize float32 NCHW images and run them in batches of batch_images."""
        codes = quantize(check_images(images, self.data), self.data.input_quant)
        step = self.data.batch_images
        return [self.run(codes[i:i + step]) for i in range(0, len(codes), step)]

    def infer(self, images, dequantize: bool = False) -> np.ndarray:
        """Logits of float32 NCHW images (as fed to the Brevitas model): int64 on one common scale, or
        float64 real values with ``dequantize``."""
        logits = np.concatenate([r.logits for r in self.run_all(images)])
        return logits * self.data.logit_scale if dequantize else logits

    def predict(self, images) -> np.ndarray:
        """Class indices (see ``class_names``)."""
        return self.infer(images).argmax(axis=1)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.data.class_names

    def benchmark(self, n: int, images=None, repeats: int = 10):
        from .benchmark import measure

        return measure(self, n, images, repeats)
