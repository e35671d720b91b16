"""Validation of the cost model against emulated machine code.

For an artifact, a device and a style: generate C for the device's target, build it,
run real test inputs in the emulator, check the outputs bit for bit (lut: against
the integer executor, which verify checks against the trainer; int8: against the
int8 reference of hwsim.machine.codegen.int8), price the executed instructions with the
device's cycle table, and compare each node's cycles with the cost model's estimate
(hwsim.cost.model.cost_graph with the options that describe the generated code).

    report = validate(artifact, find_device("samd21"), "lut")
    report.nodes          # per node: estimated, emulated, error
    report.error          # whole network

Longer than 300 lines: the report records, what the generated code runs per device (the
kernel choices it is handed) and the node-by-node comparison serve this one check.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import networkx as nx
import numpy as np

from hwsim.machine.codegen import generate
from hwsim.machine.codegen.targets import Target, find_target, target_for_device
from hwsim.cost.int8_choice import int8_kernel_choices
from hwsim.cost.int8_library import covers
from hwsim.cost.model import CostOptions, cost_graph
from hwsim.cost.options import core_traits
from hwsim.specs.device import Device
from hwsim.machine.disasm import MachineCodeReport, prove
from hwsim.machine.emulate import (
    RUNTIME,
    EmulatedCost,
    EmulationRun,
    InstructionCheck,
    emulate,
    price,
)
from hwsim.errors import HwsimError
from hwsim.execute.executor import execute
from hwsim.ir.graph import execution_order, graph_from_artifact
from hwsim.machine.toolchain import build_program

DEFAULT_SAMPLES = 5
TOLERANCE = 0.10


def codegen_options() -> CostOptions:
    """The cost-model options that describe the generated code: weight codes a byte each
    or packed, as the lut kernel choice takes them (hwsim.cost.lut_choice), byte
    activations, tables/indices/thresholds in flash, shift-and-add table
    addressing (K a power of two), no unrolling, SIMD MACs where the core has them."""
    return CostOptions(tables_in="flash", weights_in="flash", thresholds_in="flash",
                       activations="bytes", weight_indices="auto", row_pointers="auto",
                       unroll=1, multiplier_operand_bits=None, simd=True)


@dataclass(frozen=True)
class NodeValidation:
    node: str
    op: str
    estimated_cycles: float
    emulated_cycles: float
    basis: str = "formula"           # hwsim.cost.model.BASES: the estimate's counts
    kernel: str | None = None        # int8 weighted: the kernel that ran (the cost model's choice)

    @property
    def error(self) -> float:
        """(estimated - emulated) / emulated; 0 when both are 0."""
        if self.emulated_cycles == 0:
            return 0.0 if self.estimated_cycles == 0 else float("inf")
        return (self.estimated_cycles - self.emulated_cycles) / self.emulated_cycles


@dataclass(frozen=True)
class ValidationReport:
    workload: str
    device: str
    target: str
    style: str
    samples: int
    nodes: tuple[NodeValidation, ...]
    estimated_cycles: float          # the cost model's network total
    emulated_cycles: float           # executed instructions priced, network_run included
    runtime_cycles: float            # network_run's own share of emulated_cycles
    bit_exact: bool
    mismatch: str                    # "" when bit-exact
    instruction_check: InstructionCheck | None
    machine_code: MachineCodeReport
    emulation_seconds: float
    notes: tuple[str, ...]

    @property
    def error(self) -> float:
        return (self.estimated_cycles - self.emulated_cycles) / self.emulated_cycles

    @property
    def max_node_error(self) -> float:
        return max((abs(n.error) for n in self.nodes), default=0.0)

    def within(self, tolerance: float = TOLERANCE) -> bool:
        return abs(self.error) <= tolerance and self.max_node_error <= tolerance

    def to_dict(self) -> dict:
        return {"workload": self.workload, "device": self.device, "target": self.target,
                "style": self.style, "samples": self.samples,
                "estimated_cycles": self.estimated_cycles,
                "emulated_cycles": self.emulated_cycles, "runtime_cycles": self.runtime_cycles,
                "error": self.error, "max_node_error": self.max_node_error,
                "bit_exact": self.bit_exact, "mismatch": self.mismatch,
                "instructions_agree": None if self.instruction_check is None
                else self.instruction_check.agrees,
                "multiply_free": self.machine_code.multiply_free,
                "architecture": self.machine_code.architecture,
                "emulation_seconds": self.emulation_seconds, "notes": list(self.notes),
                "nodes": [{"node": n.node, "op": n.op, "estimated_cycles": n.estimated_cycles,
                           "emulated_cycles": n.emulated_cycles, "error": n.error,
                           "basis": n.basis, "kernel": n.kernel} for n in self.nodes]}


def sample_inputs(artifact, samples: int) -> np.ndarray:
    """The first `samples` test inputs of the artifact's dataset, as input level indices."""
    from hwsim.train.network import quantize_input
    from hwsim.train.pipeline import dataset_for
    if samples < 1:
        raise HwsimError(f"samples must be >= 1, got {samples}")
    data = dataset_for(artifact.workload)
    x = np.asarray(data.x_test[:samples], dtype=np.float64)
    return quantize_input(x, artifact.workload.input_levels)


