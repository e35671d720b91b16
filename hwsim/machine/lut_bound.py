"""How close the generated lut kernel gets to the instruction set's bound per connection.

A connection of the paper's method is one table lookup added to a sum: whatever the
kernel, it must at least load the weight's index, load the table entry it selects and
add it (the activation's row of the table can be found once per input and shared by
every output unit that reads it, so it is free in the limit). With the generated
layout (byte indices and table entries of the graph's entry width, both in flash)
that is, on a device's cycle table:

    bound = load_8 + flash_wait + load_<entry> + flash_wait + alu

`connection_cycles` measures the generated dense kernel in emulation (executed
instructions priced with the device table, the same pricing `hwsim validate` uses) on a
layer large enough that the per-unit and per-call work is negligible: the lut kernel
library's call (what the code generator emits where the library is characterized) or
the per-layer loops it emitted before (lut_kernels "loops");
`library_connection_cycles` the lut kernel library's dense kernel (hwsim/machine/kernels/lut)
in its test firmware, its parameter reads (tables, weight codes, bias indices, thresholds:
flash in a deployment) charged the device's flash wait; benchmarks/lut_bound.py prints
them and their ratio to the bound per target (docs/cost-model.md, docs/lut-kernels.md).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hwsim.cost.prices import action_prices
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_workload
from hwsim.specs.device import Device
from hwsim.specs.workload import workload_from_data


def connection_bound_cycles(device: Device, entry_bits: int = 16) -> float:
    """The bound above, from the device's prices (flash wait when flash is slower)."""
    p = action_prices(device)
    wait = p["flash_wait"].cycles
    return (p["load_8"].cycles + wait + p[f"load_{entry_bits}"].cycles + wait
            + p["alu"].cycles)


def packed_connection_bound_cycles(device: Device, entry_bits: int = 16, bits: int = 4
                                   ) -> float:
    """The bound with packed weight codes of `bits` bits: the entry's load, its flash
    wait and the add, and the code's share of one word load and its flash wait (32 /
    `bits` codes a word; taking a code out of the word counted as free)."""
    p = action_prices(device)
    wait = p["flash_wait"].cycles
    return (p[f"load_{entry_bits}"].cycles + wait + p["alu"].cycles
            + (p["load_32"].cycles + wait) * bits / 32)


def dense_workload(inputs: int, units: int, levels: int, clusters: int, entry_bits: int):
    """One dense layer and its fused threshold, shape-only."""
    return _workload(f"dense-{inputs}x{units}", [inputs],
                     [{"type": "dense", "units": units}, {"type": "dense", "units": 2}],
                     levels, clusters, entry_bits)


def conv_workload(shape: tuple[int, int, int], filters: int, kernel: int, padding: str,
                  levels: int, clusters: int, entry_bits: int):
    """One conv2d layer (its fused threshold) on an h x w x c input, then a small dense
    layer, shape-only."""
    return _workload(f"conv-{'x'.join(map(str, shape))}-{filters}", list(shape),
                     [{"type": "conv2d", "filters": filters, "kernel": kernel,
                       "padding": padding}, {"type": "flatten"},
                      {"type": "dense", "units": 2}], levels, clusters, entry_bits)


def _workload(name: str, shape: list[int], layers: list[dict], levels: int, clusters: int,
              entry_bits: int):
    return workload_from_data({
        "schema_version": 1, "name": name,
        "description": "connection bound", "task": "classification", "dataset": "none",
        "input": {"shape": shape, "levels": levels},
        "layers": layers,
        "discretization": {"activation_levels": levels, "weight_clusters": clusters,
                           "cluster_scope": "global"},
        "integer": {"accumulator_bits": 32, "table_entry_bits": entry_bits},
        "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 8,
                     "learning_rate": 0.01, "cluster_interval_steps": 10, "seed": 0},
        "realtime": {"frame_period_ms": 100, "deadline_ms": 100}}, "<connection bound>")


@dataclass(frozen=True)
class ConnectionCost:
    device: str
    target: str
    connections: int
    bound_cycles: float           # per connection
    generated_cycles: float       # per connection, the generated kernel, emulated
    estimated_cycles: float       # per connection, the cost model
    kernel: str = ""              # the kernel that ran (the cost model's choice)

    @property
    def ratio(self) -> float:
        return self.generated_cycles / self.bound_cycles


