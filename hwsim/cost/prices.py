"""Prices: what one action costs on a device, in cycles and dynamic energy (pJ).

From the device file: its cycle table (energy from energy.pj_per_action where
given, else cycles x active pJ/cycle), flash waits, the software multiply and
soft-float routines. Composite actions (loop control, stack words, literal loads,
RV32's __mulsi3) are priced as the sum of their parts; the instruction sequences
per ISA family come from hwsim.cost.shapes. Documented estimates fill in the few
routines a device file may leave out. `action_class` names the class an action is
reported under. Formulas and sources: docs/cost-model.md ("Prices")."""
from __future__ import annotations

from dataclasses import dataclass

from hwsim.cost.primitives import Actions
from hwsim.cost.shapes import shape_for
from hwsim.cost.soft_float_library import soft_float_recipes, soft_float_target
from hwsim.specs.device import (BASE_ACTIONS, DIVIDE_ACTIONS, FALLBACK_ACTIONS, FLOAT_ACTIONS,
                                HAZARD_ACTIONS, MULTIPLY_ACTIONS, OPTIONAL_BASE_ACTIONS,
                                SIMD_ACTIONS, Device)
from hwsim.errors import HwsimError

ACTION_CLASSES = ("load", "store", "alu", "branch", "multiply", "float", "call")

# Named actions that are not rows of the device's cycle table.
_EXTRA_CLASS = {
    "flash_wait": "load",             # extra cycles of a load from flash/FRAM/MRAM/XIP
    "literal_load": "load",           # a constant or address from the literal pool (flash)
    "loop_overhead": "branch",        # index/pointer steps + compare + taken branch
    "loop_last": "branch",            # the same, the last iteration: the branch falls through
    "stack_word": "call",             # one register saved or restored by a prologue/epilogue
    "stack_load": "load",             # a value reloaded from the stack (register pressure)
    "stack_store": "store",           # a value spilled to the stack
    "soft_mul_call": "call",          # __mulsi3 call, return and set-up
    "soft_mul_bit": "multiply",       # one iteration of its shift-and-add loop
    "float_compare": "float",
    "load_use": "load",               # a load's result read by the next instruction
    "jalr_dependency": "branch",      # a jalr reading the previous instruction's result
    "memory_before_taken": "branch",  # a load/store right before a taken branch (or jalr)
    "memory_before_jalr": "branch",   # a load/store right before a jalr
    "taken_ahead_mul": "branch",      # a taken branch dropping fetches a multiply ran ahead
    "self_base_load": "load",         # a load over its own base register (CV32E40P)
    "chained_load_use": "load",       # an access reading the load right before it
    "jalr_load_use": "branch",        # a jalr reading the load right before it
    "fetch_overlap": "load",          # a fetch wait hidden behind a load/store (credit)
    "fetch_overlap_mul": "multiply",  # a fetch wait hidden behind a multiply (credit)
    "taken_odd_ahead": "branch",      # a taken branch/jump meeting an odd run-ahead (Ibex)
    "taken_odd_ahead_mul": "branch",  # its change when multiplies run ahead too
    "fetch_overlap_slow_mul": "multiply",    # Ibex's slow multiplier: further run-ahead,
    "taken_odd_ahead_slow_mul": "branch",    # and its change of taken_odd_ahead_mul
    "fetch_overlap_mulh": "multiply",        # Ibex's single-cycle MULH keeps held fetches,
    "taken_odd_ahead_mulh": "branch",        # and its change of taken_odd_ahead
    "mul_base": "multiply",           # an operand-dependent MUL: its fixed part,
    "mul_operand_bit": "multiply",    # each significant bit of its second operand
    "shift": "alu",                   # a serial shifter (device serial_shifter): the shift,
    "shift_4_bits": "alu",            # each 4-bit step,
    "shift_bit": "alu",               # each remaining 1-bit step
}

# Instructions fetched per action of a device's table (a call and its return: two; a
# serial shift and an operand-timed MUL: one, their steps none); composite actions fetch
# the sum of their parts; hazards, credits, flash waits and extra burst words none.
FETCHES = dict.fromkeys(BASE_ACTIONS + OPTIONAL_BASE_ACTIONS + MULTIPLY_ACTIONS + SIMD_ACTIONS
                        + DIVIDE_ACTIONS + FLOAT_ACTIONS + ("shift", "mul_base"), 1) | {
    "call_return": 2}


