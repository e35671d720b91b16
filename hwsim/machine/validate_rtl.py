"""Validation against cycle-exact RTL: the generated network run on a Verilator model of an
open RISC-V core (ladder step 4, docs/rtl.md).

For an artifact, an RTL core configuration (hwsim.machine.rtl.cores) and a style: the
device file of the configuration (devices/rtl/) gives the cycle table; the network's C is
generated for the matching RV32 target and

- emulated and priced with the table (hwsim.machine.validate: the cost model against
  emulation, output checked bit for bit against the executor / int8 reference), and
- linked for the testbench's flat RAM with a MARK write at every node boundary of
  network_run (`HWSIM_NODE_BOUNDARY`), run on the RTL core, its output bytes read back
  through the RESULT register.

Each row is one call of network_run (a weighted node with the threshold it calls per unit
is one row). Its RTL clocks are the clocks between the two MARK writes around the call,
minus network_run's own instructions between them (argument set-up and the MARK store,
straight-line code priced with the table): what is left is the call, the node and its
return, which is what emulation and the cost model count for the node. The network is the
sum of its rows on all three sides (network_run's prologue is left out everywhere); the
raw clocks of the whole network_run call, marks included, are reported beside it.

    report = validate_rtl(artifact, "ibex-rv32m-fast", "lut", cache_dir=Path(".hwsim-cache/rtl"))
    report.rows           # per node: estimated, emulated x table, RTL clocks
    report.estimate_error, report.emulation_error, report.outputs_equal
"""
from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import networkx as nx
import numpy as np

from hwsim.errors import HwsimError
from hwsim.ir.graph import execution_order, graph_from_artifact
from hwsim.machine.codegen import Program, generate
from hwsim.machine.codegen.targets import MemoryMap, Target, target_for_device
from hwsim.machine.disasm import Instruction, function_instructions
from hwsim.machine.emulate_price import instruction_cycles
from hwsim.machine.rtl import RtlCore, build_core, elf_to_words, rtl_core, run_firmware
from hwsim.machine.rtl.memory_map import MEMORY_MAP
from hwsim.machine.toolchain import build_program, read_elf
from hwsim.machine.validate import (
    DEFAULT_SAMPLES, ValidationReport, codegen_options, compare_outputs, generated_kernels,
    program_inputs, sample_inputs, validate_graph,
)
from hwsim.specs.catalog import find_device
from hwsim.specs.device import Device

# Where each figure comes from (reports and tables carry these labels).
SOURCES = {
    "estimated_cycles": "cost model (hwsim.cost) x the device file's cycle table",
    "emulated_cycles": "instructions executed in unicorn x the device file's cycle table",
    "rtl_clocks": ("Verilator simulation of the core's RTL: clocks between the MARK writes "
                   "around each node's call, less network_run's own set-up instructions "
                   "and MARK store between them (priced with the table)"),
}
# RTL configurations whose device file has another name.
DEVICE_OF_CORE = {"ibex-rv32m-none": "ibex-rv32i", "ibex-rv32m-none-ws1": "ibex-rv32i-ws1"}
START_MARK = 0x8000_0000          # | sample: before the call of network_run
END_MARK = 0xC000_0000            # | sample: after it
MAX_CLOCKS_PER_CYCLE = 20         # run bound: emulated cycles x this, per sample (+ margin)
_ISA_RUNS = {"rv32i": ("rv32i",), "rv32im": ("rv32i", "rv32im"),
             "rv32imc": ("rv32i", "rv32im")}


@dataclass(frozen=True)
class RtlRow:
    """One call of network_run: the node called and the nodes it runs for (a fused
    threshold, nodes that run no code of their own); cycles per inference."""
    node: str
    op: str
    nodes: tuple[str, ...]
    estimated_cycles: float
    emulated_cycles: float
    rtl_clocks: float

    @property
    def estimate_error(self) -> float:
        return _error(self.estimated_cycles, self.rtl_clocks)

    @property
    def emulation_error(self) -> float:
        return _error(self.emulated_cycles, self.rtl_clocks)


