"""Layer descriptors: one row of 32-bit words per hardware step (hls/accel_desc.h).

FIELDS mirrors the ``DescField`` enum of hls/accel_desc.h word for word (a test compares the two);
``encode`` turns a {field: value} mapping into the row the host writes into the s_axilite register file.
"""

from __future__ import annotations

from collections.abc import Mapping

FIELDS = (
    "D_KIND", "D_ROWS", "D_COLS",
    "D_OUT_MEM", "D_OUT_BASE", "D_OUT_STRIDE", "D_OUT_ROW0", "D_OUT_COL0", "D_OUT_HROW", "D_OUT_HCOL",
    "D_TO_OUTPUT", "D_CLAMP", "D_QMIN", "D_QMAX",
    "D_IN_MEM", "D_IN_BASE", "D_IN_STRIDE", "D_IN_ROW0", "D_IN_COL0", "D_IN_HROW", "D_IN_HCOL",
    "D_K",
    "D_W_MEM", "D_W_BASE", "D_W_STRIDE", "D_W_COL0", "D_W_HCOL",
    "D_HEADS",
    "D_RES", "D_RES_MEM", "D_RES_BASE", "D_RES_STRIDE",
    "D_MULT", "D_SHIFT", "D_RES_MULT", "D_BIAS_LO", "D_BIAS_HI",
    "D_PARAM_OFF", "D_PARAM_WORDS",
    "D_FIXED_ROWS", "D_POT_ROWS", "D_WBITS", "D_BIAS_ROWS", "D_SLOTS",
    "D_GELU", "D_GELU_MIN",
    "D_PREFIX_ROWS", "D_PREFIX_OFF",
    "D_IMG_C", "D_IMG_H", "D_IMG_W", "D_PATCH",
    "D_SM_IN_FRAC", "D_SM_OUT_FRAC", "D_SM_OUT_MAX",
    "D_LN_EPS_LO", "D_LN_EPS_HI", "D_LN_SHIFT",
    "D_DUMP", "D_DUMP_OFF", "D_DUMP_ROWS", "D_DUMP_COLS",
)
DESC_WORDS = len(FIELDS)
INDEX = {name: i for i, name in enumerate(FIELDS)}

# Step kinds (enum StepKind of hls/accel_desc.h).
KINDS = {"K_INPUT": 1, "K_GEMM": 2, "K_QK": 3, "K_AV": 4, "K_SOFTMAX": 5, "K_LAYERNORM": 6, "K_GELU": 7,
         "K_REQUANT": 8, "K_ADD": 9}

INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1


def to_int32(value: int) -> int:
    """The two's-complement int32 holding the low 32 bits of ``value``."""
    v = int(value) & 0xFFFFFFFF
    return v - 2 ** 32 if v >= 2 ** 31 else v


def split64(value: int) -> tuple[int, int]:
    """(low, high) 32-bit words of a signed 64-bit value, each as an int32."""
    value = int(value)
    if not -(2 ** 63) <= value < 2 ** 63:
        raise ValueError(f"{value} does not fit in 64 bits")
    return to_int32(value), to_int32(value >> 32)


def encode(fields: Mapping[str, int]) -> tuple[int, ...]:
    """One descriptor row; unnamed fields are 0. Every value must fit a signed 32-bit word."""
    row = [0] * DESC_WORDS
    for name, value in fields.items():
        value = int(value)
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValueError(f"descriptor field {name} = {value} does not fit in 32 bits")
        row[INDEX[name]] = value
    return tuple(row)


def decode(row) -> dict[str, int]:
    return {name: int(v) for name, v in zip(FIELDS, row)}
