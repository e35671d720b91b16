"""Where the paper's method wins: lut / int8 cycles of digits-mlp, har-cnn and kws-dscnn
at their own (L, K) on every bundled device and SoC core, and the crossover table (the
(L, K) cells of the default grid where lut takes fewer cycles than int8), with the speed
of the map (cost model only).

    python benchmarks/crossover.py                         # print the tables and timings
    python benchmarks/crossover.py --check docs/results.md # exit 1 if the docs block is stale
    python benchmarks/crossover.py --write docs/results.md # regenerate the docs block

The docs block sits between the BEGIN and END markers below; tests/test_crossover_docs.py
runs --check, so a change of the cost model that moves a number fails until the block
is regenerated.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hwsim.evaluate.crossover import DEFAULT_CLUSTERS, DEFAULT_LEVELS, Column, crossover_map
from hwsim.importers.network import load_network
from hwsim.specs.catalog import load_bundled_devices, load_bundled_socs

WORKLOADS = ("digits-mlp", "har-cnn", "kws-dscnn")
BEGIN = "<!-- crossover-table: begin (python benchmarks/crossover.py --write docs/results.md) -->"
END = "<!-- crossover-table: end -->"


def maps():
    """{workload: CrossoverMap} on every bundled device and SoC core, and seconds taken."""
    targets = load_bundled_devices() + load_bundled_socs()
    found, seconds = {}, {}
    for name in WORKLOADS:
        started = time.perf_counter()
        found[name] = crossover_map(load_network(name), targets)
        seconds[name] = time.perf_counter() - started
    return found, seconds


def region(column: Column, levels, clusters) -> str:
    """The cells where lut < int8 in cycles, per K: `K16: L2-4` (every L from the first
    up to the one named), or the L values listed."""
    if all((column.ratio(l, k) or 2.0) < 1.0 for l in levels for k in clusters):
        return "every cell"
    parts = []
    for k in clusters:
        wins = [l for l in levels if (column.ratio(l, k) or 2.0) < 1.0]
        if not wins:
            continue
        if wins == list(levels[:len(wins)]):
            parts.append(f"K{k}: L{wins[0]}" + (f"-{wins[-1]}" if len(wins) > 1 else ""))
        else:
            parts.append(f"K{k}: L" + ",".join(map(str, wins)))
    return "; ".join(parts) if parts else "nowhere"


def _ratio(column: Column) -> str:
    cycles = column.costs(column.own, "cycles")
    ratio = cycles["lut"] / cycles["int8"]
    return f"**{ratio:.2f}**" if ratio < 1 else f"{ratio:.2f}"


def block(found) -> str:
    """The markdown between the markers: a table per question."""
    first = found[WORKLOADS[0]]
    count = len(DEFAULT_LEVELS) * len(DEFAULT_CLUSTERS)
    own = ", ".join(f"{w} L{found[w].own[0]} K{found[w].own[1]}" for w in WORKLOADS)
    differ = [c.device for m in found.values() for c in m.columns
              if abs(c.ratio(*m.own, measure="energy") / c.ratio(*m.own) - 1) > 1e-9]
    energy = ("Energy ratios equal the cycle ratios on every one of these cores." if not differ
              else f"Energy ratios differ from the cycle ratios on {', '.join(sorted(set(differ)))}.")
    lines = [BEGIN, "",
             f"lut / int8 cycles per inference at each network's own (L, K) ({own}); below 1 "
             f"(bold) the paper's method takes fewer cycles. {energy}", "",
             "| device | " + " | ".join(WORKLOADS) + " | cells where lut < int8 (of "
             f"{count}, {' / '.join(WORKLOADS)}) |",
             "|---|" + "---|" * len(WORKLOADS) + "---|"]
    for index, column in enumerate(first.columns):
        columns = [found[w].columns[index] for w in WORKLOADS]
        wins = " / ".join(str(sum((c.ratio(l, k) or 2.0) < 1.0 for l in DEFAULT_LEVELS
                                  for k in DEFAULT_CLUSTERS)) for c in columns)
        lines.append(f"| {column.device} | " + " | ".join(_ratio(c) for c in columns)
                     + f" | {wins} |")
    lines += ["", "The crossover table: where in the default grid (L "
              f"{', '.join(map(str, DEFAULT_LEVELS))}; K {', '.join(map(str, DEFAULT_CLUSTERS))}) "
              "lut takes fewer cycles than int8, for the devices and cores where it does "
              "anywhere.", "",
              "| device | " + " | ".join(WORKLOADS) + " |", "|---|" + "---|" * len(WORKLOADS)]
    for index, column in enumerate(first.columns):
        cells = [region(found[w].columns[index], DEFAULT_LEVELS, DEFAULT_CLUSTERS)
                 for w in WORKLOADS]
        if any(c != "nowhere" for c in cells):
            lines.append(f"| {column.device} | " + " | ".join(cells) + " |")
    lines += ["", summary(found), "", END]
    return "\n".join(lines)


def summary(found) -> str:
    """Which cores lut wins on everywhere, somewhere and nowhere in the grid, with the
    range of lut / int8 at the networks' own points on each kind."""
    kinds: dict[str, list] = {"every": [], "some": [], "no": []}
    first = found[WORKLOADS[0]]
    for index, column in enumerate(first.columns):
        columns = [found[w].columns[index] for w in WORKLOADS]
        wins = [(c.ratio(l, k) or 2.0) < 1.0 for c in columns for l in DEFAULT_LEVELS
                for k in DEFAULT_CLUSTERS]
        kind = "every" if all(wins) else "some" if any(wins) else "no"
        kinds[kind].append((column.device, [c.ratio(*found[w].own)
                                            for c, w in zip(columns, WORKLOADS)]))

    def span(items) -> str:
        ratios = [r for _, found_ratios in items for r in found_ratios]
        return f"lut / int8 {min(ratios):.2f} to {max(ratios):.2f} at the own points"
    parts = []
    if kinds["every"]:
        parts.append(f"lut takes fewer cycles than int8 at every grid point of the three "
                     f"networks on {', '.join(d for d, _ in kinds['every'])} "
                     f"({span(kinds['every'])})")
    if kinds["some"]:
        parts.append(f"at some points on {', '.join(d for d, _ in kinds['some'])} "
                     f"({span(kinds['some'])})")
    if kinds["no"]:
        parts.append(f"nowhere on the other {len(kinds['no'])} devices and cores "
                     f"({span(kinds['no'])})")
    return "In short: " + "; ".join(parts) + "."


