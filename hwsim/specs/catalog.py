"""The bundled devices and SoCs as data: load them all, find one by name or path, and
summarise one as table rows."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hwsim.errors import HwsimError
from hwsim.specs.bundled import bundled_dir, resolve
from hwsim.specs.device import Device, load_device

if TYPE_CHECKING:     # hwsim.specs.soc is imported where a SoC is read (not at start-up)
    from hwsim.specs.soc import Soc


def load_bundled_devices() -> list[Device]:
    """Every bundled device, sorted by name."""
    return [load_device(p) for p in sorted(bundled_dir("devices").glob("*.yaml"), key=lambda p: p.stem)]


def find_device(name_or_path: str) -> Device:
    """A bundled device by name, or a device YAML by path."""
    return load_device(resolve("devices", name_or_path))


def device_row(device: Device) -> dict[str, object]:
    """The summary columns of `hwsim devices`, units in names."""
    core = device.core
    return {
        "name": device.name,
        "core": core.name if core.count == 1 else f"{core.count}x {core.name}",
        "isa": core.isa,
        "clock_hz": core.clock_hz,
        "sram_bytes": device.memory.sram_bytes,
        "flash_bytes": device.memory.flash_bytes,
        "fpu": core.fpu,
        "multiplier": core.multiplier if core.multiplier == "none"
        else f"{core.multiplier} ({device.cycles['mul']:g} cyc)",
        "product_class": device.product_class,
        "battery_mah": device.battery.capacity_mah,
        "battery": device.battery.kind,
        "file": str(Path(device.source_file).name) if device.source_file else None,
    }


SOC_DIR = "soc"       # bundled SoC files (schema_version 2) live in devices/soc/


def bundled_soc_paths() -> list[Path]:
    """The bundled SoC files, sorted by name."""
    folder = bundled_dir("devices") / SOC_DIR
    return sorted(folder.glob("*.yaml"), key=lambda p: p.stem) if folder.is_dir() else []


def load_bundled_socs() -> list[Soc]:
    from hwsim.specs.soc import load_soc
    return [load_soc(p) for p in bundled_soc_paths()]


def find_device_or_soc(name_or_path: str) -> Device | Soc:
    """A bundled device or SoC by name, or a device or SoC YAML by path (read by its
    schema_version)."""
    for path in bundled_soc_paths():
        if path.stem == name_or_path:
            from hwsim.specs.soc import load_soc
            return load_soc(path)
    try:
        path = resolve("devices", name_or_path)
        if path.parent == bundled_dir("devices"):   # a bundled single-core device
            return load_device(path)
        from hwsim.specs.soc import load_any_device
        return load_any_device(path)
    except HwsimError as exc:
        if "unknown device" in str(exc):
            socs = ", ".join(p.stem for p in bundled_soc_paths())
            raise HwsimError(f"{exc}; bundled SoCs: {socs}") from None
        raise


def soc_rows(soc: Soc) -> list[dict[str, object]]:
    """One summary row per core of a SoC (the columns of device_row, plus the SoC's)."""
    rows = []
    for name, core in soc.cores.items():
        row = device_row(core.device)
        row.update(soc=soc.name, soc_core=name, core_class=core.core_class,
                   file=str(Path(soc.source_file).name) if soc.source_file else None)
        rows.append(row)
    return rows
