"""`hwsim crossover`: where lut beats int8 and float32, per device and layer class, over
an (L, K) grid, as text grids, a results document (--json) or a dashboard (--out)."""
from __future__ import annotations

import argparse
import json

from hwsim.cli.arguments import int_list, integer_between
from hwsim.cli.commands import HELP
from hwsim.cli.compare import select_devices_and_socs
from hwsim.cli.format import table
from hwsim.dashboard.page import INDEX, render_page
from hwsim.errors import HwsimError
from hwsim.evaluate.crossover import (DEFAULT_CLUSTERS, DEFAULT_LEVELS, MEASURES, Column,
                                      CrossoverMap, crossover_map, load_crossover_network,
                                      winner)
from hwsim.evaluate.crossover_rows import crossover_rows
from hwsim.ir.style import STYLES
from hwsim.io import check_output_directory, write_files_atomically
from hwsim.results.document import check_results, results_document
from hwsim.specs.workload import MAX_CLUSTERS, MAX_LEVELS, MIN_CLUSTERS, MIN_LEVELS

LETTERS = {"lut": "l", "int8": "i", "float32": "f"}
DOCUMENT = "crossover.json"


def grid_axis(flag: str, low: int, high: int):
    values, value = int_list(flag), integer_between(low, high)
    return lambda text: tuple(value(str(v)) for v in values(text))


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "crossover", help=HELP["crossover"],
        description="Cost a network in the three styles on every device (a SoC: each core) "
                    "over a grid of activation levels L and weight clusters K: per cell the "
                    "style with the fewest cycles (energy) and lut / int8, per layer class, "
                    "and at the network's own (L, K) the winner, its margin and on a SoC core "
                    "the network's share of the product's battery. Cost model only.")
    parser.add_argument("network", metavar="WORKLOAD|ARTIFACT|MODEL",
                        help="a bundled workload, a workload YAML, a trained artifact or a "
                             ".tflite/.onnx model")
    parser.add_argument("--devices", default="all", metavar="all|NAME,...",
                        help="devices (default: every bundled device); a SoC name adds each "
                             "of its cores (SOC.CORE)")
    parser.add_argument("--levels", type=grid_axis("--levels", MIN_LEVELS, MAX_LEVELS),
                        default=DEFAULT_LEVELS, metavar="L,...",
                        help="activation levels of the grid (default: "
                             f"{','.join(map(str, DEFAULT_LEVELS))})")
    parser.add_argument("--clusters", type=grid_axis("--clusters", MIN_CLUSTERS, MAX_CLUSTERS),
                        default=DEFAULT_CLUSTERS, metavar="K,...",
                        help="weight clusters of the grid (default: "
                             f"{','.join(map(str, DEFAULT_CLUSTERS))})")
    parser.add_argument("--load", metavar="NAME",
                        help="the SoCs' baseline load for the battery share (default: each "
                             "file's own)")
    parser.add_argument("--json", action="store_true",
                        help="print a results document with the crossover section")
    parser.add_argument("--out", metavar="DIR",
                        help=f"write DIR/{DOCUMENT} and DIR/index.html (the crossover panel)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = check_output_directory(args.out) if args.out else None
    workload = load_crossover_network(args.network)
    devices, socs = select_devices_and_socs(args.devices)
    cores = {id(core.device) for soc in socs for core in soc.cores.values()}
    targets = [d for d in devices if id(d) not in cores] + socs
    if args.load is not None and not socs:
        raise HwsimError("--load names a SoC's baseline load; --devices names no SoC")
    found = crossover_map(workload, targets, args.levels, args.clusters, load=args.load)
    document = results_document(crossover=crossover_rows(found))
    if out is not None:
        check_results(document, DOCUMENT)
        write_files_atomically(out, {
            DOCUMENT: (json.dumps(document, indent=1, allow_nan=False) + "\n").encode(),
            INDEX: render_page(document, DOCUMENT).encode("utf-8")})
    if args.json:
        print(json.dumps(document, indent=1, allow_nan=False))
        return 0
    print(render(found))
    if out is not None:
        print(f"\nwrote {out / DOCUMENT} and {out / INDEX}")
    return 0


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _verdict(column: Column, found: CrossoverMap) -> str:
    parts = []
    for measure in MEASURES:
        costs = column.costs(column.own, measure)
        if not costs:
            continue
        best, margin = winner(costs)
        versus = (f", lut/int8 {_ratio(costs['lut'] / costs['int8'])}"
                  if "lut" in costs and "int8" in costs else "")
        parts.append(f"{measure}: {best} by {margin:.2f}x{versus}")
    where = f"L{found.own[0]} K{found.own[1]}" if found.own else "-"
    return f"at its own {where}: " + "; ".join(parts) if parts else "no style could be costed"


def _grid(column: Column, found: CrossoverMap, measure: str) -> str:
    body = []
    for levels in found.levels:
        line = [f"L={levels}"]
        for clusters in found.clusters:
            cell = column.cell(levels, clusters)
            costs = column.costs(cell, measure)
            if "lut" not in costs:
                line.append("n/a")
                continue
            ratio = costs["lut"] / costs["int8"] if "int8" in costs else None
            line.append(f"{LETTERS[winner(costs)[0]]} {_ratio(ratio)}")
        body.append(line)
    return table([measure, *(f"K={k}" for k in found.clusters)], body)


def _lut_beats_int8(column: Column, cell, layer_class: str) -> bool:
    costs = column.costs(cell, "cycles", layer_class)
    return "lut" in costs and "int8" in costs and costs["lut"] < costs["int8"]


def _classes(column: Column, found: CrossoverMap) -> str:
    body = []
    for layer_class in found.classes:
        line = [layer_class]
        for measure in MEASURES:
            costs = column.costs(column.own, measure, layer_class)
            line += [_ratio(costs["lut"] / costs[s]) if "lut" in costs and s in costs
                     and costs[s] > 0 else "-" for s in ("int8", "float32")]
        line.append(f"{sum(_lut_beats_int8(column, c, layer_class) for c in column.cells)}"
                    f"/{len(column.cells)}")
        body.append(line)
    return table(["layer class", "lut/int8 cycles", "lut/float32 cycles", "lut/int8 energy",
                  "lut/float32 energy", "grid cells lut < int8 (cycles)"], body)


def _battery(column: Column) -> str:
    shares = [f"{s} {100 * column.battery[s].share:.3g}%"
              + ("" if column.keeps_up.get(s) else " (does not keep up)")
              for s in STYLES if s in column.battery]
    load = next(iter(column.battery.values())).load
    return f"  share of the battery ({load}): " + ", ".join(shares)


def render(found: CrossoverMap) -> str:
    own = f"own L{found.own[0]} K{found.own[1]}" if found.own else "continuous"
    lines = [f"{found.network} ({own}): lut (the paper's table lookups) against int8 and "
             f"float32, per inference, cost model only",
             "grid cell: the style with the fewest cycles (energy): l lut, i int8, f float32; "
             "then lut / int8 (below 1: lut is cheaper)"]
    for column in found.columns:
        title = column.device + (f" ({column.core_class})" if column.core_class else "")
        lines += ["", f"{title}: {_verdict(column, found)}"]
        lines += [f"  {s} not costed: {why}" for s, why in sorted(column.unavailable.items())]
        if column.battery:
            lines.append(_battery(column))
        if found.levels:
            cycles, energy = _grid(column, found, "cycles"), _grid(column, found, "energy")
            same = cycles.splitlines()[1:] == energy.splitlines()[1:]
            lines += ["", cycles, "", "energy: the same cells as cycles" if same else energy]
        if found.own:
            lines += ["", f"per layer class at L{found.own[0]} K{found.own[1]} (ratios), and "
                          "where lut wins over the grid:", _classes(column, found)]
    return "\n".join(lines)
