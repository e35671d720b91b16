"""The simpy schedule: tiny hand-built graphs, hand-picked cycles, whole timelines.

Devices run at 1 MHz here, so 1 ms = 1000 cycles. Events are compared as tuples
(frame, node, kind, core, start_cycle, end_cycle).
"""
from __future__ import annotations

import csv
import json
from dataclasses import replace

import networkx as nx
import pytest

from hwsim.schedule.frames import FrameTimeline
from hwsim.ir.ops import ShapeOp
from hwsim.specs.device import Battery, Dma, Energy, device_from_data
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.schedule.scheduler import (ScheduleOptions, copy_cycles_per_byte, make_plan, schedule_frames,
                            timeline_rows, write_timeline)
from hwsim.schedule.model import FirmwareLoad, run
from hwsim.specs.workload import Realtime, load_workload


@pytest.fixture
def device(device_data):
    """A one-core 1 MHz device: 150 pJ per active cycle, 6 uW asleep, a 100 mAh 3 V
    battery, no DMA, a 1-cycle-per-byte core copy (load 2 + store 2 per 4-byte word)."""
    base = device_from_data(device_data)
    return replace(base, core=replace(base.core, clock_hz=1_000_000, count=1, word_bits=32),
                   cycles={**base.cycles, "load_32": 2, "store_32": 2},
                   memory=replace(base.memory, flash_load_extra_cycles=0),
                   dma=Dma(present=False, bytes_per_cycle=None),
                   energy=Energy(supply_v=3.0, active_ua_per_mhz=50, sleep_ua=2),
                   battery=Battery(kind="test cell", capacity_mah=100, voltage_v=3.0))


def with_dma(device, bytes_per_cycle=1):
    return replace(device, dma=Dma(present=True, bytes_per_cycle=bytes_per_cycle))


def graph(*edges, nodes=()):
    """A DiGraph whose execution order is the order nodes are first named."""
    g = nx.DiGraph(name="tiny")
    for n in [*nodes, *(n for edge in edges for n in edge)]:
        if n not in g:
            g.add_node(n, op=ShapeOp(kind="flatten", order=len(g), output_shape=(1,), outputs=1,
                                     levels=None))
    g.add_edges_from(edges)
    return g


CHAIN = graph(("input", "a"), ("a", "b"))
DIAMOND = graph(("input", "a"), ("input", "b"), ("a", "c"), ("b", "c"))


def timeline(result):
    return [(e.frame, e.node, e.kind, e.core, e.start_cycle, e.end_cycle) for e in result.events]


def every_ms(period_ms, deadline_ms=None):
    return Realtime(frame_period_ms=period_ms, deadline_ms=deadline_ms or period_ms)


def test_chain_on_one_core(device):
    result = schedule_frames(CHAIN, device, every_ms(1), {"input": 0, "a": 30, "b": 20},
                      options=ScheduleOptions(frames=2))
    assert timeline(result) == [
        (0, "input", "compute", 0, 0, 0), (0, "a", "compute", 0, 0, 30),
        (0, "b", "compute", 0, 30, 50),
        (1, "input", "compute", 0, 1000, 1000), (1, "a", "compute", 0, 1000, 1030),
        (1, "b", "compute", 0, 1030, 1050)]
    assert result.latency_cycles == (50, 50)
    assert result.latency_ms == (0.05, 0.05)
    assert result.deadline_misses == 0
    assert result.simulated_cycles == 2000
    assert result.busy_cycles == (100,)
    assert result.utilisation == (0.05,)


def test_diamond_branches_run_in_parallel_on_two_cores(device):
    result = schedule_frames(DIAMOND, device, every_ms(1), {"input": 0, "a": 30, "b": 50, "c": 10},
                      options=ScheduleOptions(frames=1, cores=2))
    assert timeline(result) == [
        (0, "input", "compute", 0, 0, 0), (0, "a", "compute", 0, 0, 30),
        (0, "b", "compute", 1, 0, 50), (0, "c", "compute", 0, 50, 60)]
    assert result.latency_cycles == (60,)
    assert result.busy_cycles == (40, 50)
    assert result.awake_cycles == 60
    assert result.warnings == ("options.cores 2 exceeds the device's 1 core(s): a what-if",)


