"""The overlay's clock counter: an AXI Timer (AMD PG079) whose two counters run cascaded as one 64-bit up
counter in capture mode, on the accelerator's clock, with its capture trigger ``capturetrig0`` wired to the
accelerator's ``interrupt`` output (build_overlay.tcl). The driver clears and starts the counter right
before it writes AP_START; the accelerator's interrupt (ap_done, enabled by GIER/IP_IER) captures the count
into TLR1:TLR0 and sets TINT. The capture is held (ARHT = 0) until TINT is cleared, so the count is the
clocks from the timer's enable write to ap_done: the kernel's latency plus the AP_START write that follows
the enable (an AXI-lite write from the CPU, a microsecond or so from Python) and the trigger's two-clock
synchroniser. ``Accelerator.identify`` measures that floor with an empty run.
"""

from __future__ import annotations

# Register map (PG079): control/status, load (capture in capture mode) and counter of timers 0 and 1.
TCSR0, TLR0, TCR0, TCSR1, TLR1, TCR1 = 0x00, 0x04, 0x08, 0x10, 0x14, 0x18
# TCSR bits
MDT = 1 << 0  # capture mode (0: generate)
UDT = 1 << 1  # count down (0: up)
CAPT = 1 << 3  # external capture trigger enabled
ARHT = 1 << 4  # capture mode: 1 overwrites the capture on each trigger, 0 holds it until TINT is cleared
LOAD = 1 << 5  # load the counter from TLR
ENT = 1 << 7  # counter enabled
TINT = 1 << 8  # capture (or timeout) happened; write 1 to clear
CASC = 1 << 11  # timers 0 and 1 as one 64-bit counter, controlled by TCSR0
CAPTURE = CASC | MDT | CAPT  # 64-bit up counter, capture on capturetrig0, hold the first capture
COUNTER_BITS = 64


class CycleCounter:
    """The AXI Timer IP (anything with ``read(offset)``/``write(offset, value)``: a pynq DefaultIP)."""

    def __init__(self, ip, name: str):
        self.ip = ip
        self.name = name

    def arm(self) -> None:
        """Stop, clear a held capture, zero the 64-bit counter and start it counting."""
        self.ip.write(TCSR0, TINT)  # ENT = 0: stopped; TINT written 1: cleared
        self.ip.write(TLR0, 0)
        self.ip.write(TLR1, 0)
        self.ip.write(TCSR0, CAPTURE | LOAD)
        self.ip.write(TCSR0, CAPTURE | ENT)

    def capture(self) -> int | None:
        """The count the trigger captured (clocks from the enable write to ap_done), or None when nothing
        was captured (the trigger never rose)."""
        if not int(self.ip.read(TCSR0)) & TINT:
            return None
        return int(self.ip.read(TLR0)) | int(self.ip.read(TLR1)) << 32
