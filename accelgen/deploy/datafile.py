"""The driver's data file (accelgen_driver.json), from the same artifacts as the HLS project and the blob."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from .. import ir
from ..board import Board
from ..codegen.config import config_constants
from ..codegen.hls_project import IP_VERSION, LIBRARY, TIMER_CELL, TOP, VENDOR, Artifacts, build_artifacts, image_shape
from ..design import Design, design_digest, design_id
from ..runtime.design_data import FORMAT, Arguments, DesignData, InputQuant, Modelled

PARAMS_FILE = "params.bin"
REGISTER_HEADER = f"x{TOP}_hw.h"  # where Vitis HLS exports the s_axilite offsets
BATCH_IMAGES = 16  # images per accelerator run: the size of the driver's image and logit buffers
TIMEOUT_FACTOR = 1000  # a run has hung when it takes this many times its modelled latency ...
MIN_TIMEOUT_S = 1.0  # ... or this long, whichever is longer

# The top function's s_axilite arguments (accelgen.codegen.hls_project.AXILITE_PORTS), by purpose.
ARGUMENTS = Arguments(params="params", images="images", logits="logits", dump="dump", descriptors="descs",
                      n_steps="n_steps", n_images="n_images", dump_enable="dump_enable", beats="beats",
                      design_id="design_id")


def class_names(graph: ir.Graph) -> tuple[str, ...]:
    """One name per logit: the class index (the models carry no label names)."""
    return tuple(str(i) for i in range(int(graph.tensors[graph.output].shape[-1])))


def driver_data(art: Artifacts, report: dict) -> DesignData:
    consts = {c.name: c.value for c in config_constants(art.hw)}
    graph = art.graph
    q = graph.tensors[graph.ops[0].output].quant
    return DesignData(
        design_sha256=design_digest(art.design), design_id=design_id(art.design),
        vlnv=f"{VENDOR}:{LIBRARY}:{TOP}:{IP_VERSION}", clock_mhz=art.design.clock_mhz, timer=TIMER_CELL,
        word_bits=art.hw.word_bits, batch_images=BATCH_IMAGES,
        image_shape=image_shape(graph), image_words=consts["IMAGE_WORDS"],
        logit_count=art.hw.out_rows * art.hw.out_cols, logit_words=consts["LOGIT_WORDS"],
        logit_scale=graph.tensors[graph.output].quant.scale,
        input_quant=InputQuant(scale=q.scale, qmin=q.qmin, qmax=q.qmax),
        params_file=PARAMS_FILE, register_header=REGISTER_HEADER,
        params_sha256=hashlib.sha256(art.blob.data).hexdigest(), params_bytes=len(art.blob.data),
        max_steps=consts["MAX_STEPS"], descriptors=tuple(art.descs),
        arguments=ARGUMENTS, class_names=class_names(graph),
        timeout_s=max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * BATCH_IMAGES * report["latency_ms"] / 1e3),
        modelled=Modelled(fps=report["fps"], latency_ms=report["latency_ms"], cycles=report["cycles"]))


def data_file_text(data: DesignData) -> str:
    return json.dumps({"format": FORMAT, **asdict(data)}, indent=1) + "\n"


def data_file_and_blob(graph: ir.Graph, design: Design, board: Board, report: dict) -> tuple[str, bytes]:
    """(data file text, parameter blob) of a design."""
    art = build_artifacts(graph, design, board)
    return data_file_text(driver_data(art, report)), art.blob.data