def connection_cycles(device: Device, inputs: int = 256, units: int = 128, levels: int = 16,
                      clusters: int = 16, entry_bits: int = 16, workdir=None,
                      lut_kernels: str = "library", lut_grouping="off",
                      weight_indices: str = "auto") -> ConnectionCost:
    """The generated dense kernel's cycles per connection on `device`, in emulation:
    the lut kernel library's call ("library", the default) or the per-layer loops;
    `lut_grouping` (CostOptions): "off", the register-blocked call, else as chosen;
    `weight_indices` (CostOptions): "packed" for the library's packed weight codes."""
    workload = dense_workload(inputs, units, levels, clusters, entry_bits)
    return workload_connection_cycles(device, workload, inputs * units, entry_bits,
                                      workdir, lut_kernels, lut_grouping, weight_indices)


def workload_connection_cycles(device: Device, workload, connections: int,
                               entry_bits: int = 16, workdir=None,
                               lut_kernels: str = "library", lut_grouping="off",
                               weight_indices: str = "auto") -> ConnectionCost:
    """`connection_cycles` of the first layer of a one-layer workload (dense_workload,
    conv_workload) of `connections` lookups."""
    from hwsim.machine.validate import codegen_options, validate_graph
    g = graph_from_workload(workload)
    levels = workload.discretization.activation_levels
    x = np.random.default_rng(0).integers(0, levels, size=(1, *workload.input_shape))
    options = replace(codegen_options(), lut_kernels=lut_kernels, lut_grouping=lut_grouping,
                      weight_indices=weight_indices)
    [report] = validate_graph(g, [device], "lut", x, workdir=workdir, options=options,
                              check_instructions=False)
    first = next(n for n in g.nodes if n.startswith("L0."))
    node = next(n for n in report.nodes if n.node == first)
    if not report.bit_exact:
        raise HwsimError(f"{device.name}: the generated {first} layer is not bit-exact: "
                         f"{report.mismatch}")
    return ConnectionCost(device.name, report.target, connections,
                          connection_bound_cycles(device, entry_bits),
                          node.emulated_cycles / connections,
                          node.estimated_cycles / connections, node.kernel or "")


def conv_connection_cycles(device: Device, shape: tuple[int, int, int] = (16, 16, 16),
                           filters: int = 32, kernel: int = 3, padding: str = "same",
                           levels: int = 16, clusters: int = 16, entry_bits: int = 16,
                           workdir=None, lut_kernels: str = "library", lut_grouping="off",
                           weight_indices: str = "auto") -> ConnectionCost:
    """`connection_cycles` of a conv2d layer (conv_workload) per real connection: the
    lookups of its windows clipped to the input ('same' padding taps add nothing), not
    positions x kernel taps x channels x filters."""
    from hwsim.ir.int8_kernels import select_kernel
    from hwsim.ir.lut_kernels import shape_connections
    workload = conv_workload(shape, filters, kernel, padding, levels, clusters, entry_bits)
    g = graph_from_workload(workload)
    op = g.nodes[next(n for n in g.nodes if n.startswith("L0."))]["op"]
    count = shape_connections(select_kernel(op.kind, tuple(op.input_shape), op.layer))
    return workload_connection_cycles(device, workload, count, entry_bits, workdir,
                                      lut_kernels, lut_grouping, weight_indices)


def library_connection_cycles(device: Device, inputs: int = 256, units: int = 128,
                              levels: int = 16, clusters: int = 16, entry_bits: int = 16,
                              workdir=None, seed: int = 0) -> float:
    """The library's dense kernel (fused threshold) per connection on `device`."""
    import tempfile
    from hwsim.cost.prices import action_prices
    from hwsim.ir.int8_kernels import KernelCall
    from hwsim.ir.lut_kernels import lut_call_of_shape
    from hwsim.machine.codegen.targets import target_for_device
    from hwsim.machine.kernels.harness import kernel_cycles
    from hwsim.machine.kernels.lut_harness import build_lut_firmware, random_case, run_lut_case
    target = target_for_device(device)
    shape = KernelCall("fully_connected", 1, 1, inputs, 1, 1, units)
    steps = max(0, int(np.ceil(np.log2(levels))))
    call = lut_call_of_shape("conv", shape, entry_bits, clusters, target.name, steps, True)
    with tempfile.TemporaryDirectory(prefix="hwsim-lut-bound-") as tmp:
        firmware = build_lut_firmware(target, workdir or tmp)
        run = run_lut_case(firmware, random_case(call, np.random.default_rng(seed), levels,
                                                 clusters))
    wait = action_prices(device)["flash_wait"].cycles
    return (kernel_cycles(run, device) + wait * run.parameter_reads) / (inputs * units)