def test_diamond_is_serialised_on_one_core(device):
    result = schedule_frames(DIAMOND, device, every_ms(1), {"input": 0, "a": 30, "b": 50, "c": 10},
                      options=ScheduleOptions(frames=1))
    assert timeline(result) == [
        (0, "input", "compute", 0, 0, 0), (0, "a", "compute", 0, 0, 30),
        (0, "b", "compute", 0, 30, 80), (0, "c", "compute", 0, 80, 90)]


def test_a_free_core_takes_the_earliest_ready_node_in_execution_order(device):
    # b is queued when a ends; a2 becomes ready at that instant and comes first.
    g = graph(("input", "a"), ("a", "a2"), ("input", "b"))
    result = schedule_frames(g, device, every_ms(1), {"input": 0, "a": 10, "a2": 10, "b": 10},
                      options=ScheduleOptions(frames=1))
    assert timeline(result) == [
        (0, "input", "compute", 0, 0, 0), (0, "a", "compute", 0, 0, 10),
        (0, "a2", "compute", 0, 10, 20), (0, "b", "compute", 0, 20, 30)]


def test_frames_faster_than_processing_queue_and_miss_deadlines(device):
    result = schedule_frames(CHAIN, device, every_ms(0.3, 0.4), {"input": 0, "a": 250, "b": 100},
                      options=ScheduleOptions(frames=3))
    assert [e for e in timeline(result) if e[1] != "input"] == [
        (0, "a", "compute", 0, 0, 250), (0, "b", "compute", 0, 250, 350),
        (1, "a", "compute", 0, 350, 600), (1, "b", "compute", 0, 600, 700),
        (2, "a", "compute", 0, 700, 950), (2, "b", "compute", 0, 950, 1050)]
    assert [(f.arrival_cycle, f.start_cycle, f.end_cycle) for f in result.frame_records] == [
        (0, 0, 350), (300, 350, 700), (600, 700, 1050)]
    assert result.latency_cycles == (350, 400, 450)
    assert result.deadline_cycles == 400
    assert result.late_frames == (2,)
    assert result.deadline_misses == 1
    assert result.simulated_cycles == 1050          # past frames x period (900)


def test_dropping_frames_that_arrive_while_busy(device):
    result = schedule_frames(CHAIN, device, every_ms(0.3, 0.4), {"input": 0, "a": 250, "b": 100},
                      options=ScheduleOptions(frames=3, drop_frames_when_busy=True))
    assert [e for e in timeline(result) if e[1] != "input"] == [
        (0, "a", "compute", 0, 0, 250), (0, "b", "compute", 0, 250, 350),
        (2, "a", "compute", 0, 600, 850), (2, "b", "compute", 0, 850, 950)]
    assert result.dropped_frames == (1,)
    assert result.latency_cycles == (350, 350)
    assert result.deadline_misses == 1
    assert result.frame_records[1].latency_cycles is None


def test_firmware_takes_the_start_of_every_slice(device):
    # 1 ms slices (1000 cycles), 25% firmware: the network runs 250..1000 of each.
    result = schedule_frames(CHAIN, device, every_ms(10), {"input": 0, "a": 1500, "b": 100},
                      options=ScheduleOptions(frames=2, firmware_share=0.25))
    assert result.firmware_slice_cycles == 1000
    assert result.firmware_cycles_per_slice == 250
    assert timeline(result) == [
        (0, "input", "compute", 0, 0, 0), (0, "a", "compute", 0, 250, 2000),
        (0, "b", "compute", 0, 2250, 2350),
        (1, "input", "compute", 0, 10000, 10000), (1, "a", "compute", 0, 10250, 12000),
        (1, "b", "compute", 0, 12250, 12350)]
    assert result.latency_cycles == (2350, 2350)        # 1600 cycles of work alone
    assert result.busy_cycles == (3200,)                 # the network's own cycles only


@pytest.mark.parametrize("start,work,end", [
    (0, 0, 0), (0, 1, 251), (0, 750, 1000), (0, 751, 1251), (0, 1500, 2000),
    (600, 400, 1000), (600, 401, 1251), (100, 2250, 3000), (999, 1, 1000), (1000, 1, 1251)])
def test_firmware_finish_times(start, work, end):
    assert FirmwareLoad(slice_cycles=1000, busy_cycles=250).finish(start, work) == end


