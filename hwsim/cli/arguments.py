"""argparse value types shared by the commands: each rejects a bad value with a
message argparse prints as `argument --flag: ...` (exit status 2)."""
from __future__ import annotations

import argparse


def integer_at_least(minimum: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value
    return parse


positive = integer_at_least(1, "an integer >= 1")
seed = integer_at_least(0, "a non-negative integer")


def count_or_continuous(low: int, high: int):
    def parse(text: str):
        if text == "continuous":
            return text
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low} to {high} or 'continuous', got {text!r}")
        return value
    return parse


def int_list(flag: str):
    def parse(text: str) -> tuple[int, ...]:
        items = [t.strip() for t in text.split(",")]
        if not any(items):
            raise argparse.ArgumentTypeError(f"empty list; give comma-separated integers, "
                                             f"e.g. {flag} 4,8,16")
        values = []
        for item in items:
            try:
                values.append(int(item))
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{item!r} is not an integer (give comma-separated integers)") from None
        return tuple(values)
    return parse


def name_list(text: str) -> tuple[str, ...]:
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    if not items:
        raise argparse.ArgumentTypeError("empty list; give comma-separated names")
    return items


def add_levels_clusters(parser: argparse.ArgumentParser) -> None:
    """--levels L and --clusters K: override a workload's or an imported model's L and K
    (an imported model's defaults are the MLPerf shape-only workloads' 32 and 256)."""
    from hwsim.specs.workload import MAX_CLUSTERS, MAX_LEVELS, MIN_CLUSTERS, MIN_LEVELS
    parser.add_argument("--levels", type=integer_between(MIN_LEVELS, MAX_LEVELS), metavar="L",
                        help="activation levels L of a workload or model (default: its own; "
                             "models 32)")
    parser.add_argument("--clusters", type=integer_between(MIN_CLUSTERS, MAX_CLUSTERS),
                        metavar="K", help="weight clusters K (default: its own; models 256)")


def integer_between(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, "
                                             f"got {text!r}")
        return value
    return parse


def add_weight_indices(parser: argparse.ArgumentParser) -> None:
    """--weight-indices: the lut weight codes (CostOptions.weight_indices)."""
    parser.add_argument("--weight-indices", choices=("auto", "aligned", "packed"),
                        default="auto",
                        help="lut weight codes: a byte each unless the network would not "
                             "fit flash (auto), a byte each (aligned), or packed in 4 or 2 "
                             "bits wherever K <= 16 (packed)")