def _error(value: float, reference: float) -> float:
    if reference == 0:
        return 0.0 if value == 0 else float("inf")
    return (value - reference) / reference


@dataclass(frozen=True)
class RtlValidationReport:
    workload: str
    core: str                        # RTL configuration (hwsim.machine.rtl.cores)
    device: str                      # its device file (devices/rtl/)
    target: str
    style: str
    samples: int
    wait_states: int
    rows: tuple[RtlRow, ...]
    outputs_equal: bool              # RTL output bytes == the executor's (int8: reference)
    output_mismatch: str             # "" when equal
    network_run_clocks: float        # raw RTL clocks of the network_run call, marks included
    rtl_seconds: float               # wall time of the RTL simulation
    emulation: ValidationReport      # the cost model against emulation, same build
    notes: tuple[str, ...]

    @property
    def estimated_cycles(self) -> float:
        return sum(r.estimated_cycles for r in self.rows)

    @property
    def emulated_cycles(self) -> float:
        return sum(r.emulated_cycles for r in self.rows)

    @property
    def rtl_clocks(self) -> float:
        return sum(r.rtl_clocks for r in self.rows)

    @property
    def estimate_error(self) -> float:
        """(cost model - RTL) / RTL over the network."""
        return _error(self.estimated_cycles, self.rtl_clocks)

    @property
    def emulation_error(self) -> float:
        """(emulation x table - RTL) / RTL over the network."""
        return _error(self.emulated_cycles, self.rtl_clocks)

    @property
    def max_row_estimate_error(self) -> float:
        return max((abs(r.estimate_error) for r in self.rows), default=0.0)

    @property
    def max_row_emulation_error(self) -> float:
        return max((abs(r.emulation_error) for r in self.rows), default=0.0)

    def to_dict(self) -> dict:
        return {"workload": self.workload, "core": self.core, "device": self.device,
                "target": self.target, "style": self.style, "samples": self.samples,
                "wait_states": self.wait_states, "sources": dict(SOURCES),
                "estimated_cycles": self.estimated_cycles,
                "emulated_cycles": self.emulated_cycles, "rtl_clocks": self.rtl_clocks,
                "estimate_error": self.estimate_error, "emulation_error": self.emulation_error,
                "max_row_estimate_error": self.max_row_estimate_error,
                "max_row_emulation_error": self.max_row_emulation_error,
                "outputs_equal": self.outputs_equal, "output_mismatch": self.output_mismatch,
                "emulation_bit_exact": self.emulation.bit_exact,
                "network_run_clocks": self.network_run_clocks,
                "rtl_seconds": self.rtl_seconds, "notes": list(self.notes),
                "rows": [{"node": r.node, "op": r.op, "nodes": list(r.nodes),
                          "estimated_cycles": r.estimated_cycles,
                          "emulated_cycles": r.emulated_cycles, "rtl_clocks": r.rtl_clocks,
                          "estimate_error": r.estimate_error,
                          "emulation_error": r.emulation_error} for r in self.rows]}


def device_for_core(core: RtlCore) -> Device:
    """The device file (devices/rtl/) holding the cycle table of `core`: its own (a
    configuration with wait states may have one, e.g. picorv32-ws1), else its base
    configuration's (the zero-wait-state table; the report then says so)."""
    for name in dict.fromkeys((DEVICE_OF_CORE.get(core.name, core.name),
                               DEVICE_OF_CORE.get(core.base_name, core.base_name))):
        try:
            return find_device(name)
        except HwsimError:
            continue
    raise HwsimError(f"RTL core {core.name!r}: no device file {core.base_name!r} with its "
                     "cycle table (devices/rtl/)")