def test_dma_moves_the_next_nodes_data_while_the_current_node_computes(device):
    cycles = {"input": 0, "a": 100, "b": 100}
    result = schedule_frames(CHAIN, with_dma(device), every_ms(1), cycles, node_dma_bytes={"b": 40},
                      options=ScheduleOptions(frames=1))
    assert timeline(result) == [
        (0, "input", "compute", 0, 0, 0), (0, "b", "dma", None, 0, 40),
        (0, "a", "compute", 0, 0, 100), (0, "b", "compute", 0, 100, 200)]
    assert result.latency_cycles == (200,)


def test_without_dma_the_core_copies_before_computing(device):
    assert copy_cycles_per_byte(device) == 1            # (2 + 0 + 2) cycles per 4 bytes
    cycles = {"input": 0, "a": 100, "b": 100}
    for options in (ScheduleOptions(frames=1), ScheduleOptions(frames=1, use_dma=False)):
        chip = device if options.use_dma else with_dma(device)
        result = schedule_frames(CHAIN, chip, every_ms(1), cycles, node_dma_bytes={"b": 40},
                          options=options)
        assert timeline(result) == [
            (0, "input", "compute", 0, 0, 0), (0, "a", "compute", 0, 0, 100),
            (0, "b", "copy", 0, 100, 140), (0, "b", "compute", 0, 140, 240)]
        assert result.busy_cycles == (240,)


def test_dma_buffers_limit_how_far_transfers_run_ahead(device):
    cycles = {"input": 0, "a": 100, "b": 100}
    double = schedule_frames(CHAIN, with_dma(device), every_ms(1), cycles,
                      node_dma_bytes={"a": 40, "b": 40}, options=ScheduleOptions(frames=1))
    assert timeline(double) == [
        (0, "input", "compute", 0, 0, 0), (0, "a", "dma", None, 0, 40),
        (0, "b", "dma", None, 40, 80), (0, "a", "compute", 0, 40, 140),
        (0, "b", "compute", 0, 140, 240)]
    single = schedule_frames(CHAIN, with_dma(device, bytes_per_cycle=2), every_ms(1), cycles,
                      node_dma_bytes={"a": 40, "b": 40},
                      options=ScheduleOptions(frames=1, dma_buffers=1))
    assert timeline(single) == [
        (0, "input", "compute", 0, 0, 0), (0, "a", "dma", None, 0, 20),
        (0, "a", "compute", 0, 20, 120), (0, "b", "dma", None, 120, 140),
        (0, "b", "compute", 0, 140, 240)]


def test_energy_sleep_power_and_battery_by_hand(device):
    # Per 1 ms frame: 100 active cycles x 150 pJ = 15,000 pJ; 900 cycles asleep at
    # 2 uA x 3 V = 6 uW: 6 uW x 0.9 ms = 5,400 pJ.
    result = schedule_frames(CHAIN, device, every_ms(1), {"input": 0, "a": 60, "b": 40},
                      options=ScheduleOptions(frames=2))
    assert result.awake_cycles == 200
    assert result.sleep_cycles == 1800
    assert result.dynamic_energy_pj == pytest.approx(30_000)
    assert result.sleep_energy_pj == pytest.approx(10_800)
    assert result.energy_per_inference_pj == pytest.approx(20_400)
    assert result.average_power_uw == pytest.approx(20.4)   # 40,800 pJ in 2 ms
    assert result.network_power_uw == pytest.approx(15.0)
    # 100 mAh x 3 V = 300,000 uWh.
    assert result.battery_life_hours == pytest.approx(300_000 / 20.4)
    assert result.battery_life_network_share_hours == pytest.approx(20_000)


def test_node_energy_replaces_active_cycles_and_copies_add_to_it(device):
    result = schedule_frames(CHAIN, device, every_ms(1), {"input": 0, "a": 60, "b": 40},
                      node_energy_pj={"input": 0, "a": 9_000, "b": 1_000},
                      node_dma_bytes={"b": 20}, options=ScheduleOptions(frames=1))
    # 10,000 pJ of nodes + a 20-cycle copy at 150 pJ; awake 120 of 1000 cycles.
    assert result.dynamic_energy_pj == pytest.approx(13_000)
    assert result.sleep_energy_pj == pytest.approx(6 * 880e-6 * 1e6)
    assert result.energy_per_inference_pj == pytest.approx(13_000 + 5_280)


