"""The instruction sequences the cost model assumes, per ISA family.

Each figure is an instruction count of hwsim's generated kernels
(hwsim/machine/codegen) as gcc 12 -O2 compiles them, read from the disassembly and
checked by emulation (docs/validation.md): the loop control of an inner loop,
the bookkeeping of an output unit, a node function's prologue and epilogue, the
threshold search's entry and steps, the int8 requantization. They are counts of
*actions* (alu, load_32, mul, ...), priced by the device's cycle table like
everything else; no cycle number is stored here.

Families: "thumb1" (ARMv6-M: Cortex-M0/M0+), "thumb2" (ARMv7E-M and
ARMv8-M.main: Cortex-M4/M33; post-increment addressing folds pointer steps into
loads, IT blocks replace short data-dependent branches), "rv32" (RISC-V RV32I/E
and RV32IM: compare-and-branch, no reg+reg addressing) and "generic" (MSP430,
Xtensa: the hand-written sequences of docs/cost-model.md, not validated by
emulation)."""
from __future__ import annotations

from dataclasses import dataclass, field

Actions = dict[str, float]

FAMILY_OF_ISA = {"armv6-m": "thumb1", "armv7e-m": "thumb2", "armv8-m.main": "thumb2",
                 "rv32i": "rv32", "rv32e": "rv32", "rv32im": "rv32", "rv32imc": "rv32",
                 "rv32imac": "rv32", "rv32imfc": "rv32"}


@dataclass(frozen=True)
class CodeShape:
    family: str
    # Loop control per iteration besides its branch: index/pointer steps and the
    # compare (Thumb-2 folds pointer steps into post-increment loads; RV32 folds the
    # compare into the branch but steps every pointer).
    loop_alu: float
    # lut weighted layer, per output unit: bias-row address, pointer resets and steps
    # besides the outer loop's own control.
    lut_unit_alu: float
    # per output position of a convolution (window pointers, position loop).
    position_alu: float
    # conv2d / depthwise, per kernel row of a unit when the kernel has several rows:
    # row pointer steps and resets, and (Thumb-1/2) spilled pointers, besides the row
    # loop's control. 'same' padding adds the per-unit spills of its clipped-window
    # bookkeeping (window tables, run counts).
    row: Actions = field(default_factory=dict)
    same_unit: Actions = field(default_factory=dict)
    # Prologue + epilogue of a node function: weighted layers, and small kernels
    # (pools, argmax, output table). Action counts (stack_word = one register
    # saved or restored; stack_load / stack_store = a spilled value reloaded / spilled;
    # literal_load = a constant or address from the literal pool in flash).
    weighted_frame: Actions = field(default_factory=dict)
    light_frame: Actions = field(default_factory=dict)
    # Constants and array addresses loaded from a literal pool in flash (ARM).
    literal_pool: bool = False
    # Threshold function (called once per unit): entry after the call, alu per step
    # besides the bound load (plus the half-taken branch and the half-time pointer
    # step unless if-converted), exit (pointer difference -> level).
    search_setup_alu: float = 1.0
    search_step_alu: float = 1.0
    search_if_converted: bool = False
    search_exit_alu: float = 2.0
    argmax_address_alu: float = 0.0   # per class, forming the address of a 32-bit sum
    argmax_index_alu: float = 1.0     # per class, the running index besides loop control
    argmax_setup_alu: float = 2.0     # first index and maximum
    # int8 per output unit: requantization (MultiplyByQuantizedMultiplier), clamp and
    # bookkeeping, excluding the bias load, the store and the loops. `wide` is the
    # 32x32->64 product as executed; "muldi3" expands libgcc's shift-and-add routine.
    int8_unit: Actions = field(default_factory=dict)
    int8_unit_branches: float = 0.0   # data-dependent (nudge sign, rounding, clamp), half taken
    wide: str = "instruction"
    output_table_alu: float = 0.0     # per element besides the value lookup and loop
    # int8 plain loops without a multiplier, a 'same'-padded conv2d or depthwise layer:
    # what the register pressure around the __mulsi3 calls adds, per output unit (values
    # spilled and reloaded, moves) and per output position (the window-table bytes).
    soft_same_unit: Actions = field(default_factory=dict)
    soft_same_position: Actions = field(default_factory=dict)


