"""Boards are data: every board file loads, is complete and self-consistent."""

import pytest

from accelgen.board import RESOURCE_KINDS, board_names, load_board
from accelgen.errors import InputError

pytestmark = pytest.mark.unit


def test_all_target_boards_present():
    assert set(board_names()) >= {"zcu102", "zcu104", "kv260", "ultra96v2", "pynqz2"}


@pytest.mark.parametrize("name", board_names())
def test_board_file_is_complete(name):
    b = load_board(name)
    assert all(b.resources[k] >= 0 for k in RESOURCE_KINDS)
    assert b.resources["dsp"] > 0 and b.resources["lut"] > 0 and b.resources["bram36"] > 0
    assert b.ddr.peak_gbps > 0 and 0 < b.ddr.efficiency <= 1
    assert 0 < b.ddr_gbps(b.default_clock_mhz) <= b.ddr.peak_gbps
    assert {"resources", "ddr", "hp_ports", "default_clock_mhz"} <= set(b.sources)
    assert b.yosys_family in ("xcup", "xc7")


def test_zcu102_matches_reference_table():
    b = load_board("zcu102")
    assert b.part == "xczu9eg-ffvb1156-2-e"
    assert b.resources == {"dsp": 2520, "lut": 274080, "ff": 548160, "bram36": 912, "uram": 0}
    assert b.ddr.peak_gbps == pytest.approx(19.2)


def test_unknown_board_lists_known_ones():
    with pytest.raises(InputError, match="zcu102"):
        load_board("nope")