def resolve_target(device: Device, target: str | Target = "auto") -> Target:
    if isinstance(target, Target):
        return target
    return target_for_device(device) if target == "auto" else find_target(target)


def compare_outputs(g: nx.DiGraph, node_outputs: dict[str, np.ndarray], x_levels: np.ndarray,
                    style: str) -> str:
    """"" when the given node outputs ((N, elements) per node) equal the reference's (lut:
    the integer executor; int8: the int8 reference; float32: within the float32
    reference's tolerance), else the first difference."""
    if style == "float32":
        from hwsim.machine.codegen.float32_reference import compare_float_outputs
        return compare_float_outputs(g, node_outputs, x_levels)
    if style == "lut":
        reference = execute(g, x_levels)
        expected = {node: r.output.reshape(len(x_levels), -1) for node, r in reference.nodes.items()}
        output_op = g.nodes["output"].get("op") if "output" in g.nodes else None
        if getattr(output_op, "kind", None) == "output_table":
            from hwsim.machine.codegen.lut import output_value_table, storage_bits
            values, _ = output_value_table(g, storage_bits(g.graph["table_entry_bits"]))
            expected["output"] = values[expected["output"]]
    else:
        from hwsim.machine.codegen.int8 import int8_forward
        expected = int8_forward(g, x_levels)
    for node, got in node_outputs.items():
        if node not in expected:
            continue
        want = np.asarray(expected[node]).reshape(len(x_levels), -1).astype(np.int64)
        got = got.astype(np.int64)
        if want.shape != got.shape:
            return f"node {node!r}: shape {list(got.shape)} vs reference {list(want.shape)}"
        bad = np.argwhere(want != got)
        if len(bad):
            s, u = bad[0]
            return (f"node {node!r}, sample {s}, element {u}: got {got[s, u]}, "
                    f"reference {want[s, u]}")
    return ""


def input_zero_share(x_levels) -> float:
    """The share of the input elements at level 0 (the float32 input 0.0): the operand
    statistic the float32 cost model takes (CostOptions.float_zero_inputs)."""
    x = np.asarray(x_levels)
    return float(np.mean(x == 0)) if x.size else 0.0


def validate_graph(g: nx.DiGraph, devices: list[Device], style: str, x_levels: np.ndarray, *,
                   target: str | Target = "auto", options: CostOptions | None = None,
                   workdir: str | Path | None = None, check_instructions: bool = True
                   ) -> list[ValidationReport]:
    """Validate the cost model on graph `g` with inputs `x_levels` (input level indices),
    one report per device. Devices that share a target and a memory map share one
    build and one emulation (pricing is per device)."""
    options = options or codegen_options()
    if style == "float32":
        check_soft_float(devices)
        if options.float_zero_inputs is None:
            options = replace(options, float_zero_inputs=input_zero_share(x_levels))
    groups: dict[tuple, list[Device]] = {}
    for device in devices:
        t = resolve_target(device, target)
        kernels, choice, lut, described = generated_kernels(g, device, style, t, options)
        groups.setdefault((t.name, t.memory_map(device), kernels, choice, lut, described),
                          []).append(device)
    reports = {}
    with tempfile.TemporaryDirectory(prefix="hwsim-validate-") as tmp:
        for k, ((name, memory, kernels, choice, lut, described), members) in enumerate(
                groups.items()):
            program = generate(g, find_target(name), style, memory, int8_kernels=kernels,
                               int8_choice=choice, lut_kernels=lut,
                               lut_grouped=choice if style == "lut" else ())
            directory = Path(workdir) / f"{name}-{k}" if workdir else Path(tmp) / f"{name}-{k}"
            build = build_program(program, directory)
            proof = prove(build.elf_path, program.target, style, program.node_of_function)
            run = emulate(build, program_inputs(g, style, x_levels), check_instructions=check_instructions,
                          mul_operands=any(d.operand_multiplier for d in members),
                          register_shifts=any(d.serial_shifter for d in members))
            mismatch = compare_outputs(g, run.node_outputs, x_levels, style)
            for device in members:
                reports[device.name] = compare_node_costs(g, device, style, price(run.profile, device), run,
                                               proof, mismatch, described)
                if style == "float32":
                    reports[device.name] = _with_routine_note(reports[device.name], run, device)
    return [reports[d.name] for d in devices]


