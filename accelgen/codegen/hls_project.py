"""The Vitis HLS project of a design: ``render_hls_project(graph, design, board) -> {path: content}``.

Generated files: accel_config.h (Config struct, step names, descriptor table), accel_top.h/.cpp (the top
function and its interface pragmas), tb_accel.cpp (the C-simulation testbench), params.bin/.json (the DDR
parameter blob and its map), tb_images.bin/tb_expected.bin (test vectors for Vitis csim/cosim),
run_hls.tcl (Vitis HLS), build_overlay.tcl (Vivado block design -> .bit/.hwh) and README.md; plus the
hand-written kernel headers of hls/, copied verbatim so the folder is self-contained. The templates hold no
logic: every value comes from a context builder below. Same inputs, byte-identical outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import ir
from ..board import Board
from ..design import DESIGN_ID_BITS, Design, design_digest, design_id
from ..errors import InputError
from ..hw.image import quantize_images
from ..hw import constants as template
from ..hw.memory import memory_kind
from ..hw.plan import Program, build_program
from ..hw.structures import MAXI_PORTS, MAXI_READ_OUTSTANDING, TOP
from ..resources import hls_dir
from ..sim.numpy_sim import NumpySimulator
from ..vitis import flow
from .config import HwConfig, config_constants, config_tables, hw_config, storage_macros
from ..hw.descriptors import DESC_WORDS, FIELDS, KINDS
from .names import unique_identifiers
from .pack import Blob, pack_program
from .steps import DumpEntry, descriptors, dump_layout
from .templates import render

VERSION = "0.1.0"
CONFIG_NAME = "AccelConfig"
PROJECT = "accelgen_prj"
SOLUTION = "sol1"
OVERLAY = "accelgen"
BLOCK_DESIGN = "accelgen_bd"
ACCEL_CELL = "accel"  # block-design cell names of build_overlay.tcl (pynq's ip_dict keys)
TIMER_CELL = "accel_timer"  # AXI Timer: the clock counter (accelgen/runtime/timer.py)
INTC_CELL = "accel_intc"  # AXI interrupt controller: the accelerator's interrupt to the PS


@dataclass(frozen=True)
class LiteCell:
    """An AXI-lite IP of the overlay beside the accelerator (Vivado's VLNV, interface and CONFIG names)."""

    name: str
    vlnv: str
    interface: str
    config: tuple[tuple[str, str], ...]
    what: str


# The AXI Timer (PG079) as one 64-bit counter (both timers, cascaded by the driver) whose capture trigger
# is active high; the interrupt controller (PG099) with a single irq output, as a PS interrupt pin wants.
LITE_CELLS = (
    LiteCell(TIMER_CELL, "xilinx.com:ip:axi_timer:*", "S_AXI",
             (("enable_timer2", "1"), ("mode_64bit", "1"), ("TRIG0_ASSERT", "Active_High")),
             "the clock counter: 64-bit AXI Timer on the PL clock, capture on capturetrig0 (driver: timer.py)"),
    LiteCell(INTC_CELL, "xilinx.com:ip:axi_intc:*", "s_axi", (("C_IRQ_CONNECTION", "1"),),
             "the interrupt controller pynq.Interrupt waits on (PYNQ: on the PS's first interrupt line)"),
)
TIMER_TRIGGER = "capturetrig0"
VENDOR = "accelgen.org"
LIBRARY = "hls"
IP_VERSION = "1.0"
CFLAGS = "-std=c++17 -I."
TB_IMAGES = 4  # test vectors for Vitis csim / cosim
TB_SEED = 0
SOURCES = ("accel_top.cpp",)
TB_DATA = ("params.bin", "tb_images.bin", "tb_expected.bin")
AXILITE_PORTS = ("params", "images", "logits", "dump", "descs", "n_steps", "n_images", "dump_enable", "beats",
                 "design_id", "return")


@dataclass(frozen=True)
class PsPorts:
    """Pin and property names of a processing-system IP (Vivado's names, per IP, not per board)."""

    automation: str
    automation_config: str  # the block automation's -config (current keys)
    master: str
    master_prop: str
    hp_slaves: tuple[str, ...]
    hp_props: tuple[str, ...]
    irq_pin: str
    irq_props: tuple[str, ...]
    clock_prop: str
    unused_masters: tuple[str, ...]  # PS masters the board preset enables and the overlay leaves undriven


PS_PORTS = {
    "zynq_ultra_ps_e": PsPorts(
        automation="xilinx.com:bd_rule:zynq_ultra_ps_e", automation_config='apply_board_preset "1"',
        master="M_AXI_HPM0_FPD", master_prop="PSU__USE__M_AXI_GP0",
        hp_slaves=("S_AXI_HP0_FPD", "S_AXI_HP1_FPD", "S_AXI_HP2_FPD", "S_AXI_HP3_FPD"),
        hp_props=("PSU__USE__S_AXI_GP2", "PSU__USE__S_AXI_GP3", "PSU__USE__S_AXI_GP4", "PSU__USE__S_AXI_GP5"),
        irq_pin="pl_ps_irq0", irq_props=("PSU__USE__IRQ0",), clock_prop="PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
        unused_masters=("PSU__USE__M_AXI_GP1", "PSU__USE__M_AXI_GP2")),  # M_AXI_HPM1_FPD, M_AXI_HPM0_LPD
    "processing_system7": PsPorts(
        automation="xilinx.com:bd_rule:processing_system7",
        automation_config='make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"',
        master="M_AXI_GP0", master_prop="PCW_USE_M_AXI_GP0",
        hp_slaves=("S_AXI_HP0", "S_AXI_HP1", "S_AXI_HP2", "S_AXI_HP3"),
        hp_props=("PCW_USE_S_AXI_HP0", "PCW_USE_S_AXI_HP1", "PCW_USE_S_AXI_HP2", "PCW_USE_S_AXI_HP3"),
        irq_pin="IRQ_F2P", irq_props=("PCW_USE_FABRIC_INTERRUPT", "PCW_IRQ_F2P_INTR"),
        clock_prop="PCW_FPGA0_PERIPHERAL_FREQMHZ", unused_masters=("PCW_USE_M_AXI_GP1",)),
}


@dataclass(frozen=True, eq=False)
class Artifacts:
    """Everything the files are rendered from."""

    graph: ir.Graph
    design: Design
    board: Board
    program: Program
    hw: HwConfig
    blob: Blob
    descs: tuple[tuple[int, ...], ...]
    dumps: tuple[DumpEntry, ...]


def build_artifacts(graph: ir.Graph, design: Design, board: Board) -> Artifacts:
    program = build_program(graph, design.engine)
    dumps, dump_elems = dump_layout(program)
    hw = hw_config(program, board, dump_elems)
    blob = pack_program(program, hw)
    return Artifacts(graph, design, board, program, hw, blob, descriptors(program, blob, dumps), dumps)



def kernel_headers() -> dict[str, str]:
    """The hand-written kernel headers (hls/*.h), by file name."""
    return {p.name: p.read_text() for p in sorted(hls_dir().glob("*.h"))}


def safe_comment(text: str) -> str:
    """Text that cannot end or escape a // comment."""
    return "".join(ch if 32 <= ord(ch) < 127 and ch != "\\" else "?" for ch in text)


def call_indent(top: str) -> str:
    """Continuation indent of a `void top(` parameter list."""
    return " " * len(f"void {top}(")


# ----------------------------------------------------------------------------------------------
# Context builders


def config_struct_context(hw: HwConfig, name: str) -> dict:
    return {
        "name": name,
        "constants": [{"name": c.name, "ctype": c.ctype,
                       "text": ("true" if c.value else "false") if c.ctype == "bool" else str(c.value)}
                      for c in config_constants(hw)],
        "tables": [{"name": t.name, "ctype": t.ctype, "size": len(t.values), "text": ", ".join(map(str, t.values))}
                   for t in config_tables(hw)],
    }


def render_config_struct(hw: HwConfig, name: str = CONFIG_NAME) -> str:
    return render("accel_config_struct.h.j2", config_struct_context(hw, name))


def step_entries(art: Artifacts) -> list[dict]:
    idents = unique_identifiers(["STEP_" + s.name for s in art.program.steps])
    return [{"ident": idents["STEP_" + s.name], "index": i, "comment": safe_comment(f"{s.op.kind}: {s.name}"),
             "words": ", ".join(map(str, art.descs[i]))}
            for i, s in enumerate(art.program.steps)]


def config_context(art: Artifacts) -> dict:
    return {"version": VERSION, "model": safe_comment(art.graph.name), "model_sha": art.design.model_sha256[:16],
            "config_struct": render_config_struct(art.hw), "config_name": CONFIG_NAME,
            "memories": storage_macros(art.hw, art.board),
            "steps": step_entries(art), "n_steps": len(art.program.steps)}


def io_sizes(art: Artifacts, images: int) -> dict[str, int]:
    """m_axi depths (words / elements) for `images` images, as C/RTL co-simulation needs them."""
    consts = {c.name: c.value for c in config_constants(art.hw)}
    return {"params": max(art.blob.words, 1), "images": images * consts["IMAGE_WORDS"],
            "logits": images * consts["LOGIT_WORDS"], "dump": images * consts["DUMP_ELEMS"]}


def top_context(art: Artifacts) -> dict:
    consts = {c.name: c.value for c in config_constants(art.hw)}
    depth = io_sizes(art, flow.COSIM_IMAGES)
    return {"top": TOP, "indent": call_indent(TOP), "burst": template.MAXI_BURST, "outstanding": MAXI_READ_OUTSTANDING,
            "word_bits": art.hw.word_bits,
            "params_words": art.blob.words, "image_words": consts["IMAGE_WORDS"],
            "logit_words": consts["LOGIT_WORDS"], "dump_elems": consts["DUMP_ELEMS"],
            "maxi": [{"port": port, "bundle": bundle, "depth": depth[port]} for port, bundle in MAXI_PORTS],
            "axilite": list(AXILITE_PORTS), "nmem": consts["NMEM"],
            "design_id_hex": f"0x{design_id(art.design):0{DESIGN_ID_BITS // 4}x}u",
            "act_memory": memory_kind(art.hw.act_bits, art.hw.depth, art.board)}


def image_shape(graph: ir.Graph) -> tuple[int, ...]:
    return tuple(graph.tensors[graph.input].shape)


def tb_context(art: Artifacts) -> dict:
    return {"top": TOP, "indent": " " * (4 + len(TOP) + 1),
            "image_elems": int(np.prod(image_shape(art.graph))), "logit_elems": art.hw.out_rows * art.hw.out_cols,
            "dump_elems": art.hw.dump_elems, "depth": io_sizes(art, flow.COSIM_IMAGES)}


def bundles(art: Artifacts) -> list[str]:
    return sorted({bundle for _, bundle in MAXI_PORTS})


def hls_tcl_context(art: Artifacts) -> dict:
    return {"part": art.board.part, "board": art.board.name, "clock_mhz": f"{art.design.clock_mhz:g}",
            "period_ns": f"{1000.0 / art.design.clock_mhz:.4g}", "project": PROJECT, "solution": SOLUTION,
            "top": TOP, "default_steps": " ".join(flow.DEFAULT_STEPS), "cosim_images": flow.COSIM_IMAGES,
            "known_steps": " ".join(flow.STEPS), "cosim_argv": flow.cosim_arguments(),
            "sources": list(SOURCES) + sorted(kernel_headers()),
            "cflags": CFLAGS, "tb_data": list(TB_DATA), "vendor": VENDOR, "library": LIBRARY,
            "ip_version": IP_VERSION, "display_name": f"accelgen ViT accelerator ({safe_comment(art.graph.name)})"}


def overlay_tcl_context(art: Artifacts, jobs: int = 4) -> dict:
    ps = PS_PORTS.get(art.board.ps_ip)
    if ps is None:
        raise InputError(f"board '{art.board.name}': unknown processing system IP '{art.board.ps_ip}'")
    names = bundles(art)
    slaves = [ps.hp_slaves[i % min(len(ps.hp_slaves), art.board.hp_ports.count)] for i in range(len(names))]
    used = sorted({ps.hp_props[ps.hp_slaves.index(s)] for s in slaves})
    props = ([{"name": ps.master_prop, "value": "1"}] + [{"name": p, "value": "1"} for p in used]
             + [{"name": p, "value": "1"} for p in ps.irq_props]
             + [{"name": p, "value": "0"} for p in ps.unused_masters]
             + [{"name": ps.clock_prop, "value": f"{art.design.clock_mhz:g}"}])
    return {"board": art.board.name, "part": art.board.part, "board_part": art.board.vivado_board_part,
            "board_part_pattern": art.board.vivado_board_part.rsplit(":", 1)[0] + ":*",
            "ps_ip": art.board.ps_ip, "ps": ps, "ps_props": props, "top": TOP, "accel": ACCEL_CELL,
            "timer": TIMER_CELL, "intc": INTC_CELL, "timer_trigger": TIMER_TRIGGER,
            "lite_cells": [{"name": c.name, "vlnv": c.vlnv, "interface": c.interface, "what": c.what,
                            "config": [{"name": k, "value": v} for k, v in c.config]} for c in LITE_CELLS],
            "vendor": VENDOR, "library": LIBRARY,
            "ip_version": IP_VERSION, "project": PROJECT, "solution": SOLUTION, "overlay": OVERLAY,
            "bd": BLOCK_DESIGN, "clock_mhz": f"{art.design.clock_mhz:g}", "jobs": jobs,
            "bundles": [{"bundle": b, "slave": s} for b, s in zip(names, slaves)],
            "utilization_report": flow.UTILIZATION_REPORT, "timing_report": flow.TIMING_REPORT}


FILE_NOTES = {
    "accel_config.h": "Config struct (sizes, widths, tables), step names, layer descriptor table",
    "accel_top.cpp": "top function and interface pragmas (m_axi, s_axilite)",
    "accel_top.h": "top function prototype",
    "tb_accel.cpp": "C-simulation testbench",
    "params.bin": "DDR parameter blob (weights, biases, requantization, tables)",
    "params.json": "map of the blob, descriptors, debug dump and I/O formats",
    "tb_images.bin": "test images (int8, host-quantized) for csim/cosim",
    "tb_expected.bin": "their logits from the NumPy golden model (int64)",
    "run_hls.tcl": "Vitis HLS: csim, csynth, export IP (cosim on request)",
    "build_overlay.tcl": "Vivado: block design -> accelgen.bit + accelgen.hwh",
}


def readme_context(art: Artifacts) -> dict:
    e = art.design.engine
    files = [{"name": n, "what": w} for n, w in FILE_NOTES.items()]
    files.append({"name": "*.h (other)", "what": "the kernel library (hand-written, copied from accelgen's hls/)"})
    commands = ["vitis_hls -f run_hls.tcl                      # csim, csynth, export IP",
                "vivado -mode batch -source build_overlay.tcl  # accelgen.bit + accelgen.hwh"]
    return {"model": safe_comment(art.graph.name), "board": art.board.name, "tm": e.tm, "tn_fixed": e.tn_fixed,
            "tn_pot": e.tn_pot, "dsp_packing": str(e.dsp_packing).lower(), "clock_mhz": f"{art.design.clock_mhz:g}",
            "part": art.board.part, "files": files, "commands": commands}


def params_map(art: Artifacts) -> dict:
    """params.json: the blob's regions, the descriptor table, the debug dump layout and the I/O formats."""
    consts = {c.name: c.value for c in config_constants(art.hw)}
    return {
        "format": 1, "top": TOP, "design_sha256": design_digest(art.design), "word_bits": art.hw.word_bits,
        "blob": art.blob.to_map(),
        "descriptor_fields": list(FIELDS), "descriptor_words": DESC_WORDS, "step_kinds": KINDS,
        "steps": [{"name": s.name, "ops": [op.name for op in s.ops], "kind": s.op.kind, "output": s.output,
                   "descriptor": list(d)} for s, d in zip(art.program.steps, art.descs)],
        "dump": {"elements_per_image": art.hw.dump_elems,
                 "tensors": [{"step": d.step, "tensor": d.tensor, "offset": d.offset, "shape": list(d.shape)}
                             for d in art.dumps]},
        "io": {"image_shape": list(image_shape(art.graph)), "image_words": consts["IMAGE_WORDS"],
               "input_scale": art.graph.tensors[art.program.steps[0].output].quant.scale,
               "logits_shape": [art.hw.out_rows, art.hw.out_cols], "logit_words": consts["LOGIT_WORDS"],
               "logit_scale": art.graph.tensors[art.graph.output].quant.scale},
        "ports": {"m_axi": [{"port": p, "bundle": b} for p, b in MAXI_PORTS], "s_axilite": list(AXILITE_PORTS)},
    }


# ----------------------------------------------------------------------------------------------
# Test vectors


def synthetic_images(graph: ir.Graph, count: int = TB_IMAGES, seed: int = TB_SEED) -> np.ndarray:
    """Seeded float32 images covering the input quantizer's range."""
    q = graph.tensors[graph.ops[0].output].quant
    rng = np.random.default_rng(seed)
    return rng.uniform(q.qmin * q.scale, q.qmax * q.scale, (count,) + image_shape(graph)).astype(np.float32)


def test_vectors(graph: ir.Graph, images: np.ndarray) -> tuple[bytes, bytes]:
    logits = NumpySimulator(graph).run(images).logits.astype(np.int64)
    return quantize_images(graph, images).tobytes(), logits.tobytes()


# ----------------------------------------------------------------------------------------------
# The project


def render_hls_project(graph: ir.Graph, design: Design, board: Board, images: np.ndarray | None = None
                       ) -> dict[str, bytes | str]:
    """Relative path -> content of DIR/hls. ``images`` (float32 NCHW) become the Vitis test vectors
    (default: seeded synthetic images)."""
    art = build_artifacts(graph, design, board)
    tb_images, tb_expected = test_vectors(graph, synthetic_images(graph) if images is None else images)
    files: dict[str, bytes | str] = dict(kernel_headers())
    files |= {
        "accel_config.h": render("accel_config.h.j2", config_context(art)),
        "accel_top.h": render("accel_top.h.j2", {"top": TOP, "indent": call_indent(TOP)}),
        "accel_top.cpp": render("accel_top.cpp.j2", top_context(art) | {"indent": call_indent(TOP)}),
        "tb_accel.cpp": render("tb_accel.cpp.j2", tb_context(art)),
        "run_hls.tcl": render("run_hls.tcl.j2", hls_tcl_context(art)),
        "build_overlay.tcl": render("build_overlay.tcl.j2", overlay_tcl_context(art)),
        "README.md": render("hls_readme.md.j2", readme_context(art)),
        "params.bin": art.blob.data,
        "params.json": json.dumps(params_map(art), indent=1, sort_keys=True) + "\n",
        "tb_images.bin": tb_images,
        "tb_expected.bin": tb_expected,
    }
    return dict(sorted(files.items()))


def write_hls_project(build, out_dir: str | Path, images: np.ndarray | None = None) -> list[Path]:
    """Write the project of a Build (accelgen.build_dir) or of a (graph, design, board) triple."""
    graph, design, board = (build.graph, build.design, build.board) if hasattr(build, "graph") else build
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in render_hls_project(graph, design, board, images).items():
        path = out / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        written.append(path)
    return written
