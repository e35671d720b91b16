"""What one soft-float operation executes on a core without an FPU, from the
characterization of libgcc's routines with the pinned compiler
(hwsim.machine.soft_float_characterize, data in hwsim/cost/data/soft_float_<target>.json):
the priced actions of one call (the call, the routine, its helpers) per operand class,
which the device's cycle table turns into cycles.

    recipes = soft_float_recipes(core_isa)   # {"soft_float_mul": {"alu": 97.6, ...}, ...}

Actions: soft_float_add/mul/div/compare/tanh (operands of the stated distribution,
non-zero), soft_float_add_zero/mul_zero (one operand 0: libgcc returns early). The data
win over a device file's `soft_float` figures for a core whose ISA has data and whose
shifts and multiplies take fixed time (docs/codegen.md, "The float32 style"); the file's
figures price the rest.
"""
from __future__ import annotations

from pathlib import Path

from hwsim.cost import characterized
from hwsim.cost.primitives import Actions
from hwsim.ir.int8_kernels import TARGET_OF_ISA

# A burst word of a push/pop/ldm/stm is priced load_32 (store_32) - alu, as
# hwsim.machine.emulate_price prices it.
_BURST = {"burst_load": {"load_32": 1.0, "alu": -1.0},
          "burst_store": {"store_32": 1.0, "alu": -1.0}}


def data_path(target: str) -> Path:
    return characterized.data_path("soft_float", target)


def soft_float_data(target: str) -> dict | None:
    """The characterization data of one build, or None when there is none."""
    return characterized.characterization_data("soft_float", target)


def _priced(actions: dict[str, float]) -> Actions:
    out: dict[str, float] = {}
    for action, n in actions.items():
        for part, k in _BURST.get(action, {action: 1.0}).items():
            out[part] = out.get(part, 0.0) + n * k
    return out


def soft_float_target(isa: str, serial_shifter: bool = False,
                      operand_multiplier: bool = False) -> str | None:
    """The characterized target a core of `isa` runs, or None (no data, or shifts or
    multiplies whose time depends on the operands: the counts would not price them)."""
    target = TARGET_OF_ISA.get(isa)
    if target is None or serial_shifter or operand_multiplier:
        return None
    return target if soft_float_data(target) is not None else None


def soft_float_recipes(target: str) -> dict[str, Actions]:
    """Per soft-float action, the actions one call executes (class `zero` as `_zero`)."""
    recipes = {}
    for operation, classes in soft_float_data(target)["operations"].items():
        for kind, record in classes.items():
            suffix = "" if kind == "general" else f"_{kind}"
            recipes[f"soft_float_{operation}{suffix}"] = _priced(record["actions"])
    return recipes
