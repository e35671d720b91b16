"""Emulator hooks on RISC-V instructions' second operand (rs2): what an operand-dependent
multiplier's time follows (a `mul`, hwsim.machine.emulate) and what a serial shifter's
time follows (a shift by a register, hwsim.machine.register_shifts)."""
from __future__ import annotations

from hwsim.machine.disasm import _capstone
from hwsim.machine.toolchain import ElfImage


def rs2_hooks(mu, image: ElfImage, mnemonics, on_operand) -> None:
    """At every RISC-V instruction of `image` whose mnemonic is in `mnemonics`, call
    on_operand(its address, its second operand rs2 read unsigned)."""
    import unicorn as uc
    import unicorn.riscv_const as rc
    from hwsim.machine.disasm import function_instructions
    md = _capstone("riscv")
    for function in image.functions:
        for i in function_instructions(image, "riscv", function, md):
            if i.mnemonic not in mnemonics:
                continue
            register = getattr(rc, "UC_RISCV_REG_" + i.text.split(",")[-1].strip().upper())

            def on_instruction(_mu, address, _size, _data, register=register):
                on_operand(address, mu.reg_read(register))
            mu.hook_add(uc.UC_HOOK_CODE, on_instruction, begin=i.address, end=i.address)