def generated_kernels(g, device: Device, style: str, target: Target, options: CostOptions
                      ) -> tuple[str, tuple[tuple[str, str], ...] | None, str, CostOptions]:
    """What the code generated for `device` runs, and the cost options that describe it:
    (int8_kernels mode, the per-node kernel choice (int8: every weighted node's kernel;
    lut: the dense nodes that run the grouped kernel, hwsim.cost.lut_choice) or None,
    lut_kernels mode, options). lut calls the lut library where its characterization prices the device with
    these options (hwsim.cost.lut_library.device_lut_kernels), else the loops. int8 calls the
    library where its characterization prices the device (hwsim.cost.int8_library.covers)
    and the options ask for it, else the plain loops; each weighted node gets the kernel
    the cost model chooses (hwsim.cost.int8_choice). The generated code uses SIMD MACs
    only on Cortex-M4 (not e.g. GAP9's sdotp)."""
    from hwsim.cost.lut_library import device_lut_kernels
    kernels = options.int8_kernels if covers(core_traits(device)) else "reference"
    lut = device_lut_kernels(core_traits(device), options)
    described = replace(options, simd=options.simd and target.dsp, int8_kernels=kernels,
                        lut_kernels=lut)
    if style == "lut" and lut == "library":
        return kernels, cost_graph(g, device, style, described).lut_chosen, lut, described
    if style != "int8":
        return kernels, None, lut, described
    choice = tuple(sorted((n, c.kernel) for n, c in
                          int8_kernel_choices(g, device, described).items()))
    return kernels, choice, lut, described


def _with_routine_note(report: ValidationReport, run: EmulationRun, device: Device
                       ) -> ValidationReport:
    """A float32 report with what libgcc's routines took per call beside the device file's
    soft_float figures the estimate used (hwsim.machine.soft_float)."""
    from hwsim.machine.soft_float import measured_figures, routine_costs
    listed = device.soft_float_cycles or {}
    parts = [f"{op} {cycles:.0f} ({listed[op]:g} in the device file)" if op in listed
             else f"{op} {cycles:.0f} (estimated from the device file)"
             for op, cycles in measured_figures(routine_costs(run, device)).items()]
    note = "soft-float cycles per call in this run: " + ", ".join(parts)
    return replace(report, notes=report.notes + (note,))


def program_inputs(g: nx.DiGraph, style: str, x_levels: np.ndarray) -> np.ndarray:
    """What the generated program of `style` reads for input level indices `x_levels`:
    the levels (lut), int8 values (int8), float32 values (float32)."""
    if style == "int8":
        from hwsim.machine.codegen.int8 import quantize_input
        return quantize_input(g, x_levels)
    if style == "float32":
        from hwsim.machine.codegen.float32_reference import float_input
        return float_input(g, x_levels)
    return x_levels


def check_soft_float(devices: list[Device]) -> None:
    """The float32 code is soft-float (hwsim.machine.codegen.float32) and the emulator runs
    no FPU instructions, while the cost model prices a device with an FPU by its FPU
    instructions: such a device cannot be validated in float32."""
    with_fpu = [f"{d.name} (core.fpu: {d.core.fpu})" for d in devices if d.core.fpu != "none"]
    if with_fpu:
        raise HwsimError(f"float32 validation runs soft-float code (libgcc routines), and the "
                         f"cost model prices FPU instructions on {', '.join(with_fpu)}; "
                         "validate float32 on a device without an FPU (core.fpu: none), e.g. "
                         "samd21, rp2040, esp32-c3, ch32v003")


def compare_node_costs(g, device: Device, style: str, emulated: EmulatedCost, run: EmulationRun,
            proof: MachineCodeReport, mismatch: str, options: CostOptions) -> ValidationReport:
    """Per node: the cost model's estimate against the emulated cycles."""
    model = cost_graph(g, device, style, options)
    estimated = {n.node: n.cycles for n in model.nodes}
    basis = {n.node: n.basis for n in model.nodes}
    kernels = {n.node: n.kernel for n in model.nodes}
    nodes = []
    for node in execution_order(g):
        est, emu = estimated.get(node, 0.0), emulated.cycles_of(node)
        if est == 0 and emu == 0:
            continue
        nodes.append(NodeValidation(node, g.nodes[node]["op"].kind, est, emu,
                                    basis.get(node, "formula"), kernels.get(node)))
    runtime = emulated.cycles_of(RUNTIME)
    notes = list(run.program.notes)
    if device.core.isa != run.program.target.elf_arch and device.core.isa == "rv32e":
        notes.append(f"{device.name} is {device.core.isa}: emulated as {run.program.target.name}")
    return ValidationReport(str(g.graph.get("name")), device.name, run.program.target.name,
                            style, run.samples, tuple(nodes), model.total_cycles,
                            emulated.total_cycles, runtime, not mismatch, mismatch, run.check,
                            proof, run.seconds, tuple(notes))


def validate(artifact, device: Device, style: str = "lut", *, target: str | Target = "auto",
             samples: int = DEFAULT_SAMPLES, workdir: str | Path | None = None,
             weight_indices: str = "auto") -> ValidationReport:
    """Validate the cost model on a trained artifact with its first test inputs
    (`weight_indices`: the lut weight codes, CostOptions)."""
    g = graph_from_artifact(artifact)
    return validate_graph(g, [device], style, sample_inputs(artifact, samples), target=target,
                          workdir=workdir,
                          options=replace(codegen_options(), weight_indices=weight_indices))[0]
