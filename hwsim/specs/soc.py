"""SoC descriptions (schema_version 2): several named cores, memory tiers, and the
product's baseline power, regulator and battery, as a layer over the single-core
`Device`.

Each core of a SoC file is written with the single-core sections (core, cycles,
energy, memory, dma, sources, ...) and parsed by `hwsim.specs.device.device_from_data`,
so every core is an ordinary `Device` the cost model, planner and scheduler already
take; its problems come back under `cores.NAME.`. The SoC adds what a product needs:
the core's class (the DSP or CPU family it really is; `core.isa` stays the nearest
instruction shape the cost model knows), its memory tiers in first-fit order, the
share of it the audio pipeline already takes, and at the top the named baseline loads,
the regulator from battery to core rail, and the battery.

`soc_from_data` parses a mapping (tests build SoCs from dicts), `load_soc` reads a file,
`load_any_device` reads either kind by its schema_version. docs/devices.md ("SoC files")
documents every field.

Longer than 300 lines: the SoC schema (cores, tiers, loads, regulator, battery, sources)
with every check of it in one place, as hwsim/specs/device.py does for a core.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwsim.errors import Problem, SpecError
from hwsim.specs.device import (PRODUCT_CLASSES, SCHEMA_VERSION as DEVICE_SCHEMA_VERSION,
                                SOURCE_KINDS, Battery, Device, Source, device_from_data)
from hwsim.specs.yaml_reader import NAME_PATTERN, Reader, raise_if_problems, read_yaml

SCHEMA_VERSION = 2
KNOWN_VERSIONS = {DEVICE_SCHEMA_VERSION: "a single-core device", SCHEMA_VERSION: "a SoC"}

# What a core really is. DSP classes carry their MAC widths in the file's cycle table
# (simd_mac_lanes, simd_mac), sourced per file; the cost model sees core.isa.
CPU_CLASSES = ("cortex-m0plus", "cortex-m3", "cortex-m4f", "cortex-m33", "cortex-m33f",
               "cortex-m55", "andes-d25f")
DSP_CLASSES = ("hifi-mini", "hifi1", "hifi3", "hifi4", "hifi5", "fusion-f1", "xtensa-audio",
               "kalimba-arch4", "cfx", "lpdsp32")
CORE_CLASSES = CPU_CLASSES + DSP_CLASSES
TIER_KINDS = ("tcm", "sram", "flash", "psram", "mram")
CONTENTS = ("code", "weights", "tables", "activations")
MEASURED_AT = ("battery", "core_rail")
# Keys of a core the SoC sets itself (from its own header and battery).
INJECTED = ("schema_version", "name", "title", "product_class", "description", "battery")
SOC_CORE_KEYS = ("class", "role", "tiers", "audio_share")
SOURCED_SECTIONS = ("memories", "baseline", "regulator", "battery")


@dataclass(frozen=True)
class MemoryTier:
    """One memory a core can place buffers in. `holds`: which of code, weights, tables,
    activations may live there; `reserved_bytes`: taken by the rest of the firmware."""
    name: str
    kind: str
    size_bytes: int
    reserved_bytes: int
    access_cycles: float
    energy_pj_per_access: float
    holds: tuple[str, ...]

    @property
    def free_bytes(self) -> int:
        return self.size_bytes - self.reserved_bytes


@dataclass(frozen=True)
class SocCore:
    name: str
    core_class: str
    role: str
    device: Device            # the core as an ordinary single-core Device
    tiers: tuple[str, ...]    # first-fit order
    audio_share: float        # share of this core the audio pipeline already takes (0..1)

    @property
    def is_dsp(self) -> bool:
        return self.core_class in DSP_CLASSES


@dataclass(frozen=True)
class Load:
    """A named product load (e.g. A2DP streaming) with its power at the battery."""
    name: str
    description: str
    measured_at: str              # battery | core_rail
    current_ma: float | None
    power_mw: float | None
    battery_power_mw: float       # what the battery delivers for this load


@dataclass(frozen=True)
class Regulator:
    """Battery -> core rail. `core_energy_at`: where the cores' energy figures
    (active_ua_per_mhz x supply_v) are measured: core_rail (behind the regulator, so
    the battery pays power / efficiency) or battery (the efficiency is already in them)."""
    efficiency: float
    output_v: float
    core_energy_at: str


@dataclass(frozen=True)
class Soc:
    name: str
    title: str
    product_class: str
    description: str
    cores: dict[str, SocCore]
    memories: dict[str, MemoryTier]
    loads: dict[str, Load]
    default_load: str
    regulator: Regulator
    battery: Battery
    sources: tuple[Source, ...]
    source_file: str | None = None

    def __repr__(self) -> str:
        return f"Soc({self.name!r}, cores {', '.join(self.cores)})"

    def core(self, name: str) -> SocCore:
        from hwsim.errors import HwsimError
        if name not in self.cores:
            raise HwsimError(f"SoC {self.name!r} has no core {name!r}; cores: "
                             f"{', '.join(self.cores)}")
        return self.cores[name]

    def tiers_of(self, core: str) -> tuple[MemoryTier, ...]:
        return tuple(self.memories[t] for t in self.cores[core].tiers)

    @property
    def battery_mwh(self) -> float:
        return self.battery.capacity_mah * self.battery.voltage_v

    def network_battery_mw(self, core_rail_mw: float) -> float:
        """A core's power as the battery pays it (the regulator as the file states)."""
        if self.regulator.core_energy_at == "core_rail":
            return core_rail_mw / self.regulator.efficiency
        return core_rail_mw


