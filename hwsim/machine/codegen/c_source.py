"""Small helpers that format C: identifiers, integer types, constant arrays."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError

_UNSAFE = re.compile(r"[^0-9A-Za-z_]")

INT_TYPES = {  # (signed, bits) -> C type
    (True, 8): "int8_t", (True, 16): "int16_t", (True, 32): "int32_t",
    (False, 8): "uint8_t", (False, 16): "uint16_t", (False, 32): "uint32_t",
}
C_BYTES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4,
           "float": 4}


@dataclass(frozen=True)
class CArray:
    """A constant array of the data translation unit (flash)."""
    name: str
    definition: str
    extern: str
    size_bytes: int


def identifier(name: str) -> str:
    """A C identifier from a graph node name: "L1.dense" -> "L1_dense"."""
    ident = _UNSAFE.sub("_", name)
    return ident if not ident[:1].isdigit() else "_" + ident


def function_name(node: str) -> str:
    """The C function of a graph node: "L1.dense" -> "node_L1_dense"."""
    return "node_" + identifier(node)


def int_type(values: np.ndarray, signed: bool | None = None) -> str:
    """The narrowest of int8/16/32 (signed when any value is negative or `signed`)
    that holds every value."""
    values = np.asarray(values, dtype=np.int64)
    lo = int(values.min(initial=0))
    hi = int(values.max(initial=0))
    signed = lo < 0 if signed is None else signed
    for bits in (8, 16, 32):
        if signed and -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return INT_TYPES[(True, bits)]
        if not signed and lo >= 0 and hi < (1 << bits):
            return INT_TYPES[(False, bits)]
    raise HwsimError(f"values {lo}..{hi} do not fit a 32-bit integer")


def _literal(value: int, ctype: str) -> str:
    if ctype == "int32_t" and value == -(1 << 31):
        return "INT32_MIN"
    return str(value) + ("u" if ctype.startswith("uint") and value > 0x7FFF else "")


def c_array(name: str, ctype: str, values, *, const: bool = True, per_line: int = 16,
            comment: str = "") -> str:
    """A C array definition with every value written out."""
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    if not flat:
        raise HwsimError(f"array {name!r} would be empty")
    lines = []
    for start in range(0, len(flat), per_line):
        lines.append("    " + ", ".join(_literal(v, ctype) for v in flat[start:start + per_line]))
    head = f"/* {comment} */\n" if comment else ""
    qualifier = "const " if const else ""
    return (f"{head}{qualifier}{ctype} {name}[{len(flat)}] = {{\n" + ",\n".join(lines)
            + "\n};\n")


def c_extern(name: str, ctype: str, length: int) -> str:
    return f"extern const {ctype} {name}[{length}];\n"


def constant(name: str, ctype: str, values, comment: str = "", align_bytes: int = 0):
    """A constant array for the data translation unit (at a multiple of `align_bytes`
    when given: a kernel loads it by words)."""
    count = int(np.asarray(values).size)
    definition = c_array(name, ctype, values, comment=comment)
    if align_bytes:
        definition = definition.replace(f"{name}[{count}] =",
                                        f"{name}[{count}] __attribute__((aligned({align_bytes}))) =", 1)
    return CArray(name, definition, c_extern(name, ctype, count), count * C_BYTES[ctype])
