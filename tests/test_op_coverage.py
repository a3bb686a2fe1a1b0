"""Rule 7 of the architecture: every IR op has its IR class, numerics, lowering, bounds, cost, plan entry,
HLS descriptor and C++ header, and RTL unit where it has one -- each found by dispatch on the op's type.
Adding an op without one of them fails here."""

from __future__ import annotations

import pytest

from accelgen import ir
from accelgen.codegen.rtl_project import CORE
from accelgen.codegen.rtl_units import op_unit
from accelgen.hw.rtl_interfaces import UNIT_KINDS
from accelgen.codegen.steps import op_fields
from accelgen.hw.plan import check_op
from accelgen.passes.bounds import op_bounds
from accelgen.passes.lower import lower_op
from accelgen.perf.model import unit_cycles
from accelgen.perf.workload import op_work
from accelgen.resources import hls_dir, rtl_dir
from accelgen.sim.numpy_sim import NumpySimulator
from accelgen.summary import op_macs

pytestmark = pytest.mark.unit

# The C++ header (hls/) and the Verilog unit (rtl/) that implement each op kind.
HLS_HEADER = {
    "input_quant": "accel_io.h", "patch_embed": "gemm_engine.h", "linear": "gemm_engine.h",
    "attn_scores": "gemm_engine.h", "attn_context": "gemm_engine.h", "softmax": "e2softmax.h",
    "layernorm": "ailayernorm.h", "gelu": "eltwise.h", "requantize": "eltwise.h", "add": "eltwise.h",
}
# Ops the accelerator runs without an RTL unit (the image loader is HLS only).
NO_RTL_UNIT = {"input_quant"}


def registered(dispatcher, cls) -> bool:
    return dispatcher.dispatch(cls) is not dispatcher.dispatch(object)


@pytest.mark.parametrize("kind", sorted(ir.OP_TYPES))
def test_every_op_has_every_piece(kind):
    cls = ir.OP_TYPES[kind]
    assert issubclass(cls, ir.Op) and cls.__name__ in vars(ir), "IR class"
    assert hasattr(NumpySimulator, f"run_{kind}"), "numerics / golden model"
    assert registered(lower_op, cls), "integer lowering"
    assert registered(op_work, cls), "cost model workload"
    assert registered(unit_cycles, cls), "cost model cycles"
    assert registered(op_fields, cls), "HLS codegen (layer descriptor)"
    assert kind == "input_quant" or registered(op_bounds, cls), "interval analysis"
    assert registered(check_op, cls), "plan entry (what the template supports of it)"
    assert (hls_dir() / HLS_HEADER[kind]).is_file(), "C++ kernel header"
    unit = op_unit.dispatch(cls)(None)
    if kind in NO_RTL_UNIT:
        assert unit is None
    else:
        assert unit in UNIT_KINDS, "RTL unit"
        assert (rtl_dir() / f"{CORE[unit]}.v").is_file(), "Verilog unit"


def test_mac_counting_covers_the_matrix_ops():
    for cls in ir.MATMUL_OPS:
        assert registered(op_macs, cls)
