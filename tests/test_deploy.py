"""The PYNQ driver (accelgen.runtime) on the simulated board (accelgen.deploy.simdevice: the generated HLS,
C-simulated as a shared library behind pynq's interfaces): its logits equal `accelgen simulate` exactly on
the default and the independent model, the demo notebook runs headless, errors are clear, and the deploy
folder is complete and deterministic."""

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
from accelgen.codegen.hls_project import AXILITE_PORTS, quantize_images
from accelgen.deploy import simdevice
from accelgen.deploy.hwh import register_layout
from accelgen.deploy.package import DEPLOY_DIR, NOTEBOOK, deploy_files
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
    """name -> (build folder, simulated board folder) for the default and the independent model."""
    root = tmp_path_factory.mktemp("deploy")
    folders = {name: build(BuildRequest(**{**req.__dict__, "out": root / name})).folder for name, req in BUILDS.items()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        sims = dict(zip(folders, pool.map(lambda n: simdevice.simulated_board(folders[n], root / f"{n}_board"),
                                          folders)))
    return {name: (folders[name], sims[name]) for name in folders}


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


@pytest.mark.parametrize("name", list(BUILDS))
def test_driver_infer_equals_accelgen_simulate(boards, sim_pynq, name, tmp_path, capsys):
    folder, board = boards[name]
    acc = sim_pynq(board)
    images = images_for(name, 2 * acc.data.batch_images + 5)  # two full runs and a partial one
    np.save(tmp_path / "x.npy", images)
    assert cli_main(["simulate", str(folder), "--input", str(tmp_path / "x.npy"), "--output",
                     str(tmp_path / "y.npy")]) == 0
    golden = np.load(tmp_path / "y.npy")
    logits = acc.infer(images)
    assert logits.dtype == np.int64 and np.array_equal(logits, golden)
    assert np.array_equal(acc.infer(images, dequantize=True), golden * acc.data.logit_scale)
    assert np.array_equal(acc.predict(images), golden.argmax(axis=1))
    runs = acc.ip.mmio.runs
    assert runs == 3 + 3 + 3  # infer, infer(dequantize), predict: three runs each


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


def test_a_hung_accelerator_times_out_with_a_clear_error(boards, sim_pynq):
    _, board = boards["default"]
    acc = sim_pynq(board)
    codes = quantize(np.load(board / "sample_images.npy")[:2], acc.data.input_quant)
    acc.ip.mmio.hang = True
    with raises_deploy_error(r"did not finish within 0.2 s \(CTRL = 0x1\)"):
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
    assert acc.ip.mmio.runs == 0


def test_overlay_and_blob_mismatches_are_refused(boards, sim_pynq, tmp_path):
    import shutil

    _, board = boards["default"]
    _, other = boards["indep"]
    cases = {}
    for case in ("no_bit", "no_hwh", "blob", "hwh_of_other_design", "no_data"):
        cases[case] = shutil.copytree(board, tmp_path / case)
    (cases["no_bit"] / "accelgen.bit").unlink()
    (cases["no_hwh"] / "accelgen.hwh").unlink()
    blob = bytearray((cases["blob"] / "params.bin").read_bytes())
    blob[100] ^= 1
    (cases["blob"] / "params.bin").write_bytes(bytes(blob))
    shutil.copy(other / "accelgen.hwh", cases["hwh_of_other_design"] / "accelgen.hwh")
    (cases["no_data"] / DATA_FILE).unlink()
    expected = {"no_bit": r"accelgen.bit: missing", "no_hwh": r"accelgen.hwh: missing",
                "blob": r"params.bin: does not match the data file", "no_data": "accelgen_driver.json: missing",
                "hwh_of_other_design": r"descriptor table holds \d+ words, this design's \d+"}
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
    (desc,) = ip_dict.values()
    assert desc["type"] == data.vlnv
    offsets = resolve(desc["registers"], data.arguments)
    assert offsets.params == (layout["params_1"].offset, layout["params_2"].offset)
    assert offsets.beats == (layout["beats_1"].offset, layout["beats_2"].offset)
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
    assert "modelled (report.json)" in text and "accelerator beats" in text
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
