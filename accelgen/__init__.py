"""accelgen: a compiler from quantized Vision Transformers (Brevitas/QONNX) to FPGA accelerators.

Library entry points (imported lazily, so `import accelgen` stays cheap):
    accelgen.simulate(model=None, images=None, options=SimOptions())   -> SimResult (the golden model)
    accelgen.build.build(accelgen.build.BuildRequest(...))             -> BuildResult (design, reports, HLS, RTL)
    accelgen.evaluate.runner.evaluate(EvaluateRequest(...))            -> Outcome (accuracy on Dask workers)
"""

from __future__ import annotations

_LAZY = {"simulate": ("api", "simulate"), "SimOptions": ("sim.numpy_sim", "SimOptions")}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'accelgen' has no attribute '{name}'")
    from importlib import import_module

    module, attr = _LAZY[name]
    return getattr(import_module(f".{module}", __name__), attr)
