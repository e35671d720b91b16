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
into it are priced one cycle per action (hwsim.machine.characterize's counting table; on
RISC-V its shifts apart, shift + steps by amount, for a serial shifter, as the kernels'
data count them), less the kernel's own entry call, which the kernel's counts already
hold (the test firmware's dispatcher calls the kernel). The node function is
straight-line code, so the counts do not depend on the data. They do depend a little on
the argument values gcc materializes (two equal immediates share a register; on Armv6-M
a value above 255 is a literal load, on RV32 one above 2047 takes lui + addi): a second
network with other shapes (equal window sides, larger sizes) is measured too and each
kernel's record states the largest difference, in actions, as its bound. The whole node
is proven on the designed network's last dense layer, whose outputs take the kernels'
fixed path (nothing clamps: its scale covers every accumulator): its emulated counts
equal the kernel's fitted counts plus its node call, action by action.

On a core without a multiplier (SOFT_TARGETS) the design is one layer per soft kernel
(conv_soft, depthwise_soft, and conv_soft as a dense layer); the proof splits libgcc's
__mulsi3/__muldi3 off the node (hwsim.machine.soft_kernel_calls.split_profile: their
calls counted per routine, as the kernel's fit counts them) and allows SOFT_LAYOUT_ALU:
a soft kernel's pixel-function address takes li or lui + addi by where the linker puts it.
"""
from __future__ import annotations

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
# The node whose data takes the kernels' fixed path: the last dense layer (its scale
# covers every accumulator, so nothing clamps).
FINAL_DENSE = "L8.dense"


def _workload(design: dict, soft: bool = False):
    """A network that runs each int8 library kernel once (int8_choice below); `soft`:
    each soft kernel (a core without a multiplier: KERNEL_OF_SOFT_LAYER)."""
    kh, kw = design["k"]
    side = design["side"]
    conv = {"type": "conv2d", "filters": 4, "stride": [1, 1], "padding": "same"}
    dense = [{"type": "flatten"}, {"type": "dense", "units": design["units"]}]
    layers = [dict(conv, kernel=[kh, kw]),                               # conv (im2col)
              dict(conv, kernel=[kw, kh]),                               # conv_scalar
              {"type": "depthwise_conv2d", "kernel": 3, "stride": 1, "padding": "same"},
              {"type": "depthwise_conv2d", "kernel": kh, "stride": 1, "padding": "same"},
              dict(conv, kernel=1, padding="valid", name="a"),           # conv_1x1
              dict(conv, kernel=1, padding="valid", name="b"),
              {"type": "add", "name": "sum", "inputs": ["b", "a"]},      # add
              *dense]
    if soft:          # conv_soft, depthwise_soft, conv_soft as a dense layer
        layers = [dict(conv, kernel=[kh, kw]), layers[3], *dense]
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
# The alu a soft kernel's pixel-function address takes more or less (`_layout_slack`).
SOFT_LAYOUT_ALU = 1
# The soft kernels' design (SOFT_TARGETS: no multiplier), its last dense layer proven.
FINAL_SOFT_DENSE = "L3.dense"
KERNEL_OF_SOFT_LAYER = {"L0.conv2d": "conv_soft", "L1.depthwise_conv2d": "depthwise_soft",
                        FINAL_SOFT_DENSE: "conv_soft"}


def _layers(target: str) -> tuple[dict[str, str], str]:
    """(node -> kernel, the proven node) of `target`'s design."""
    from hwsim.machine.soft_kernel_calls import SOFT_TARGETS
    if target in SOFT_TARGETS:
        return KERNEL_OF_SOFT_LAYER, FINAL_SOFT_DENSE
    return KERNEL_OF_LAYER, FINAL_DENSE


def _measured(target: str, design: dict, directory) -> tuple:
    """(graph, node -> node-call counts, node -> the whole node's counts) of one design;
    on a soft target the whole node's libgcc routines apart (split_soft_calls: the
    node's own counts, and its calls of each routine as soft_<routine>)."""
    from hwsim.machine.characterize import _counting_table
    from hwsim.machine.codegen import generate
    from hwsim.machine.codegen.targets import find_target
    from hwsim.machine.codegen.int8 import quantize_input
    from hwsim.machine.emulate import emulate
    from hwsim.machine.emulate_price import price
    from hwsim.machine.emulate_profile import RUNTIME, restricted
    from hwsim.machine.soft_kernel_calls import SOFT_TARGETS, node_soft_calls
    from hwsim.machine.toolchain import build_program
    layers = _layers(target)[0]
    soft = target in SOFT_TARGETS
    workload = _workload(design, soft)
    g = graph_from_workload(workload, seed=0)
    missing = set(layers) - set(g.nodes)
    if missing:
        raise HwsimError(f"int8 node-call design lacks nodes {sorted(missing)}")
    choice = tuple(sorted((n, k) for n, k in layers.items() if k != "add"))
    program = generate(g, target, "int8", int8_kernels="optimized", int8_choice=choice)
    build = build_program(program, Path(directory) / f"node-call-{design['side']}")
    x = np.random.default_rng(0).integers(0, workload.input_levels,
                                          size=(1, *workload.input_shape))
    run = emulate(build, quantize_input(g, x))
    # the node call's shifts by amount on RISC-V (as the kernels' data count them there)
    profile, table = run.profile, _counting_table()
    serial = _counting_table(find_target(target).arch == "riscv")
    split, routine_calls = node_soft_calls(profile, build.elf_path) if soft else (profile, {})
    whole = {n: {**a.actions, **routine_calls.get(n, {})}
             for n, a in price(split, table).nodes.items()}
    function_of = {node: f for f, node in program.node_of_function.items()}
    calls = {}
    for node in layers:
        own = {key: n for key, n in profile.executions.items()
               if profile.blocks[key[:2]].function == function_of[node]
               or (key[2] == RUNTIME and profile.blocks[key[:2]].call_owner == node)}
        part = restricted(profile, own)
        counts = {a: int(round(c)) for a, c in price(part, serial).nodes[node].actions.items()}
        counts["call_return"] = counts.get("call_return", 0) - 1     # the kernel's entry call
        calls[node] = {a: n for a, n in counts.items() if n}
        if any(n < 0 for n in calls[node].values()):
            raise HwsimError(f"int8 node call of {node} on {target}: negative counts "
                             f"{calls[node]}")
    return g, calls, {n: whole[n] for n in layers}


def _prove(target: str, node: str, kernels: dict, g, call_counts: dict, measured: dict
           ) -> None:
    """Raise unless `node`'s emulated counts are its kernel's fitted counts (parameter
    reads: flash waits; a soft kernel's calls of each libgcc routine) plus its node call,
    action by action (an action fitted within a bound: within it)."""
    from hwsim.cost.int8_library import MUL_OPERANDS
    from hwsim.ir.int8_kernels import MUL_BY, parse_monomial
    from hwsim.machine.exact_fit import predict
    kernel = _layers(target)[0][node]
    record = kernels[kernel]
    call = kernel_call(g.nodes[node]["op"], None if kernel == "add" else kernel)
    predicted = predict([parse_monomial(m) for m in record["basis"]], record["counts"], call)
    predicted["flash_wait"] = predicted.pop("parameter_read", 0)
    for role in [a for a in predicted if a in MUL_OPERANDS or a.startswith(MUL_BY)]:
        predicted["mul"] = predicted.get("mul", 0) + predicted.pop(role)   # RISC-V muls by role
    for action, n in call_counts.items():
        predicted[action] = predicted.get(action, 0) + n
    predicted["alu"] = predicted.get("alu", 0) + predicted.pop("shift", 0)   # shifts: alu
    for action in [a for a in predicted if a.startswith(("shift_", "shift_by_"))]:
        predicted.pop(action)                 # (their steps: a serial shifter's)
    slack = _layout_slack(target) | record.get("bounds", {})   # fetch-wait actions' bounds
    for action in sorted(set(predicted) | set(measured)):
        if abs(round(measured.get(action, 0)) - predicted.get(action, 0)) > slack.get(action, 0):
            raise HwsimError(f"int8 node call on {target}: {node} executes "
                             f"{measured.get(action, 0):g} {action}, its kernel and node "
                             f"call predict {predicted.get(action, 0)}")


def _layout_slack(target: str) -> dict[str, int]:
    """Actions a whole node may differ by from its kernel's fitted counts plus its node
    call for where the linker places code: a soft kernel passes its pixel function's
    address to the walk (hwsim_int8_soft.h), one li below 2048, lui + addi above (the
    test firmware's; a small network's: li), SOFT_LAYOUT_ALU."""
    from hwsim.machine.soft_kernel_calls import SOFT_TARGETS
    return {"alu": SOFT_LAYOUT_ALU} if target in SOFT_TARGETS else {}


def _size(counts: dict) -> int:
    return sum(counts.values())


def node_call_counts(target: str, kernels: dict, directory) -> tuple[dict, dict]:
    """(kernel -> the node function's counts around its call, kernel -> bound in actions)
    on `target`, `kernels` its fitted records (module docstring)."""
    records, bounds = {}, {}
    layers, proven = _layers(target)
    for k, design in enumerate(DESIGN):
        g, calls, whole = _measured(target, design, directory)
        for node, kernel in layers.items():
            if k == 0:
                records.setdefault(kernel, calls[node])
            bounds[kernel] = max(bounds.get(kernel, 0),
                                 abs(_size(calls[node]) - _size(records[kernel]))
                                 + _size(_layout_slack(target)))
        if k == 0:                            # the proof: a whole node on the fixed path
            _prove(target, proven, kernels, g, calls[proven], whole[proven])
    return records, bounds


def node_call_record(target: str, kernels: dict, directory) -> dict:
    """The data file's `node_call` record of `target` (`kernels`: its fitted records)."""
    counts, bounds = node_call_counts(target, kernels, directory)
    layout = " (and where a soft kernel's pixel function lies)" if _layout_slack(target) else ""
    return {"counts": counts, "bounds": bounds,
            "note": "the generated node function and network_run's call into it, less the "
                    "kernel's entry call (hwsim.machine.int8_node_call); bounds: the largest "
                    f"difference, in actions, on other argument values{layout}"}


def with_node_call(data: dict, directory) -> dict:
    """Characterization data (hwsim.machine.characterize.characterize) with its `node_call`
    record when every kernel the target runs was characterized (a partial run has none;
    the soft kernels on SOFT_TARGETS, the others elsewhere)."""
    from hwsim.ir.int8_kernels import KERNEL_NAMES
    from hwsim.machine.soft_kernel_calls import target_kernels
    target = data["target"]
    if not set(target_kernels(target, KERNEL_NAMES)) <= set(data["kernels"]):
        return data
    return {**data, "node_call": node_call_record(data["target"], data["kernels"], directory)}