def rtl_memory_map(device: Device) -> MemoryMap:
    """The device's flash and SRAM laid out one after the other in the testbench's RAM."""
    flash, sram = device.memory.flash_bytes, device.memory.sram_bytes
    if flash + sram > MEMORY_MAP.ram_bytes:
        raise HwsimError(f"device {device.name}: flash_bytes + sram_bytes ({flash + sram:,}) "
                         f"exceed the RTL testbench RAM ({MEMORY_MAP.ram_bytes:,} bytes)")
    return MemoryMap(0, flash, flash, sram, source=f"the RTL testbench RAM ({device.name})")


def _defines() -> str:
    return "".join(f"#define {name} {value:#x}u\n" for name, value in MEMORY_MAP.gcc_defines())


HARNESS = """/* Generated by hwsim: RTL testbench harness ({core}, {samples} samples). */
#include <stdint.h>
{defines}#define HWSIM_REGISTER(offset) (*(volatile uint32_t *)(HWSIM_MMIO_BASE + (offset)))

extern uint8_t hwsim_arena[];
extern uint8_t hwsim_input[];
extern uint8_t hwsim_output[];
void network_run(const {input_type} *input, void *output);

static const uint8_t hwsim_samples[{samples}][{input_bytes}] = {{
{samples_data}
}};

__attribute__((noinline, used)) void hwsim_main(void)
{{
    for (uint32_t s = 0; s < {samples}; s++) {{
        for (uint32_t i = 0; i < {arena_bytes}; i++)          /* as the emulator: zeroed RAM */
            ((volatile uint8_t *)hwsim_arena)[i] = 0;
        for (uint32_t i = 0; i < {input_bytes}; i++)
            ((volatile uint8_t *)hwsim_input)[i] = hwsim_samples[s][i];
        HWSIM_REGISTER(HWSIM_MARK_OFFSET) = {start_mark:#x}u | s;
        network_run((const {input_type} *)hwsim_input, hwsim_output);
        HWSIM_REGISTER(HWSIM_MARK_OFFSET) = {end_mark:#x}u | s;
        for (uint32_t i = 0; i < {output_bytes}; i++)
            HWSIM_REGISTER(HWSIM_RESULT_OFFSET) = ((volatile uint8_t *)hwsim_output)[i];
    }}
    HWSIM_REGISTER(HWSIM_EXIT_OFFSET) = 0;
    for (;;) {{
    }}
}}

__attribute__((naked, section(".text.start"))) void _start(void)
{{
    __asm__ volatile ("la sp, __stack_top\\n    j hwsim_main\\n");
}}
"""
NODE_MARKS = """#define HWSIM_NODE_BOUNDARY(index) \\
    (*(volatile uint32_t *)(HWSIM_MMIO_BASE + HWSIM_MARK_OFFSET) = (uint32_t)(index))
"""


def rtl_program(program: Program, core: RtlCore, inputs: np.ndarray) -> Program:
    """`program` (generated with rtl_memory_map) with the RTL harness, its samples in the
    image, and MARK writes at the node boundaries of network_run."""
    raw = np.ascontiguousarray(inputs).reshape(len(inputs), -1)
    data = [raw[s].tobytes() for s in range(len(raw))]
    samples_data = ",\n".join("    {" + ", ".join(str(b) for b in row) + "}" for row in data)
    harness = HARNESS.format(core=core.name, samples=len(data), defines=_defines(),
                             input_type=program.input.ctype, input_bytes=len(data[0]),
                             samples_data=samples_data, arena_bytes=program.arena_bytes,
                             start_mark=START_MARK, end_mark=END_MARK,
                             output_bytes=program.output.size_bytes)
    files = dict(program.files)
    files["start.c"] = harness
    files["network.c"] = "#include <stdint.h>\n" + _defines() + NODE_MARKS + files["network.c"]
    return replace(program, files=files)


def _calls(program: Program) -> list:
    return [f for f in program.functions if f.function and f.caller == "network_run"]


