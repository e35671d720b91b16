"""The `hwsim` command: a thin layer over the library. Errors a user can fix
are printed to stderr as one message and exit with status 2. Any other exception
is a bug in hwsim: one line saying so (with the command), exit status 3;
`--debug` (anywhere on the command line) or HWSIM_DEBUG=1 shows the traceback."""
from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback

from importlib import import_module

from hwsim.cli.commands import HELP
from hwsim.errors import HwsimError
from hwsim.sweep.threads import one_thread_unless_set
from hwsim.version import __version__

EXIT_USER_ERROR = 2
EXIT_BUG = 3
DEBUG_FLAG = "--debug"



def command_of(argv: list[str]) -> str | None:
    """The command an argument list names (its first non-option word), if it is one."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in HELP else None


def build_parser(commands: tuple[str, ...] | None = None) -> argparse.ArgumentParser:
    """The parser. `commands`: the commands whose modules are imported and whose
    arguments are defined (None: all); the others are listed by name and help."""
    parser = argparse.ArgumentParser(
        prog="hwsim",
        description="Cost model and integer simulator for multiplication-free tiny neural "
                    "networks on earbud, hearing-aid and wearable cores.")
    parser.add_argument("--version", action="version", version=f"hwsim {__version__}")
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="show the traceback of an internal error (a bug in hwsim)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in HELP.items():
        if commands is None or name in commands:
            import_module(f"hwsim.cli.{name}").add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    console = argv is None              # the console script: the process ends with the command
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv or os.environ.get("HWSIM_DEBUG") == "1"
    argv = [arg for arg in argv if arg != DEBUG_FLAG]
    command = command_of(argv)
    if console:
        # One BLAS thread (unless the caller chose): set before the command imports numpy.
        one_thread_unless_set(os.environ)
        # The command's modules (numpy, networkx, ...) live as long as the process:
        # import them without collector passes, then keep them out of every later
        # pass (gc.freeze), which would only scan them again.
        gc.disable()
    try:
        parser = build_parser((command,) if command else ())
    finally:
        if console:
            gc.freeze()
            gc.enable()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except HwsimError as exc:
        print(f"hwsim: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("hwsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:            # noqa: BLE001 - the one place bugs are reported
        if debug:
            traceback.print_exc(file=sys.stderr)
        command = " ".join(["hwsim", *argv])
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        print(f"hwsim: internal error (a bug in hwsim, please report it with the command "
              f"{command!r}): {detail}" + ("" if debug else "; rerun with --debug for the "
                                                           "traceback"), file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
