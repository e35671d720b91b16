"""`hwsim simulate`: one network on one device in one arithmetic style."""
from __future__ import annotations

import argparse
import json

from hwsim.cli.commands import HELP
from hwsim.specs.catalog import find_device_or_soc
from hwsim.specs.device import Device
from hwsim.cli.arguments import add_levels_clusters, add_weight_indices
from hwsim.cli.format import human_bytes, table
from hwsim.cost.actions import CostOptions
from hwsim.memory.planner import MemoryOptions
from hwsim.schedule.scheduler import ScheduleOptions, write_timeline
from hwsim.evaluate.simulate import load_subject, simulate
from hwsim.ir.style import STYLES


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate", help=HELP["simulate"],
        description="Put a trained artifact, or a workload costed with random weights of its "
                    "kind, on a device: does it fit RAM, flash and its deadline, with what "
                    "margins; latency, cycles, energy per inference, power, battery life.")
    parser.add_argument("subject", metavar="WORKLOAD|ARTIFACT|MODEL",
                        help="bundled workload, workload YAML, artifact directory, or a "
                             ".tflite/.onnx model")
    add_levels_clusters(parser)
    parser.add_argument("--device", required=True, metavar="NAME|PATH",
                        help="a device or a SoC (devices/soc/): bundled name or YAML path")
    parser.add_argument("--core", metavar="NAME",
                        help="SoC only: the core the network runs on (default: the cheapest "
                             "core that fits)")
    parser.add_argument("--load", metavar="NAME",
                        help="SoC only: the product's baseline load (default: the file's "
                             "default_load)")
    parser.add_argument("--style", choices=STYLES, default="lut",
                        help="arithmetic: lut (the paper), int8 (multiply-accumulate), float32")
    parser.add_argument("--frames", type=int, default=100, help="frames to simulate (100)")
    parser.add_argument("--cores", type=int, help="cores the network may use (default: all)")
    parser.add_argument("--firmware-share", type=float, default=0.0, metavar="X",
                        help="share of each core taken by the rest of the firmware (0..1)")
    parser.add_argument("--tables-in", choices=("flash", "sram"), default="flash",
                        help="where lut tables and thresholds live (flash)")
    parser.add_argument("--activations", choices=("bytes", "packed"), default="bytes",
                        help="level indices one byte each or packed (bytes)")
    parser.add_argument("--lut-grouping", choices=("auto", "off", "2", "3", "4"),
                        default="auto",
                        help="lut dense layers on the grouped kernel: per layer where it is "
                             "fastest and fits (auto), never (off), or group size g")
    add_weight_indices(parser)
    parser.add_argument("--stream-weights", action="store_true",
                        help="move weights/tables to SRAM before each layer (DMA where present)")
    parser.add_argument("--timeline", metavar="FILE", help="write the event log (.csv or .json)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hwsim.errors import HwsimError
    try:
        schedule_options = ScheduleOptions(frames=args.frames, cores=args.cores,
                                           firmware_share=args.firmware_share)
    except (ValueError, HwsimError) as exc:
        raise HwsimError(str(exc)) from None
    device = find_device_or_soc(args.device)
    subject = load_subject(args.subject, levels=args.levels, clusters=args.clusters)
    if not isinstance(device, Device):       # a SoC (hwsim.specs.soc)
        return run_soc(args, device, subject)
    if args.core or args.load:
        raise HwsimError(f"--core and --load need a SoC; {device.name!r} is a single-core device")
    place = "sram" if args.tables_in == "sram" else "flash"
    result = simulate(subject, device, args.style,
                      cost_options=CostOptions(tables_in=place, thresholds_in=place,
                                               activations=args.activations,
                                               lut_grouping=args.lut_grouping,
                                               weight_indices=args.weight_indices),
                      memory_options=MemoryOptions(tables_in=args.tables_in,
                                                   activations=args.activations),
                      schedule_options=schedule_options, stream_weights=args.stream_weights)
    if args.timeline:
        write_timeline(result.schedule, args.timeline)
    if args.json:
        data = result.summary()
        data["nodes"] = [{"node": n.node, "op": n.op, "cycles": n.cycles,
                          "energy_pj": n.energy_pj, "cycles_by_class": n.cycles_by_class,
                          "basis": n.basis, "kernel": n.kernel} for n in result.cost.nodes]
        data["memory"] = {"ram": [{"name": l.name, "bytes": l.bytes, "estimate": l.estimate}
                                  for l in result.memory.ram_lines],
                          "flash": [{"name": l.name, "bytes": l.bytes, "estimate": l.estimate}
                                    for l in result.memory.flash_lines]}
        print(json.dumps(data, indent=2, allow_nan=False))
        return 0
    print(render(result, subject))
    return 0


def _margin(fit) -> str:
    if fit.unit == "bytes":
        amount = human_bytes(abs(int(fit.margin)))
    else:
        amount = f"{abs(fit.margin):.3f} ms"
    return f"{'fits' if fit.fits else 'DOES NOT FIT'} ({amount} {'spare' if fit.fits else 'short'})"


def render(result, subject) -> str:
    s, c, m = result.schedule, result.cost, result.memory
    kind = "trained artifact" if subject.kind == "artifact" else "workload, random weights"
    lines = [f"{result.subject} ({kind}) on {result.device}, style {result.style}"]
    for fit in result.fits:
        lines.append(f"  {fit.check:<9} {_margin(fit)}")
    lines.append(f"  RAM       {human_bytes(m.ram_bytes)} (arena {human_bytes(m.arena_bytes)}, "
                 f"reserved {human_bytes(m.reserved_sram_bytes)}); flash "
                 f"{human_bytes(m.flash_bytes)}")
    worst = max(s.latency_ms) if s.latency_ms else float("nan")
    alone_ms = 1000 * c.total_cycles / c.clock_hz
    lines.append(f"  latency   {worst:.3f} ms worst over {len(s.latency_ms)} frames (one inference "
                 f"alone on one core: {alone_ms:.3f} ms), deadline "
                 f"{subject.realtime.deadline_ms:g} ms, {s.deadline_misses} missed")
    lines.append(f"  cycles    {c.total_cycles:,.0f} per inference "
                 f"({c.cycles_per_connection:.2f} per connection)")
    lines.append(f"  energy    {s.energy_per_inference_pj / 1e6:.3f} uJ per inference; average "
                 f"power {s.average_power_uw:.2f} uW; battery life {s.battery_life_hours:,.0f} h")
    kernels = any(n.kernel for n in c.nodes)
    rows = [[n.node, n.op, f"{n.cycles:,.0f}", f"{100 * n.cycles / c.total_cycles:.1f}%",
             f"{n.energy_pj / 1e6:.3f}",
             max(n.cycles_by_class, key=n.cycles_by_class.get) if n.cycles_by_class else "-"]
            + ([n.kernel or "-"] if kernels else [])
            for n in c.nodes]
    lines.append("")
    lines.append(table(["node", "op", "cycles", "share", "energy uJ", "most cycles in"]
                       + (["kernel"] if kernels else []), rows))
    notes = list(result.notes) + list(c.notes) + list(m.notes) + list(s.warnings)
    if notes:
        lines.append("")
        lines.extend(f"note: {note}" for note in notes)
    return "\n".join(lines)


def run_soc(args: argparse.Namespace, soc, subject) -> int:
    """`hwsim simulate W --device SOC`: every core simulated beside its audio share,
    the chosen core's answers, the tier of every buffer and the product's battery."""
    from hwsim.errors import HwsimError
    from hwsim.evaluate.soc import simulate_soc
    if args.frames < 1:
        raise HwsimError(f"--frames must be >= 1, got {args.frames}")
    for flag, value in (("--cores", args.cores), ("--timeline", args.timeline)):
        if value:
            raise HwsimError(f"{flag} is not available with a SoC (each core is one core)")
    place = "sram" if args.tables_in == "sram" else "flash"
    result = simulate_soc(
        subject, soc, args.style, core=args.core, load=args.load, frames=args.frames,
        audio_share=args.firmware_share or None,
        cost_options=CostOptions(tables_in=place, thresholds_in=place,
                                 activations=args.activations, lut_grouping=args.lut_grouping,
                                 weight_indices=args.weight_indices),
        memory_options=MemoryOptions(tables_in=args.tables_in, activations=args.activations),
        stream_weights=args.stream_weights)
    if args.json:
        print(json.dumps(result.summary(), indent=2))
        return 0
    print(render_soc(result, subject))
    return 0


def render_soc(result, subject) -> str:
    run, soc = result.run, result.soc
    battery = run.battery
    lines = [render(run.simulation, subject), "",
             f"SoC {soc.name}: core {result.chosen} ({soc.cores[result.chosen].core_class}), "
             f"{result.reason}; the audio pipeline takes "
             f"{100 * soc.cores[result.chosen].audio_share:.0f}% of it",
             table(["core", "class", "fits", "network mW (battery)", "share"],
                   [[r.core, soc.cores[r.core].core_class, "yes" if r.fits else "NO",
                     f"{r.battery.network_mw:.4f}", f"{100 * r.battery.share:.2f}%"]
                    for r in result.runs]),
             "", "memory tiers (first fit in the file's order)",
             table(["buffer", "content", "bytes", "tier"],
                   [[b.name, b.content, f"{b.size_bytes:,}", b.tier or f"NONE: {b.why}"]
                    for b in run.placement.buffers]),
             "", f"product battery ({soc.battery.capacity_mah:g} mAh at "
             f"{soc.battery.voltage_v:g} V = {battery.battery_mwh:.1f} mWh), load "
             f"{battery.load}: {battery.baseline_mw:.3f} mW",
             f"  network   {battery.network_core_mw:.4f} mW at the core, "
             f"{battery.network_mw:.4f} mW at the battery (regulator "
             f"{soc.regulator.efficiency:g}, core energy at {soc.regulator.core_energy_at})",
             f"  life      {battery.life_without_network_hours:.2f} h without the network, "
             f"{battery.life_with_network_hours:.2f} h with it; the network's share "
             f"{100 * battery.share:.2f}%"]
    return "\n".join(lines)
