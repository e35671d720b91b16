"""Building a generated program with the Debian cross compilers, and reading the ELF.

    build = build_program(program, "out/")     # compile + link -> out/network.elf
    image = read_elf(build.elf_path)           # segments, function symbols, attributes
    check_architecture(image, program.target)  # Tag_CPU_arch / RISC-V arch string

Compilers: gcc-arm-none-eabi (arm-none-eabi-gcc) and gcc-riscv64-unknown-elf
(riscv64-unknown-elf-gcc, rv32 multilibs). -O2, freestanding, no libc, no start
files; libgcc is linked only for the int8 style (its multiply helpers) and float32 (its
soft-float routines)."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hwsim.machine.codegen import Program, write_program
from hwsim.machine.codegen.targets import Target
from hwsim.errors import HwsimError

CFLAGS = ("-O2", "-std=c11", "-ffreestanding", "-nostdlib", "-nostartfiles", "-fno-common",
          "-fno-builtin", "-fno-ipa-icf", "-fno-tree-loop-distribute-patterns",
          "-fno-optimize-sibling-calls", "-Wall",
          "-Wno-unused-variable")
ELF_NAME = "network.elf"


@dataclass(frozen=True)
class Build:
    program: Program
    directory: Path
    elf_path: Path
    compiler: str                    # absolute path of the gcc driver used
    compiler_version: str
    commands: tuple[tuple[str, ...], ...]
    warnings: str                    # compiler diagnostics (empty when clean)


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int
    size: int
    kind: str                        # "func" or "object"


@dataclass(frozen=True)
class Segment:
    address: int
    data: bytes
    memory_bytes: int                # data plus zero fill (.bss)


@dataclass(frozen=True)
class ElfImage:
    path: Path
    machine: str                     # "EM_ARM" or "EM_RISCV"
    entry: int
    e_flags: int
    segments: tuple[Segment, ...]
    symbols: dict[str, Symbol]
    attributes: dict[str, object]    # ARM build attributes / RISC-V arch string
    section_bytes: dict[str, int]
    mapping: tuple[tuple[int, str], ...] = ()   # ($t/$d/$x...) code/data markers, sorted

    def data_ranges(self, start: int, end: int) -> list[tuple[int, int]]:
        """Literal pools and other data inside [start, end) (ARM $d mapping symbols)."""
        ranges, inside = [], None
        for address, kind in self.mapping:
            if address >= end:
                break
            if kind.startswith("$d"):
                inside = address if inside is None else inside
            elif inside is not None:
                if address > start:
                    ranges.append((max(inside, start), address))
                inside = None
        if inside is not None:
            ranges.append((max(inside, start), end))
        return [(a, b) for a, b in ranges if a < b]

    @property
    def functions(self) -> list[Symbol]:
        return sorted((s for s in self.symbols.values() if s.kind == "func"),
                      key=lambda s: s.address)

    def address_of(self, name: str) -> int:
        if name not in self.symbols:
            raise HwsimError(f"{self.path}: no symbol {name!r}")
        return self.symbols[name].address


def find_compiler(target: Target, path: str | None = None) -> str:
    """The target's gcc on PATH (or on `path`), else an error naming the Debian package."""
    found = shutil.which(target.compiler, path=path)
    if found is None:
        raise HwsimError(f"cross compiler {target.compiler} not found on PATH; install the "
                         f"Debian package {target.debian_package} "
                         f"(apt-get install {target.debian_package})")
    return found


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300,
                              check=False)
    except OSError as exc:
        raise HwsimError(f"cannot run {command[0]}: {exc.strerror}") from None


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def _link_error(program: Program, stderr: str) -> HwsimError:
    m = _OVERFLOW.search(stderr)
    memory = program.memory_map
    if m:
        region, over = m.group(1), int(m.group(2))
        size = memory.flash_bytes if region == "FLASH" else memory.ram_bytes
        return HwsimError(f"{program.name} ({program.style}) does not fit {program.target.name} "
                          f"with {memory.source}: {region.lower()} overflowed by {over:,} bytes "
                          f"({size:,} available)")
    if "RAM overflow" in stderr:
        return HwsimError(f"{program.name} ({program.style}) does not fit {program.target.name} "
                          f"with {memory.source}: the arena and the {memory.stack_bytes}-byte "
                          f"stack exceed {memory.ram_bytes:,} bytes of RAM")
    return HwsimError(f"linking {program.name} for {program.target.name} failed:\n"
                      + stderr.strip()[-2000:])