def _number_leaves(data: Any, prefix: str) -> list[str]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _number_leaves(v, f"{prefix}.{k}")]
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return [prefix]
    return []


def _tier(r: Reader, name: str) -> MemoryTier | None:
    if not NAME_PATTERN.match(str(name)):
        r.problem(None, f"tier name must be lower-case letters, digits, '-', '_' or '.', got {name!r}")
    kind = r.choice("kind", TIER_KINDS)
    size = r.int("size_bytes", positive=True)
    reserved = r.int("reserved_bytes", False, minimum=0, default=0)
    cycles = r.number("access_cycles", minimum=0)
    energy = r.number("energy_pj_per_access", minimum=0)
    holds = r.list("holds")
    r.finish()
    good = []
    for i, item in enumerate(holds or []):
        if item not in CONTENTS:
            r.problems.append(Problem(r.item_path("holds", i),
                                      f"must be one of {', '.join(CONTENTS)}, got {item!r}"))
        elif item in good:
            r.problems.append(Problem(r.item_path("holds", i), f"{item!r} listed twice"))
        else:
            good.append(item)
    if size is not None and reserved is not None and reserved >= size:
        r.problem("reserved_bytes", f"must be < size_bytes ({size}), got {reserved}")
        reserved = None
    if None in (kind, size, reserved, cycles, energy, holds) or len(good) != len(holds):
        return None
    return MemoryTier(name, kind, size, reserved, cycles, energy, tuple(good))


def _battery(r: Reader) -> Battery | None:
    kind = r.str("kind")
    capacity = r.number("capacity_mah", positive=True)
    voltage = r.number("voltage_v", positive=True)
    r.finish()
    return None if None in (kind, capacity, voltage) else Battery(kind, capacity, voltage)


def _regulator(r: Reader) -> Regulator | None:
    efficiency = r.number("efficiency", positive=True, maximum=1)
    output = r.number("output_v", positive=True)
    at = r.choice("core_energy_at", MEASURED_AT)
    r.finish()
    return None if None in (efficiency, output, at) else Regulator(efficiency, output, at)


def _load(r: Reader, name: str, battery: Battery | None,
          regulator: Regulator | None) -> Load | None:
    description = r.str("description")
    at = r.choice("measured_at", MEASURED_AT)
    current = r.number("current_ma", False, positive=True)
    power = r.number("power_mw", False, positive=True)
    r.finish()
    if "current_ma" in r.data and "power_mw" in r.data:
        r.problem(None, "give current_ma or power_mw, not both")
        return None
    if "current_ma" not in r.data and "power_mw" not in r.data:
        r.problem(None, "needs current_ma or power_mw")
        return None
    if None in (description, at) or (current is None and power is None):
        return None
    if at == "battery":
        if battery is None:
            return None
        watts = power if power is not None else current * battery.voltage_v
    else:
        if regulator is None:
            return None
        rail = power if power is not None else current * regulator.output_v
        watts = rail / regulator.efficiency
    return Load(name, description, at, current, power, watts)


