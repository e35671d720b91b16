"""What the soft-float routines of an emulated float32 program cost: per libgcc routine
(__aeabi_fmul, __addsf3, ...), its calls and its cycles per call priced with a device's
cycle table, set beside the device file's `soft_float` figures the cost model charges
(docs/codegen.md, "float32").

A routine is the ELF function the instructions belong to; its calls are the executions
of its entry block; the routines a routine calls (__clzsi2 from a normalisation)
count for it. The float operations the cost model knows map onto routines by name:
add (fadd, fsub, addsf3, subsf3), mul (fmul, mulsf3), div (fdiv, divsf3), compare
(fcmp*, *sf2 comparisons), conversions (f2iz, i2f, fixsfsi, floatsisf) apart."""
from __future__ import annotations

import re
from dataclasses import replace
from dataclasses import dataclass

from hwsim.machine.emulate import EmulationRun
from hwsim.machine.emulate_price import _actions, unit_prices
from hwsim.specs.device import Device

OPERATIONS = (("add", re.compile(r"^__(aeabi_f(add|sub|rsub)|addsf3|subsf3)$")),
              ("mul", re.compile(r"^__(aeabi_fmul|mulsf3)$")),
              ("div", re.compile(r"^__(aeabi_fdiv|divsf3)$")),
              ("compare", re.compile(r"^__(aeabi_fcmp\w+|[a-z]+sf2)$")),
              ("convert", re.compile(r"^__(aeabi_(f2iz|i2f|f2uiz|ui2f)|fixsfsi|floatsisf|"
                                     r"fixunssfsi|floatunsisf)$")))


@dataclass(frozen=True)
class RoutineCost:
    routine: str
    operation: str                   # add, mul, div, compare, convert, or "" (a callee)
    calls: float                     # per inference
    outer_calls: float               # ... of them from generated code (not from a helper)
    cycles_per_call: float           # the routine's own instructions, its callees apart
    device_cycles: float | None      # the device file's soft_float figure, if any
    helper_cycles: float = 0.0       # per inference: its share of the helpers without an
                                     # operation it calls (__clzsi2, __mulsi3 on RV32I)


def operation_of(routine: str) -> str:
    return next((op for op, pattern in OPERATIONS if pattern.match(routine)), "")


def routine_costs(run: EmulationRun, device: Device) -> list[RoutineCost]:
    """Every compiler helper (`__*`) the run executed, priced on `device`: its own
    instructions (a final conditional branch taken or not as it went) plus the call
    and return of each call, per call."""
    profile = run.profile
    prices = unit_prices(device)
    cycles: dict[str, float] = {}
    for (address, size, owner), n in profile.executions.items():
        block = profile.blocks[(address, size)]
        if not block.function.startswith("__"):
            continue
        body = list(block.instructions)
        tail = body.pop() if body[-1].action in ("cond_branch", "call") else None
        own = sum(count * prices[a] for i in body for a, count in _actions(i, device).items())
        if tail is not None and tail.action == "cond_branch":
            taken = profile.taken.get((address, size, owner), 0)
            own += (taken * prices["branch_taken"] + (n - taken) * prices["branch_not_taken"]) / n
        cycles[block.function] = cycles.get(block.function, 0.0) + own * n
    calls: dict[str, float] = {}
    outer: dict[str, float] = {}
    pairs: dict[tuple[str, str], float] = {}
    for (address, size, _owner), n in profile.executions.items():
        block = profile.blocks[(address, size)]
        last = block.instructions[-1]
        if last.action == "call" and last.target is not None:
            callee = next((b.function for (a, _), b in profile.blocks.items()
                           if a == last.target), "")
            if callee.startswith("__"):
                calls[callee] = calls.get(callee, 0.0) + n
                cycles[callee] = cycles.get(callee, 0.0) + n * prices["call_return"]
                if not block.function.startswith("__"):
                    outer[callee] = outer.get(callee, 0.0) + n
                else:
                    pairs[(block.function, callee)] = pairs.get((block.function, callee), 0.0) + n
    def shared(caller: str, seen: frozenset = frozenset()) -> float:
        """The cycles of the helpers without an operation `caller` calls (theirs too),
        each shared among its callers by calls."""
        total = 0.0
        for (who, callee), n in pairs.items():
            if who == caller and not operation_of(callee) and calls.get(callee) \
                    and callee not in seen:
                inclusive = cycles[callee] + shared(callee, seen | {caller})
                total += inclusive * n / calls[callee]
        return total

    helpers = {name: shared(name) for name in cycles if operation_of(name)}
    figures = device.soft_float_cycles or {}
    return [RoutineCost(name, operation_of(name), calls.get(name, 0.0) / profile.samples,
                        outer.get(name, 0.0) / profile.samples,
                        cycles[name] / calls[name] if calls.get(name) else 0.0,
                        figures.get(operation_of(name)),
                        helpers.get(name, 0.0) / profile.samples)
            for name in sorted(cycles)]


def measured_figures(costs: list[RoutineCost],
                     operations: tuple[str, ...] = ("add", "mul", "div", "compare")
                     ) -> dict[str, float]:
    """Cycles per call of each float operation as the run's routines took them: the
    cycles of all routines of the operation (an __aeabi_fcmpgt and the __gesf2 it calls)
    and of the helpers without an operation they call (__clzsi2, RV32I's __mulsi3),
    over the calls from generated code."""
    figures = {}
    for op in operations:
        mine = [c for c in costs if c.operation == op]
        calls = sum(c.outer_calls for c in mine)
        if calls:
            figures[op] = sum(c.calls * c.cycles_per_call + c.helper_cycles
                              for c in mine) / calls
    return figures


def with_figures(device: Device, figures: dict[str, float]) -> Device:
    """`device` with its soft_float cycles replaced by `figures` (what-if pricing)."""
    return replace(device, soft_float_cycles={**(device.soft_float_cycles or {}), **figures})