def _rows_of(program: Program, g: nx.DiGraph) -> list[tuple[str, list[str]]]:
    """(called node, every graph node it runs for) per call of network_run, in order: a
    threshold called per unit goes with its caller, a node without code with the call
    before it (the first call for those before any)."""
    calls = _calls(program)
    by_function = {f.function: f.node for f in program.functions if f.function}
    groups = {f.node: [f.node] for f in calls}
    current = None
    pending = []
    for node in execution_order(g):
        f = next((x for x in program.functions if x.node == node), None)
        if f is not None and f.function and f.caller == "network_run":
            current = node
            groups[node] = pending + groups[node]
            pending = []
        elif f is not None and f.function:
            groups[by_function.get(f.caller, current)].append(node)
        elif current is None:
            pending.append(node)
        else:
            groups[current].append(node)
    return [(f.node, groups[f.node]) for f in calls]


_BASE = re.compile(r"\((\w+)\)\s*$")


def boundary_glue_cycles(elf_path: Path, device: Device, calls: int) -> list[float]:
    """Per call k of network_run: the cycles of network_run's own instructions between
    the k-th and the (k+1)-th MARK store (argument set-up), plus one MARK store, priced
    with the device's table (straight-line code). The MARK stores are network_run's
    stores not based on sp."""
    image = read_elf(elf_path)
    body = function_instructions(image, "riscv", image.symbols["network_run"])
    marks = [k for k, i in enumerate(body) if i.mnemonic == "sw"
             and (m := _BASE.search(i.text)) and m.group(1) != "sp"]
    if len(marks) != calls + 1:
        raise HwsimError(f"{elf_path}: network_run has {len(marks)} MARK stores, expected "
                         f"{calls + 1} (one per node boundary)")
    glue = []
    for a, b in zip(marks, marks[1:]):
        between: list[Instruction] = [i for i in body[a + 1:b] if i.action != "call"]
        if any(i.action in ("cond_branch", "jump", "jump_register", "return") for i in between):
            raise HwsimError(f"{elf_path}: network_run is not straight-line code between "
                             "its MARK stores")
        glue.append(instruction_cycles(between + [body[b]], device))
    return glue


def _sample_events(run, samples: int, calls: int):
    """Per sample: (the node-boundary mark clocks, the START/END clocks)."""
    marks = list(run.marks)
    per_sample = []
    position = 0
    for s in range(samples):
        chunk = marks[position:position + calls + 3]
        position += calls + 3
        values = [m.value for m in chunk]
        expected = [START_MARK | s, *range(calls + 1), END_MARK | s]
        if values != expected:
            raise HwsimError(f"RTL run: sample {s}: MARK values {values[:8]}... are not the "
                             f"node boundaries expected ({expected[:8]}...)")
        per_sample.append(([m.clock for m in chunk[1:-1]], (chunk[0].clock, chunk[-1].clock)))
    return per_sample


