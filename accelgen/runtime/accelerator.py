"""The accelerator behind its s_axilite registers and its DDR buffers (parameters, images, logits, debug dump).

Protocol (ap_ctrl_hs): once, at construction, the parameter blob is copied into a DDR buffer and flushed,
and the buffer addresses, the descriptor table, the step count and the debug switch (off) are written; per
run of up to ``batch_images`` images, the quantized images are packed and flushed, the image count is
written, AP_START set, CTRL polled until AP_DONE (or the timeout), the logit buffer invalidated and read,
and the beat count read. ``ip`` needs only ``read(offset)`` and ``write(offset, value)`` (a pynq
DefaultIP); ``allocate(shape, dtype)`` returns buffers with ``device_address``, ``flush()`` and
``invalidate()`` (pynq.allocate).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .design_data import DeployError, DesignData
from .io_format import check_images, logit_row_elems, pack_images, quantize, unpack_logits
from .registers import REGISTER_BITS, resolve

WORD_MASK = (1 << REGISTER_BITS) - 1


@dataclass(frozen=True)
class RunResult:
    logits: np.ndarray  # int64 (images, classes)
    beats: int  # the accelerator's beat count for the run (modelled loop trips, not clock cycles)


class Accelerator:
    def __init__(self, ip, registers: dict, data: DesignData, blob: bytes, allocate):
        self.ip = ip
        self.data = data
        self.regs = resolve(registers, data.arguments)
        table_words = data.max_steps * data.descriptor_words
        if self.regs.descriptor_capacity != table_words:
            raise DeployError(f"the overlay's descriptor table holds {self.regs.descriptor_capacity} words, this "
                              f"design's {table_words}: the bitstream is of another design")
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

    def run(self, codes: np.ndarray, timeout_s: float | None = None) -> RunResult:
        """One accelerator run on int8 codes (images, C, H, W), at most batch_images of them."""
        n, r = len(codes), self.regs
        if not 0 < n <= self.data.batch_images:
            raise DeployError(f"one run takes 1..{self.data.batch_images} images, got {n}")
        if not self.ip.read(r.ctrl) & r.bits.idle:
            raise DeployError("the accelerator is busy (CTRL.AP_IDLE is 0): is another program driving it?")
        self.images[:n] = pack_images(codes, self.data)
        self.images.flush()
        self.write_word(r.n_images, n)
        self.write_word(r.ctrl, r.bits.start)
        self.wait_done(self.data.timeout_s if timeout_s is None else timeout_s)
        self.logits.invalidate()
        return RunResult(unpack_logits(self.logits[:n], self.data), self.read_wide(r.beats))

    def wait_done(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            ctrl = int(self.ip.read(self.regs.ctrl))
            if ctrl & self.regs.bits.done:
                return
            if time.monotonic() > deadline:
                raise DeployError(f"the accelerator did not finish within {timeout_s:g} s (CTRL = 0x{ctrl:x}); "
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