def replace_block(text: str, new: str, path: Path, begin: str = BEGIN, end: str = END) -> str:
    if text.count(begin) != 1 or text.count(end) != 1:
        raise SystemExit(f"{path}: needs exactly one line {begin!r} and one {end!r}")
    start, stop = text.index(begin), text.index(end) + len(end)
    return text[:start] + new + text[stop:]


def update_block(path: Path, new: str, write: bool, name: str, script: str,
                 begin: str = BEGIN, end: str = END) -> int:
    """Rewrite (`write`) or check the block `name` of docs file `path`: 0 when written or
    up to date, 1 (with how to regenerate it) when stale."""
    text = path.read_text()
    updated = replace_block(text, new, path, begin, end)
    if write:
        path.write_text(updated)
        print(f"wrote the {name} block of {path}")
        return 0
    if updated != text:
        print(f"{path}: the {name} block is stale; regenerate it with "
              f"python benchmarks/{script} --write {path}", file=sys.stderr)
        return 1
    print(f"{path}: the {name} block is up to date")
    return 0


def block_arguments(parser: argparse.ArgumentParser, what: str = "block") -> None:
    """The --check FILE / --write FILE options of a script that writes a docs block."""
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", metavar="FILE", type=Path,
                        help=f"exit 1 when FILE's {what} differs from the computed one")
    action.add_argument("--write", metavar="FILE", type=Path, help=f"rewrite FILE's {what}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    block_arguments(parser)
    args = parser.parse_args(argv)
    found, seconds = maps()
    new = block(found)
    path = args.check or args.write
    if path is not None:
        return update_block(path, new, args.write is not None, "crossover", "crossover.py")
    print(new)
    print()
    for name, taken in seconds.items():
        columns = len(found[name].columns)
        points = len(DEFAULT_LEVELS) * len(DEFAULT_CLUSTERS) + 1
        print(f"{name}: {points} (L, K) points x {columns} columns in {taken:.2f} s = "
              f"{1000 * taken / points:.1f} ms per point ({1000 * taken / points / columns:.2f} "
              "ms per point and column)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
