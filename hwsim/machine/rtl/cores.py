"""The open-core configurations hwsim simulates in RTL, and the registry `RTL_CORES`.

A configuration is the RTL package it comes from (pinned: the PyPI packages are snapshots
of upstream repositories), the testbench wrapper in hdl/, the Verilator defines and
top-level parameters that select its options, the ISA hwsim compiles for it, and the
memory wait states of the testbench (a run-time setting: configurations that differ only
in wait states share one simulator binary).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from hwsim.errors import HwsimError

ISAS = ("rv32i", "rv32im", "rv32imc")
FAMILIES = ("ibex", "cv32e40p", "picorv32")


@dataclass(frozen=True)
class RtlPackage:
    """A PyPI package shipping a core's RTL (`import module; module.data_location`)."""

    distribution: str                # PyPI name
    module: str                      # import name
    version: str                     # the pinned version


IBEX = RtlPackage("pythondata-cpu-ibex", "pythondata_cpu_ibex", "0.0.post2937")
CV32E40P = RtlPackage("pythondata-cpu-cv32e40p", "pythondata_cpu_cv32e40p", "1.0.1.post1909")
PICORV32 = RtlPackage("pythondata-cpu-picorv32", "pythondata_cpu_picorv32", "1.0.post218")
_PACKAGES = {"ibex": IBEX, "cv32e40p": CV32E40P, "picorv32": PICORV32}


@dataclass(frozen=True)
class RtlCore:
    """One simulated configuration of an open core."""

    name: str
    family: str                                   # "ibex", "cv32e40p" or "picorv32"
    isa: str                                      # gcc -march: rv32i, rv32im or rv32imc
    description: str
    defines: tuple[tuple[str, str], ...] = ()     # Verilator -DNAME=VALUE
    parameters: tuple[tuple[str, int], ...] = ()  # top-level -GNAME=VALUE
    wait_states: int = 0                          # extra cycles per memory access

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise HwsimError(f"RTL core {self.name!r}: family {self.family!r} is not one of "
                             f"{', '.join(FAMILIES)}")
        if self.isa not in ISAS:
            raise HwsimError(f"RTL core {self.name!r}: isa {self.isa!r} is not one of "
                             f"{', '.join(ISAS)}")
        if not 0 <= self.wait_states <= 255:
            raise HwsimError(f"RTL core {self.name!r}: wait_states must be 0..255, "
                             f"got {self.wait_states}")

    @property
    def package(self) -> RtlPackage:
        return _PACKAGES[self.family]

    @property
    def wrapper(self) -> str:
        """The testbench top in hdl/ (module hwsim_top)."""
        return f"top_{self.family}.sv"

    def build_identity(self) -> dict:
        """Everything about the configuration that changes the simulator binary."""
        return {"family": self.family, "package": self.package.distribution,
                "package_version": self.package.version,
                "defines": [list(d) for d in self.defines],
                "parameters": [list(p) for p in self.parameters]}

    @property
    def base_name(self) -> str:
        """The name of the same configuration with 0 wait states."""
        suffix = f"-ws{self.wait_states}"
        if self.wait_states and self.name.endswith(suffix):
            return self.name[:-len(suffix)]
        return self.name

    def with_wait_states(self, wait_states: int) -> RtlCore:
        """This configuration with `wait_states` per access, named <name>-ws<wait_states>."""
        if self.wait_states:
            return replace(self, name=self.base_name, wait_states=0).with_wait_states(wait_states)
        if wait_states == 0:
            return self
        return replace(self, name=f"{self.name}-ws{wait_states}", wait_states=wait_states)


def _ibex(multiplier: str, isa: str, description: str) -> RtlCore:
    suffix = {"RV32MSlow": "slow", "RV32MFast": "fast", "RV32MSingleCycle": "single-cycle",
              "RV32MNone": "none"}[multiplier]
    return RtlCore(f"ibex-rv32m-{suffix}", "ibex", isa, description,
                   defines=(("RV32M", f"ibex_pkg::{multiplier}"),))


_BASE = (
    _ibex("RV32MSlow", "rv32im", "Ibex, slow multi-cycle multiplier (RV32MSlow)"),
    _ibex("RV32MFast", "rv32im", "Ibex, fast multi-cycle multiplier (RV32MFast, the default)"),
    _ibex("RV32MSingleCycle", "rv32im", "Ibex, single-cycle multiplier (RV32MSingleCycle)"),
    _ibex("RV32MNone", "rv32i", "Ibex without the M extension (RV32MNone)"),
    RtlCore("cv32e40p", "cv32e40p", "rv32imc",
            "CV32E40P without FPU and PULP extensions"),
    RtlCore("picorv32", "picorv32", "rv32i",
            "PicoRV32 defaults: no multiplier, no barrel shifter, dual-port register file"),
    RtlCore("picorv32-mul", "picorv32", "rv32im", "PicoRV32 with ENABLE_MUL",
            parameters=(("ENABLE_MUL", 1),)),
    RtlCore("picorv32-fast-mul", "picorv32", "rv32im", "PicoRV32 with ENABLE_FAST_MUL",
            parameters=(("ENABLE_FAST_MUL", 1),)),
)

# Every configuration with same-cycle memory (PicoRV32) or grant-then-data memory (OBI:
# Ibex, CV32E40P), and the same with one wait state per access (name suffix -ws1).
RTL_CORES: dict[str, RtlCore] = {
    core.name: core for base in _BASE for core in (base, base.with_wait_states(1))
}


def rtl_core(name: str) -> RtlCore:
    """The registered configuration `name`; a clear error listing the known ones."""
    try:
        return RTL_CORES[name]
    except KeyError:
        raise HwsimError(f"unknown RTL core {name!r}; known: {', '.join(RTL_CORES)}") from None
