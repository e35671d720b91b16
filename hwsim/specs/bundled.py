"""Where the bundled devices/ and workloads/ live, in an installed package
(hwsim/_data/, put there by the wheel build) or in a source checkout."""
from __future__ import annotations

from pathlib import Path

from hwsim.errors import HwsimError

_PACKAGE = Path(__file__).resolve().parent.parent     # the hwsim package


def bundled_dir(kind: str) -> Path:
    """The directory of bundled `devices` or `workloads`."""
    for candidate in (_PACKAGE / "_data" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise HwsimError(f"bundled {kind}/ not found next to the hwsim package (broken install?)")


def bundled_names(kind: str) -> list[str]:
    """Names (file stems) of the bundled YAML files of a kind, sorted."""
    return sorted(p.stem for p in bundled_dir(kind).glob("*.yaml"))


# Simulated configurations of open cores (devices/rtl/: Ibex, CV32E40P, PicoRV32 as hwsim
# builds them in RTL, docs/rtl.md). Found by name, but not part of the product catalog
# that `bundled_names` lists and the report compares: their clock and energy are
# placeholders.
RTL_CONFIGURATIONS = "rtl"


def rtl_configuration_names() -> list[str]:
    """Names of the devices/rtl/ configurations, sorted."""
    return sorted(p.stem for p in (bundled_dir("devices") / RTL_CONFIGURATIONS).glob("*.yaml"))


def resolve(kind: str, name_or_path: str) -> Path:
    """A bundled name (`nrf52840`, or an RTL configuration such as `ibex-rv32m-fast`) or a
    path to a YAML file -> the file's path."""
    looks_like_path = any(sep in name_or_path for sep in ("/", "\\")) or name_or_path.endswith(
        (".yaml", ".yml"))
    if looks_like_path:
        return Path(name_or_path)
    path = bundled_dir(kind) / f"{name_or_path}.yaml"
    if path.is_file():
        return path
    if kind == "devices":
        path = bundled_dir(kind) / RTL_CONFIGURATIONS / f"{name_or_path}.yaml"
        if path.is_file():
            return path
    names = bundled_names(kind) + (rtl_configuration_names() if kind == "devices" else [])
    singular = kind.rstrip("s")
    raise HwsimError(f"unknown {singular} {name_or_path!r}; bundled: {', '.join(names)} "
                     f"(or give a path to a .yaml file)")
