"""Action counts as dicts (action -> count) and the primitive sequences every
arithmetic style is built from: sums and multiples of counts, loads, packed-field
reads and writes, reads and writes of the tensors between nodes, loop control."""
from __future__ import annotations

import math

from hwsim.cost.options import CoreTraits, CostOptions

# A data-dependent branch (binary-search step, new maximum) is charged half taken.
HALF_BRANCH = {"branch_taken": 0.5, "branch_not_taken": 0.5}

Actions = dict[str, float]


def plus(*parts: Actions) -> Actions:
    """The sum of action dicts."""
    total: Actions = {}
    for part in parts:
        for action, count in part.items():
            total[action] = total.get(action, 0.0) + count
    return total


def times(part: Actions, factor: float) -> Actions:
    return {action: count * factor for action, count in part.items()}


def nonzero(part: Actions) -> Actions:
    return {action: count for action, count in part.items() if count}


def storage_bits(bits: int) -> int:
    """Width of the load or store that holds a `bits`-wide value: 8, 16 or 32."""
    return 8 if bits <= 8 else 16 if bits <= 16 else 32


def shift_ops(bits: int, tr: CoreTraits) -> int:
    """Instructions for a shift by `bits`: one with a barrel shifter; on MSP430 one
    per bit (RLA/RRA), except whole bytes (SWPB)."""
    if bits <= 0:
        return 0
    if tr.barrel_shifter:
        return 1
    return bits % 8 + (1 if bits >= 8 else 0)


def serial_shift(bits: int, tr: CoreTraits) -> Actions:
    """What one shift by `bits` costs beyond the alu the instruction sequences count for
    it, on a core with a serial shifter (the device's serial_shifter): nothing elsewhere."""
    return register_shift(bits, tr) if bits > 0 else {}


def register_shift(bits: int, tr: CoreTraits) -> Actions:
    """`serial_shift` of a shift by a register holding `bits`, 0 included: the
    instruction runs whatever the amount (a constant shift by 0 is no instruction)."""
    if not tr.serial_shifter:
        return {}
    return {"alu": -1.0, "shift": 1.0, "shift_4_bits": float(bits // 4),
            "shift_bit": float(bits % 4)}


def load(bits: int, place: str, tr: CoreTraits) -> Actions:
    """One load of `bits` (8, 16, 32) from SRAM or flash; a flash load waits once per
    bus access (two for a 32-bit value on a 16-bit core)."""
    actions = {f"load_{bits}": 1.0}
    if place == "flash":
        actions["flash_wait"] = float(max(1, math.ceil(bits / tr.word_bits)))
    return actions


def field_read(bits: int, place: str, tr: CoreTraits) -> Actions:
    """Average actions to fetch one `bits`-wide field of a densely packed array.

    8/16/32-bit fields are one plain load. Narrower or odd widths are decoded
    with compile-time-known offsets over one packing group (8 / gcd(bits, 8)
    fields, e.g. eight 5-bit fields in 5 bytes): a field inside one byte is a
    byte load, a shift down (unless at bit 0) and a mask (unless it ends the
    byte); a field that straddles bytes is one unaligned 16/32-bit load where
    the core has them, else one byte load per byte touched plus a shift and an
    OR per extra byte."""
    if bits in (8, 16, 32):
        return load(bits, place, tr)
    group = 8 // math.gcd(bits, 8)
    total: Actions = {}
    for j in range(group):
        offset = (j * bits) % 8
        span = offset + bits
        nbytes = math.ceil(span / 8)
        if nbytes == 1:
            part, width = load(8, place, tr), 8
        elif tr.unaligned_loads and span <= 32:
            width = 16 if span <= 16 else 32
            part = load(width, place, tr)
        else:
            width = 8 * nbytes
            combine = sum(shift_ops(8 * k, tr) + 1 for k in range(1, nbytes))
            part = plus(times(load(8, place, tr), nbytes), {"alu": combine})
        part = plus(part, {"alu": shift_ops(offset, tr) + (1 if span < width else 0)})
        total = plus(total, part)
    return times(total, 1 / group)


def field_write(bits: int, tr: CoreTraits) -> Actions:
    """Average actions to append one `bits`-wide field to a packed array in SRAM: a
    shift into place and an OR into the byte being built (plus the carry of a
    straddling field into the next byte), one byte store per 8 bits."""
    if bits in (8, 16, 32):
        return {f"store_{bits}": 1.0}
    group = 8 // math.gcd(bits, 8)
    alu = 0
    for j in range(group):
        offset = (j * bits) % 8
        alu += shift_ops(offset, tr) + 1
        if offset + bits > 8:
            alu += shift_ops(8 - offset, tr)
    return {"alu": alu / group, "store_8": bits / 8}


def elements_read(edge: dict, opt: CostOptions, acc_bits: int, tr: CoreTraits) -> Actions:
    """Reading one element of a tensor between nodes (always in SRAM): a level index
    (byte or packed) or an integer sum."""
    if edge["kind"] == "sums":
        return load(storage_bits(acc_bits), "sram", tr)
    if opt.activations == "packed":
        return field_read(edge["bits"], "sram", tr)
    return load(8, "sram", tr)


def level_write(levels: int, opt: CostOptions, tr: CoreTraits) -> Actions:
    if opt.activations == "packed":
        return field_write(max(1, math.ceil(math.log2(levels))), tr)
    return {"store_8": 1.0}


def loop_control(iterations: float, runs: float = 1.0) -> Actions:
    """Loop control of `runs` runs of a loop, `iterations` iterations in all: index or
    pointer steps + compare + a taken backward branch per iteration, except the last
    of each run, whose branch falls through (`loop_last`)."""
    iterations, runs = float(iterations), float(min(runs, iterations))
    if iterations <= 0:
        return {}
    return nonzero({"loop_overhead": iterations - runs, "loop_last": runs})
