"""Run by tests/test_driver_pynq.py inside .venv-pynq (the real pynq package, numpy<2): pynq parses the
overlay's .hwh (with both of its parsers) -- the accelerator, the AXI Timer, and the accelerator's interrupt
pin behind the axi_intc on the PS's first interrupt line --, binds the driver's DefaultIP subclass to the
accelerator's VLNV, and -- in the manner of PYNQ's own tests (tests/mock_devices.py) -- a mock pynq.Device
records every register read and write (accelerator and timer), allocation, flush and invalidate in one
ordered log and answers reads from a script; the driver's log is compared with the protocol written out
register by register: the design-id check before anything is loaded (and its refusal of a wrong id), the
timer armed before AP_START and its capture read after done, IP_ISR cleared.

usage: python check_driver.py DEPLOY_FOLDER HWH HWH_WITHOUT_INTC -> prints {"registers": {name: [offset, size]},
...} on success (the second .hwh: the overlay without the interrupt controller, where the driver polls)
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import numpy as np
import pynq
from pynq.metadata.runtime_metadata_parser import RuntimeMetadataParser
from pynq.pl_server.hwh_parser import _HWHUltrascale
from pynqmetadata.frontends import Metadata

MASK = 0xFFFFFFFF


class RecordingDevice(pynq.Device):
    def __init__(self, read_script: dict[int, list[int]]):
        super().__init__("accelgen_mock")
        self.capabilities = {"REGISTER_RW": True}
        self.log: list[tuple] = []
        self.reads = {address: collections.deque(values) for address, values in read_script.items()}
        self.next_address = 0x70000000
        self.buffers: dict[int, np.ndarray] = {}
        self.device_writes: dict[int, np.ndarray] = {}  # what the "accelerator" wrote, shown on invalidate

    def read_registers(self, address, length):
        self.log.append(("read", address))
        return self.reads[address].popleft().to_bytes(length, "little")

    def write_registers(self, address, data):
        self.log.append(("write", address, int.from_bytes(data, "little")))

    def allocate(self, shape, dtype, **kwargs):
        address = self.next_address
        self.next_address += 0x100000
        buf = pynq.buffer.PynqBuffer(shape, dtype, device=self, device_address=address, bo=address, coherent=False)
        self.buffers[address] = buf
        self.log.append(("allocate", tuple(np.atleast_1d(shape)), np.dtype(dtype).str))
        return buf

    def flush(self, bo, offset, vaddr, length):
        self.log.append(("flush", bo, offset, length))

    def invalidate(self, bo, offset, vaddr, length):
        self.log.append(("invalidate", bo, offset, length))
        if bo in self.device_writes:
            self.buffers[bo][...] = self.device_writes[bo]


def main(deploy: Path, hwh: Path, hwh_polling: Path) -> None:
    sys.path.insert(0, str(deploy))
    import driver
    from driver import timer as t
    from driver.accelerator import Accelerator, Platform
    from driver.overlay import ip_class
    from driver.timer import CycleCounter

    data = driver.load_design_data(deploy)
    # the parser pynq.Overlay uses for a full bitstream, and the one of partial bitstreams, agree
    parser = RuntimeMetadataParser(Metadata(input=str(hwh)))
    ip_dict = parser.ip_dict
    (name,) = [n for n, d in ip_dict.items() if d["type"] == data.vlnv]
    # the timer the data file names, and the IP's interrupt behind a controller on the PS's first line
    assert ip_dict[data.timer]["type"].startswith("xilinx.com:ip:axi_timer:"), ip_dict[data.timer]
    (controller,) = parser.interrupt_controllers.values()
    assert controller["parent"] == "" and controller["index"] == 0, controller
    assert parser.interrupt_pins[f"{name}/interrupt"] == {"controller": controller["name"], "index": 0,
                                                            "fullpath": f"{name}/interrupt"}
    assert ip_dict[name]["interrupts"] == {"interrupt": parser.interrupt_pins[f"{name}/interrupt"]}
    polling = RuntimeMetadataParser(Metadata(input=str(hwh_polling)))  # no controller: no interrupt attribute
    assert not polling.interrupt_controllers and not polling.interrupt_pins
    assert polling.ip_dict[name]["interrupts"] == {} and data.timer in polling.ip_dict
    desc = ip_dict[name]
    regs, base = desc["registers"], desc["phys_addr"]
    partial = _HWHUltrascale(str(hwh)).ip_dict[name]
    assert (partial["phys_addr"], partial["addr_range"]) == (base, desc["addr_range"])
    assert {n: (r["address_offset"], r["size"], {f: v["bit_offset"] for f, v in r["fields"].items()})
            for n, r in partial["registers"].items()} == \
        {n: (r["address_offset"], r["size"], {f: v["bit_offset"] for f, v in r["fields"].items()})
         for n, r in regs.items()}

    def at(reg: str) -> int:
        return base + regs[reg]["address_offset"]

    # pynq binds the driver's DefaultIP subclass to the accelerator's VLNV
    cls = ip_class(pynq, data.vlnv)
    description = {"ip": {name: dict(desc)}, "hierarchies": {}, "gpio": {}, "interrupts": {}, "memories": {}}
    pynq.overlay._assign_drivers(description, False, "device")
    assert description["ip"][name]["driver"] is cls, description["ip"][name]["driver"]

    idle, done = 1 << 2, 1 << 1
    beats, floor, cycles = 0x1_89ABCDEF, 0x2345, 0x1_00000123
    timer_base = ip_dict[data.timer]["phys_addr"]

    def timer_at(offset: int) -> int:
        return timer_base + offset

    def arm() -> list[tuple]:
        return [("write", timer_at(t.TCSR0), t.TINT), ("write", timer_at(t.TLR0), 0),
                ("write", timer_at(t.TLR1), 0), ("write", timer_at(t.TCSR0), t.CAPTURE | t.LOAD),
                ("write", timer_at(t.TCSR0), t.CAPTURE | t.ENT)]

    def captured() -> list[tuple]:
        return [("read", timer_at(t.TCSR0)), ("read", timer_at(t.TLR0)), ("read", timer_at(t.TLR1))]

    def open_accelerator(design_id: int):
        device = RecordingDevice({at("CTRL"): [idle, done | idle, idle, 0, 0, done | idle], at("IP_ISR"): [1],
                                  at("design_id"): [design_id], at("beats_1"): [beats & MASK],
                                  at("beats_2"): [beats >> 32],
                                  timer_at(t.TCSR0): [t.CAPTURE | t.ENT | t.TINT] * 2,
                                  timer_at(t.TLR0): [floor, cycles & MASK], timer_at(t.TLR1): [0, cycles >> 32]})
        pynq.Device.active_device = device
        ip = cls({**desc, "interrupts": {}, "device": device})  # the mock has no interrupt controller: polling
        counter = CycleCounter(pynq.DefaultIP({**ip_dict[data.timer], "device": device}), data.timer)
        platform = Platform(allocate=pynq.allocate, clock_mhz=data.clock_mhz, device=device.tag, counter=counter)
        return device, Accelerator(ip, regs, data, blob, platform)

    blob = (deploy / data.params_file).read_bytes()
    identify = ([("read", at("IP_ISR")), ("write", at("IP_ISR"), 1), ("write", at("GIER"), 1),
                 ("write", at("IP_IER"), 1), ("read", at("CTRL")), ("write", at("n_images"), 0)] + arm()
                + [("write", at("CTRL"), 1), ("read", at("CTRL")), ("write", at("IP_ISR"), 1)] + captured()
                + [("read", at("design_id"))])

    # a bitstream of another design: refused after the empty run, before any allocation
    try:
        open_accelerator(data.design_id ^ 1)
        raise AssertionError("a wrong design id was accepted")
    except driver.DeployError as err:
        assert f"design id is 0x{data.design_id ^ 1:08x}, the data file's 0x{data.design_id:08x}" in str(err), err
    log = pynq.Device.active_device.log
    assert log == identify, first_difference(log, identify)

    device, acc = open_accelerator(data.design_id)
    assert acc.empty_run_cycles == floor
    params, images, logits, dump = (b.device_address for b in (acc.params, acc.images, acc.logits, acc.dump))
    row_bytes = data.image_words * data.word_bits // 8
    row_elems = data.logit_words * data.word_bits // 64
    expected = identify + [
        ("allocate", (len(blob),), "|u1"), ("allocate", (data.batch_images, row_bytes), "|u1"),
        ("allocate", (data.batch_images, row_elems), "<i8"), ("allocate", (1,), "<i8"),
        ("flush", params, 0, len(blob))]
    for reg, address in (("params", params), ("images", images), ("logits", logits), ("dump", dump)):
        expected += [("write", at(f"{reg}_1"), address & MASK), ("write", at(f"{reg}_2"), address >> 32)]
    table = np.zeros(data.max_steps * len(data.descriptors[0]), dtype=np.int64)
    table[:len(data.descriptors) * len(data.descriptors[0])] = np.ravel(data.descriptors)
    expected += [("write", at("descs") + 4 * i, int(w) & MASK) for i, w in enumerate(table)]
    expected += [("write", at("n_steps"), len(data.descriptors)), ("write", at("dump_enable"), 0)]
    assert device.log == expected, first_difference(device.log, expected)

    # one run of two images: the accelerator's logits appear in the buffer on invalidate
    device.log.clear()
    written = np.arange(data.batch_images * row_elems, dtype=np.int64).reshape(data.batch_images, row_elems) - 50
    device.device_writes[logits] = written
    rng = np.random.default_rng(0)
    codes = rng.integers(-128, 128, (2,) + data.image_shape).astype(np.int8)
    result = acc.run(codes)
    expected = ([("read", at("CTRL")), ("flush", images, 0, data.batch_images * row_bytes),
                 ("write", at("n_images"), 2)] + arm()
                + [("write", at("CTRL"), 1), ("read", at("CTRL")), ("read", at("CTRL")), ("read", at("CTRL")),
                   ("write", at("IP_ISR"), 1)] + captured()
                + [("invalidate", logits, 0, data.batch_images * row_elems * 8),
                   ("read", at("beats_1")), ("read", at("beats_2"))])
    assert device.log == expected, first_difference(device.log, expected)
    assert (result.beats, result.cycles) == (beats, cycles)
    assert np.array_equal(result.logits, written[:2, :data.logit_count])
    packed = np.asarray(acc.images[:2]).view(np.int8)[:, :codes[0].size]
    assert np.array_equal(packed, codes.reshape(2, -1))
    print(json.dumps({"registers": {n: [r["address_offset"], r["size"]] for n, r in regs.items()},
                      "pynq": pynq.__version__, "numpy": np.__version__}))


def first_difference(got: list, want: list) -> str:
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"entry {i}: driver did {g}, protocol says {w}"
    return f"driver made {len(got)} calls, protocol has {len(want)}"


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
