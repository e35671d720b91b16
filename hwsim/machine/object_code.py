"""Object files measured: the bytes an object adds to the flash image and its functions'
sizes (hwsim.machine.code_size, hwsim.machine.loop_code_size), a source compiled and
measured, and the designed workloads those records are made from.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from hwsim.errors import HwsimError


def object_code(path: Path) -> tuple[int, dict[str, int], dict[str, int]]:
    """(bytes the object adds to .text, global functions' sizes, all functions' sizes)."""
    with path.open("rb") as handle:
        return _elf_code(handle)


def _elf_code(handle) -> tuple[int, dict[str, int], dict[str, int]]:
    """object_code of an object file open as `handle`."""
    from elftools.elf.elffile import ELFFile
    elf = ELFFile(handle)
    total = 0
    for section in elf.iter_sections():
        name = section.name
        if (name.startswith((".text", ".rodata", ".srodata"))
                and section["sh_type"] != "SHT_NOBITS"):
            align = max(section["sh_addralign"], 1)
            total += -(-section["sh_size"] // align) * align
    globals_, functions = {}, {}
    table = elf.get_section_by_name(".symtab")
    for sym in table.iter_symbols() if table else ():
        if sym["st_info"]["type"] != "STT_FUNC" or sym["st_shndx"] == "SHN_UNDEF":
            continue
        functions[sym.name] = sym["st_size"]
        if sym["st_info"]["bind"] == "STB_GLOBAL":
            globals_[sym.name] = sym["st_size"]
    return total, globals_, functions


def compile_measured(compiler: str, flags, directory: Path, files: dict[str, str],
                     source: str, target: str) -> tuple[int, dict[str, int]]:
    """Write `files` into `directory`, compile `source` and measure the object."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    obj = source.replace(".c", ".o")
    result = subprocess.run([compiler, *flags, "-c", source, "-o", obj], cwd=directory,
                            capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise HwsimError(f"code size: compiling {source} for {target} failed:\n"
                         + result.stderr.strip()[-2000:])
    total, globals_, _ = object_code(directory / obj)
    return total, globals_


def designed_workload_from(name: str, shape, layers, levels: int | None = None,
                           clusters: int | None = None, entry_bits: int | None = None,
                           input_levels: int = 16, task: str = "classification"):
    """A designed workload of input `shape` (`input_levels` levels) and `layers` (the
    other fields as a random held-out workload's, hwsim.machine.heldout), with `levels`
    activation levels, `clusters` weight clusters per layer and `entry_bits` table
    entries where given; `task` "autoencoder" ends it in an output table."""
    import numpy as np
    from hwsim.machine.heldout import random_workload_data
    from hwsim.specs.workload import workload_from_data
    data = dict(random_workload_data(np.random.default_rng(0), 0), name=name,
                input={"shape": list(shape), "levels": input_levels}, layers=layers,
                task=task)
    if levels or clusters:
        data["discretization"] = dict(data["discretization"], cluster_scope="per_layer",
                                      **({"activation_levels": levels} if levels else {}),
                                      **({"weight_clusters": clusters} if clusters else {}))
    if entry_bits:
        data["integer"] = dict(data["integer"], table_entry_bits=entry_bits)
    return workload_from_data(data, f"<{name}>")
