"""Device descriptions: a processor core, its memories, energy and battery.

`device_from_data` parses a plain mapping (tests build devices from dicts);
`load_device` reads a YAML file. Both report every problem at once as a
SpecError whose lines name the file and the YAML path.

Longer than 300 lines: the device schema, section by section, with every check of it in
one place (docs/devices.md follows its order); its vocabulary and ranges are in
hwsim.specs.device_schema.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwsim.errors import Problem
from hwsim.specs.device_schema import (  # noqa: F401  (the schema's names, re-exported)
    SCHEMA_VERSION, PRODUCT_CLASSES, ISAS, FPUS, MULTIPLIERS, FLASH_KINDS, SOURCE_KINDS,
    BASE_ACTIONS, OPTIONAL_BASE_ACTIONS, HAZARD_ACTIONS, CREDIT_ACTIONS, LOAD_STALL_ACTIONS, MULTIPLY_ACTIONS,
    SIMD_ACTIONS, DIVIDE_ACTIONS, FLOAT_ACTIONS, REQUIRED_FLOAT_ACTIONS, FALLBACK_ACTIONS, ALL_ACTIONS,
    SOFT_FLOAT_ROUTINES, REQUIRED_SOFT_FLOAT, SECTION_FIELDS, KNOWN_PATHS, MAX_CLOCK_HZ,
    MAX_CORES, MAX_SIMD_LANES, MAX_CYCLES, MAX_MEMORY_BYTES, MAX_DMA_BYTES_PER_CYCLE,
    MAX_VOLTS, MAX_UA_PER_MHZ, MAX_SLEEP_UA, MAX_PJ_PER_ACTION, MAX_CAPACITY_MAH)
from hwsim.specs.instruction_fetch import InstructionFetch, read_instruction_fetch
from hwsim.specs.yaml_reader import Reader, raise_if_problems, read_header, read_yaml


@dataclass(frozen=True)
class Core:
    name: str
    isa: str
    clock_hz: int
    count: int
    word_bits: int
    fpu: str
    multiplier: str
    divider: bool
    simd_mac_lanes: int


@dataclass(frozen=True)
class SoftMultiply:
    """Shift-and-add multiply routine (e.g. __mulsi3): call + per-bit loop cost,
    the loop running over the bits of the second operand."""
    call_cycles: float
    cycles_per_bit: float


@dataclass(frozen=True)
class SerialShifter:
    """A core without a barrel shifter: a shift by n bits takes
    base_cycles + (n // 4) x cycles_per_4_bits + (n % 4) x cycles_per_bit."""
    base_cycles: float
    cycles_per_4_bits: float
    cycles_per_bit: float

    def cycles(self, bits: int) -> float:
        return (self.base_cycles + (bits // 4) * self.cycles_per_4_bits
                + (bits % 4) * self.cycles_per_bit)


@dataclass(frozen=True)
class OperandMultiplier:
    """An iterative multiplier whose MUL stops after the significant bits of its second
    operand (rs2, read unsigned: a negative value has 32): base_cycles + cycles_per_bit x
    bits (at least 1 bit). cycles.mul stays the figure used when the operand is unknown."""
    base_cycles: float
    cycles_per_bit: float

    def cycles(self, bits: int) -> float:
        return self.base_cycles + self.cycles_per_bit * max(bits, 1)


@dataclass(frozen=True)
class Memory:
    sram_bytes: int
    flash_bytes: int
    flash_kind: str
    flash_load_extra_cycles: float
    reserved_sram_bytes: int
    reserved_flash_bytes: int
    instruction_fetch: InstructionFetch | None = None   # None: not stated, nothing charged


@dataclass(frozen=True)
class Dma:
    present: bool
    bytes_per_cycle: float | None


@dataclass(frozen=True)
class Energy:
    supply_v: float
    active_ua_per_mhz: float
    sleep_ua: float
    pj_per_action: dict[str, float] = field(default_factory=dict)

    @property
    def active_pj_per_cycle(self) -> float:
        # uA/MHz x V = pJ per cycle (1e-6 A / 1e6 Hz x V = 1e-12 J).
        return self.active_ua_per_mhz * self.supply_v


@dataclass(frozen=True)
class Battery:
    kind: str
    capacity_mah: float
    voltage_v: float


@dataclass(frozen=True)
class Source:
    ref: str
    kind: str
    fields: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class Device:
    name: str
    title: str
    product_class: str
    description: str
    core: Core
    cycles: dict[str, float]
    soft_float_cycles: dict[str, float] | None
    soft_multiply: SoftMultiply | None
    memory: Memory
    dma: Dma
    energy: Energy
    battery: Battery
    sources: tuple[Source, ...]
    source_file: str | None = None
    serial_shifter: SerialShifter | None = None     # None: shifts are ALU instructions
    operand_multiplier: OperandMultiplier | None = None   # None: MUL takes cycles.mul

    def __repr__(self) -> str:
        return (f"Device({self.name!r}, {self.core.name} @ {self.core.clock_hz / 1e6:g} MHz, "
                f"{self.memory.sram_bytes} B SRAM)")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary of every field (the YAML's structure, units in names)."""
        from dataclasses import asdict
        data = asdict(self)
        data["sources"] = [asdict(s) | {"fields": list(s.fields)} for s in self.sources]
        return data


@dataclass(frozen=True)
class _Traits:
    """The core fields that decide which other fields are required or forbidden;
    each None when it could not be read (its rules are then skipped)."""
    fpu: str | None
    multiplier: str | None
    divider: bool | None
    simd_mac_lanes: int | None


def _traits(core_data: Any) -> _Traits:
    data = core_data if isinstance(core_data, dict) else {}

    def pick(key, kinds, allowed=None):
        value = data.get(key)
        ok = isinstance(value, kinds) and (allowed is None or value in allowed)
        return value if ok else None

    lanes = data.get("simd_mac_lanes")
    lanes = lanes if isinstance(lanes, int) and not isinstance(lanes, bool) and lanes > 0 else None
    return _Traits(pick("fpu", str, FPUS), pick("multiplier", str, MULTIPLIERS),
                   pick("divider", bool), lanes)


def _cycles(reader: Reader, core: _Traits) -> dict[str, float]:
    cycles: dict[str, float] = {}

    def take(action: str, required: bool) -> None:
        if action in CREDIT_ACTIONS:        # cycles saved: a credit, never a cost
            value = reader.number(action, required, minimum=-MAX_CYCLES, maximum=0)
        else:
            value = reader.number(action, required, minimum=0, maximum=MAX_CYCLES)
        if value is not None:
            cycles[action] = value

    def forbid(action: str, why: str) -> None:
        reader.seen.add(action)
        if action in reader.data:
            reader.problem(action, f"given, but {why}")

    def rule(known, wanted: bool, actions, required, why: str) -> None:
        for action in actions:
            if known is None:          # the deciding core field is itself wrong
                take(action, False)
            elif wanted:
                take(action, action in required)
            else:
                forbid(action, why)

    for action in BASE_ACTIONS:
        take(action, True)
    for action in OPTIONAL_BASE_ACTIONS + HAZARD_ACTIONS:
        take(action, False)
    rule(core.multiplier, core.multiplier != "none", MULTIPLY_ACTIONS, ("mul",),
         "core.multiplier is none (no hardware multiplier)")
    rule(core.simd_mac_lanes, (core.simd_mac_lanes or 0) > 1, SIMD_ACTIONS, SIMD_ACTIONS,
         "core.simd_mac_lanes is 1 (no SIMD multiply-accumulate)")
    rule(core.divider, bool(core.divider), DIVIDE_ACTIONS, DIVIDE_ACTIONS, "core.divider is false")
    rule(core.fpu, core.fpu != "none", FLOAT_ACTIONS, REQUIRED_FLOAT_ACTIONS,
         "core.fpu is none (soft-float costs go in soft_float)")
    return cycles


def _core(r: Reader) -> Core | None:
    name = r.str("name")
    isa = r.choice("isa", ISAS)
    clock_hz = r.int("clock_hz", positive=True, maximum=MAX_CLOCK_HZ)
    count = r.int("count", positive=True, maximum=MAX_CORES)
    word_bits = r.int("word_bits", positive=True)
    if word_bits is not None and word_bits not in (16, 32):
        r.problem("word_bits", f"must be 16 or 32, got {word_bits}")
        word_bits = None
    fpu = r.choice("fpu", FPUS)
    multiplier = r.choice("multiplier", MULTIPLIERS)
    divider = r.bool("divider")
    lanes = r.int("simd_mac_lanes", positive=True, maximum=MAX_SIMD_LANES)
    r.finish()
    values = (name, isa, clock_hz, count, word_bits, fpu, multiplier, divider, lanes)
    if any(v is None for v in values):
        return None
    return Core(*values)


def _soft_float(r: Reader | None, core: _Traits, parent: Reader) -> dict[str, float] | None:
    if core.fpu is None:
        if r is not None:
            r.seen.update(r.data)
        return None
    if core.fpu != "none":
        if r is not None:
            parent.problem("soft_float", "given, but core.fpu is not none (the FPU costs go in cycles)")
        return None
    if r is None:
        parent.problem("soft_float", "required when core.fpu is none: cycles of the soft-float "
                       "routines (add, mul at least)")
        return None
    result = {}
    for routine in SOFT_FLOAT_ROUTINES:
        value = r.number(routine, routine in REQUIRED_SOFT_FLOAT, positive=True,
                         maximum=MAX_CYCLES)
        if value is not None:
            result[routine] = value
    r.finish()
    return result


def _soft_multiply(r: Reader | None, core: _Traits, parent: Reader) -> SoftMultiply | None:
    if core.multiplier is None:
        if r is not None:
            r.seen.update(r.data)
        return None
    if core.multiplier != "none":
        if r is not None:
            parent.problem("soft_multiply", "given, but the core has a hardware multiplier")
        return None
    if r is None:
        parent.problem("soft_multiply", "required when core.multiplier is none: call_cycles and "
                       "cycles_per_bit of the software multiply routine")
        return None
    call = r.number("call_cycles", positive=True, maximum=MAX_CYCLES)
    per_bit = r.number("cycles_per_bit", positive=True, maximum=MAX_CYCLES)
    r.finish()
    return None if call is None or per_bit is None else SoftMultiply(call, per_bit)


def _serial_shifter(r: Reader | None) -> SerialShifter | None:
    if r is None:
        return None
    base = r.number("base_cycles", positive=True)
    per_4 = r.number("cycles_per_4_bits", minimum=0)
    per_bit = r.number("cycles_per_bit", minimum=0)
    r.finish()
    return None if None in (base, per_4, per_bit) else SerialShifter(base, per_4, per_bit)


def _operand_multiplier(r: Reader | None, core: _Traits, parent: Reader
                        ) -> OperandMultiplier | None:
    if r is None:
        return None
    if core.multiplier is not None and core.multiplier != "iterative":
        r.seen.update(r.data)
        parent.problem("operand_multiplier", "given, but core.multiplier is not iterative")
        return None
    base = r.number("base_cycles", positive=True)
    per_bit = r.number("cycles_per_bit", positive=True)
    r.finish()
    return None if None in (base, per_bit) else OperandMultiplier(base, per_bit)


def _memory(r: Reader) -> Memory | None:
    sram = r.int("sram_bytes", positive=True, maximum=MAX_MEMORY_BYTES)
    flash = r.int("flash_bytes", positive=True, maximum=MAX_MEMORY_BYTES)
    kind = r.choice("flash_kind", FLASH_KINDS)
    extra = r.number("flash_load_extra_cycles", minimum=0, maximum=MAX_CYCLES)
    reserved_sram = r.int("reserved_sram_bytes", minimum=0, maximum=MAX_MEMORY_BYTES)
    reserved_flash = r.int("reserved_flash_bytes", minimum=0, maximum=MAX_MEMORY_BYTES)
    fetch = read_instruction_fetch(r.section("instruction_fetch", False))
    r.finish()
    if sram is not None and reserved_sram is not None and reserved_sram >= sram:
        r.problem("reserved_sram_bytes", f"must be < sram_bytes ({sram}), got {reserved_sram}")
        reserved_sram = None
    if flash is not None and reserved_flash is not None and reserved_flash >= flash:
        r.problem("reserved_flash_bytes", f"must be < flash_bytes ({flash}), got {reserved_flash}")
        reserved_flash = None
    values = (sram, flash, kind, extra, reserved_sram, reserved_flash)
    return None if any(v is None for v in values) else Memory(*values, fetch)



def _dma(r: Reader) -> Dma | None:
    present = r.bool("present")
    rate = r.number("bytes_per_cycle", bool(present), positive=True,
                    maximum=MAX_DMA_BYTES_PER_CYCLE)
    if present is False and rate is not None:
        r.problem("bytes_per_cycle", "given, but dma.present is false")
    r.finish()
    if present is None or (present and rate is None):
        return None
    return Dma(present, rate if present else None)


def _energy(r: Reader) -> Energy | None:
    supply = r.number("supply_v", positive=True, maximum=MAX_VOLTS)
    active = r.number("active_ua_per_mhz", positive=True, maximum=MAX_UA_PER_MHZ)
    sleep = r.number("sleep_ua", minimum=0, maximum=MAX_SLEEP_UA)

    def per_action(sub: Reader, action: str) -> float | None:
        if action not in ALL_ACTIONS:
            sub.seen.add(action)
            sub.problem(action, f"unknown action; one of {', '.join(ALL_ACTIONS)}")
            return None
        return sub.number(action, positive=True, maximum=MAX_PJ_PER_ACTION)

    pj = r.mapping("pj_per_action", per_action, required=False) or {}
    r.finish()
    if None in (supply, active, sleep) or None in pj.values():
        return None
    return Energy(supply, active, sleep, pj)


def _battery(r: Reader) -> Battery | None:
    kind = r.str("kind")
    capacity = r.number("capacity_mah", positive=True, maximum=MAX_CAPACITY_MAH)
    voltage = r.number("voltage_v", positive=True, maximum=MAX_VOLTS)
    r.finish()
    return None if None in (kind, capacity, voltage) else Battery(kind, capacity, voltage)


def _leaf_paths(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(YAML path, value) of every leaf below a mapping."""
    if not isinstance(data, dict):
        return [(prefix, data)]
    leaves = []
    for key, value in data.items():
        leaves.extend(_leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
    return leaves


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _covers(field_path: str, path: str) -> bool:
    return path == field_path or path.startswith(field_path + ".")


def _sources(top: Reader) -> tuple[Source, ...]:
    items = top.list("sources")
    if items is None:
        return ()
    leaves = _leaf_paths({k: v for k, v in top.data.items() if k in SECTION_FIELDS})
    # Every number in a known field needs a source (unknown fields are reported as such).
    facts = [path for path, value in leaves if _is_number(value) and path in KNOWN_PATHS]
    sources = []
    for index, item in enumerate(items):
        r = Reader(item, top.item_path("sources", index), top.problems)
        if not r.ok:
            continue
        ref = r.str("ref")
        kind = r.choice("kind", SOURCE_KINDS)
        note = r.str("note", kind == "estimate")
        fields = r.list("fields")
        r.finish()
        good_fields = []
        for j, path in enumerate(fields or []):
            if not isinstance(path, str) or path not in KNOWN_PATHS:
                r.problems.append(Problem(r.item_path("fields", j),
                                          f"names no field of the device schema: {path!r}"))
            else:
                good_fields.append(path)
        if None not in (ref, kind) and fields is not None:
            sources.append(Source(ref, kind, tuple(good_fields), note))
    covered = [f for s in sources for f in s.fields]
    for fact in facts:
        if not any(_covers(c, fact) for c in covered):
            top.problem("sources", f"no source given for {fact}")
    return tuple(sources)


def device_from_data(data: Any, source: str = "<dict>") -> Device:
    """Build a Device from a parsed mapping, or raise SpecError listing every problem."""
    problems: list[Problem] = []
    top = Reader(data, "", problems)
    name = read_header(top, SCHEMA_VERSION)
    title = top.str("title")
    product_class = top.choice("product_class", PRODUCT_CLASSES)
    description = top.str("description")
    core_reader = top.section("core")
    core = _core(core_reader) if core_reader else None
    traits = _traits(top.data.get("core"))
    cycles_reader = top.section("cycles")
    cycles = _cycles(cycles_reader, traits) if cycles_reader else {}
    if cycles_reader:
        cycles_reader.finish()
    soft_float = _soft_float(top.section("soft_float", False), traits, top)
    soft_multiply = _soft_multiply(top.section("soft_multiply", False), traits, top)
    serial_shifter = _serial_shifter(top.section("serial_shifter", False))
    operand_multiplier = _operand_multiplier(top.section("operand_multiplier", False), traits,
                                             top)
    memory_reader = top.section("memory")
    memory = _memory(memory_reader) if memory_reader else None
    dma_reader = top.section("dma")
    dma = _dma(dma_reader) if dma_reader else None
    energy_reader = top.section("energy")
    energy = _energy(energy_reader) if energy_reader else None
    battery_reader = top.section("battery")
    battery = _battery(battery_reader) if battery_reader else None
    sources = _sources(top) if top.ok else ()
    top.finish()
    raise_if_problems(source, problems)
    return Device(name, title, product_class, description, core, cycles, soft_float,
                  soft_multiply, memory, dma, energy, battery, sources,
                  None if source == "<dict>" else source, serial_shifter, operand_multiplier)


def load_device(path: str | Path) -> Device:
    """Read a device YAML file; SpecError lists every problem with file and YAML path."""
    return device_from_data(read_yaml(path), str(path))
