"""`hwsim compare`: the fit matrix (workload x device x style) as a table or JSON."""
from __future__ import annotations

import argparse
import json

from hwsim.cli.commands import HELP
from hwsim.schedule.scheduler import MAX_FRAMES
from hwsim.specs.catalog import find_device_or_soc, load_bundled_devices
from hwsim.specs.soc import Soc
from hwsim.specs.bundled import bundled_names
from hwsim.cli.arguments import add_levels_clusters
from hwsim.cli.format import human_bytes, table
from hwsim.evaluate.compare import compare
from hwsim.evaluate.soc import compare_products
from hwsim.errors import HwsimError
from hwsim.evaluate.simulate import load_subject
from hwsim.ir.style import STYLES
from hwsim.results.document import results_document


def names_list(text: str, allowed: tuple[str, ...] | None = None, what: str = "value") -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"needs at least one {what}")
    if allowed is not None:
        bad = [item for item in items if item not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(bad)}; one of "
                                             f"{', '.join(allowed)}")
    return items


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help=HELP["compare"],
        description="Simulate every network on every device in every style: fits RAM, flash "
                    "and deadline (with margins), latency, energy per inference, battery life.")
    parser.add_argument("subjects", nargs="*", metavar="WORKLOAD|ARTIFACT|MODEL",
                        help="default: every bundled workload; .tflite/.onnx models accepted")
    add_levels_clusters(parser)
    parser.add_argument("--devices", default="all", metavar="all|NAME,...",
                        help="devices; a SoC name stands for all its cores (SOC.CORE each), "
                             "so one SoC name compares its cores")
    parser.add_argument("--styles", type=lambda t: names_list(t, STYLES, "style"),
                        default=list(STYLES), metavar="lut,int8,float32")
    parser.add_argument("--frames", type=int, default=20, help="frames simulated per pair (20)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(run=run)


def select_devices(text: str):
    return select_devices_and_socs(text)[0]


def select_devices_and_socs(text: str):
    """The devices to compare (a SoC's cores each as a device) and the SoCs named."""
    if text.strip() == "all":
        return load_bundled_devices(), []
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise HwsimError("--devices: needs 'all' or at least one device name")
    devices, socs = [], []
    for name in names:
        found = find_device_or_soc(name)
        if isinstance(found, Soc):
            socs.append(found)
            devices.extend(c.device for c in found.cores.values())
        else:
            devices.append(found)
    return devices, socs


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.frames <= MAX_FRAMES:
        raise HwsimError(f"--frames must be from 1 to {MAX_FRAMES}, got {args.frames}")
    subjects = [load_subject(s, levels=args.levels, clusters=args.clusters)
                for s in (args.subjects or bundled_names("workloads"))]
    devices, socs = select_devices_and_socs(args.devices)
    result = compare(subjects, devices, args.styles, frames=args.frames)
    products = compare_products(subjects, socs, args.styles, frames=args.frames,
                                per_core=True) if socs else ()
    if args.json:
        sections = {"compare": list(result.rows)}
        if products:
            sections["products"] = list(products)
        print(json.dumps(results_document(**sections), indent=2, allow_nan=False))
        return 0
    print(render(result.rows, args.styles))
    if products:
        print("\n" + render_products(products, args.styles))
    return 0


def render_products(rows, styles) -> str:
    """Per SoC core (each beside its audio share) and style: fits, and the network's
    share of the product's battery."""
    by_core: dict[tuple[str, str], dict[str, dict]] = {}
    for row in rows:
        by_core.setdefault((row["workload"], row["device"]), {})[row["style"]] = row
    body = [[workload, device, cells[next(iter(cells))]["load"]]
            + [f"{'ok' if cells[s]['fits_soc'] else 'NO'} {100 * cells[s]['network_share']:.3g}%"
               if s in cells else "-" for s in styles]
            for (workload, device), cells in by_core.items()]
    legend = ("share of the product's battery (baseline load as named), each core beside its "
              "audio share; NO: does not fit (RAM, flash, deadline or memory tiers; a "
              "saturated core's share is a floor)")
    return table(["workload", "SoC core", "load", *styles], body) + "\n\n" + legend


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def cell(row: dict) -> str:
    """'ok 1.2 ms 3.4 uJ 900 h' or what does not fit and by how much."""
    if row["fits"]:
        return (f"ok {number(row['latency_ms_max'])} ms {number(row['energy_per_inference_uj'])} "
                f"uJ {number(row['battery_life_hours'])} h")
    short = []
    if not row["fits_ram"]:
        short.append(f"RAM -{human_bytes(-row['ram_margin_bytes'])}")
    if not row["fits_flash"]:
        short.append(f"flash -{human_bytes(-row['flash_margin_bytes'])}")
    if not row["fits_deadline"]:
        short.append(f"late {number(row['inference_ms'])}/{row['deadline_ms']:g} ms")
    return "NO " + ", ".join(short)


def render(rows, styles) -> str:
    by_pair: dict[tuple[str, str], dict[str, dict]] = {}
    for row in rows:
        by_pair.setdefault((row["workload"], row["device"]), {})[row["style"]] = row
    body = [[workload, device] + [cell(cells[s]) for s in styles]
            for (workload, device), cells in by_pair.items()]
    legend = ("ok: fits RAM, flash and deadline (worst latency, energy per inference, battery "
              "life); NO: what does not fit and by how much (late: one inference alone / deadline)")
    return table(["workload", "device", *styles], body) + "\n\n" + legend