SHAPES = {
    # Cortex-M0/M0+ (gcc -mcpu=cortex-m0). Dense unit: movs/lsls/mov for the bias-row
    # offset, movs i=0, add/lsls for the bias address, three-instruction pointer
    # steps through a high register: 13 alu with the outer loop's adds+cmp.
    "thumb1": CodeShape(
        "thumb1", loop_alu=2, lut_unit_alu=11, position_alu=10,
        row={"alu": 4, "stack_load": 0.8, "stack_store": 0.5},
        same_unit={"stack_load": 2.5, "stack_store": 0.7},
        weighted_frame={"alu": 15, "stack_word": 16, "literal_load": 3},
        light_frame={"alu": 2, "stack_word": 6},
        literal_pool=True, search_setup_alu=1, search_step_alu=1, search_exit_alu=2,
        argmax_address_alu=1, argmax_index_alu=0,
        # __aeabi_lmul (call, 6 MULS, push/pop of 7 registers) + gemmlowp rounding
        # with two 64-bit spills, the clamp and the unit's pointer steps.
        int8_unit={"call_return": 1, "mul": 6, "stack_word": 14, "alu": 78,
                   "literal_load": 2, "stack_load": 1.8, "stack_store": 2},
        int8_unit_branches=5, wide="routine", output_table_alu=1),
    # Cortex-M4 (gcc -mcpu=cortex-m4): ldrb rX, [rY, #1]! folds the pointer steps,
    # add rX, rY, rZ, lsl #n forms the table index, IT blocks replace the short
    # branches of the threshold search, the max pool and argmax.
    "thumb2": CodeShape(
        "thumb2", loop_alu=1, lut_unit_alu=4, position_alu=6,
        row={"alu": 3, "stack_load": 0.2},
        same_unit={"stack_load": 2, "stack_store": 0.4, "stack_word": 1},
        weighted_frame={"alu": 7, "stack_word": 16, "literal_load": 3},
        light_frame={"alu": 2, "stack_word": 2},
        literal_pool=True, search_setup_alu=1, search_step_alu=3, search_if_converted=True,
        search_exit_alu=2, argmax_index_alu=1,
        # SMULL, gemmlowp rounding (adds/adc, IT), clamp through IT, a ldrd/strd spill.
        int8_unit={"mul": 1, "alu": 30, "stack_word": 4, "literal_load": 1},
        int8_unit_branches=1, wide="instruction"),
    # RV32I/E and RV32IM (gcc -march=rv32i/rv32im): lui+addi addresses, slli+add
    # table indices, every pointer stepped by addi, sw/lw frames.
    "rv32": CodeShape(
        "rv32", loop_alu=2, lut_unit_alu=4, position_alu=6,
        row={"alu": 1.5}, same_unit={"stack_load": 1, "stack_store": 0.3},
        weighted_frame={"alu": 14, "stack_word": 16},
        search_setup_alu=3.5, search_step_alu=0, search_exit_alu=2,
        argmax_index_alu=0, argmax_setup_alu=3,    # li index 1, li best 0, li end
        # MUL + MULH (or __muldi3), the rounding with sltu carries, the clamp.
        int8_unit={"alu": 26.7}, int8_unit_branches=3, wide="mul_mulh", output_table_alu=0,
        # Without a multiplier (-march=rv32i), 'same' conv2d / depthwise: the mean
        # difference between the executed and these sequences' counts over the 30 such
        # layers of the held-out networks of seeds 2 and 3 (hwsim.machine.heldout; per
        # unit alu sd 4.4, stack loads 1.6, stores 1.1; per position 0.13). Seeds 0 and
        # 1 stay held out (docs/rtl.md).
        soft_same_unit={"alu": 13.1, "stack_load": 6.7, "stack_store": 4.4},
        soft_same_position={"load_8": 4.4}),
}

# MSP430 and Xtensa: the sequences of docs/cost-model.md (not emulated).
GENERIC = CodeShape("generic", loop_alu=2, lut_unit_alu=3, position_alu=4,
                    search_setup_alu=0, search_step_alu=2.5, search_exit_alu=0)


def shape_for(isa: str) -> CodeShape:
    family = FAMILY_OF_ISA.get(isa)
    return SHAPES[family] if family else GENERIC
