"""The arithmetic styles a network can be deployed in: one axis beside the op kinds.

- lut: the paper's multiplication-free network (product tables, integer adds,
  threshold compares);
- int8: the same topology as an int8 multiply-accumulate network;
- float32: the same topology in single-precision floating point.
"""
from __future__ import annotations

from enum import Enum


class Style(str, Enum):
    LUT = "lut"
    INT8 = "int8"
    FLOAT32 = "float32"


STYLES: tuple[str, ...] = tuple(style.value for style in Style)
