"""`hwsim devices`: list, show and check device descriptions."""
from __future__ import annotations

import argparse
import json

from hwsim.cli.commands import HELP
from hwsim.specs.catalog import (device_row, find_device_or_soc, load_bundled_devices,
                                 load_bundled_socs, soc_rows)
from hwsim.cli.format import human_bytes, human_hz, table
from hwsim.specs.soc import Soc, load_any_device
from hwsim.errors import HwsimError, SpecError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("devices", help=HELP["devices"],
                                   description="List the bundled devices, show one, or check "
                                               "device YAML files.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run_list)
    sub = parser.add_subparsers(dest="devices_command", metavar="{show,check}")
    show = sub.add_parser("show", help="print one device (bundled name or YAML path)")
    show.add_argument("device", metavar="NAME|PATH")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=run_show)
    check = sub.add_parser("check", help="validate device YAML files")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.set_defaults(run=run_check)


def run_list(args: argparse.Namespace) -> int:
    rows = [device_row(d) for d in load_bundled_devices()]
    soc_lines = [row for soc in load_bundled_socs() for row in soc_rows(soc)]
    if args.json:
        print(json.dumps(rows + soc_lines, indent=2, allow_nan=False))
        return 0
    headers = ["name", "core", "clock", "SRAM", "flash", "FPU", "multiplier", "class", "battery"]
    body = [[r["name"], r["core"], human_hz(r["clock_hz"]), human_bytes(r["sram_bytes"]),
             human_bytes(r["flash_bytes"]), r["fpu"], r["multiplier"], r["product_class"],
             f"{r['battery_mah']:g} mAh {r['battery']}"] for r in rows]
    print(table(headers, body))
    socs = [[r["name"], r["core_class"], r["core"], human_hz(r["clock_hz"]),
             r["product_class"], f"{r['battery_mah']:g} mAh {r['battery']}"] for r in soc_lines]
    print("\nSoCs (devices/soc/; each core is NAME.CORE)")
    print(table(["core", "core class", "CPU", "clock", "product class", "battery"], socs))
    return 0


def run_show(args: argparse.Namespace) -> int:
    device = find_device_or_soc(args.device)
    if isinstance(device, Soc):
        return show_soc(device, args.json)
    if args.json:
        print(json.dumps(device.to_dict(), indent=2, allow_nan=False))
        return 0
    core, mem, energy, battery = device.core, device.memory, device.energy, device.battery
    lines = [
        f"{device.name}: {device.title}",
        f"  class       {device.product_class}",
        f"  core        {core.count}x {core.name} ({core.isa}, {core.word_bits}-bit) "
        f"@ {human_hz(core.clock_hz)}",
        f"  fpu         {core.fpu}",
        f"  multiplier  {core.multiplier}",
        f"  divider     {'yes' if core.divider else 'no'}",
        f"  simd lanes  {core.simd_mac_lanes}",
        f"  sram        {human_bytes(mem.sram_bytes)} ({mem.reserved_sram_bytes} B reserved)",
        f"  flash       {human_bytes(mem.flash_bytes)} {mem.flash_kind} "
        f"({mem.reserved_flash_bytes} B reserved, +{mem.flash_load_extra_cycles:g} cycles/load)",
        f"  fetch       {_fetch_line(mem.instruction_fetch)}",
        f"  dma         {f'{device.dma.bytes_per_cycle:g} B/cycle' if device.dma.present else 'none'}",
        f"  energy      {energy.active_ua_per_mhz:g} uA/MHz at {energy.supply_v:g} V "
        f"= {energy.active_pj_per_cycle:.0f} pJ/cycle; sleep {energy.sleep_ua:g} uA",
        f"  battery     {battery.capacity_mah:g} mAh at {battery.voltage_v:g} V ({battery.kind})",
        "  cycles      " + ", ".join(f"{k} {v:g}" for k, v in device.cycles.items()),
    ]
    if device.soft_float_cycles:
        lines.append("  soft-float  " + ", ".join(
            f"{k} {v:g}" for k, v in device.soft_float_cycles.items()))
    if device.soft_multiply:
        sm = device.soft_multiply
        lines.append(f"  soft-mul    {sm.call_cycles:g} + {sm.cycles_per_bit:g} per bit of the "
                     "second operand")
    lines.append("  sources")
    for source in device.sources:
        lines.append(f"    [{source.kind}] {', '.join(source.fields)}: {source.ref}")
    print("\n".join(lines))
    return 0