def test_memory_in_use_over_time_for_a_chain(device):
    result = schedule_frames(CHAIN, device, every_ms(1), {"input": 0, "a": 10, "b": 20},
                      buffer_bytes={"input": 8, "a": 4, "b": 2},
                      options=ScheduleOptions(frames=2))
    # input's 8 B live until a ends, a's 4 B until b ends, b's 2 B while it runs.
    assert result.memory_over_time == ((0, 12), (10, 6), (30, 0),
                                       (1000, 12), (1010, 6), (1030, 0))
    assert result.peak_buffer_bytes == 12


def test_memory_over_time_for_a_diamond(device):
    result = schedule_frames(DIAMOND, device, every_ms(1), {"input": 0, "a": 30, "b": 50, "c": 10},
                      buffer_bytes={"input": 100, "a": 10, "b": 20, "c": 1},
                      options=ScheduleOptions(frames=1, cores=2))
    # input's 100 B until b (its last consumer) ends at 50; a, b until c ends.
    assert result.memory_over_time == ((0, 130), (50, 31), (60, 0))
    assert result.peak_buffer_bytes == 130


def cost_of(g):
    return {n: (getattr(a, "connections", None) or getattr(a, "outputs", None) or 0) * 10 for n, a in g.nodes(data="op")}


def test_same_inputs_give_identical_results(device):
    g = graph_from_workload(load_workload("har-cnn"))
    chip = replace(device, core=replace(device.core, clock_hz=64_000_000))
    kwargs = dict(buffer_bytes={n: 10 for n in g},
                  node_dma_bytes={n: getattr(a, "params", 0) for n, a in g.nodes(data="op")},
                  options=ScheduleOptions(frames=5, firmware_share=0.1))
    first = schedule_frames(g, chip, load_workload("har-cnn").realtime, cost_of(g), **kwargs)
    second = schedule_frames(g, chip, load_workload("har-cnn").realtime, cost_of(g), **kwargs)
    assert first == second
    assert timeline_rows(first) == timeline_rows(second)


