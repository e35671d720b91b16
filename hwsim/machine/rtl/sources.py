"""Where a core's RTL lives: the installed, pinned PyPI package and its own file lists.

The file lists are read from the package (Ibex: dv/uvm/core_ibex/ibex_dv.f up to the DV
files; CV32E40P: cv32e40p_manifest.flist), not re-typed here, minus the tracer and
testbench files the simple testbench does not use.
"""
from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.machine.rtl.cores import RtlCore, RtlPackage

HDL_DIR = Path(__file__).resolve().parent / "hdl"
TESTBENCH_FILES = ("hwsim_memory.sv", "hwsim_obi_port.sv", "hwsim_mmio.sv")
DRIVER = "sim_main.cpp"

# Files of the upstream lists that belong to tracing or to upstream testbenches.
_IBEX_SKIPPED = ("ibex_tracer_pkg.sv", "ibex_tracer.sv", "ibex_top_tracing.sv")
_CV32E40P_SKIPPED = ("cv32e40p_tb_wrapper.sv", "cv32e40p_tracer_pkg.sv")


@dataclass(frozen=True)
class RtlSources:
    """The Verilator inputs for one core: files in order, include dirs, extra options."""

    root: Path                        # the package's RTL root (data_location)
    files: tuple[Path, ...]           # the core's RTL, then the testbench, then the wrapper
    include_dirs: tuple[Path, ...]
    options: tuple[str, ...]          # e.g. Ibex's lint waiver file, read before the RTL


def package_root(package: RtlPackage) -> Path:
    """The RTL root of an installed package, after checking it is the pinned version."""
    hint = f"pip install {package.distribution}=={package.version}"
    try:
        installed = importlib.metadata.version(package.distribution)
        module = importlib.import_module(package.module)
    except (importlib.metadata.PackageNotFoundError, ImportError):
        raise HwsimError(f"the RTL package {package.distribution} is not installed ({hint})") \
            from None
    if installed != package.version:
        raise HwsimError(f"{package.distribution} {installed} is installed; hwsim's RTL "
                         f"timings are pinned to {package.version} ({hint})")
    return Path(module.data_location)


def _parse_file_list(text: str, variables: dict[str, Path]) -> tuple[list[Path], list[Path]]:
    """Files and +incdir+ directories of a .f / .flist text, ${VAR} substituted."""
    files, include_dirs = [], []
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line or line.startswith("+define+"):
            continue
        for name, value in variables.items():
            line = line.replace("${" + name + "}", str(value))
        if line.startswith("+incdir+"):
            include_dirs.append(Path(line[len("+incdir+"):]))
        else:
            files.append(Path(line))
    return files, include_dirs


def _ibex(root: Path) -> tuple[list[Path], list[Path], list[str]]:
    file_list = root / "dv" / "uvm" / "core_ibex" / "ibex_dv.f"
    text = file_list.read_text()
    marker = "// Core DV files"
    if marker not in text:
        raise HwsimError(f"{file_list}: no '{marker}' section; not the pinned Ibex snapshot")
    variables = {"PRJ_DIR": root, "LOWRISC_IP_DIR": root / "vendor" / "lowrisc_ip"}
    files, _ = _parse_file_list(text[:text.index(marker)], variables)
    # Include directories from the whole list: the core RTL includes dv_fcov_macros.svh.
    _, include_dirs = _parse_file_list(text, variables)
    files = [f for f in files if f.name not in _IBEX_SKIPPED]
    return files, include_dirs, [str(root / "lint" / "verilator_waiver.vlt")]


def _cv32e40p(root: Path) -> tuple[list[Path], list[Path], list[str]]:
    files, include_dirs = _parse_file_list((root / "cv32e40p_manifest.flist").read_text(),
                                           {"DESIGN_RTL_DIR": root / "rtl"})
    return [f for f in files if f.name not in _CV32E40P_SKIPPED], include_dirs, []


def _picorv32(root: Path) -> tuple[list[Path], list[Path], list[str]]:
    return [root / "picorv32.v"], [], []


_FAMILIES = {"ibex": _ibex, "cv32e40p": _cv32e40p, "picorv32": _picorv32}


def rtl_sources(core: RtlCore) -> RtlSources:
    """The Verilator inputs for `core`; a clear error if the package or a file is missing."""
    root = package_root(core.package)
    files, include_dirs, options = _FAMILIES[core.family](root)
    testbench = [HDL_DIR / name for name in TESTBENCH_FILES] + [HDL_DIR / core.wrapper]
    missing = [str(f) for f in files + testbench if not f.is_file()]
    if missing:
        raise HwsimError(f"{core.package.distribution} {core.package.version}: missing RTL "
                         f"files: {', '.join(missing[:5])}")
    return RtlSources(root, tuple(files + testbench), tuple(include_dirs), tuple(options))
