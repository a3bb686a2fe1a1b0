"""The threaded DATAFLOW C-simulation (hls/dataflow_sim.h): a region's processes run on threads over FIFOs of
the depths the STREAM pragmas declare, so a producer that writes more than a FIFO holds before its consumer
reads it, or a FIFO declared too small, deadlocks here as it would on the board -- while the sequential
C-sim (Vitis's, unbounded streams) passes it. The generated headers give every stream the depth of its
pragma, and a deadlock in a generated project reaches the user as one clear error."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from accelgen.build_dir import load_build
from accelgen.codegen.hls_project import write_hls_project
from accelgen.errors import VerificationError
from accelgen.model_source import default_model_data, default_model_path
from accelgen.resources import hls_dir
from accelgen.sim.csim import OPTIMIZE, THREAD_SANITIZE, THREADED, compile_program, run_csim
from csim_helpers import make_build

pytestmark = pytest.mark.csim

# A producer writes n items into `first`, then n into `second`; the consumer reads them in the given order
# and prints a weighted sum. Both FIFOs have the pragma depth DEPTH (or, for `plain`, no pragma: Vitis's 2).
KERNEL = r"""
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dataflow_sim.h"

void produce(accel::stream<int>& first, accel::stream<int>& second, int n) {
    for (int i = 0; i < n; ++i) first.write(i + 1);
    for (int i = 0; i < n; ++i) second.write(100 * (i + 1));
}

void consume(accel::stream<int>& first, accel::stream<int>& second, int n, int take, bool second_first,
             long& sum) {
    long s = 0;
    for (int pass = 0; pass < 2; ++pass) {
        accel::stream<int>& s_in = (pass == 0) == second_first ? second : first;
        for (int i = 0; i < (pass == 0 ? n : take); ++i) s += (pass + 1) * s_in.read();
    }
    sum = s;
}

template <int DEPTH>
void pair(int n, int take, bool second_first, long& sum) {
#pragma HLS DATAFLOW
    accel::stream<int> first(ACCEL_FIFO("first", DEPTH));
    accel::stream<int> second(ACCEL_FIFO("second", DEPTH));
#pragma HLS STREAM variable = first depth = DEPTH
#pragma HLS STREAM variable = second depth = DEPTH
    ACCEL_DATAFLOW("pair")
    ACCEL_PROCESS(produce(first, second, n));
    ACCEL_PROCESS(consume(first, second, n, take, second_first, sum));
    ACCEL_DATAFLOW_END()
}

// Both processes update `sum` directly, before their stream orders them: a data race.
void bump_and_write(accel::stream<int>& s, long& sum) {
    sum += 1;
    s.write(1);
}

void bump_and_read(accel::stream<int>& s, long& sum) {
    sum += 2;
    s.read();
}

void racing(long& sum) {
#pragma HLS DATAFLOW
    accel::stream<int> s("s");
    ACCEL_DATAFLOW("racing")
    ACCEL_PROCESS(bump_and_write(s, sum));
    ACCEL_PROCESS(bump_and_read(s, sum));
    ACCEL_DATAFLOW_END()
}

void plain(int n, long& sum) {
#pragma HLS DATAFLOW
    accel::stream<int> first("first");
    accel::stream<int> second("second");
    ACCEL_DATAFLOW("plain")
    ACCEL_PROCESS(produce(first, second, n));
    ACCEL_PROCESS(consume(first, second, n, n, true, sum));
    ACCEL_DATAFLOW_END()
}

