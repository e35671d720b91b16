"""The `hwsim` command: a thin layer over the library. Errors a user can fix
are printed to stderr as one message and exit with status 2."""
from __future__ import annotations

import argparse
import sys

from hwsim.version import __version__
from hwsim.cli import (codegen, compare, dashboard, devices, report, simulate, sweep, train,
                       validate, verify)
from hwsim.errors import HwsimError

COMMANDS = (report, devices, train, simulate, compare, verify, sweep, dashboard, codegen,
            validate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwsim",
        description="Cost model and integer simulator for multiplication-free tiny neural "
                    "networks on earbud, hearing-aid and wearable cores.")
    parser.add_argument("--version", action="version", version=f"hwsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except HwsimError as exc:
        print(f"hwsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
