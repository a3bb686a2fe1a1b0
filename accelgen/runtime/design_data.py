"""The driver's data file (accelgen_driver.json): everything the board-side driver knows about one design.

It is written by ``accelgen build`` from the same Python that generates the HLS project and the parameter
blob (accelgen.deploy.datafile); this module only reads it, so no number of a design is pasted into code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = "accelgen_driver.json"
FORMAT = 2


class DeployError(Exception):
    """A deploy folder, overlay or input the driver cannot work with (one-line message)."""


@dataclass(frozen=True)
class InputQuant:
    """The model's input quantizer: code = clamp(round_half_even(x / scale), qmin, qmax), in float32."""

    scale: float
    qmin: int
    qmax: int


@dataclass(frozen=True)
class Arguments:
    """Names of the top function's s_axilite arguments, by what the driver writes or reads there."""

    params: str
    images: str
    logits: str
    dump: str
    descriptors: str
    n_steps: str
    n_images: str
    dump_enable: str
    beats: str
    design_id: str


@dataclass(frozen=True)
class Modelled:
    """The report's figures for one image, to print beside the measured ones."""

    fps: float
    latency_ms: float
    cycles: int


@dataclass(frozen=True)
class DesignData:
    design_sha256: str
    design_id: int  # what the accelerator's read-only design_id register holds (the sha256's first 32 bits)
    vlnv: str  # vendor:library:name:version of the exported HLS IP
    clock_mhz: float  # the PL clock build_overlay.tcl asks for (the driver reads the one the PS gives)
    timer: str  # block-design name of the overlay's AXI Timer (the clock counter), see timer.py
    word_bits: int
    batch_images: int  # images per accelerator run (the size of the image and logit buffers)
    image_shape: tuple[int, ...]  # one image, CHW
    image_words: int  # words per image in the image buffer (int8 codes, little-endian, zero padded)
    logit_count: int  # logits per image
    logit_words: int  # words per image in the logit buffer (int64 logits, little-endian)
    logit_scale: float  # real value of one logit unit
    input_quant: InputQuant
    params_file: str
    register_header: str  # the HLS-exported register header, when copied beside the overlay (x<top>_hw.h)
    params_sha256: str
    params_bytes: int
    max_steps: int  # rows of the descriptor table in the register file
    descriptors: tuple[tuple[int, ...], ...]  # one row of int32 words per hardware step
    arguments: Arguments
    class_names: tuple[str, ...]
    timeout_s: float  # a run that takes longer has hung
    modelled: Modelled

    @property
    def word_bytes(self) -> int:
        return self.word_bits // 8

    @property
    def descriptor_words(self) -> int:
        return len(self.descriptors[0])

    @property
    def image_elems(self) -> int:
        size = 1
        for d in self.image_shape:
            size *= d
        return size

    @staticmethod
    def from_dict(data: dict, source: str) -> "DesignData":
        if data.get("format") != FORMAT:
            raise DeployError(f"{source}: data file format {data.get('format')!r}, this driver reads {FORMAT}")
        try:
            fields = dict(data)
            fields.pop("format")
            fields["image_shape"] = tuple(fields["image_shape"])
            fields["input_quant"] = InputQuant(**fields["input_quant"])
            fields["descriptors"] = tuple(tuple(row) for row in fields["descriptors"])
            fields["arguments"] = Arguments(**fields["arguments"])
            fields["class_names"] = tuple(fields["class_names"])
            fields["modelled"] = Modelled(**fields["modelled"])
            return DesignData(**fields)
        except (KeyError, TypeError) as err:
            raise DeployError(f"{source}: not an accelgen driver data file ({err})") from None


def load_design_data(folder: str | Path) -> DesignData:
    path = Path(folder) / DATA_FILE
    if not path.is_file():
        raise DeployError(f"{path}: missing (the deploy folder of `accelgen build` holds it)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DeployError(f"{path}: not valid JSON ({err})") from None
    return DesignData.from_dict(data, str(path))
