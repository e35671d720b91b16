"""Building a core's Verilated simulator, cached on disk.

    simulator = build_core(rtl_core("ibex-rv32m-fast"), Path(".hwsim-cache/rtl"))

The cache entry `<cache_dir>/<family>-<key>/` holds the binary `Vtop` and `build.json`
(the inputs and the Verilator command). The key is the sha256 of everything the binary
depends on: the configuration's build identity (package, version, defines, parameters; not
the wait states, which are a run-time argument), the address map, the contents of the
testbench files in hdl/, the Verilator version and options. A build runs in a temporary
directory inside cache_dir and is renamed into place in one step, so a reader sees a whole
entry or none, and concurrent builders of one key are harmless.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.machine.rtl.cores import RtlCore
from hwsim.machine.rtl.memory_map import MEMORY_MAP, MemoryMap
from hwsim.machine.rtl.sources import DRIVER, HDL_DIR, TESTBENCH_FILES, rtl_sources

BINARY = "Vtop"
MANIFEST = "build.json"
BUILD_JOBS = 2
# Upstream RTL is not lint-clean under Verilator 5.006; these are warnings, not errors.
WARNING_OPTIONS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-UNOPTFLAT",
                   "-Wno-BLKANDNBLK", "-Wno-MULTIDRIVEN")
OPTIONS = ("--cc", "--exe", "--build", "-j", str(BUILD_JOBS), "--no-timing",
           "--top-module", "hwsim_top", "--prefix", BINARY, "-o", BINARY) + WARNING_OPTIONS


def verilator_version() -> str:
    """`verilator --version`; a clear error when Verilator is not installed."""
    if shutil.which("verilator") is None:
        raise HwsimError("verilator is not installed (Debian: apt-get install verilator)")
    done = subprocess.run(["verilator", "--version"], capture_output=True, text=True)
    if done.returncode != 0:
        raise HwsimError(f"verilator --version failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_inputs(core: RtlCore, memory_map: MemoryMap = MEMORY_MAP) -> dict:
    """Everything the simulator binary depends on, as plain JSON."""
    hdl_files = sorted({*TESTBENCH_FILES, core.wrapper, DRIVER})
    return {"core": core.build_identity(),
            "memory_map": [list(p) for p in memory_map.verilator_parameters()],
            "hdl": {name: _file_digest(HDL_DIR / name) for name in hdl_files},
            "verilator": verilator_version(),
            "options": list(OPTIONS)}


def build_key(inputs: dict) -> str:
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def verilator_command(core: RtlCore, memory_map: MemoryMap = MEMORY_MAP) -> list[str]:
    """The Verilator command line (run inside the build directory)."""
    sources = rtl_sources(core)
    command = ["verilator", *OPTIONS, *sources.options]
    command += [f"-I{d}" for d in sources.include_dirs]
    command += [f"-D{name}={value}" for name, value in core.defines]
    parameters = (*memory_map.verilator_parameters(), *core.parameters)
    command += [f"-G{name}={value}" for name, value in parameters]
    command += [str(f) for f in sources.files]
    command.append(str(HDL_DIR / DRIVER))
    return command


def build_core(core: RtlCore, cache_dir: Path | str,
               memory_map: MemoryMap = MEMORY_MAP) -> Path:
    """The path of `core`'s simulator binary, built (verilator --build) unless cached."""
    cache_dir = Path(cache_dir).resolve()
    inputs = build_inputs(core, memory_map)
    entry = cache_dir / f"{core.family}-{build_key(inputs)[:20]}"
    if (entry / BINARY).is_file() and (entry / MANIFEST).is_file():
        return entry / BINARY
    command = verilator_command(core, memory_map)
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{core.family}-", dir=cache_dir))
    try:
        done = subprocess.run(command, cwd=work, capture_output=True, text=True)
        if done.returncode != 0 or not (work / "obj_dir" / BINARY).is_file():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
            raise HwsimError(f"verilator failed to build {core.name} "
                             f"(exit {done.returncode}):\n{tail}")
        staged = work / "entry"
        staged.mkdir()
        shutil.move(str(work / "obj_dir" / BINARY), staged / BINARY)
        manifest = {"inputs": inputs, "command": command}
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False) + "\n")
        try:
            os.rename(staged, entry)
        except OSError:
            if not (entry / BINARY).is_file():   # not another builder's finished entry
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return entry / BINARY