def fetch_cycles(device: Device) -> dict[str, float]:
    """The net extra cycles of each action's instruction fetches on `device`
    (memory.instruction_fetch.extra_cycles_per_fetch per instruction; {} when the file
    states no fetch model or a net 0)."""
    fetch = device.memory.instruction_fetch
    extra = fetch.extra_cycles_per_fetch if fetch is not None else 0.0
    return {action: n * extra for action, n in FETCHES.items()} if extra else {}


# Composite actions, priced as the sum of their parts on the device.
RECIPES: dict[str, Actions] = {
    "float_compare": {"float_add": 1.0, "alu": 1.0},           # VCMP + VMRS
}


def family_recipes(device: Device) -> dict[str, Actions]:
    """Composite actions whose instruction sequence depends on the ISA family
    (hwsim.cost.shapes): loop control; a stack word (one register of a PUSH/POP/LDM/STM,
    1 + N cycles on Cortex-M, or one SW/LW on RISC-V); a literal-pool load; and, on
    RV32 without a multiplier, libgcc's __mulsi3 from its instruction sequence
    (mv, li; per bit of the second operand: andi, beqz (taken when the bit is 0),
    add (when 1), srli, slli, bnez (taken but for the last bit); ret) with half the
    bits set."""
    shape = shape_for(device.core.isa)
    recipes = {"loop_overhead": {"alu": shape.loop_alu, "branch_taken": 1.0},
               "loop_last": {"alu": shape.loop_alu, "branch_not_taken": 1.0},
               "literal_load": {"load_32": 1.0, "flash_wait": 1.0},
               "stack_load": {"load_32": 1.0}, "stack_store": {"store_32": 1.0}}
    if shape.family == "rv32":
        recipes["stack_word"] = {"load_32": 0.5, "store_32": 0.5}
        if device.core.multiplier == "none":
            recipes["soft_mul_call"] = {"call_return": 1.0, "alu": 2.0, "branch_taken": -1.0,
                                        "branch_not_taken": 1.0}
            recipes["soft_mul_bit"] = {"alu": 3.5, "branch_taken": 1.5, "branch_not_taken": 0.5}
            if device.serial_shifter is not None:           # srli and slli by 1
                recipes["soft_mul_bit"] = {"alu": 1.5, "branch_taken": 1.5,
                                           "branch_not_taken": 0.5, "shift": 2.0,
                                           "shift_bit": 2.0}
    else:
        recipes["stack_word"] = {"load_32": 0.5, "store_32": 0.5, "alu": -1.0}
    return recipes


# Estimates used only when the device file does not give the routine. Sources and
# derivations in docs/cost-model.md ("Estimated routines").
EXPF_SOFT_MACS = 1930 / (166 + 102)   # expf = 7.2 x (fmul + fadd): Cortex-M0 libgcc, devices.md D
ESTIMATES: dict[str, Actions] = {
    # tanh(x) = 1 - 2 / (exp(2x) + 1): expf plus 1 fmul, 2 fadd, 1 fdiv.
    "soft_float_tanh": {"soft_float_mul": EXPF_SOFT_MACS + 1, "soft_float_add": EXPF_SOFT_MACS + 2,
                        "soft_float_div": 1.0},
    "float_tanh": {"float_mul": EXPF_SOFT_MACS + 1, "float_add": EXPF_SOFT_MACS + 2,
                   "float_div": 1.0, "call_return": 1.0, "alu": 20.0},
    "soft_float_div": {"soft_float_mul": 475 / 166},             # libgcc M0 ratio fdiv / fmul
    "soft_float_compare": {"soft_float_add": 1.0},               # upper bound: same unpacking
    "float_div": {"float_mul": 7.0, "float_add": 3.0},           # Newton-Raphson reciprocal
}


def action_class(action: str) -> str:
    """The class an action is reported under: load, store, alu, branch, multiply
    (and divide), float (FPU and soft-float) or call."""
    if action in _EXTRA_CLASS:
        return _EXTRA_CLASS[action]
    if action.startswith("load_"):
        return "load"
    if action.startswith("store_"):
        return "store"
    if action.startswith("branch_") or action in ("jump", "jump_register"):
        return "branch"
    if action in ("mul", "mulh", "mac", "simd_mac", "div"):
        return "multiply"
    if action.startswith(("float_", "soft_float_")):
        return "float"
    if action == "call_return":
        return "call"
    if action == "alu":
        return "alu"
    raise HwsimError(f"unknown action {action!r}")


