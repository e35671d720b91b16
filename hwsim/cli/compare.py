"""`hwsim compare`: the fit matrix (workload x device x style) as a table or JSON."""
from __future__ import annotations

import argparse
import json

from hwsim.schedule.scheduler import MAX_FRAMES
from hwsim.specs.catalog import find_device, load_bundled_devices
from hwsim.specs.bundled import bundled_names
from hwsim.cli.format import human_bytes, table
from hwsim.evaluate.compare import compare
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
        "compare", help="fit matrix of networks x devices x arithmetic styles",
        description="Simulate every network on every device in every style: fits RAM, flash "
                    "and deadline (with margins), latency, energy per inference, battery life.")
    parser.add_argument("subjects", nargs="*", metavar="WORKLOAD|ARTIFACT",
                        help="default: every bundled workload")
    parser.add_argument("--devices", default="all", metavar="all|NAME,...")
    parser.add_argument("--styles", type=lambda t: names_list(t, STYLES, "style"),
                        default=list(STYLES), metavar="lut,int8,float32")
    parser.add_argument("--frames", type=int, default=20, help="frames simulated per pair (20)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(run=run)


def select_devices(text: str):
    if text.strip() == "all":
        return load_bundled_devices()
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise HwsimError("--devices: needs 'all' or at least one device name")
    return [find_device(name) for name in names]


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.frames <= MAX_FRAMES:
        raise HwsimError(f"--frames must be from 1 to {MAX_FRAMES}, got {args.frames}")
    subjects = [load_subject(s) for s in (args.subjects or bundled_names("workloads"))]
    devices = select_devices(args.devices)
    result = compare(subjects, devices, args.styles, frames=args.frames)
    if args.json:
        print(json.dumps(results_document(compare=list(result.rows)), indent=2, allow_nan=False))
        return 0
    print(render(result.rows, args.styles))
    return 0


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
