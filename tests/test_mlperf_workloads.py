"""The MLPerf Tiny reference models as shape-only workloads reproduce the int8 TFLite
models exactly: parameters (int8 weights + int32 biases, batch-norm folded), MACs
(conv/depthwise/fully-connected only) and every layer's output shape.

The numbers are those of the shared reference notes (read from the .tflite files of
github.com/mlcommons/tiny); see docs/mlperf-workloads.md.
"""
from __future__ import annotations

import time
from functools import lru_cache

import pytest

from hwsim.ir.graph import execution_order, graph_from_workload, totals
from hwsim.ir import layers as L
from hwsim.specs.workload import load_workload
from tests.conftest import REPO

# name -> (int8 weights, int32 biases, total params, MACs)
TOTALS = {
    "kws-dscnn": (22_016, 588, 22_604, 2_656_768),
    "vww-mobilenet": (208_112, 2_738, 210_850, 7_489_664),
    "ic-resnet8": (77_360, 346, 77_706, 12_501_632),
    "ad-autoencoder": (264_192, 1_672, 265_864, 264_192),
    "sww-dscnn": (46_040, 843, 46_883, 826_368),
}
NAMES = sorted(TOTALS)

# The reference tables' weighted ops in TFLite order: (output shape without the batch,
# weight count = product of the TFLite weight shape, MACs).


def _mobilenet() -> list[tuple[tuple[int, ...], int, int]]:
    rows = [((48, 48, 8), 8 * 3 * 3 * 3, 497_664)]
    blocks = [  # (output h, in channels, out channels, dw MACs, pw MACs)
        (48, 8, 16, 165_888, 294_912), (24, 16, 32, 82_944, 294_912),
        (24, 32, 32, 165_888, 589_824), (12, 32, 64, 41_472, 294_912),
        (12, 64, 64, 82_944, 589_824), (6, 64, 128, 20_736, 294_912),
        *[(6, 128, 128, 41_472, 589_824)] * 5,
        (3, 128, 256, 10_368, 294_912), (3, 256, 256, 20_736, 589_824)]
    for h, cin, cout, dw_macs, pw_macs in blocks:
        rows.append(((h, h, cin), 9 * cin, dw_macs))
        rows.append(((h, h, cout), cin * cout, pw_macs))
    rows.append(((2,), 2 * 256, 512))
    return rows


WEIGHTED = {
    "kws-dscnn": [((25, 5, 64), 64 * 10 * 4, 320_000),
                  *[((25, 5, 64), 9 * 64, 72_000), ((25, 5, 64), 64 * 64, 512_000)] * 4,
                  ((12,), 12 * 64, 768)],
    "vww-mobilenet": _mobilenet(),
    # TFLite order: conv0, then per stack conv1, conv2, (shortcut conv), add
    "ic-resnet8": [((32, 32, 16), 16 * 27, 442_368),
                   ((32, 32, 16), 16 * 144, 2_359_296), ((32, 32, 16), 16 * 144, 2_359_296),
                   ((16, 16, 32), 32 * 144, 1_179_648), ((16, 16, 32), 32 * 288, 2_359_296),
                   ((16, 16, 32), 32 * 16, 131_072),
                   ((8, 8, 64), 64 * 288, 1_179_648), ((8, 8, 64), 64 * 576, 2_359_296),
                   ((8, 8, 64), 64 * 32, 131_072),
                   ((10,), 10 * 64, 640)],
    "ad-autoencoder": [((128,), 128 * 640, 81_920), *[((128,), 128 * 128, 16_384)] * 3,
                       ((8,), 8 * 128, 1_024), ((128,), 128 * 8, 1_024),
                       *[((128,), 128 * 128, 16_384)] * 3, ((640,), 640 * 128, 81_920)],
    "sww-dscnn": [((28, 1, 40), 3 * 40, 3_360), ((28, 1, 128), 128 * 40, 143_360),
                  ((24, 1, 128), 5 * 128, 15_360), ((24, 1, 128), 128 * 128, 393_216),
                  ((15, 1, 128), 10 * 128, 19_200), ((15, 1, 128), 128 * 128, 245_760),
                  ((1, 1, 128), 15 * 128, 1_920), ((1, 1, 32), 32 * 128, 4_096),
                  ((3,), 3 * 32, 96)],
}

# Unweighted ops of the reference tables: (layer name, output shape).
OTHERS = {
    "kws-dscnn": [("pool", (1, 1, 64))],
    "vww-mobilenet": [("pool", (1, 1, 256))],
    "ic-resnet8": [("b1.add", (32, 32, 16)), ("b2.add", (16, 16, 32)), ("b3.add", (8, 8, 64)),
                   ("pool", (1, 1, 64))],
    "ad-autoencoder": [],
    "sww-dscnn": [],
}

INPUTS = {"kws-dscnn": (49, 10, 1), "vww-mobilenet": (96, 96, 3), "ic-resnet8": (32, 32, 3),
          "ad-autoencoder": (640,), "sww-dscnn": (30, 1, 40)}


@lru_cache(maxsize=None)
def _built(name: str):
    workload = load_workload(name)
    start = time.perf_counter()
    graph = graph_from_workload(workload)
    return workload, graph, time.perf_counter() - start


def test_reference_tables_are_self_consistent():
    for name, (weights, biases, params, macs) in TOTALS.items():
        assert weights + biases == params, name
        assert sum(w for _, w, _ in WEIGHTED[name]) == weights, name
        assert sum(m for _, _, m in WEIGHTED[name]) == macs, name


