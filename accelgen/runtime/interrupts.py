"""Waiting on the accelerator's interrupt, PYNQ's way: ``await ip.interrupt.wait()`` (a pynq.Interrupt, which
exists where the overlay routes the IP's ``interrupt`` pin through an axi_intc to the PS's first interrupt
line), in a loop that checks the IP's own status register (IP_ISR.ap_done) before returning.

The coroutine runs on an event loop of its own, in a daemon thread, so waiting works the same from a script
and from a Jupyter cell (whose thread already runs an event loop that run_until_complete cannot re-enter),
and a timeout can cancel it. All waits of one interrupt run on that one loop (pynq's Interrupt binds its
asyncio.Event to the first loop that awaits it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading


class InterruptWaiter:
    def __init__(self, interrupt, fired):
        """``interrupt``: a pynq.Interrupt; ``fired()``: True once the IP's status says the awaited event
        happened (the interrupt controller may wake a waiter for an older event)."""
        self.interrupt = interrupt
        self.fired = fired
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="accelgen-interrupt", daemon=True).start()

    async def until_fired(self) -> None:
        while not self.fired():
            await self.interrupt.wait()

    def wait(self, timeout_s: float) -> bool:
        """True when the interrupt fired within ``timeout_s`` seconds."""
        future = asyncio.run_coroutine_threadsafe(self.until_fired(), self.loop)
        try:
            future.result(timeout_s)
            return True
        except concurrent.futures.TimeoutError:
            future.cancel()
            return False
