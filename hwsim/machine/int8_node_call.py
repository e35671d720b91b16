"""The generated int8 node function around its library call, characterized: what a node
costs besides its kernel's own counts (hwsim.machine.characterize fits those in the test
firmware, whose dispatcher calls the kernel directly).

    counts, bound = node_call_counts("cortex-m4", kernels, "build/")

The code generator (hwsim.machine.codegen.int8_library) gives every node a function that
loads the addresses of its constants and parameter structs, places the kernel's
arguments (the ones past the fourth on the stack on Arm, past the eighth on RV32), calls
the kernel and returns; network_run calls that function. On a small layer (a dense layer
of 64 MACs: about 30 instructions against 500) that is several percent of the node.

Measured, not modelled: a designed network with one layer per kernel is generated,
compiled and emulated; per node, the blocks of its node function and network_run's call
into it are priced one cycle per action (hwsim.machine.characterize's counting table),
less the kernel's own entry call, which the kernel's counts already hold (the test
firmware's dispatcher calls the kernel). The node function is straight-line code, so the
counts do not depend on the data. They do depend a little on the argument values gcc
materializes (two equal immediates share a register; on Armv6-M a value above 255 is a
literal load, on RV32 one above 2047 takes lui + addi): a second network with other
shapes (equal window sides, larger sizes) is measured too and each kernel's record states
the largest difference, in actions, as its bound. The whole node is proven on the
designed network's last dense layer, whose outputs take the kernels' fixed path (nothing
clamps: its scale covers every accumulator): its emulated counts equal the kernel's
fitted counts plus its node call, action by action.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.ir.int8_kernels import kernel_call
from hwsim.specs.workload import workload_from_data

# The two designed networks (`_workload`): the window sides of the convolutions, the dense
# layer's units and the input's side. The first has distinct small arguments (its counts
# are the record); the second equal window sides and a dense layer of 288 inputs (more
# than an Armv6-M MOVS immediate), measured for the bounds.
DESIGN = ({"k": (2, 3), "units": 5, "side": 7}, {"k": (3, 3), "units": 9, "side": 9})
FINAL_DENSE = "L8.dense"
# Nodes whose data takes the kernels' fixed path: the last dense layer (its scale covers
# every accumulator, so nothing clamps).
PROVEN = (FINAL_DENSE,)


def _workload(design: dict):
    """A network that runs each int8 library kernel once (int8_choice below)."""
    kh, kw = design["k"]
    side = design["side"]
    conv = {"type": "conv2d", "filters": 4, "stride": [1, 1], "padding": "same"}
    layers = [dict(conv, kernel=[kh, kw]),                               # conv (im2col)
              dict(conv, kernel=[kw, kh]),                               # conv_scalar
              {"type": "depthwise_conv2d", "kernel": 3, "stride": 1, "padding": "same"},
              {"type": "depthwise_conv2d", "kernel": kh, "stride": 1, "padding": "same"},
              dict(conv, kernel=1, padding="valid", name="a"),           # conv_1x1
              dict(conv, kernel=1, padding="valid", name="b"),
              {"type": "add", "name": "sum", "inputs": ["b", "a"]},      # add
              {"type": "flatten"}, {"type": "dense", "units": design["units"]}]
    return workload_from_data({
        "schema_version": 1, "name": f"int8-node-call-{side}", "description": "node calls",
        "task": "classification", "dataset": "none",
        "input": {"shape": [side, side - 1, 4], "levels": 16}, "layers": layers,
        "discretization": {"activation_levels": 16, "weight_clusters": 16,
                           "cluster_scope": "global"},
        "integer": {"accumulator_bits": 32, "table_entry_bits": 16},
        "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 8,
                     "learning_rate": 0.01, "cluster_interval_steps": 10, "seed": 0},
        "realtime": {"frame_period_ms": 100, "deadline_ms": 100}}, "<int8 node call>")


KERNEL_OF_LAYER = {"L0.conv2d": "conv", "L1.conv2d": "conv_scalar",
                   "L2.depthwise_conv2d": "depthwise_3x3", "L3.depthwise_conv2d": "depthwise",
                   "L4.conv2d": "conv_1x1", "L5.conv2d": "conv_1x1", "L6.add": "add",
                   FINAL_DENSE: "fully_connected"}


def _measured(target: str, design: dict, directory) -> tuple:
    """(graph, node -> node-call counts, node -> the whole node's counts) of one design."""
    from hwsim.machine.characterize import _counting_table
    from hwsim.machine.codegen import generate
    from hwsim.machine.codegen.int8 import quantize_input
    from hwsim.machine.emulate import emulate
    from hwsim.machine.emulate_price import price
    from hwsim.machine.emulate_profile import RUNTIME
    from hwsim.machine.toolchain import build_program
    workload = _workload(design)
    g = graph_from_workload(workload, seed=0)
    missing = set(KERNEL_OF_LAYER) - set(g.nodes)
    if missing:
        raise HwsimError(f"int8 node-call design lacks nodes {sorted(missing)}")
    choice = tuple(sorted((n, k) for n, k in KERNEL_OF_LAYER.items() if k != "add"))
    program = generate(g, target, "int8", int8_kernels="optimized", int8_choice=choice)
    build = build_program(program, Path(directory) / f"node-call-{design['side']}")
    x = np.random.default_rng(0).integers(0, workload.input_levels,
                                          size=(1, *workload.input_shape))
    run = emulate(build, quantize_input(g, x))
    profile, table = run.profile, _counting_table()
    whole = price(profile, table).nodes
    function_of = {node: f for f, node in program.node_of_function.items()}
    calls = {}
    for node in KERNEL_OF_LAYER:
        own = {key: n for key, n in profile.executions.items()
               if profile.blocks[key[:2]].function == function_of[node]
               or (key[2] == RUNTIME and profile.blocks[key[:2]].call_owner == node)}
        part = replace(profile, executions=own,
                       taken={k: v for k, v in profile.taken.items() if k in own},
                       flash_reads={k: v for k, v in profile.flash_reads.items() if k in own})
        counts = {a: int(round(c)) for a, c in price(part, table).nodes[node].actions.items()}
        counts["call_return"] = counts.get("call_return", 0) - 1     # the kernel's entry call
        calls[node] = {a: n for a, n in counts.items() if n}
        if any(n < 0 for n in calls[node].values()):
            raise HwsimError(f"int8 node call of {node} on {target}: negative counts "
                             f"{calls[node]}")
    return g, calls, {n: whole[n].actions for n in KERNEL_OF_LAYER}


def _prove(target: str, node: str, kernels: dict, g, call_counts: dict, measured: dict
           ) -> None:
    """Raise unless `node`'s emulated counts are its kernel's fitted counts (parameter
    reads: flash waits) plus its node call, action by action."""
    from hwsim.cost.int8_library import MUL_OPERANDS
    from hwsim.ir.int8_kernels import parse_monomial
    from hwsim.machine.characterize import predict
    kernel = KERNEL_OF_LAYER[node]
    record = kernels[kernel]
    call = kernel_call(g.nodes[node]["op"], None if kernel == "add" else kernel)
    predicted = predict([parse_monomial(m) for m in record["basis"]], record["counts"], call)
    predicted["flash_wait"] = predicted.pop("parameter_read", 0)
    for role in MUL_OPERANDS:                 # RISC-V muls by operand role: all `mul` here
        predicted["mul"] = predicted.get("mul", 0) + predicted.pop(role, 0)
    for action, n in call_counts.items():
        predicted[action] = predicted.get(action, 0) + n
    for action in sorted(set(predicted) | set(measured)):
        if round(measured.get(action, 0)) != predicted.get(action, 0):
            raise HwsimError(f"int8 node call on {target}: {node} executes "
                             f"{measured.get(action, 0):g} {action}, its kernel and node "
                             f"call predict {predicted.get(action, 0)}")


def _size(counts: dict) -> int:
    return sum(counts.values())


def node_call_counts(target: str, kernels: dict, directory) -> tuple[dict, dict]:
    """(kernel -> the node function's counts around its call, kernel -> bound in actions)
    on `target`, `kernels` its fitted records (module docstring)."""
    records, bounds = {}, {}
    for k, design in enumerate(DESIGN):
        g, calls, whole = _measured(target, design, directory)
        for node, kernel in KERNEL_OF_LAYER.items():
            if k == 0:
                records.setdefault(kernel, calls[node])
            bounds[kernel] = max(bounds.get(kernel, 0),
                                 abs(_size(calls[node]) - _size(records[kernel])))
        if k == 0:                            # the proof: whole nodes on the fixed path
            for node in PROVEN:
                _prove(target, node, kernels, g, calls[node], whole[node])
    return records, bounds


def node_call_record(target: str, kernels: dict, directory) -> dict:
    """The data file's `node_call` record of `target` (`kernels`: its fitted records)."""
    counts, bounds = node_call_counts(target, kernels, directory)
    return {"counts": counts, "bounds": bounds,
            "note": "the generated node function and network_run's call into it, less the "
                    "kernel's entry call (hwsim.machine.int8_node_call); bounds: the largest "
                    "difference, in actions, on other argument values"}


def with_node_call(data: dict, directory) -> dict:
    """Characterization data (hwsim.machine.characterize.characterize) with its `node_call`
    record when every kernel the target runs was characterized (a partial run has none),
    on a target with a multiplier (the soft kernels' node functions are not measured: the
    design above is of the multiplying kernels)."""
    from hwsim.ir.int8_kernels import KERNEL_NAMES
    from hwsim.machine.soft_kernel_calls import SOFT_TARGETS, target_kernels
    target = data["target"]
    if target in SOFT_TARGETS or not set(target_kernels(target, KERNEL_NAMES)) <= set(
            data["kernels"]):
        return data
    return {**data, "node_call": node_call_record(data["target"], data["kernels"], directory)}
