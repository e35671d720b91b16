"""`hwsim dashboard`: draw a results document as a self-contained HTML page."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from hwsim.cli.commands import HELP
from hwsim.dashboard.page import write_dashboard
from hwsim.results.document import read_results
from hwsim.errors import HwsimError

DEFAULT_RESULTS = "runs/report/summary.json"
DEFAULT_OUT = "runs/dashboard"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "dashboard", help=HELP["dashboard"],
        description="Write DIR/index.html: one self-contained page (plotly.js inline, opens "
                    "offline) with the device-fit matrix, the bit-width what-if, lut vs int8 "
                    "vs float32, per-node costs, the schedule timeline, memory over time and "
                    "the training runs, as far as the results document has their data.")
    parser.add_argument("results", nargs="?", default=DEFAULT_RESULTS, metavar="RESULTS",
                        help=f"results document (JSON; default: {DEFAULT_RESULTS}, written by "
                             "`hwsim report`)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"output directory (default: {DEFAULT_OUT})")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.results == DEFAULT_RESULTS and not Path(DEFAULT_RESULTS).exists():
        raise HwsimError(f"{DEFAULT_RESULTS}: no such file (run `hwsim report` first, or name "
                         "a results document)")
    document = read_results(args.results)
    result = write_dashboard(document, args.out, source=Path(args.results).name)
    if args.json:
        print(json.dumps({"index": str(result.index), "panels": list(result.drawn),
                          "skipped": [{"panel": title, "reason": reason}
                                      for title, reason in result.skipped]}, indent=2, allow_nan=False))
        return 0
    print(f"wrote {result.index} ({len(result.drawn)} panels: {', '.join(result.drawn)})")
    for title, reason in result.skipped:
        print(f"  not drawn: {title}: {reason}")
    return 0
