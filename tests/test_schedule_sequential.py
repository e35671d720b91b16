"""The closed-form schedule without DMA, of one core or of a graph that is one path
(hwsim.schedule.sequential), against the simpy model it stands in for
(hwsim.schedule.model.run): the same frames, templates and events, on random plans and
on every bundled workload; and `hwsim simulate` on a one-core device does not import
simpy at all."""
from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import replace

import pytest

from hwsim.ir.graph import graph_from_workload
from hwsim.schedule.frame_plan import FirmwareLoad, Plan
from hwsim.schedule.model import run
from hwsim.schedule.scheduler import ScheduleOptions, make_plan, run_frames, schedule_frames
from hwsim.schedule.sequential import is_sequential, run_sequential
from hwsim.specs.bundled import bundled_names
from hwsim.specs.device import device_from_data
from hwsim.specs.workload import Realtime, load_workload
from hwsim.specs.yaml_reader import read_yaml
from tests.conftest import REPO, cli_env


def same_trace(plan: Plan) -> None:
    """Both ways give the same trace, with and without replaying identical frames."""
    for reuse in (True, False):
        closed, simulated = run_sequential(plan, reuse_frames=reuse), run(plan, reuse_frames=reuse)
        assert closed.frames == simulated.frames
        assert closed.dropped == simulated.dropped
        assert closed.blocks == simulated.blocks
        assert closed.templates == simulated.templates
        assert closed.events == simulated.events


def random_plan(rng: random.Random, path: bool = False) -> Plan:
    """A random DAG in execution order (some nodes free of work, some copying data),
    a firmware share, a period from overloaded to idle, frames dropped or queued; one
    core, or (path) a path on one to four cores."""
    n = rng.randint(1, 12)
    order = tuple(f"n{i}" for i in range(n))
    successors = {a: tuple(b for j, b in enumerate(order) if j > i and rng.random() < 0.3)
                  for i, a in enumerate(order)}
    if path:
        successors = {a: order[i + 1:i + 2] for i, a in enumerate(order)}
    slice_cycles = rng.randint(20, 400)
    return Plan(order=order, successors=successors,
                compute_cycles={m: rng.choice((0, rng.randint(1, 300))) for m in order},
                copy_cycles={m: rng.randint(1, 90) for m in order if rng.random() < 0.3},
                dma_cycles={}, cores=rng.randint(1, 4) if path else 1,
                frames=rng.randint(1, 15),
                period_cycles=rng.randint(1, 3000),
                firmware=FirmwareLoad(slice_cycles, rng.choice((0, rng.randint(0, slice_cycles - 1)))),
                dma_buffers=2, drop_when_busy=rng.random() < 0.5)


def test_closed_form_equals_simpy_on_random_plans():
    rng = random.Random(15)
    plans = [random_plan(rng, path=i % 3 == 0) for i in range(300)]
    assert all(is_sequential(p) for p in plans) and any(p.cores > 1 for p in plans)
    assert any(p.drop_when_busy for p in plans) and any(p.copy_cycles for p in plans)
    dropped = 0
    for plan in plans:
        same_trace(plan)
        dropped += len(run_sequential(plan).dropped)
    assert dropped > 0                              # overloaded plans were among them


@pytest.fixture(scope="module")
def one_core():
    base = device_from_data(read_yaml(REPO / "devices" / "nrf52840.yaml"))
    return replace(base, core=replace(base.core, count=1, clock_hz=1_000_000))


@pytest.mark.parametrize("name", bundled_names("workloads"))
def test_closed_form_equals_simpy_on_bundled_workloads(name, one_core):
    # A firmware slice that does not divide the period (frames start at many phases),
    # core copies of every weighted node's parameters, a period some frames overrun.
    g = graph_from_workload(load_workload(name))
    cycles = {n: (getattr(a, "connections", None) or getattr(a, "outputs", None) or 0) // 50
              for n, a in g.nodes(data="op")}
    period_ms = sum(cycles.values()) / 1000 * 0.9
    for drop, cores in ((False, 1), (True, 1), (False, 3)):
        plan, _ = make_plan(g, one_core, Realtime(period_ms, period_ms), cycles,
                            node_dma_bytes={n: getattr(a, "params", 0)
                                            for n, a in g.nodes(data="op")},
                            options=ScheduleOptions(frames=9, cores=cores, use_dma=False,
                                                    firmware_share=0.15, firmware_slice_ms=0.37,
                                                    drop_frames_when_busy=drop))
        path = all(g.out_degree(n) <= 1 and g.in_degree(n) <= 1 for n in g)
        assert is_sequential(plan) == (cores == 1 or path) and plan.copy_cycles
        if is_sequential(plan):
            same_trace(plan)


def test_scheduler_uses_simpy_only_for_event_driven_plans(one_core):
    g = graph_from_workload(load_workload("har-cnn"))                # one path
    cycles = {n: 10 for n in g}
    sequential, _ = make_plan(g, one_core, Realtime(5, 5), cycles)
    path, _ = make_plan(g, one_core, Realtime(5, 5), cycles, options=ScheduleOptions(cores=2))
    branches = graph_from_workload(load_workload("ic-resnet8"))      # residual branches
    two_cores, _ = make_plan(branches, one_core, Realtime(5, 5), {n: 10 for n in branches},
                             options=ScheduleOptions(cores=2))
    dma, _ = make_plan(g, replace(one_core, dma=replace(one_core.dma, present=True,
                                                        bytes_per_cycle=4)),
                       Realtime(5, 5), cycles, node_dma_bytes={n: 8 for n in g})
    assert is_sequential(sequential) and is_sequential(path)
    assert not is_sequential(two_cores) and not is_sequential(dma)
    assert {e[3] for e in run(two_cores).events} == {0, 1}          # both cores in use
    assert run_frames(two_cores).templates == run(two_cores).templates
    assert run_frames(dma).templates == run(dma).templates
    with pytest.raises(ValueError, match="without DMA transfers, with one core"):
        run_sequential(two_cores)
    result = schedule_frames(g, one_core, Realtime(5, 5), cycles)
    assert result.latency_cycles == (10 * len(g),) * 100


def test_simulate_imports_simpy_only_for_event_driven_schedules():
    code = ("import sys\n"
            "from hwsim.cli import main\n"
            "status = main(['simulate', 'har-cnn', '--device', 'nrf52840', '--json'])\n"
            "assert status == 0, status\n"
            "assert 'simpy' not in sys.modules, 'simpy imported'\n"
            "main(['simulate', 'har-cnn', '--device', 'gap9', '--json'])\n"
            "assert 'simpy' not in sys.modules, 'nine cores, one path: no simpy'\n"
            "main(['simulate', 'ic-resnet8', '--device', 'gap9', '--json'])\n"
            "assert 'simpy' in sys.modules, 'nine cores, branches: simpy'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=cli_env(), timeout=120)
    assert done.returncode == 0, done.stderr