def test_replayed_frames_match_simulated_frames(device):
    # Parallel branches, DMA and a firmware slice that does not divide the period,
    # so frames start at many phases; reuse must not change a single event.
    g = graph_from_workload(load_workload("ic-resnet8"))
    chip = replace(with_dma(device, 4), core=replace(device.core, clock_hz=10_000_000))
    cycles = {n: c // 100 for n, c in cost_of(g).items()}
    plan, _ = make_plan(g, chip, every_ms(0.7), cycles,
                        node_dma_bytes={n: getattr(a, "params", 0) for n, a in g.nodes(data="op")},
                        options=ScheduleOptions(frames=12, cores=3, firmware_share=0.2,
                                                firmware_slice_ms=0.3))
    replayed, simulated = run(plan), run(plan, reuse_frames=False)
    assert replayed.events == simulated.events and replayed.frames == simulated.frames
    assert len(replayed.templates) < len(simulated.templates) == 12
    assert {e[3] for e in simulated.events} >= {0, 1}      # branches used several cores
    # The totals taken per template equal the same totals taken over every event.
    sizes = {n: 100 + i for i, n in enumerate(plan.order)}
    compact = FrameTimeline.from_trace(replayed, plan.cores, plan.successors, sizes)
    events = simulated.events
    busy = [0] * plan.cores
    for _, _, _, core, _, _, work in events:
        if core is not None:
            busy[core] += work
    assert compact.busy_cycles == tuple(busy)
    spans = sorted((s, e) for _, _, kind, _, s, e, _ in events if kind != "dma" and e > s)
    merged = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    assert compact.awake_cycles == sum(e - s for s, e in merged)
    end = {(f, n): e for f, n, kind, _, _, e, _ in events if kind == "compute"}
    live = [(s, max([e, *(end[f, c] for c in plan.successors[n])]), sizes[n])
            for f, n, kind, _, s, e, _ in events if kind == "compute"]
    in_use = lambda cycle: sum(size for s, free, size in live if s <= cycle < free)  # noqa: E731
    changes = sorted({c for s, free, _ in live for c in (s, free)})
    assert compact.peak_bytes == max(in_use(c) for c in changes)
    expected = []
    for c in changes:
        if not expected or expected[-1][1] != in_use(c):
            expected.append((c, in_use(c)))
    assert compact.memory_over_time() == tuple(expected)
    assert compact.events() == sorted(events, key=lambda e: (e[4], e[5], e[2] == "dma",
                                                             -1 if e[3] is None else e[3],
                                                             e[0], e[1]))


@pytest.mark.parametrize("change,message", [
    (dict(node_cycles={"input": 0, "a": 1}), r"node_cycles has no value for nodes: b"),
    (dict(node_cycles=None), r"node_cycles is missing"),
    (dict(node_cycles={"input": 0, "a": -1, "b": 1}),
     r"node_cycles values must be non-negative integers, got a=-1"),
    (dict(node_cycles={"input": 0, "a": 1.5, "b": 1}), r"got a=1\.5"),
    (dict(node_cycles={"input": 0, "a": 1, "b": 1, "z": 1}),
     r"node_cycles names nodes not in the graph: z"),
    (dict(node_dma_bytes={"q": 4}), r"node_dma_bytes names nodes not in the graph: q"),
    (dict(buffer_bytes={"a": -4}), r"buffer_bytes values must be non-negative integers"),
    (dict(node_energy_pj={"a": 1.0}), r"node_energy_pj has no value for nodes: b, input"),
    (dict(realtime=Realtime(0, 1)), r"realtime\.frame_period_ms must be a number > 0, got 0"),
    (dict(realtime=Realtime(-5, 1)), r"frame_period_ms must be a number > 0, got -5"),
    (dict(realtime=Realtime(1e-9, 1)), r"shorter than one cycle at 1000000 Hz"),
    (dict(realtime=None), r"realtime is missing"),
    (dict(options=ScheduleOptions(firmware_share=0.9999)), r"leaves no cycle of a 1000-cycle"),
])
def test_bad_inputs_are_named(device, change, message):
    args = dict(realtime=every_ms(1), node_cycles={"input": 0, "a": 1, "b": 1}) | change
    with pytest.raises(HwsimError, match=message):
        schedule_frames(CHAIN, device, **args)


def test_every_problem_is_reported_at_once(device):
    with pytest.raises(HwsimError) as caught:
        schedule_frames(CHAIN, device, Realtime(0, 0), {"a": -1})
    text = str(caught.value)
    assert "no value for nodes: b, input" in text and "a=-1" in text
    assert "frame_period_ms" in text and "deadline_ms" in text


@pytest.mark.parametrize("kwargs,message", [
    (dict(frames=0), r"frames must be an integer from 1 to 100000, got 0"),
    (dict(frames=10 ** 12), r"frames must be an integer from 1 to 100000"),
    (dict(firmware_slice_ms=float("inf")), r"firmware_slice_ms must be a number > 0"),
    (dict(cores=0), r"cores must be an integer >= 1 or None, got 0"),
    (dict(firmware_share=1.0), r"firmware_share must be a number from 0 up to"),
    (dict(firmware_share=-0.1), r"got -0\.1"),
    (dict(firmware_slice_ms=0), r"firmware_slice_ms must be a number > 0 and <= 60000, got 0"),
    (dict(dma_buffers=0), r"dma_buffers must be an integer >= 1, got 0"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(HwsimError, match=message):
        ScheduleOptions(**kwargs)


def test_a_cycle_in_the_graph_is_an_error(device):
    g = graph(("a", "b"), ("b", "a"))
    with pytest.raises(HwsimError, match="has a cycle"):
        schedule_frames(g, device, every_ms(1), {"a": 1, "b": 1})


def test_dma_without_a_rate_is_an_error(device):
    with pytest.raises(HwsimError, match=r"dma\.present but dma\.bytes_per_cycle is None"):
        schedule_frames(CHAIN, with_dma(device, None), every_ms(1), {"input": 0, "a": 1, "b": 1},
                 node_dma_bytes={"a": 4})


def test_timeline_export_csv_and_json(device, tmp_path):
    result = schedule_frames(CHAIN, with_dma(device), every_ms(1), {"input": 0, "a": 100, "b": 100},
                      node_dma_bytes={"b": 40}, options=ScheduleOptions(frames=1))
    rows = timeline_rows(result)
    assert rows[1] == {"frame": 0, "node": "b", "kind": "dma", "core": None, "start_cycle": 0,
                       "end_cycle": 40, "work_cycles": 40, "start_ms": 0.0, "end_ms": 0.04}
    write_timeline(result, tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text()) == rows
    write_timeline(result, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert [r["node"] for r in read] == ["input", "b", "a", "b"]
    assert read[1]["core"] == "" and read[2]["core"] == "0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.json"]
    with pytest.raises(HwsimError, match=r"must be \.csv or \.json, got '\.txt'"):
        write_timeline(result, tmp_path / "t.txt")