def _core(r: Reader, name: str, header: dict, battery: Battery | None,
          battery_source: dict | None, memories: dict) -> SocCore | None:
    problems_before = len(r.problems)
    if not NAME_PATTERN.match(str(name)):
        r.problem(None, f"core name must be lower-case letters, digits, '-', '_' or '.', got {name!r}")
    core_class = r.choice("class", CORE_CLASSES)
    role = r.str("role")
    share = r.number("audio_share", minimum=0, maximum=0.95)
    tiers = r.list("tiers")
    r.seen.update(r.data)          # the device sections are checked by the device parser
    for key in INJECTED:
        if key in r.data:
            r.problem(key, "set by the SoC file for all its cores; remove it from the core")
    good_tiers = []
    for i, tier in enumerate(tiers or []):
        path = r.item_path("tiers", i)
        if not isinstance(tier, str) or tier not in memories:
            r.problems.append(Problem(path, f"names no tier of memories: {tier!r}"
                                      + (f" (tiers: {', '.join(memories)})" if memories else "")))
        elif tier in good_tiers:
            r.problems.append(Problem(path, f"tier {tier!r} listed twice"))
        else:
            good_tiers.append(tier)
    known = [memories[t] for t in good_tiers if memories[t] is not None]
    if tiers and len(known) == len(tiers):
        for content in CONTENTS:
            if not any(content in t.holds for t in known):
                r.problem("tiers", f"no tier of this core may hold {content}")
    data = {k: v for k, v in r.data.items() if k not in SOC_CORE_KEYS + INJECTED}
    data.update(header, name=f"{header['name']}.{name}" if NAME_PATTERN.match(str(name))
                else header["name"])
    data["battery"] = ({"kind": battery.kind, "capacity_mah": battery.capacity_mah,
                        "voltage_v": battery.voltage_v} if battery
                       else {"kind": "?", "capacity_mah": 1, "voltage_v": 1})
    sources = data.get("sources")
    if isinstance(sources, list):
        data["sources"] = [*sources, battery_source or {
            "ref": "the SoC's battery", "kind": "estimate", "note": "see the SoC file",
            "fields": ["battery.capacity_mah", "battery.voltage_v"]}]
    try:
        device = device_from_data(data)
    except SpecError as exc:
        r.problems.extend(Problem(f"{r.path}.{p.path}" if p.path else r.path, p.message)
                          for p in exc.problems)
        return None
    if len(r.problems) > problems_before or None in (core_class, role, share, tiers):
        return None
    return SocCore(name, core_class, role, device, tuple(good_tiers), share)


def _sources(top: Reader) -> tuple[Source, ...]:
    """The file's own numbers (memories, baseline, regulator, battery, audio shares) each
    need a source; the cores' device sections carry theirs in cores.NAME.sources."""
    facts = [p for section in SOURCED_SECTIONS
             for p in _number_leaves(top.data.get(section), section)]
    cores = top.data.get("cores")
    if isinstance(cores, dict):
        facts += [f"cores.{n}.audio_share" for n, c in cores.items()
                  if isinstance(c, dict) and "audio_share" in c]
    items = top.list("sources")
    sources = []
    for index, item in enumerate(items or []):
        r = Reader(item, top.item_path("sources", index), top.problems)
        if not r.ok:
            continue
        ref = r.str("ref")
        kind = r.choice("kind", SOURCE_KINDS)
        note = r.str("note", kind == "estimate")
        fields = r.list("fields")
        r.finish()
        good = []
        for j, path in enumerate(fields or []):
            if not isinstance(path, str) or not any(f == path or f.startswith(path + ".")
                                                   for f in facts):
                r.problems.append(Problem(r.item_path("fields", j),
                                          f"names no number of this SoC file: {path!r}"))
            else:
                good.append(path)
        if None not in (ref, kind) and fields is not None:
            sources.append(Source(ref, kind, tuple(good), note))
    covered = [f for s in sources for f in s.fields]
    for fact in facts:
        if not any(fact == c or fact.startswith(c + ".") for c in covered):
            top.problem("sources", f"no source given for {fact}")
    return tuple(sources)


def _battery_source(sources: tuple[Source, ...]) -> dict | None:
    for s in sources:
        if any(f in ("battery", "battery.capacity_mah") for f in s.fields):
            return {"ref": f"(SoC battery) {s.ref}", "kind": s.kind,
                    "note": s.note or "the SoC file's battery source",
                    "fields": ["battery.capacity_mah", "battery.voltage_v"]}
    return None


def _header(top: Reader) -> str | None:
    version = top.int("schema_version")
    if version is not None and version != SCHEMA_VERSION:
        top.problem("schema_version", migration_message(version))
    name = top.str("name")
    if name is not None and not NAME_PATTERN.match(name):
        top.problem("name", f"must be lower-case letters, digits, '-', '_' or '.', got {name!r}")
    return name