def validate_rtl_graph(g: nx.DiGraph, core: RtlCore, style: str, x_levels: np.ndarray, *,
                       cache_dir: str | Path, device: Device | None = None,
                       workdir: str | Path | None = None) -> RtlValidationReport:
    """Graph `g` on the RTL core against emulation and the cost model, inputs `x_levels`."""
    device = device or device_for_core(core)
    target: Target = target_for_device(device)
    if target.name not in _ISA_RUNS[core.isa]:
        raise HwsimError(f"RTL core {core.name} ({core.isa}) cannot run {target.name} code "
                         f"(device {device.name}, isa {device.core.isa})")
    memory = rtl_memory_map(device)
    with tempfile.TemporaryDirectory(prefix="hwsim-validate-rtl-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        emulation = validate_graph(g, [device], style, x_levels, target=target,
                                   workdir=base / "emulation", check_instructions=False)[0]
        inputs = program_inputs(g, style, x_levels)
        kernels, choice, lut, _ = generated_kernels(g, device, style, target, codegen_options())
        program = generate(g, target, style, memory, int8_kernels=kernels, int8_choice=choice,
                           lut_kernels=lut, lut_grouped=choice if style == "lut" else ())
        inputs = np.asarray(inputs).astype(_numpy_type(program.input.ctype))
        build = build_program(rtl_program(program, core, inputs), base / "rtl")
        calls = _calls(program)
        glue = boundary_glue_cycles(build.elf_path, device, len(calls))
        simulator = build_core(core, Path(cache_dir))
        max_cycles = int(MAX_CLOCKS_PER_CYCLE * (core.wait_states + 1)
                         * (emulation.emulated_cycles + program.arena_bytes + 1000)
                         * len(inputs)) + 1_000_000
        started = time.perf_counter()
        run = run_firmware(simulator, elf_to_words(build.elf_path), max_cycles=max_cycles,
                           wait_states=core.wait_states)
        seconds = time.perf_counter() - started
    if run.timed_out or run.exit_code != 0:
        raise HwsimError(f"RTL run on {core.name} did not finish (exit {run.exit_code}, "
                         f"{run.clocks:,} clocks, bound {max_cycles:,})")
    samples = len(inputs)
    events = _sample_events(run, samples, len(calls))
    segments = np.array([np.diff(clocks) for clocks, _ in events], dtype=np.float64)
    rtl_per_call = segments.mean(axis=0) - np.array(glue)
    network_run_clocks = float(np.mean([end - start for _, (start, end) in events]))
    outputs_equal, mismatch = _check_outputs(g, program, run, x_levels, style, samples)
    estimated = {n.node: n.estimated_cycles for n in emulation.nodes}
    emulated = {n.node: n.emulated_cycles for n in emulation.nodes}
    rows = []
    for (node, members), rtl in zip(_rows_of(program, g), rtl_per_call):
        rows.append(RtlRow(node, g.nodes[node]["op"].kind, tuple(members),
                           sum(estimated.get(m, 0.0) for m in members),
                           sum(emulated.get(m, 0.0) for m in members), float(rtl)))
    notes = list(emulation.notes)
    if core.wait_states and device.name != DEVICE_OF_CORE.get(core.name, core.name):
        notes.append(f"{core.name} has {core.wait_states} wait state(s) per access; the "
                     f"device table ({device.name}) assumes none")
    return RtlValidationReport(str(g.graph.get("name")), core.name, device.name, target.name,
                               style, samples, core.wait_states, tuple(rows), outputs_equal,
                               mismatch, network_run_clocks, seconds, emulation, tuple(notes))


def _numpy_type(ctype: str):
    from hwsim.machine.emulate import NUMPY_TYPES
    return NUMPY_TYPES[ctype]


def _check_outputs(g, program: Program, run, x_levels, style: str, samples: int
                   ) -> tuple[bool, str]:
    """The RTL's output bytes (RESULT writes) against the executor's (int8: reference)."""
    size = program.output.size_bytes
    values = [e.value for e in run.results]
    if len(values) != samples * size:
        return False, f"{len(values)} output bytes from the RTL, expected {samples * size}"
    raw = np.array(values, dtype=np.uint8).reshape(samples, size)
    outputs = raw.view(_numpy_type(program.output.ctype)).reshape(samples, -1)
    mismatch = compare_outputs(g, {program.output.node: outputs}, x_levels, style)
    return not mismatch, mismatch


def validate_rtl(artifact, core: str | RtlCore, style: str = "lut", *, cache_dir: str | Path,
                 samples: int = DEFAULT_SAMPLES, workdir: str | Path | None = None
                 ) -> RtlValidationReport:
    """Validate an artifact on an RTL core with its first `samples` test inputs."""
    core = rtl_core(core) if isinstance(core, str) else core
    g = graph_from_artifact(artifact)
    return validate_rtl_graph(g, core, style, sample_inputs(artifact, samples),
                              cache_dir=cache_dir, workdir=workdir)