int main(int argc, char** argv) {
    const int depth = std::atoi(argv[2]), n = std::atoi(argv[3]);
    const int take = argc > 4 ? std::atoi(argv[4]) : n;
    const bool second_first = std::strcmp(argv[1], "swapped") == 0;
    long sum = 0;
    if (std::strcmp(argv[1], "plain") == 0) {
        plain(n, sum);
    } else if (std::strcmp(argv[1], "racing") == 0) {
        racing(sum);
    } else if (depth == 4) {
        pair<4>(n, take, second_first, sum);
    } else if (depth == 3) {
        pair<3>(n, take, second_first, sum);
    } else {
        return 2;
    }
    std::printf("sum %ld\n", sum);
    return 0;
}
"""


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """The kernel built threaded (the default C-sim), sequential (Vitis's C-sim semantics) and threaded under
    ThreadSanitizer."""
    folder = tmp_path_factory.mktemp("dataflow_kernel")
    (folder / "kernel.cpp").write_text(KERNEL)
    threaded = compile_program([folder / "kernel.cpp"], [hls_dir()], folder / "threaded", OPTIMIZE + THREADED)
    sequential = compile_program([folder / "kernel.cpp"], [hls_dir()], folder / "sequential", OPTIMIZE)
    tsan = compile_program([folder / "kernel.cpp"], [hls_dir()], folder / "tsan", THREAD_SANITIZE + THREADED)
    return {"threaded": threaded, "sequential": sequential, "tsan": tsan}


def run(binary, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary.binary), *map(str, args)], capture_output=True, text=True, timeout=60)


def want_sum(n: int, take: int, second_first: bool) -> int:
    """The consumer's sum from the producer's values (first: 1..n, second: 100..100n): the stream it reads
    first counts once over n items, the other twice over its first `take` items."""
    first, second = [i + 1 for i in range(n)], [100 * (i + 1) for i in range(n)]
    one, two = (second, first) if second_first else (first, second)
    return sum(one) + 2 * sum(two[:take])


def failure(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stdout
    m = re.search(r"dataflow region .*", proc.stderr)
    assert m, proc.stderr
    return m.group(0)


def test_consumer_reading_in_the_opposite_order_deadlocks(kernels):
    """The producer writes 8 items into a FIFO of depth 4 before the consumer, waiting on the other FIFO,
    reads any: a deadlock in hardware, and here; the sequential C-sim passes it; read in the producer's order
    it passes."""
    msg = failure(run(kernels["threaded"], "swapped", 4, 8))
    assert msg == ("dataflow region 'pair' deadlocked: produce(first, second, n) waits to write full stream "
                   "'first' (depth 4); consume(first, second, n, take, second_first, sum) waits to read empty "
                   "stream 'second' (depth 4); finished: none")
    assert run(kernels["sequential"], "swapped", 4, 8).stdout == f"sum {want_sum(8, 8, True)}\n"
    assert run(kernels["threaded"], "straight", 4, 8).stdout == f"sum {want_sum(8, 8, False)}\n"


def test_a_pair_of_the_declared_depth_passes_and_one_item_less_deadlocks(kernels):
    """Swapped reads need the first FIFO to hold all n items: depth 4 holds 4 (passes, the right sum);
    depth 3 is one too small."""
    assert run(kernels["threaded"], "swapped", 4, 4).stdout == f"sum {want_sum(4, 4, True)}\n"
    msg = failure(run(kernels["threaded"], "swapped", 3, 4))
    assert "waits to write full stream 'first' (depth 3)" in msg and "'second' (depth 3)" in msg


def test_a_stream_without_a_depth_pragma_has_vitis_default_depth_two(kernels):
    assert run(kernels["threaded"], "plain", 0, 2).stdout == f"sum {want_sum(2, 2, True)}\n"
    assert "write full stream 'first' (depth 2)" in failure(run(kernels["threaded"], "plain", 0, 3))


def test_data_left_in_a_stream_fails_the_region(kernels):
    """The consumer takes 2 of the 4 items of `first`: on the board the next call would read the other 2."""
    msg = failure(run(kernels["threaded"], "straight", 4, 4, 2))
    assert msg == "dataflow region 'pair' ended with data left in its streams: 'second' (2 items)"


def test_a_consumer_finishing_early_leaves_its_producer_blocked(kernels):
    """With more items than the FIFO holds left unread, the producer waits on a full FIFO nobody reads."""
    msg = failure(run(kernels["threaded"], "straight", 4, 8, 2))
    assert msg == ("dataflow region 'pair' deadlocked: produce(first, second, n) waits to write full stream "
                   "'second' (depth 4); finished: consume(first, second, n, take, second_first, sum)")


def test_processes_sharing_memory_outside_their_streams_are_a_data_race(kernels):
    """ThreadSanitizer sees the threaded regions: two processes updating one variable fail; the stream-only
    pair is clean and exact."""
    proc = run(kernels["tsan"], "racing", 0, 0)
    assert proc.returncode != 0 and "ThreadSanitizer: data race" in proc.stderr
    assert run(kernels["tsan"], "swapped", 4, 4).stdout == f"sum {want_sum(4, 4, True)}\n"


STREAM_DECL = re.compile(r"stream<.*?> (\w+)\((?:ACCEL_FIFO\(\"[^\"]*\", (?P<depth>[^)]+)\)|\"[^\"]*\")\);")
STREAM_PRAGMA = re.compile(r"#pragma HLS STREAM variable = (\w+) depth = (\S+)")


def test_every_stream_has_the_depth_of_its_pragma():
    """One truth: in every DATAFLOW region of the kernel headers, each stream's C-sim depth (ACCEL_FIFO) is
    the text of its STREAM pragma's depth, and every region runs through ACCEL_DATAFLOW."""
    regions = 0
    for header in sorted(hls_dir().glob("*.h")):
        text = header.read_text()
        if header.name == "dataflow_sim.h":
            continue
        bodies = re.findall(r"#pragma HLS DATAFLOW\n(.*?)ACCEL_DATAFLOW_END\(\)", text, re.S)
        assert len(bodies) == text.count("#pragma HLS DATAFLOW"), header.name
        for body in bodies:
            declared = {m.group(1): m.group("depth") for m in STREAM_DECL.finditer(body)}
            pragmas = dict(STREAM_PRAGMA.findall(body))
            assert declared and all(declared.values()), (header.name, body)
            assert declared == pragmas, header.name
            assert body.count("ACCEL_DATAFLOW(") == 1 and "ACCEL_PROCESS(" in body
            regions += 1
    assert regions == 4  # fields, image, class token, GEMM


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A build folder of the default model with its HLS project."""
    from accelgen.design import Engine

    root = tmp_path_factory.mktemp("dataflow_project")
    folder = make_build(root / "b", default_model_path(), Engine(tm=8, tn_fixed=8, tn_pot=4, dsp_packing=True), 8,
                        0.5, "zcu102")
    write_hls_project(load_build(folder), folder / "hls")
    return folder


def test_generated_processes_share_no_memory_outside_their_streams(project, tmp_path):
    """ThreadSanitizer over the threaded C-sim of a generated project: no data race between the processes
    of any region (what Vitis would make a channel, or reject), and the logits still exact."""
    result = run_csim(load_build(project), default_model_data().images[:2], flags=THREAD_SANITIZE,
                      binary=tmp_path / "tsan")
    assert result.ok


def test_a_deadlocked_generated_project_fails_csim_with_the_region(project, tmp_path):
    """The image burst writes one word fewer than its placer reads: the threaded C-sim of the generated
    project stops with a VerificationError naming the region, the waiting placer and its empty stream."""
    folder = tmp_path / "bad"
    shutil.copytree(project, folder, ignore=shutil.ignore_patterns("csim"))
    build = load_build(folder)
    common = folder / "hls" / "accel_common.h"
    text = common.read_text()
    assert text.count("for (int i = 0; i < words; ++i) {") == 1
    common.write_text(text.replace("for (int i = 0; i < words; ++i) {", "for (int i = 1; i < words; ++i) {"))
    with pytest.raises(VerificationError) as err:
        run_csim(build, default_model_data().images[:1], binary=tmp_path / "tb_bad")
    assert str(err.value).startswith("C-sim: dataflow region 'load_image' deadlocked: image_placer<C>(image_words, "
                                     "mem, out, beats, height, width, patch) waits to read empty stream "
                                     "'image_words' (depth 64); finished: burst_words<C::WORD_BITS>(")
