"""Precomputed group tables of the grouped lut dense kernel (issue 12: "for small L the
L^g K^g group tables can be precomputed into flash, removing the build";
hwsim/machine/kernels/lut/lut_grouped_flash.c).

A full group of g inputs, each of 2^level_bits possible levels, selects one of
2^(g level_bits) tables of K^g entries by its pattern x_0 + (x_1 << level_bits) + ...;
entry w_0 + (w_1 << k_log2) + ... of it is sum_j T'[x_j][w_j], exactly the table the
built kernel would build (uint16, the offset B folded into the bias as there). A short
last group of r inputs has its own 2^(r level_bits) tables of K^r entries. Patterns with
a level the layer's inputs never take hold zeros.
"""
from __future__ import annotations

import numpy as np

# The precomputed tables a layer may store (the example: L = 2, K = 4, g = 4).
FLASH_TABLE_BYTES = 8192
# The smallest g the cost model precomputes for: a g = 2 build is K^2 entries, cheap, and
# its tables (up to FLASH_TABLE_BYTES at L <= 16) would take the fast memory other tables
# need on a SoC core (the tier placement follows the choice, not the other way round).
FLASH_MIN_G = 3


def input_level_bits(levels: int) -> int:
    """Bits of an input level in a pattern: levels 0 .. levels - 1."""
    return max(1, (int(levels) - 1).bit_length())


def tables_bytes(k_log2: int, g: int, level_bits: int, fan: int) -> tuple[int, int]:
    """(bytes of the full groups' tables, bytes of the short last group's, 0 if none)."""
    short = fan % g
    return ((1 << (g * level_bits)) << (g * k_log2 + 1),
            (1 << (short * level_bits)) << (short * k_log2 + 1) if short else 0)


def precomputed_bytes(k_log2: int, g: int, levels: int, fan: int) -> int:
    """Flash bytes of a layer's precomputed tables."""
    return sum(tables_bytes(k_log2, g, input_level_bits(levels), fan))


def group_tables(rows: np.ndarray, k_log2: int, r: int, level_bits: int) -> np.ndarray:
    """The 2^(r level_bits) tables of r inputs (flat uint16, pattern-major) of the
    product rows T' (levels x K2, the offset added)."""
    rows = np.asarray(rows, dtype=np.int64)
    levels = rows.shape[0]
    pattern = np.arange(1 << (r * level_bits), dtype=np.int64)[:, None]
    entry = np.arange(1 << (r * k_log2), dtype=np.int64)[None, :]
    sums = np.zeros((pattern.shape[0], entry.shape[1]), dtype=np.int64)
    taken = np.ones(pattern.shape[0], dtype=bool)
    for j in range(r):
        x = (pattern[:, 0] >> (j * level_bits)) & ((1 << level_bits) - 1)
        w = (entry[0] >> (j * k_log2)) & ((1 << k_log2) - 1)
        taken &= x < levels
        sums += rows[np.minimum(x, levels - 1)][:, w]
    sums[~taken] = 0
    return sums.reshape(-1).astype(np.uint16)


def precomputed_tables(rows: np.ndarray, k_log2: int, g: int, fan: int
                       ) -> tuple[int, np.ndarray, np.ndarray]:
    """(level_bits, the full groups' tables, the short last group's (empty if none)) of a
    layer's product rows T' (hwsim.ir.lut_grouped.GroupedLayout.rows)."""
    level_bits = input_level_bits(np.asarray(rows).shape[0])
    short = fan % g
    return (level_bits, group_tables(rows, k_log2, g, level_bits),
            group_tables(rows, k_log2, short, level_bits) if short
            else np.zeros(0, dtype=np.uint16))