@dataclass(frozen=True)
class ActionPrice:
    """One action on one device: cycles, dynamic energy, and whether the figure is
    an estimate of a routine the device file does not give."""
    cycles: float
    energy_pj: float
    estimated: bool = False


def _base_prices(device: Device) -> dict[str, ActionPrice]:
    pj_per_cycle = device.energy.active_pj_per_cycle
    given = device.energy.pj_per_action
    prices = {action: ActionPrice(cycles, given.get(action, cycles * pj_per_cycle))
              for action, cycles in device.cycles.items()}
    for action, fallback in FALLBACK_ACTIONS.items():      # jump, mulh when not given
        if action not in prices and fallback in prices:
            prices[action] = prices[fallback]
    prices = {action: ActionPrice(0.0, 0.0) for action in HAZARD_ACTIONS} | prices  # none stated

    def per_cycle(cycles: float) -> ActionPrice:
        return ActionPrice(cycles, cycles * pj_per_cycle)

    prices["flash_wait"] = per_cycle(device.memory.flash_load_extra_cycles)
    if device.operand_multiplier is not None:
        prices["mul_base"] = per_cycle(device.operand_multiplier.base_cycles)
        prices["mul_operand_bit"] = per_cycle(device.operand_multiplier.cycles_per_bit)
    if device.serial_shifter is not None:
        prices["shift"] = per_cycle(device.serial_shifter.base_cycles)
        prices["shift_4_bits"] = per_cycle(device.serial_shifter.cycles_per_4_bits)
        prices["shift_bit"] = per_cycle(device.serial_shifter.cycles_per_bit)
    elif "alu" in prices:       # a barrel shifter: characterized shifts are alu instructions
        prices["shift"] = prices["alu"]
        prices["shift_4_bits"] = prices["shift_bit"] = ActionPrice(0.0, 0.0)
    if device.soft_multiply is not None:
        prices["soft_mul_call"] = per_cycle(device.soft_multiply.call_cycles)
        prices["soft_mul_bit"] = per_cycle(device.soft_multiply.cycles_per_bit)
    for routine, cycles in (device.soft_float_cycles or {}).items():
        prices[f"soft_float_{routine}"] = per_cycle(cycles)
    for action, extra in fetch_cycles(device).items():          # instruction fetch waits
        if action in prices:
            p = prices[action]
            prices[action] = ActionPrice(p.cycles + extra, p.energy_pj + extra * pj_per_cycle,
                                         p.estimated)
    return prices


def _soft_float_recipes(device: Device) -> dict[str, Actions]:
    """The characterized soft-float routines of the device's core (hwsim.cost.
    soft_float_library), which win over the device file's `soft_float` figures."""
    if device.core.fpu != "none":
        return {}
    target = soft_float_target(device.core.isa, device.serial_shifter is not None,
                               device.operand_multiplier is not None)
    return soft_float_recipes(target) if target else {}


def action_prices(device: Device) -> dict[str, ActionPrice]:
    """Cycles and pJ of every action the device can price: its cycle table (energy
    from energy.pj_per_action where given, else cycles x active pJ/cycle), flash
    waits, the software multiply and soft-float routines, the composite actions,
    and estimates for routines the file leaves out."""
    prices = _base_prices(device)

    def composite(recipe: Actions) -> ActionPrice | None:
        parts = [(prices.get(a), n) for a, n in recipe.items()]
        if any(p is None for p, _ in parts):
            return None
        return ActionPrice(sum(p.cycles * n for p, n in parts),
                           sum(p.energy_pj * n for p, n in parts),
                           any(p.estimated for p, _ in parts))

    for action, recipe in {**RECIPES, **family_recipes(device)}.items():
        price = composite(recipe)
        if price is not None:
            prices[action] = price
    for action, recipe in _soft_float_recipes(device).items():
        prices[action] = composite(recipe)
    for action in ("soft_float_add", "soft_float_mul"):       # a zero operand: at most the
        if f"{action}_zero" not in prices and action in prices:  # routine's general time
            prices[f"{action}_zero"] = prices[action]
    # Estimates may build on each other (tanh uses div): order matters.
    for action in ("soft_float_div", "soft_float_compare", "float_div", "soft_float_tanh",
                   "float_tanh"):
        if action not in prices:
            price = composite(ESTIMATES[action])
            if price is not None:
                prices[action] = ActionPrice(price.cycles, price.energy_pj, True)
    return prices
