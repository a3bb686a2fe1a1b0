"""The board-side driver of an accelgen accelerator: numpy and pynq only (pynq imported when an overlay is
opened); it never imports accelgen. ``accelgen build`` copies this package to DIR/deploy/driver/.

    from driver import open_accelerator
    acc = open_accelerator(".")          # accelgen.bit/.hwh, params.bin, accelgen_driver.json
    logits = acc.infer(images)           # float32 NCHW -> int64 logits (dequantize=True: floats)
"""

from .accelerator import Accelerator, Platform, RunResult
from .benchmark import Benchmark
from .design_data import DATA_FILE, DeployError, DesignData, load_design_data
from .io_format import quantize
from .overlay import BITSTREAM, open_accelerator

__all__ = ["Accelerator", "Platform", "RunResult", "Benchmark", "DATA_FILE", "DeployError", "DesignData",
           "load_design_data",
           "quantize", "BITSTREAM", "open_accelerator"]