def run_check(args: argparse.Namespace) -> int:
    errors = []
    for path in args.paths:
        try:
            device = load_any_device(path)
        except SpecError as exc:
            errors.append(str(exc))
        else:
            what = f"SoC, cores {', '.join(device.cores)}" if isinstance(device, Soc) else None
            print(f"{path}: ok ({device.name}{'; ' + what if what else ''})")
    if errors:
        raise HwsimError("\n".join(errors))
    return 0


def _fetch_line(fetch) -> str:
    """The instruction fetch from flash, as the cost model charges it."""
    if fetch is None:
        return "not stated (nothing charged)"
    n = fetch.wait_states
    waits = "" if n is None else f"{n} wait state{'' if n == 1 else 's'}, "
    return (f"{waits}hidden by {fetch.hidden_by}: "
            f"+{fetch.extra_cycles_per_fetch:g} cycles/instruction")


def show_soc(soc: Soc, as_json: bool) -> int:
    from dataclasses import asdict
    if as_json:
        data = {"name": soc.name, "title": soc.title, "product_class": soc.product_class,
                "cores": {n: {"class": c.core_class, "role": c.role, "tiers": list(c.tiers),
                              "audio_share": c.audio_share, "device": c.device.to_dict()}
                          for n, c in soc.cores.items()},
                "memories": {n: asdict(t) for n, t in soc.memories.items()},
                "loads": {n: asdict(l) for n, l in soc.loads.items()},
                "default_load": soc.default_load, "regulator": asdict(soc.regulator),
                "battery": asdict(soc.battery), "sources": [asdict(s) for s in soc.sources]}
        print(json.dumps(data, indent=2))
        return 0
    lines = [f"{soc.name}: {soc.title}", f"  class       {soc.product_class}"]
    for name, core in soc.cores.items():
        c = core.device.core
        lines.append(f"  core {name:<8}{core.core_class}: {c.name} ({c.isa} cost shape) @ "
                     f"{human_hz(c.clock_hz)}, {core.device.energy.active_ua_per_mhz:g} uA/MHz "
                     f"at {core.device.energy.supply_v:g} V; tiers {', '.join(core.tiers)}; "
                     f"audio takes {100 * core.audio_share:.0f}% ({core.role})")
    for name, t in soc.memories.items():
        lines.append(f"  tier {name:<13}{t.kind} {human_bytes(t.size_bytes)} "
                     f"({human_bytes(t.reserved_bytes)} reserved), {t.access_cycles:g} cycles, "
                     f"{t.energy_pj_per_access:g} pJ/access; holds {', '.join(t.holds)}")
    for name, load in soc.loads.items():
        mark = " (default)" if name == soc.default_load else ""
        lines.append(f"  load {name:<15}{load.battery_power_mw:.3f} mW at the battery{mark}: "
                     f"{load.description}")
    r, b = soc.regulator, soc.battery
    lines.append(f"  regulator   {100 * r.efficiency:g}% to {r.output_v:g} V; core energy at "
                 f"{r.core_energy_at}")
    lines.append(f"  battery     {b.capacity_mah:g} mAh at {b.voltage_v:g} V ({b.kind})")
    lines.append("  sources (the cores' own: hwsim devices show --json)")
    for source in soc.sources:
        lines.append(f"    [{source.kind}] {', '.join(source.fields)}: {source.ref}")
    print("\n".join(lines))
    return 0