def build_program(program: Program, directory: str | Path, *, path: str | None = None) -> Build:
    """Write the program into `directory`, compile and link it to network.elf."""
    target = program.target
    compiler = find_compiler(target, path)
    directory = Path(directory)
    write_program(program, directory)
    flags = [*CFLAGS, *target.flags]
    objects, commands, warnings = [], [], []
    for source in [name for name in program.files if name.endswith(".c")]:
        obj = source.replace(".c", ".o")
        command = [compiler, *flags, "-c", source, "-o", obj]
        result = _run(command, directory)
        commands.append(tuple(command))
        if result.returncode != 0:
            raise HwsimError(f"compiling {source} for {target.name} failed (a code generation "
                             f"bug):\n{result.stderr.strip()[-2000:]}")
        warnings.append(result.stderr.strip())
        objects.append(obj)
    libs = ["-lgcc"] if program.style in ("int8", "float32") else []
    command = [compiler, *flags, "-T", "link.ld", *objects, *libs, "-o", ELF_NAME,
               "-Wl,-Map=network.map"]
    result = _run(command, directory)
    commands.append(tuple(command))
    if result.returncode != 0:
        raise _link_error(program, result.stderr)
    version = _run([compiler, "-dumpversion"], directory).stdout.strip()
    return Build(program, directory, directory / ELF_NAME, compiler, version, tuple(commands),
                 "\n".join(w for w in warnings if w))


def _attributes(elf) -> dict[str, object]:
    found: dict[str, object] = {}
    for name in (".ARM.attributes", ".riscv.attributes"):
        section = elf.get_section_by_name(name)
        if section is None:
            continue
        for sub in section.iter_subsections():
            for subsub in sub.iter_subsubsections():
                for attr in subsub.iter_attributes():
                    found[attr.tag] = attr.value
    return found


def read_elf(path: str | Path) -> ElfImage:
    """Loadable segments, symbols and architecture attributes of an ELF file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    path = Path(path)
    try:
        with path.open("rb") as handle:
            elf = ELFFile(handle)
            segments = tuple(Segment(seg["p_paddr"], seg.data(), seg["p_memsz"])
                             for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD")
            symbols, mapping = {}, []
            table = elf.get_section_by_name(".symtab")
            for sym in table.iter_symbols() if table else ():
                kind = sym["st_info"]["type"]
                if sym.name.startswith("$"):
                    mapping.append((sym["st_value"], sym.name))
                    continue
                if kind in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE") and sym.name:
                    address = sym["st_value"]
                    if kind == "STT_FUNC" and elf["e_machine"] == "EM_ARM":
                        address &= ~1                      # Thumb bit
                    k = {"STT_FUNC": "func", "STT_OBJECT": "object"}.get(kind, "label")
                    if sym.name not in symbols or k == "func":
                        symbols[sym.name] = Symbol(sym.name, address, sym["st_size"], k)
            sections = {s.name: s["sh_size"] for s in elf.iter_sections() if s.name}
            return ElfImage(path, elf["e_machine"], elf["e_entry"], elf["e_flags"], segments,
                            symbols, _attributes(elf), sections, tuple(sorted(mapping)))
    except (OSError, ELFError) as exc:
        raise HwsimError(f"{path}: not a readable ELF file ({exc})") from None


def architecture(image: ElfImage) -> str:
    """The architecture the ELF declares: ARM Tag_CPU_arch (e.g. "v6S-M", "v7E-M") or
    the RISC-V arch string's base and extensions (e.g. "rv32i", "rv32im")."""
    if image.machine == "EM_ARM":
        value = image.attributes.get("TAG_CPU_ARCH")
        return _ARM_ARCH.get(value, str(value))
    arch = str(image.attributes.get("TAG_ARCH", image.attributes.get("TAG_RISCV_ARCH", "")))
    parts = arch.split("_")
    base = re.match(r"(rv(?:32|64)[a-z])\d+p\d+$", parts[0])
    if not base:
        return arch
    letters = [m.group(1) for p in parts[1:] if (m := re.match(r"([a-z])\d+p\d+$", p))]
    return base.group(1) + "".join(letters)


_ARM_ARCH = {0: "pre-v4", 1: "v4", 2: "v4T", 3: "v5T", 4: "v5TE", 5: "v5TEJ", 6: "v6",
             7: "v6KZ", 8: "v6T2", 9: "v6K", 10: "v7", 11: "v6-M", 12: "v6S-M", 13: "v7E-M",
             14: "v8-A", 15: "v8-R", 16: "v8-M.base", 17: "v8-M.main"}


def check_architecture(image: ElfImage, target: Target) -> str:
    """The declared architecture; HwsimError when it is not the target's."""
    arch = architecture(image)
    expected = {"v6S-M": ("v6-M", "v6S-M")}.get(target.elf_arch, (target.elf_arch,))
    if arch not in expected:
        raise HwsimError(f"{image.path}: declares architecture {arch!r}, target "
                         f"{target.name} needs {target.elf_arch!r}")
    return arch


def compile_elf(command: tuple, directory: Path, elf_name: str, target: Target, what: str
                ) -> tuple[Path, ElfImage, str]:
    """Run the compiler `command` (its first word) in `directory` and read the ELF
    `elf_name` it writes: (path, image, compiler version); one error naming `what` when it
    fails or warns, or when the ELF is not for `target`."""
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True,
                            timeout=300, check=False)
    if result.returncode != 0 or result.stderr.strip():
        raise HwsimError(f"building {what} for {target.name} failed or warned:\n"
                         + result.stderr.strip()[-3000:])
    version = subprocess.run([command[0], "-dumpversion"], capture_output=True, text=True,
                             check=False).stdout.strip()
    image = read_elf(directory / elf_name)
    check_architecture(image, target)
    return directory / elf_name, image, version