@pytest.mark.parametrize("name", NAMES)
def test_loads_as_shape_only(name):
    w = load_workload(name)
    assert w.name == name
    assert w.dataset is None                      # dataset: none
    assert w.input_shape == INPUTS[name]
    assert w.input_levels == 256
    assert w.task == ("autoencoder" if name == "ad-autoencoder" else "classification")
    assert w.discretization.is_discrete
    assert 0 < w.realtime.deadline_ms <= w.realtime.frame_period_ms


@pytest.mark.parametrize("name", NAMES)
def test_graph_builds_quickly(name):
    _, graph, seconds = _built(name)
    assert graph.graph["source"] == "random"
    assert seconds < 3.0, f"{name}: graph_from_workload took {seconds:.2f} s"


@pytest.mark.parametrize("name", NAMES)
def test_totals_equal_the_reference(name):
    weights, biases, params, macs = TOTALS[name]
    _, graph, _ = _built(name)
    assert totals(graph) == {"params": params, "weights": weights, "biases": biases,
                             "connections": macs}


@pytest.mark.parametrize("name", NAMES)
def test_layer_sums_equal_the_reference(name):
    """The same totals from the layer configs (num_params, macs), without a graph."""
    weights, biases, params, macs = TOTALS[name]
    w = load_workload(name)
    ins = [w.input_shape if s[0] < 0 else w.shapes[s[0]] for s in w.inputs]
    assert sum(L.num_params(layer) for layer in w.layers) == params
    assert sum(layer.macs(shape) for layer, shape in zip(w.layers, ins)) == macs


@pytest.mark.parametrize("name", NAMES)
def test_every_weighted_layer_matches_its_tflite_op(name):
    _, graph, _ = _built(name)
    lut = [graph.nodes[n]["op"] for n in execution_order(graph) if graph.nodes[n]["op"].weighted]
    got = [(a.output_shape, a.weights, a.connections) for a in lut]
    assert got == WEIGHTED[name]
    # one int32 bias per output channel
    assert [a.biases for a in lut] == [shape[-1] for shape, _, _ in WEIGHTED[name]]


@pytest.mark.parametrize("name", NAMES)
def test_pools_and_adds_match_the_reference_shapes(name):
    w = load_workload(name)
    shapes = dict(zip(w.names, w.shapes))
    for layer_name, shape in OTHERS[name]:
        assert shapes[layer_name] == shape, layer_name
    assert w.output_shape == WEIGHTED[name][-1][0]


def test_kws_first_conv_is_10x4_stride_2_same():
    w = load_workload("kws-dscnn")
    first = w.layers[0]
    assert isinstance(first, L.Conv2D)
    assert (first.kernel_h, first.kernel_w, first.stride_h, first.stride_w, first.padding) == (
        10, 4, 2, 2, "same")
    assert w.shapes[0] == (25, 5, 64)       # ceil(49 / 2) x ceil(10 / 2)


def test_vww_stride_2_depthwise_layers_halve_the_map():
    w = load_workload("vww-mobilenet")
    strided = [(i, s) for i, (layer, s) in enumerate(zip(w.layers, w.shapes))
               if isinstance(layer, L.DepthwiseConv2D) and layer.stride_h == 2]
    assert [s[:2] for _, s in strided] == [(24, 24), (12, 12), (6, 6), (3, 3)]


def test_sww_is_1d_over_time():
    w = load_workload("sww-dscnn")
    for layer, shape in zip(w.layers, w.shapes):
        if isinstance(layer, (L.Conv2D, L.DepthwiseConv2D)):
            assert layer.kernel_w == 1 and shape[1] == 1 and layer.padding == "valid"


def test_resnet8_has_three_residual_adds():
    w, graph, _ = _built("ic-resnet8")
    assert not w.is_chain
    adds = [n for n, a in graph.nodes(data="op") if a.kind == "add"]
    assert len(adds) == 3
    preds = {n: sorted(graph.predecessors(n)) for n in adds}
    names = {f"L{i}": n for i, n in enumerate(w.names)}
    by_name = {names[n.split(".")[0]]: sorted(names[p.split(".")[0]] for p in ps)
               for n, ps in preds.items()}
    assert by_name == {"b1.add": ["b1.conv2", "conv0"],          # identity shortcut
                       "b2.add": ["b2.conv2", "b2.short"],       # 1x1 stride-2 shortcuts
                       "b3.add": ["b3.conv2", "b3.short"]}
    # the convolutions feeding an add are not activated; the adds are (the fused ReLU)
    for n in adds:
        succ = list(graph.successors(n))
        assert [graph.nodes[s]["op"].kind for s in succ] == ["threshold"]
        for p in graph.predecessors(n):
            if graph.nodes[p]["op"].kind == "conv2d":
                assert graph.edges[p, n]["kind"] == "sums"
    # the block input feeds both the residual branch and the shortcut
    for block_input, users in (("L3.threshold", {"L4.conv2d", "L6.conv2d"}),
                               ("L7.threshold", {"L8.conv2d", "L10.conv2d"})):
        assert set(graph.successors(block_input)) == users


def test_doc_reports_the_reference_numbers():
    doc = (REPO / "docs" / "mlperf-workloads.md").read_text()
    for name, (weights, biases, params, macs) in TOTALS.items():
        assert f"`{name}`" in doc
        for value in (weights, biases, params, macs):
            assert f"{value:,}" in doc, (name, value)
    for name in NAMES:
        w = load_workload(name)
        assert f"{w.realtime.frame_period_ms:g} ms" in doc, name
