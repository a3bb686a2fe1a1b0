"""The PYNQ driver (accelgen.runtime) on the simulated board (accelgen.deploy.simdevice: the generated HLS,
C-simulated as a shared library behind pynq's interfaces, with the overlay's AXI Timer and, or not, its
interrupt controller): its logits equal `accelgen simulate` exactly on the default and the independent
model, on the interrupt path and the polling path; the design id, the timer and the benchmark; the demo
notebook runs headless, errors are clear, and the deploy folder is complete and deterministic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from accelgen.build import BuildRequest, build
from accelgen.cli import main as cli_main
from accelgen.codegen.hls_project import AXILITE_PORTS, INTC_CELL
from accelgen.deploy import hwh, simdevice
from accelgen.deploy.hwh import register_layout
from accelgen.deploy.package import DEPLOY_DIR, NOTEBOOK, deploy_files
from accelgen.hw.image import quantize_images
from accelgen.model_source import default_model_data
from accelgen.runtime.design_data import DATA_FILE, load_design_data
from accelgen.runtime.io_format import quantize
from accelgen.runtime.registers import resolve

pytestmark = [pytest.mark.csim, pytest.mark.xdist_group("deploy")]  # one worker builds the boards once

INDEP = Path(__file__).parent / "data" / "indep_digits.onnx"
BUILDS = {"default": BuildRequest(board="zcu104", fps=30.0), "indep": BuildRequest(model=str(INDEP), board="kv260",
                                                                                   fps=30.0)}


@pytest.fixture(scope="module")
def boards(tmp_path_factory):
    """name -> (build folder, simulated board folder) for the default and the independent model (overlays
    with an interrupt controller) and "polling" (the default model's overlay without one)."""
    root = tmp_path_factory.mktemp("deploy")
    folders = {name: build(BuildRequest(**{**req.__dict__, "out": root / name})).folder for name, req in BUILDS.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        sims = dict(zip(folders, pool.map(lambda n: simdevice.simulated_board(folders[n], root / f"{n}_board"),
                                          folders)))
    out = {name: (folders[name], sims[name]) for name in folders}
    out["polling"] = (folders["default"], simdevice.simulated_board(folders["default"], root / "polling_board",
                                                                    interrupt_controller=False))
    return out


@pytest.fixture
def sim_pynq(monkeypatch):
    """`import pynq` finds the simulated board; the driver package of a board folder is importable."""
    monkeypatch.setitem(sys.modules, "pynq", simdevice)

    def open_board(folder: Path):
        monkeypatch.syspath_prepend(str(folder))
        for name in [m for m in sys.modules if m == "driver" or m.startswith("driver.")]:
            monkeypatch.delitem(sys.modules, name)
        from driver import open_accelerator

        return open_accelerator(folder)

    return open_board


@contextmanager
def raises_deploy_error(message: str):
    """The shipped driver's DeployError (its own class: the board folder's copy of accelgen.runtime)."""
    with pytest.raises(Exception, match=message) as info:
        yield
    assert type(info.value).__name__ == "DeployError" and type(info.value).__module__ == "driver.design_data"


def images_for(name: str, count: int) -> np.ndarray:
    if name == "default":
        return default_model_data().images[:count]
    return np.random.default_rng(7).uniform(-1.0, 1.0, (count, 1, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("name", [*BUILDS, "polling"])
def test_driver_infer_equals_accelgen_simulate(boards, sim_pynq, name, tmp_path, capsys):
    folder, board = boards[name]
    acc = sim_pynq(board)
    assert (acc.waiter is None) == (name == "polling")  # the interrupt where the overlay routes it, else polling
    images = images_for("indep" if name == "indep" else "default", 2 * acc.data.batch_images + 5)
    np.save(tmp_path / "x.npy", images)
    assert cli_main(["simulate", str(folder), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / "y.npy")]) == 0
    golden = np.load(tmp_path / "y.npy")
    logits = acc.infer(images)
    assert logits.dtype == np.int64 and np.array_equal(logits, golden)
    assert np.array_equal(acc.infer(images, dequantize=True), golden * acc.data.logit_scale)
    assert np.array_equal(acc.predict(images), golden.argmax(axis=1))
    runs = acc.ip.mmio.runs
    assert runs == 1 + 3 + 3 + 3  # the empty identification run; infer, infer(dequantize), predict: three each


def test_shipped_samples_match_on_the_simulated_board(boards, sim_pynq):
    _, board = boards["default"]
    acc = sim_pynq(board)
    images = np.load(board / "sample_images.npy")
    assert np.array_equal(acc.infer(images), np.load(board / "expected_logits.npy"))
    assert np.mean(acc.predict(images) == np.load(board / "sample_labels.npy")) > 0.9


def test_driver_quantization_equals_the_simulators():
    rng = np.random.default_rng(3)
    data = default_model_data()
    from accelgen.frontend.importer import import_qonnx
    from accelgen.model_source import default_model_path

    graph = import_qonnx(default_model_path())
    q = graph.tensors[graph.ops[0].output].quant
    from accelgen.runtime.design_data import InputQuant

    quant = InputQuant(q.scale, q.qmin, q.qmax)
    halves = (np.arange(-300, 300) + 0.5) * np.float32(q.scale)  # ties: round half to even
    wide = rng.uniform(-3, 3, 5000)
    for x in (data.images, halves.reshape(-1, 1, 1, 1), wide.astype(np.float32).reshape(-1, 1, 1, 1)):
        assert np.array_equal(quantize(x, quant), quantize_images(graph, x))


def test_missing_flush_or_invalidate_is_caught_by_the_simulated_caches(boards, sim_pynq, monkeypatch):
    _, board = boards["default"]
    acc = sim_pynq(board)
    images = np.load(board / "sample_images.npy")[:4]
    good = acc.infer(images)
    with monkeypatch.context() as m:
        m.setattr(acc.images, "flush", lambda: None)
        assert np.array_equal(acc.infer(images[::-1]), good)  # the kernel read the previous images
    with monkeypatch.context() as m:
        m.setattr(acc.logits, "invalidate", lambda: None)
        assert np.array_equal(acc.infer(images[::-1]), good)  # the host read the previous logits
    assert np.array_equal(acc.infer(images[::-1]), good[::-1])


@pytest.mark.parametrize("name, how", [("default", "its interrupt never came"), ("polling", "polled")])
def test_a_hung_accelerator_times_out_with_a_clear_error(boards, sim_pynq, name, how):
    _, board = boards[name]
    acc = sim_pynq(board)
    codes = quantize(np.load(board / "sample_images.npy")[:2], acc.data.input_quant)
    acc.ip.mmio.hang = True
    with raises_deploy_error(rf"did not finish within 0.2 s \({how}; CTRL = 0x1\)"):
        acc.run(codes, timeout_s=0.2)
    with raises_deploy_error("busy"):
        acc.run(codes)


def test_a_deadlocked_dataflow_region_is_a_clear_error_not_a_crash(boards, sim_pynq, tmp_path):
    """The simulated board runs the DATAFLOW regions threaded over their declared FIFO depths: with the image
    burst one word short, the placer waits on an empty FIFO forever; the call raises, naming the region."""
    import shutil

    from accelgen.errors import VerificationError

    folder, _ = boards["default"]
    bad = tmp_path / "bad_build"
    shutil.copytree(folder, bad)
    common = bad / "hls" / "accel_common.h"
    loop = "for (int i = 0; i < words; ++i) {"
    assert common.read_text().count(loop) == 1
    common.write_text(common.read_text().replace(loop, loop.replace("i = 0", "i = 1")))
    acc = sim_pynq(simdevice.simulated_board(bad, tmp_path / "bad_board"))
    codes = quantize(default_model_data().images[:1], acc.data.input_quant)
    with pytest.raises(VerificationError, match=r"^simulated accelerator: dataflow region 'load_image' deadlocked: "
                                                r"image_placer.* waits to read empty stream 'image_words'"):
        acc.run(codes)


def test_bad_images_are_refused(boards, sim_pynq):
    _, board = boards["default"]
    acc = sim_pynq(board)
    good = np.load(board / "sample_images.npy")[:2]
    cases = [(good.astype(np.int32), "must be float32"), (good[:, :, :4], r"shape \(N, 1, 8, 8\)"),
             (good[:0], "empty"), (np.where(good > 0, np.nan, good), "NaN")]
    for images, message in cases:
        with raises_deploy_error(message):
            acc.infer(images)
    assert acc.ip.mmio.runs == 1  # the identification run only


def test_overlay_and_blob_mismatches_are_refused(boards, sim_pynq, tmp_path):
    import shutil

    _, board = boards["default"]
    _, other = boards["indep"]
    cases = {}
    for case in ("no_bit", "no_hwh", "blob", "hwh_of_other_design", "no_data", "design_id", "old_data_file"):
        cases[case] = shutil.copytree(board, tmp_path / case)
    # a data file of another design (whose id the bitstream does not carry), one of an older driver
    data = json.loads((board / DATA_FILE).read_text())
    (cases["design_id"] / DATA_FILE).write_text(json.dumps({**data, "design_id": data["design_id"] ^ 0x80000001}))
    (cases["old_data_file"] / DATA_FILE).write_text(json.dumps({**data, "format": 1}))
    (cases["no_bit"] / "accelgen.bit").unlink()
    (cases["no_hwh"] / "accelgen.hwh").unlink()
    blob = bytearray((cases["blob"] / "params.bin").read_bytes())
    blob[100] ^= 1
    (cases["blob"] / "params.bin").write_bytes(bytes(blob))
    shutil.copy(other / "accelgen.hwh", cases["hwh_of_other_design"] / "accelgen.hwh")
    (cases["no_data"] / DATA_FILE).unlink()
    expected = {"no_bit": r"accelgen.bit: missing", "no_hwh": r"accelgen.hwh: missing",
                "blob": r"params.bin: does not match the data file", "no_data": "accelgen_driver.json: missing",
                "hwh_of_other_design": r"descriptor table holds \d+ words, this design's \d+",
                "design_id": (rf"the bitstream's design id is 0x{data['design_id']:08x}, the data file's "
                              rf"0x{data['design_id'] ^ 0x80000001:08x}: program the accelgen.bit/.hwh built from "
                              "the same `accelgen build`"),
                "old_data_file": "data file format 1, this driver reads 2"}
    for case, message in expected.items():
        with raises_deploy_error(message):
            sim_pynq(cases[case])


def test_a_hwh_without_the_descriptor_array_falls_back_on_the_hls_register_header(boards, sim_pynq, tmp_path):
    """Where Vivado's .hwh lists no s_axilite array, the driver reads its offset from the HLS-exported header
    that `accelgen deploy` copies beside the overlay (Vitis' X<TOP>_CONTROL_ADDR_<NAME>_BASE / WIDTH / DEPTH)."""
    import shutil
    from xml.etree import ElementTree as ET

    _, board = boards["default"]
    folder = shutil.copytree(board, tmp_path / "board")
    data = load_design_data(folder)
    tree = ET.parse(folder / "accelgen.hwh")
    (registers,) = tree.getroot().iter("REGISTERS")
    (table,) = [r for r in registers if r.get("NAME") == data.arguments.descriptors]
    registers.remove(table)
    tree.write(folder / "accelgen.hwh")
    with raises_deploy_error("register map has no 'descs'"):
        sim_pynq(folder)
    layout = {r.name: r for r in register_layout(data.arguments, data.max_steps, data.descriptor_words)}
    words = data.max_steps * data.descriptor_words
    (folder / data.register_header).write_text(
        f"#define XACCELGEN_TOP_CONTROL_ADDR_AP_CTRL    0x00\n"
        f"#define XACCELGEN_TOP_CONTROL_ADDR_DESCS_BASE {hex(layout['descs'].offset)}\n"
        f"#define XACCELGEN_TOP_CONTROL_ADDR_DESCS_HIGH {hex(layout['descs'].offset + 4 * words - 1)}\n"
        f"#define XACCELGEN_TOP_CONTROL_WIDTH_DESCS     32\n"
        f"#define XACCELGEN_TOP_CONTROL_DEPTH_DESCS     {words}\n")
    acc = sim_pynq(folder)
    images = np.load(folder / "sample_images.npy")[:3]
    assert np.array_equal(acc.infer(images), np.load(folder / "expected_logits.npy")[:3])


def test_register_map_of_the_hwh_resolves_to_the_layout(boards):
    _, board = boards["default"]
    data = load_design_data(board)
    layout = {r.name: r for r in register_layout(data.arguments, data.max_steps, data.descriptor_words)}
    ip_dict = simdevice.parse_hwh(board / "accelgen.hwh")
    (desc,) = [d for d in ip_dict.values() if d["type"] == data.vlnv]
    assert {d["type"] for d in ip_dict.values()} == {data.vlnv, hwh.TIMER_VLNV, hwh.INTC_VLNV}
    assert ip_dict[data.timer]["type"] == hwh.TIMER_VLNV
    assert desc["interrupts"] == {"interrupt": {"controller": INTC_CELL, "index": 0, "fullpath": "accel/interrupt"}}
    offsets = resolve(desc["registers"], data.arguments)
    assert offsets.params == (layout["params_1"].offset, layout["params_2"].offset)
    assert offsets.beats == (layout["beats_1"].offset, layout["beats_2"].offset)
    assert (offsets.gier, offsets.ier, offsets.isr) == (0x4, 0x8, 0xC)
    assert offsets.design_id == layout["design_id"].offset == layout["beats_ctrl"].offset + 8
    assert layout["design_id"].access == "read-only"
    assert offsets.descriptor_capacity == data.max_steps * data.descriptor_words
    assert (offsets.bits.start, offsets.bits.done, offsets.bits.idle) == (1, 2, 4)
    assert offsets.descriptors == layout["descs"].offset > max(r.offset for r in layout.values() if r.name != "descs")
    # the data file names every s_axilite argument of the generated top, and nothing else
    assert sorted(vars(data.arguments).values()) == sorted(p for p in AXILITE_PORTS if p != "return")


def test_data_file_is_the_hls_projects_truth(boards):
    folder, _ = boards["default"]
    data = load_design_data(folder / DEPLOY_DIR)
    params = json.loads((folder / "hls" / "params.json").read_text())
    assert data.design_sha256 == params["design_sha256"]
    assert data.design_id == int(params["design_sha256"][:8], 16)
    # the id the top writes is the data file's: in the generated C++ and from the compiled kernel
    assert f"design_id = 0x{data.design_id:08x}u;" in (folder / "hls" / "accel_top.cpp").read_text()
    assert [list(d) for d in data.descriptors] == [s["descriptor"] for s in params["steps"]]
    assert (data.word_bits, data.image_words, data.logit_words) == (params["word_bits"], params["io"]["image_words"],
                                                                     params["io"]["logit_words"])
    assert data.logit_scale == params["io"]["logit_scale"] and data.input_quant.scale == params["io"]["input_scale"]
    assert (folder / DEPLOY_DIR / "params.bin").read_bytes() == (folder / "hls" / "params.bin").read_bytes()
    report = json.loads((folder / "report.json").read_text())
    assert (data.modelled.fps, data.modelled.cycles) == (report["fps"], report["cycles"])


def test_deploy_folder_is_deterministic(boards):
    from accelgen.build_dir import load_build

    folder, _ = boards["default"]
    b = load_build(folder)
    report = json.loads((folder / "report.json").read_text())
    files = deploy_files(b.graph, b.design, b.board, report, default_model_data(), str(folder))
    for name, content in files.items():
        on_disk = (folder / DEPLOY_DIR / name).read_bytes()
        assert on_disk == (content if isinstance(content, bytes) else content.encode()), name


def test_driver_imports_with_numpy_only(boards):
    """The shipped driver never imports accelgen, and pynq only when an overlay is opened."""
    folder, _ = boards["default"]
    code = ("import sys, importlib.abc\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('accelgen', 'pynq'): raise ImportError('blocked ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "import numpy as np, driver\n"
            "d = driver.load_design_data('.')\n"
            "x = np.load('sample_images.npy')\n"
            "print(driver.quantize(x, d.input_quant).shape)\n"
            "try:\n"
            "    driver.open_accelerator('.')\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=folder / DEPLOY_DIR, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["(32, 1, 8, 8)", "blocked pynq"]


def test_notebook_runs_headless_on_the_simulated_board(boards, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    _, board = boards["default"]
    shim = simdevice.write_pynq_shim(tmp_path / "shim")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend
    nb = nbformat.read(board / NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, startup_timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(board)}}).execute()
    text = "\n".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)
    pictures = sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.outputs)
    assert "board logits equal the simulator's: True" in text
    assert "32 images, predicted classes:" in text
    assert "accuracy on the 32 sample images" in text
    assert "modelled (report.json)" in text and "kernel beats (model-side)" in text
    (timer_row,) = [line for line in text.splitlines() if line.startswith("accelerator timer")]
    assert "n/a" not in timer_row and float(timer_row.split()[2]) > 0  # FPS from the captured clock counts
    assert f"on {simdevice.DEVICE_TAG}; timer at " in text  # the simulated board says what its timer counts
    assert pictures == 3  # predictions, confusion matrix, frame rates


def test_deploy_command_copies_the_folder_and_the_overlay(boards, tmp_path, capsys):
    import shutil

    folder, board = boards["default"]
    dest = tmp_path / "on_board"
    assert cli_main(["deploy", str(folder), "--to", str(dest)]) == 0
    out = capsys.readouterr().out
    assert "note: accelgen.bit, accelgen.hwh, xaccelgen_top_hw.h not in" in out
    shipped = sorted(str(p.relative_to(folder / DEPLOY_DIR)) for p in (folder / DEPLOY_DIR).rglob("*") if p.is_file())
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == shipped
    # after Vivado: the overlay and the HLS register header go along
    built = shutil.copytree(folder, tmp_path / "built")
    shutil.copy(board / "accelgen.bit", built / "hls" / "accelgen.bit")
    shutil.copy(board / "accelgen.hwh", built / "hls" / "accelgen.hwh")
    header = built / "hls" / "accelgen_prj" / "sol1" / "impl" / "misc" / "drivers" / "src" / "xaccelgen_top_hw.h"
    header.parent.mkdir(parents=True)
    header.write_text("#define XACCELGEN_TOP_CONTROL_ADDR_AP_CTRL 0x00\n")
    assert cli_main(["deploy", str(built), "--to", str(tmp_path / "full")]) == 0
    assert "note" not in capsys.readouterr().out
    assert {"accelgen.bit", "accelgen.hwh", "xaccelgen_top_hw.h"} <= {p.name for p in (tmp_path / "full").iterdir()}


def test_deploy_command_errors_and_remote_copy(boards, tmp_path, capsys):
    from accelgen.deploy.command import REMOTE, copy_command

    folder, _ = boards["default"]
    (tmp_path / "file").write_text("x")
    for args, message in ((["deploy", str(tmp_path), "--to", str(tmp_path / "d")], "not a build folder"),
                          (["deploy", str(folder), "--to", str(tmp_path / "file")], "exists and is not a folder")):
        assert cli_main(args) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()
    assert REMOTE.match("xilinx@kv260:/home/xilinx/jupyter_notebooks/accelgen")
    assert REMOTE.match("zcu104:accelgen") and not REMOTE.match("/tmp/a:b") and not REMOTE.match("rel/dir")
    command = copy_command(Path("/tmp/stage"), "xilinx@kv260:/home/xilinx/accelgen")
    assert command[-2:] in (["/tmp/stage/", "xilinx@kv260:/home/xilinx/accelgen/"],
                            ["/tmp/stage", "xilinx@kv260:/home/xilinx/accelgen"])


def test_benchmark_reports_host_and_timer_figures(boards, sim_pynq, monkeypatch):
    """The timer's count of a run is the simulated clock from the driver's start sequence to done: at least
    the C simulation's own time and at most the host's time around the whole run, in PL clocks (the
    simulated board's timer counts host time; a trip count or a model figure would not fit between)."""
    import time

    _, board = boards["default"]
    acc = sim_pynq(board)
    data = acc.data
    kernel = acc.ip.mmio.kernel
    spans = []
    real_run = kernel.run

    def timed_run(*args):
        t0 = time.perf_counter_ns()
        out = real_run(*args)
        spans.append(time.perf_counter_ns() - t0)
        return out

    monkeypatch.setattr(kernel, "run", timed_run)
    codes = quantize(np.load(board / "sample_images.npy")[:3], data.input_quant)
    for _ in range(3):
        t0 = time.perf_counter_ns()
        result = acc.run(codes)
        around = time.perf_counter_ns() - t0
        per_ns = data.clock_mhz / 1e3
        assert spans[-1] * per_ns - 1 <= result.cycles <= around * per_ns + 1
        assert result.beats != result.cycles
    images = np.load(board / "sample_images.npy")
    bench = acc.benchmark(data.batch_images + 3, images, repeats=2)
    assert bench.clock_mhz == data.clock_mhz and bench.device == simdevice.DEVICE_TAG
    assert bench.counter_cycles_per_image > 0 and bench.counter_latency_ms > 0 and bench.counter_floor_cycles > 0
    assert bench.counter_fps == pytest.approx(data.clock_mhz * 1e6 / bench.counter_cycles_per_image)
    assert bench.beats_per_image > 0 and bench.modelled == data.modelled
    text = str(bench)
    assert text.splitlines()[2].startswith("accelerator timer") and "n/a" not in text


def test_interrupt_path_waits_on_the_ip_interrupt(boards, sim_pynq, monkeypatch):
    """With an interrupt controller the driver awaits ip.interrupt (never polls CTRL) until IP_ISR.ap_done,
    then clears IP_ISR; a run whose interrupt is never enabled (IP_IER = 0) times out."""
    import threading

    _, board = boards["default"]
    acc = sim_pynq(board)
    device = acc.ip.mmio
    waits, ctrl_reads = [], []
    real_wait, real_read = acc.ip.interrupt.wait, device.read

    async def counted_wait():
        waits.append(device.interrupt_line())
        await real_wait()

    def counted_read(offset):
        if offset == device.ctrl:
            ctrl_reads.append(offset)
        return real_read(offset)

    monkeypatch.setattr(acc.ip.interrupt, "wait", counted_wait)
    monkeypatch.setattr(device, "read", counted_read)
    images = np.load(board / "sample_images.npy")[:2]
    codes = quantize(images, acc.data.input_quant)
    device.hang = True  # the run finishes 0.2 s after AP_START, while the driver waits
    threading.Timer(0.2, device.finish).start()
    result = acc.run(codes)
    assert waits and not any(waits) and len(ctrl_reads) == 1  # waited on a low line; one idle check, no polling
    assert np.array_equal(result.logits, np.load(board / "expected_logits.npy")[:2]) and result.cycles > 0
    assert not device.interrupt_line() and device.word("IP_ISR") == 0
    device.hang = False
    device.write(device.ier, 0)
    with raises_deploy_error(r"did not finish within 0.2 s \(its interrupt never came; CTRL = 0x6\)"):
        acc.run(codes, timeout_s=0.2)


def test_simulated_timer_follows_the_axi_timer_register_map(monkeypatch):
    """PG079's cascade-mode capture: LOAD from TLR1:TLR0, a 64-bit count across the 32-bit boundary, the
    capture held until TINT is cleared (ARHT = 0) or overwritten (ARHT = 1), no capture without CAPT/ENT."""
    from accelgen.runtime import timer as t

    now = [1000]
    timer = simdevice.SimTimer(100.0)
    monkeypatch.setattr(timer, "ticks", lambda: now[0])
    timer.write(t.TLR0, 0xFFFFFFF0)
    timer.write(t.TLR1, 0x1)
    timer.write(t.TCSR0, t.CAPTURE | t.LOAD)
    assert (timer.read(t.TCR1), timer.read(t.TCR0)) == (0x1, 0xFFFFFFF0)
    timer.write(t.TCSR0, t.CAPTURE | t.ENT)
    now[0] += 0x20
    assert (timer.read(t.TCR1), timer.read(t.TCR0)) == (0x2, 0x10)  # carried into the high word
    timer.trigger()
    assert timer.read(t.TCSR0) & t.TINT and (timer.read(t.TLR1), timer.read(t.TLR0)) == (0x2, 0x10)
    now[0] += 5
    timer.trigger()  # held: TINT not cleared
    assert timer.read(t.TLR0) == 0x10
    timer.write(t.TCSR0, t.CAPTURE | t.ENT | t.ARHT)  # TINT written 0: stays set; ARHT overwrites
    timer.trigger()
    assert timer.read(t.TLR0) == 0x15 and timer.read(t.TCSR0) & t.TINT
    timer.write(t.TCSR0, t.CAPTURE | t.TINT)  # stopped, TINT cleared
    assert not timer.read(t.TCSR0) & t.TINT
    now[0] += 100
    timer.trigger()  # not enabled: no capture
    assert not timer.read(t.TCSR0) & t.TINT and timer.read(t.TCR0) == 0x15
    with pytest.raises(simdevice.SimulationError, match="generate mode"):
        timer.write(t.TCSR0, t.ENT)


def test_driver_arms_the_timer_and_reads_the_capture(boards, sim_pynq):
    """The driver's CycleCounter: a run without a rising trigger captures nothing (None), one with it
    captures; the counter starts from zero at each run."""
    from accelgen.runtime import timer as t

    _, board = boards["default"]
    acc = sim_pynq(board)
    counter = acc.platform.counter
    assert counter is not None and counter.name == acc.data.timer
    counter.arm()
    assert counter.capture() is None
    assert counter.ip.read(t.TCSR0) == t.CAPTURE | t.ENT
    acc.ip.mmio.listeners.clear()  # the trigger unwired: the count is never captured
    codes = quantize(np.load(board / "sample_images.npy")[:1], acc.data.input_quant)
    assert acc.run(codes).cycles is None