def migration_message(version: int) -> str:
    if version == DEVICE_SCHEMA_VERSION:
        return ("is 1 (a single-core device file), expected 2 for a SoC: load it as a device, "
                "or migrate it by moving its core, cycles, memory, dma, energy (and soft_float, "
                "soft_multiply) sections and their sources under cores.NAME, adding class, role, "
                "tiers and audio_share per core, and memories, baseline, regulator and battery "
                "at the top (docs/devices.md, 'SoC files')")
    return (f"{version} is not known to this hwsim (it reads "
            + ", ".join(f"{v}: {what}" for v, what in KNOWN_VERSIONS.items())
            + "); a newer file needs a newer hwsim, an older one must be migrated "
            "(docs/devices.md)")


def soc_from_data(data: Any, source: str = "<dict>") -> Soc:
    """Build a Soc from a parsed mapping, or raise SpecError listing every problem,
    each under its YAML path (a core's under cores.NAME.)."""
    problems: list[Problem] = []
    top = Reader(data, "", problems)
    name = _header(top)
    title = top.str("title")
    product_class = top.choice("product_class", PRODUCT_CLASSES)
    description = top.str("description")
    battery_reader = top.section("battery")
    battery = _battery(battery_reader) if battery_reader else None
    regulator_reader = top.section("regulator")
    regulator = _regulator(regulator_reader) if regulator_reader else None
    memories_reader = top.section("memories")
    memories: dict[str, MemoryTier | None] = {}
    for tier_name in (memories_reader.data if memories_reader else {}):
        sub = memories_reader.section(tier_name)
        memories[tier_name] = _tier(sub, tier_name) if sub else None
    baseline = top.section("baseline")
    loads: dict[str, Load] = {}
    default_load = None
    if baseline:
        default_load = baseline.str("default_load")
        loads_reader = baseline.section("loads")
        for load_name in (loads_reader.data if loads_reader else {}):
            sub = loads_reader.section(load_name)
            load = _load(sub, load_name, battery, regulator) if sub else None
            if load:
                loads[load_name] = load
        baseline.finish()
        if loads_reader and default_load is not None and default_load not in loads_reader.data:
            baseline.problem("default_load", f"names no load: {default_load!r}; loads: "
                             f"{', '.join(map(str, loads_reader.data))}")
    sources = _sources(top) if top.ok else ()
    header = {"schema_version": DEVICE_SCHEMA_VERSION,
              "name": name if name and NAME_PATTERN.match(name) else "soc",
              "title": title or "?", "product_class": product_class or PRODUCT_CLASSES[0],
              "description": description or "?"}
    cores_reader = top.section("cores")
    cores: dict[str, SocCore] = {}
    claimed: dict[str, str] = {}
    for core_name in (cores_reader.data if cores_reader else {}):
        sub = cores_reader.section(core_name)
        if sub is None:
            continue
        core = _core(sub, core_name, header, battery, _battery_source(sources), memories)
        listed = sub.data.get("tiers")
        for i, tier in enumerate(listed if isinstance(listed, list) else []):
            if tier in listed[:i]:
                continue                     # reported once, as listed twice
            if isinstance(tier, str) and memories.get(tier) and memories[tier].kind == "tcm":
                if tier in claimed:
                    problems.append(Problem(sub.item_path("tiers", i),
                                            f"tcm tier {tier!r} is private to core "
                                            f"{claimed[tier]!r}; a tcm belongs to one core"))
                claimed.setdefault(tier, core_name)
        if core:
            cores[core_name] = core
    if cores_reader is not None and not cores_reader.data:
        top.problem("cores", "must name at least one core")
    top.finish()
    raise_if_problems(source, problems)
    return Soc(name, title, product_class, description, cores, memories, loads, default_load,
               regulator, battery, sources, None if source == "<dict>" else source)


def load_soc(path: str | Path) -> Soc:
    """Read a SoC YAML file; SpecError lists every problem with file and YAML path."""
    return soc_from_data(read_yaml(path), str(path))


def load_any_device(path: str | Path) -> Device | Soc:
    """A single-core device (schema_version 1) or a SoC (2), by the file's schema_version;
    any other version is one problem with a migration message."""
    data = read_yaml(path)
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version == SCHEMA_VERSION:
        return soc_from_data(data, str(path))
    if isinstance(version, int) and not isinstance(version, bool) and version not in KNOWN_VERSIONS:
        raise SpecError(str(path), [Problem("schema_version", migration_message(version))])
    return device_from_data(data, str(path))
