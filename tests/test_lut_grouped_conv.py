"""Grouped convolutions (hwsim/machine/kernels/lut/lut_grouped_conv.c, issue 12): the
grouped conv1d/conv2d kernel bit-exact with the lut library's numpy reference on random
shapes ('valid' and 'same' padding, strides, short groups), multiply-free; its layout; the
per-layer choice offering it, the code generator storing what the memory planner counts,
and `hwsim simulate` naming it per node."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hwsim.cost.lut_choice import lut_kernel_choices
from hwsim.cost.model import cost_graph
from hwsim.cost.options import CostOptions
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.int8_kernels import select_kernel
from hwsim.ir.layers import Conv2D
from hwsim.ir.lut_grouped_conv import (GroupedConvCall, conv_combined_indices, conv_geometry,
                                       padding_pixel)
from hwsim.ir.lut_kernels import lut_call_of_shape
from hwsim.machine.lut_bound import conv_workload
from hwsim.specs.catalog import find_device
from tests.conftest import run_cli

# the grouped firmware (one session fixture: the dense kernel's tests build it too)
from tests.test_lut_choice import assert_planned_as_generated
from tests.test_lut_grouped import TARGETS, grouped_firmwares, needs_compilers  # noqa: F401


@needs_compilers
@pytest.mark.parametrize("target", TARGETS)
def test_grouped_conv_bit_exact_on_random_shapes(grouped_firmwares, target):
    """conv2d and conv1d (height 1), 'valid' and 'same', strides 1 and 2, channels not a
    multiple of g (a short group per pixel), units not a multiple of the block, K = 4, 8,
    16 and g = 2, 3, 4, sums or levels out, the widest entries g allows."""
    from hwsim.machine.kernels.lut_grouped_harness import grouped_conv_case, run_grouped_case
    from hwsim.machine.kernels.lut_harness import random_case, reference_output
    rng = np.random.default_rng(17)
    configs = [(4, 4), (4, 2), (4, 3), (8, 2), (16, 2), (4, 4), (4, 2), (4, 3)]
    for i, (clusters, g) in enumerate(configs):
        h = 1 if i in (3, 6) else int(rng.integers(2, 8))
        w, c = int(rng.integers(2, 9)), int(rng.integers(g, 3 * g + 2))
        padding = ("valid", "same")[i % 2]
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        if padding == "valid":
            kh, kw = min(kh, h), min(kw, w)
        kh = 1 if h == 1 else kh
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        units = int(rng.integers(1, 12))
        shape = select_kernel("conv2d", (h, w, c), Conv2D(c, units, kh, kw, *stride, padding))
        call = lut_call_of_shape("conv", shape, 16, clusters, target, int(rng.integers(1, 5)),
                                 bool(i % 3))
        case = random_case(call, rng, levels=int(rng.integers(2, 17)), clusters=clusters)
        if i == len(configs) - 1:                       # the widest entries g allows
            limit = (1 << 16) // (2 * g) - 1
            case.table[:-1, :clusters] = rng.integers(-limit, limit + 1,
                                                      size=case.table[:-1, :clusters].shape)
        gc = grouped_conv_case(case, clusters, g)
        run = run_grouped_case(grouped_firmwares[target], gc)
        assert np.array_equal(run.output, reference_output(case)), gc.describe()


@needs_compilers
@pytest.mark.parametrize("target", TARGETS)
def test_grouped_conv_is_multiply_free(grouped_firmwares, target):
    from hwsim.machine.codegen.targets import find_target
    from hwsim.machine.disasm import prove
    from hwsim.machine.kernels.lut_grouped_harness import CONV_FUNCTION
    report = prove(grouped_firmwares[target].elf_path, find_target(target), "lut")
    kernel = {f.function: f for f in report.functions}
    for name in (CONV_FUNCTION, "hwsim_lut_grouped_lookup", "hwsim_lut_grouped_build"):
        assert kernel[name].clean, (name, kernel[name].multiplies)


def test_combined_indices_group_each_pixel():
    """C = 5, g = 2: per pixel two full groups and a short one of one channel."""
    w = np.arange(2 * 10).reshape(2, 10) % 4                  # 2 units, 2 pixels x 5 channels
    c = conv_combined_indices(w, 5, 2, 2)
    assert c.shape == (2, 6)
    assert c[0].tolist() == [0 + (1 << 2), 2 + (3 << 2), 0, 1 + (2 << 2), 3 + (0 << 2), 1]


def test_geometry_builds_each_row_once_into_a_ring():
    """Every output row's window rows are in the ring when it reads them, each input row
    is built once, and clipped taps are marked."""
    for stride, padding, k in [(1, "same", 3), (2, "same", 3), (3, "valid", 2), (1, "valid", 1),
                               (2, "same", 5)]:
        s = select_kernel("conv2d", (9, 7, 4), Conv2D(4, 3, k, k, stride, stride, padding))
        geo = conv_geometry(s, 64)
        ring: dict[int, int] = {}                             # slot -> input row held
        built = []
        for p in range(s.out_h):
            for row in range(geo.build_first[p], geo.build_end[p]):
                ring[geo.ring_row[row]] = row
                built.append(row)
            for r in range(s.kh):
                ih = p * s.stride_h - s.pad_top + r
                offset = geo.window_row[p * s.kh + r]
                assert (offset < 0) == (not 0 <= ih < s.in_h)
                if offset >= 0:
                    assert ring[offset] == ih, (stride, padding, p, r)
        assert built == sorted(set(built))                    # each row once, in order
        assert geo.clipped == (padding == "same" and k > 1)


def test_padding_pixel_holds_the_offsets():
    s = select_kernel("conv2d", (4, 4, 5), Conv2D(5, 2, 3, 3, 1, 1, "same"))
    call = GroupedConvCall(2, 2, s, False, 0)
    pad = padding_pixel(call, 100).reshape(3, 16)
    assert pad[0].tolist() == [200] * 16 and pad[2].tolist() == [100] * 16
    assert call.pad_bytes == 3 * 32 and call.groups == 27


def _conv(clusters=4, entry_bits=8, padding="same", shape=(10, 10, 8), filters=16):
    return graph_from_workload(conv_workload(shape, filters, 3, padding, 16, clusters,
                                             entry_bits))


def test_choice_offers_grouped_convolutions():
    g = _conv()
    choice = lut_kernel_choices(g, find_device("nrf52840"))["L0.conv2d"]
    kernels = [c.kernel for c in choice.candidates]
    assert kernels[0] == "conv_s8" and {"grouped_g2", "grouped_g3", "grouped_g4"} <= set(kernels)
    assert choice.kernel.startswith("grouped")
    assert choice.chosen.cycles == min(c.cycles for c in choice.candidates if c.fits)
    off = lut_kernel_choices(g, find_device("nrf52840"), CostOptions(lut_grouping="off"))
    assert off["L0.conv2d"].kernel == "conv_s8p2"          # packed codes: fewer cycles
    few = _conv(shape=(10, 10, 3))                            # g <= C only
    kernels = [c.kernel for c in lut_kernel_choices(few, find_device("nrf52840"))[
        "L0.conv2d"].candidates]
    assert "grouped_g4" not in kernels and "grouped_g3" in kernels


@pytest.mark.parametrize("device", ["samd21", "nrf52840", "esp32-c3"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_planner_counts_what_the_generated_conv_stores(device, padding):
    g = _conv(padding=padding)
    grouped = cost_graph(g, find_device(device), "lut").lut_grouped
    assert "L0.conv2d" in dict(grouped)
    program = assert_planned_as_generated(g, find_device(device), grouped)
    assert "lut_grouped_conv.c" in program.files


@needs_compilers
def test_validate_generated_grouped_convolutions(tmp_path):
    """A conv2d 'same' layer generated, grouped as chosen: bit-exact, multiply-free, and
    costed as emulated (esp32-c3: the fused search's taken steps are data dependent and
    costed at half the steps; this shape-only layer's outputs are all level 0, one cycle
    per output and sample apart: within 0.2%)."""
    from hwsim.machine.validate import validate_graph
    g = _conv(shape=(6, 7, 14), filters=9)
    x = np.random.default_rng(1).integers(0, 16, size=(2, 6, 7, 14))
    devices = [find_device(d) for d in ("samd21", "nrf52840", "esp32-c3")]
    for report in validate_graph(g, devices, "lut", x, workdir=tmp_path):
        assert report.bit_exact, report.mismatch
        assert report.machine_code.multiplies == report.machine_code.helper_calls == 0
        node = next(n for n in report.nodes if n.node == "L0.conv2d")
        assert node.kernel.startswith("grouped_g"), (report.device, node.kernel)
        tolerance = 2e-3 * node.emulated_cycles if report.device == "esp32-c3" else 0
        assert abs(node.estimated_cycles - node.emulated_cycles) <= tolerance, (report.device,
                                                                                node)


def test_simulate_shows_the_grouped_convolution(tmp_path):
    result = run_cli("simulate", "har-cnn", "--device", "nrf52840", "--clusters", "4",
                     "--json")
    assert result.returncode == 0, result.stderr
    kernels = {n["node"]: n["kernel"] for n in json.loads(result.stdout)["nodes"]}
    assert kernels["L2.conv1d"].startswith("grouped_g"), kernels


@needs_compilers
def test_docs_conv_table_is_what_the_benchmark_measures():
    """docs/lut-kernels.md "Grouped convolutions" holds what benchmarks/lut_grouped.py
    --conv prints, and its statements about the table hold."""
    from tests.conftest import REPO, load_benchmark
    bench = load_benchmark("lut_grouped")
    rows = bench.conv_table()
    doc = (REPO / "docs" / "lut-kernels.md").read_text()
    for row in rows:
        assert row in doc, row
    cells = {r.split("|")[1].strip(): [c.strip().rstrip("x") for c in r.strip("|").split("|")]
             for r in rows[2:]}
    gains = {d: float(c[6]) for d, c in cells.items()}
    low, high = min(gains, key=gains.get), max(gains, key=gains.get)
    assert f"{gains[low]:.2f}x\n({low}) to {gains[high]:.2f}x ({high})" in doc
    assert all(float(c[8]) > 1.0 for c in cells.values())            # faster than int8
    assert all(float(c[3]) > float(c[4]) > float(c[5]) for c in cells.values())
    chosen = {d: c[9].split(":")[0] for d, c in cells.items()}
    assert chosen == {"samd21": "conv_s8", "nrf52840": "grouped_g4", "stm32u575": "grouped_g4",
                      "esp32-c3": "grouped_g4"}, chosen
    for d, c in cells.items():
        emulated, estimated = (float(v) for v in c[9].split(":")[1].split(","))
        assert abs(emulated - estimated) <= 0.02, d


def test_docs_ring_figures_are_the_calls():
    """The scratch and samd21 figures the docs state of the benchmark's layer."""
    from tests.conftest import REPO, load_benchmark
    bench = load_benchmark("lut_grouped")
    s = select_kernel("conv2d", bench.CONV_SHAPE, Conv2D(bench.CONV_SHAPE[2], bench.CONV_FILTERS,
                                                        3, 3, 1, 1, "same"))
    scratch = [GroupedConvCall(2, g, s, True, 4).scratch_bytes for g in bench.CONV_GROUPS]
    doc = " ".join((REPO / "docs" / "lut-kernels.md").read_text().split())
    assert "g = 2, 3 and 4 need {:,}, {:,} and {:,} bytes".format(*scratch) in doc
    samd21 = find_device("samd21").memory
    budget = samd21.sram_bytes - samd21.reserved_sram_bytes
    levels = 16 * 16 * 16 + 16 * 16 * bench.CONV_FILTERS
    assert budget == 24 * 1024 and levels == 12 * 1024
    assert levels + scratch[0] - budget == 288 == 4 * GroupedConvCall(2, 2, s, True, 4).groups
    assert "misses the budget (by 288 bytes" in doc
