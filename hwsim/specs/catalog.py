"""The bundled devices as data: load them all, and summarise one as a table row."""
from __future__ import annotations

from pathlib import Path

from hwsim.specs.bundled import bundled_dir, resolve
from hwsim.specs.device import Device, load_device


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
