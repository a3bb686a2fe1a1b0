"""Rule 7 of the architecture: every IR op has its numerics, lowering, bounds, cost, codegen and C++
(and RTL where it has one). Adding an op without one of them fails here."""

from __future__ import annotations

import pytest

from accelgen import ir
from accelgen.codegen.steps import op_fields
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
RTL_UNIT = {
    "patch_embed": "gemm_tile.v", "linear": "gemm_tile.v", "attn_scores": "gemm_tile.v",
    "attn_context": "gemm_tile.v", "softmax": "e2softmax.v", "layernorm": "ailayernorm.v", "gelu": "gelu_unit.v",
    "requantize": "eltwise_unit.v", "add": "eltwise_unit.v",
}


def registered(dispatcher, cls) -> bool:
    return dispatcher.dispatch(cls) is not dispatcher.dispatch(object)


@pytest.mark.parametrize("kind", sorted(ir.OP_TYPES))
def test_every_op_has_every_piece(kind):
    cls = ir.OP_TYPES[kind]
    assert hasattr(NumpySimulator, f"run_{kind}"), "numerics / golden model"
    assert registered(lower_op, cls), "integer lowering"
    assert registered(op_work, cls), "cost model workload"
    assert registered(unit_cycles, cls), "cost model cycles"
    assert registered(op_fields, cls), "HLS codegen (layer descriptor)"
    assert kind == "input_quant" or registered(op_bounds, cls), "interval analysis"
    assert (hls_dir() / HLS_HEADER[kind]).is_file(), "C++ kernel header"
    if kind in RTL_UNIT:
        assert (rtl_dir() / RTL_UNIT[kind]).is_file(), "Verilog unit"


def test_mac_counting_covers_the_matrix_ops():
    for cls in ir.MATMUL_OPS:
        assert registered(op_macs, cls)
