"""Build time of the compiled row sums (hwsim/execute/host.py): compiles
hwsim/execute/host_rows.c once per machine with the system's C compiler (`$CC`, else
`cc`; `-O3`, and on x86-64 Linux an AVX2 clone chosen at load time) into a cache
directory ($HWSIM_CACHE/host, else $XDG_CACHE_HOME/hwsim/host, else
~/.cache/hwsim/host; then the temporary directory when that one cannot be written),
under a name keyed by the source, the flags, the compiler's version and the machine,
written to a temporary name and renamed into place so that concurrent processes never
load half a library, and loads it with ctypes. No compiler, a failed build or
HWSIM_HOST_KERNELS=off: no library, and the reason.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("host_rows.c")
FLAGS = ("-O3", "-std=c99", "-shared", "-fPIC")
SWITCH = "HWSIM_HOST_KERNELS"          # "off": numpy gathers only
COMPILE_SECONDS = 120
ENTRY_TYPES = {np.dtype(np.int8): "i8", np.dtype(np.int16): "i16",
               np.dtype(np.int32): "i32", np.dtype(np.int64): "u64"}
DIGIT_TYPES = {np.dtype(np.uint8): "u8", np.dtype(np.uint16): "u16",
               np.dtype(np.uint32): "u32"}
SUM_TYPES = {"i8": np.dtype(np.int32), "i16": np.dtype(np.int32), "i32": np.dtype(np.int32),
             "u64": np.dtype(np.int64)}
# rows of these many entries (rows of up to 32 bytes padded to a power of two) are added
# by the narrow loops, their sums held in registers
NARROW_WIDTHS = {"i8": (4, 8, 16, 32), "i16": (4, 8, 16), "i32": (4, 8), "u64": (2, 4)}
_POINTER, _SIZE = ctypes.c_void_p, ctypes.c_ssize_t


@dataclass(frozen=True)
class HostStatus:
    available: bool
    library: str | None               # the loaded shared library
    reason: str                       # why not, or how it was found


def _cache_dirs() -> list[Path]:
    explicit = os.environ.get("HWSIM_CACHE")
    if explicit:
        return [Path(explicit) / "host"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [Path(base) / "hwsim" / "host",
            Path(tempfile.gettempdir()) / f"hwsim-host-{os.getuid()}"]


def _compiler_version(command: list[str]) -> str:
    run = subprocess.run([*command, "--version"], capture_output=True, text=True,
                         timeout=COMPILE_SECONDS, check=True)
    return run.stdout


def _key(compiler: str, version: str) -> str:
    digest = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(FLAGS).encode(), compiler.encode(),
                 version.encode(), platform.machine().encode(), platform.system().encode()):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def _build(command: list[str], target: Path) -> None:
    """Compile the source into `target`: a temporary file beside it, renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, work = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=target.parent)
    os.close(handle)
    try:
        run = subprocess.run([*command, *FLAGS, "-o", work, str(SOURCE)], capture_output=True,
                             text=True, timeout=COMPILE_SECONDS)
        if run.returncode != 0:
            lines = (run.stderr or run.stdout).strip().splitlines()
            raise OSError(f"{command[0]} failed: {lines[0] if lines else run.returncode}")
        os.replace(work, target)
    finally:
        if os.path.exists(work):
            os.unlink(work)


def kernel_name(entries: str, digits: str, width: int) -> str:
    """The loop for rows of `width` entries: a narrow one where there is one."""
    if width in NARROW_WIDTHS[entries]:
        return f"narrow{width}_{entries}_{digits}"
    return f"rows_{entries}_{digits}"


def _declare(library: ctypes.CDLL) -> None:
    for entries in ENTRY_TYPES.values():
        for digits in DIGIT_TYPES.values():
            for width in (0, *NARROW_WIDTHS[entries]):
                function = getattr(library, kernel_name(entries, digits, width))
                function.argtypes = [_POINTER, _POINTER, _SIZE, _POINTER, _SIZE, _SIZE,
                                     _SIZE, _SIZE, _SIZE, _POINTER]
                function.restype = None


@functools.cache
def load() -> tuple[ctypes.CDLL | None, HostStatus]:
    """The library (once per process) and its status."""
    if os.environ.get(SWITCH, "").lower() in ("off", "0", "no", "false"):
        return None, HostStatus(False, None, f"{SWITCH}={os.environ[SWITCH]}")
    compiler = os.environ.get("CC") or "cc"
    try:
        command = shlex.split(compiler)
        version = _compiler_version(command)
    except (OSError, ValueError, IndexError, subprocess.SubprocessError) as error:
        return None, HostStatus(False, None, f"no C compiler {compiler!r}: {error}")
    try:
        name = f"host_rows-{_key(compiler, version)}.so"
    except OSError as error:
        return None, HostStatus(False, None, f"cannot read the loop's source: {error}")
    failures = []
    for directory in _cache_dirs():
        target = directory / name
        try:
            if not target.exists():
                _build(command, target)
            library = ctypes.CDLL(str(target))
            _declare(library)
        except (OSError, subprocess.SubprocessError, AttributeError) as error:
            failures.append(f"{directory}: {error}")
            continue
        return library, HostStatus(True, str(target), f"built with {compiler}")
    return None, HostStatus(False, None, "; ".join(failures))


