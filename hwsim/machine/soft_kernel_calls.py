"""The characterization's part for the int8 kernels of cores without a multiplier
(hwsim.ir.int8_kernels.SOFT_KERNELS on RV32I/E): their libgcc multiply calls counted per
routine, apart from the kernel's own instructions.

    run = split_soft_calls(run, firmware)     # the routines' blocks owned by their role
    calls = soft_call_counts(run)             # {"soft_mulsi3": MACs, "soft_muldi3": outputs}

A routine's time follows the bits of the operand its loop runs over, which the kernels
make one the graph fixes (a weight's magnitude, a Q31 multiplier: hwsim_int8_soft.h), so
the kernel's counts are fitted as exact functions of its trip counts with each routine call counted
once (an action per routine: the number of calls, a function of the trip counts too),
and the calls themselves are priced from libgcc's own characterization
(hwsim.cost.soft_multiply, data/soft_multiply_<target>.json: one call = the call
instruction and the routine). `check_soft_calls` proves that split on every run: the
routines' executed actions equal that data at the run's operands (every MAC's |w| bits
and set bits from the weights and the clipped windows; every output's multiplier), so
kernel + calls is exactly what executed. The basis and the designed shapes are here
(`soft_basis`, `soft_designs`), in the form of hwsim.machine.characterize's.
"""
from __future__ import annotations

from dataclasses import replace

from hwsim.cost.soft_multiply import SOFT_CALLS, call_actions, soft_call_terms
from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import KERNEL_NAMES, SOFT_KERNELS, KernelCall, select_kernel
from hwsim.ir.int8_trip_counts import trip_counts
from hwsim.ir.layers import Conv2D, DepthwiseConv2D
from hwsim.machine.fetch_waits import FETCH_ACTIONS
from hwsim.machine.emulate_profile import Profile

SOFT_TARGETS = ("rv32i",)
# libgcc routine -> the action counting its calls (and the owner of its blocks in a split
# profile); the data's routine names (hwsim.machine.soft_multiply_characterize).
ROUTINES = dict(zip(("__mulsi3", "__muldi3"), SOFT_CALLS))


def target_kernels(target: str, kernels) -> list[str]:
    """The kernels to characterize on `target` of those asked for: every kernel asked
    (KERNEL_NAMES: all of them) that the target runs (SOFT_KERNELS exactly on
    SOFT_TARGETS); naming one it does not run is an HwsimError."""
    soft = target in SOFT_TARGETS
    if set(kernels) == set(KERNEL_NAMES):
        return [k for k in KERNEL_NAMES if (k in SOFT_KERNELS) == soft]
    wrong = [k for k in kernels if (k in SOFT_KERNELS) != soft]
    if wrong:
        runs = ", ".join(k for k in KERNEL_NAMES if (k in SOFT_KERNELS) == soft)
        raise HwsimError(f"kernels {', '.join(wrong)}: not characterized on {target} "
                         f"(its kernels: {runs})")
    return list(kernels)


def split_soft_calls(run, firmware):
    """The run with the libgcc routines' blocks (and the calls into them) owned by their
    ROUTINES action instead of the kernel."""
    return replace(run, profile=split_profile(run.profile, firmware.image))


def split_profile(profile: Profile, image) -> Profile:
    """`profile` (of ELF `image`) with the libgcc routines' blocks (and the calls into
    them) owned by their ROUTINES action instead of the node or kernel running them."""
    ranges = []
    for name, role in ROUTINES.items():
        symbol = image.symbols.get(name)
        if symbol is not None:
            ranges.append((symbol.address, symbol.address + max(symbol.size, 1), role))

    def role_of(address):
        return next((role for start, end, role in ranges if start <= address < end), None)

    blocks = {}
    for key, block in profile.blocks.items():
        last = block.instructions[-1]
        callee = role_of(last.target) if last.action == "call" and last.target else None
        own = role_of(block.address)
        blocks[key] = replace(block, function=own or block.function,
                              call_owner=callee or block.call_owner)
    executions, taken, flash = ({(a, s, role_of(a) or o): n for (a, s, o), n in d.items()}
                                for d in (profile.executions, profile.taken,
                                          profile.flash_reads))
    runs = {tuple((a, s, role_of(a) or o) for a, s, o in run): n
            for run, n in profile.runs.items()}
    return Profile(profile.target, profile.samples, blocks, executions, taken, flash,
                   profile.mul_operand_bits, profile.shift_amounts, runs)


def node_soft_calls(profile: Profile, elf_path) -> tuple[Profile, dict[str, dict[str, int]]]:
    """A network run's profile (hwsim.machine.emulate) split (split_profile), and each
    node's calls of each routine (node -> ROUTINES action -> calls)."""
    from hwsim.machine.toolchain import read_elf
    split = split_profile(profile, read_elf(elf_path))
    return split, calls_by_owner(split)


def soft_run(run, firmware, table):
    """The run split (split_soft_calls) and its routines checked (check_soft_calls)."""
    run = split_soft_calls(run, firmware)
    check_soft_calls(run, routine_counts(run, table), firmware.target.name)
    return run


def calls_by_owner(profile: Profile) -> dict[str, dict[str, int]]:
    """Calls of each routine (ROUTINES) per owner in a split profile: its callers'
    executions."""
    counts: dict[str, dict[str, int]] = {}
    for (address, size, owner), n in profile.executions.items():
        role = profile.blocks[(address, size)].call_owner
        if role in SOFT_CALLS:
            own = counts.setdefault(owner, {})
            own[role] = own.get(role, 0) + n
    return counts


def soft_call_counts(run) -> dict[str, int]:
    """Calls of each routine (ROUTINES) in a split run: its callers' executions."""
    counts: dict[str, int] = {}
    for own in calls_by_owner(run.profile).values():
        for role, n in own.items():
            counts[role] = counts.get(role, 0) + n
    return counts


def routine_counts(run, table) -> dict[str, dict[str, int]]:
    """The executed actions of each routine in a split run, priced with `table` (the
    characterization's counting table)."""
    from hwsim.machine.emulate_price import price
    nodes = price(run.profile, table).nodes
    return {role: {a: int(round(c)) for a, c in nodes[role].actions.items() if round(c)}
            for role in SOFT_CALLS if role in nodes}


def check_soft_calls(run, executed: dict[str, dict[str, int]], target: str) -> None:
    """HwsimError unless the routines' executed actions (`executed`, routine_counts) are
    libgcc's characterization at the run's operands (hwsim.cost.soft_multiply), each
    routine called as often as `soft_call_counts` says. The one-wait-state fetch actions
    (FETCH_ACTIONS) are left out: they follow where the routine lies (the emulator's
    blocks end at page boundaries), not its operands."""
    case = run.case
    terms = soft_call_terms(case.call, case.w, case.multiplier)
    calls = soft_call_counts(run)
    for role, (n, bits, ones) in terms.items():
        if calls.get(role, 0) != n:
            raise HwsimError(f"{case.describe()} on {target}: {calls.get(role, 0)} calls of "
                             f"{role}, the clipped windows make {n}")
        routine = role.removeprefix("soft_")
        predicted = ({a: n * v for a, v in call_actions(target, routine, bits / n,
                                                            ones / n).items()} if n else {})
        measured = executed.get(role, {})
        for action in sorted((set(predicted) | set(measured)) - set(FETCH_ACTIONS)):
            if round(predicted.get(action, 0.0)) != measured.get(action, 0) or \
                    abs(predicted.get(action, 0.0) - round(predicted.get(action, 0.0))) > 1e-6:
                raise HwsimError(f"{case.describe()} on {target}: {routine} executed "
                                 f"{measured.get(action, 0)} {action}, libgcc's "
                                 f"characterization predicts {predicted.get(action, 0.0)}")


# ----------------------------------------------------------------------------- design

def soft_basis(kernel: str) -> list[tuple]:
    """The monomials of a soft kernel's counts: the call's set-up loops, the output rows'
    and pixels' window clipping, then per output channel (conv_soft: out_c, `rows`) or
    channel (depthwise_soft) the pixels, the window rows and the taps (times in_c for a
    convolution: the MACs, one __mulsi3 each)."""
    edges = [k for k in trip_counts(KernelCall(kernel, 3, 3, 1, 1, 1, 1, 3, 3))
             if k.startswith(("rows_", "cols_"))]
    setup = ["in_w", "kw", "stride_h", "stride_w", "pad_top", "pad_left"]
    if kernel == "conv_soft":
        setup.append("kh")
    per = "rows" if kernel == "conv_soft" else "channels"
    taps = ((("v", "window_taps"), ("v", "channels")) if kernel == "conv_soft"
            else (("v", "window_taps"),))
    linear = [(("v", n),) for n in ("out_rows", "pixels", *edges, "rows_skipped",
                                    "cols_skipped", "window_cols", *setup)]
    return ([()] + linear + [(("eq", "pad_top", 0),), (("eq", "pad_left", 0),)]
            + [((("v", per),) + m) for m in ((), (("v", "pixels"),),
                                             (("v", "window_rows"),), taps)])


def _call(kernel, h, w, c, out_c, k, stride, padding) -> KernelCall:
    depthwise = kernel == "depthwise_soft"
    layer = (DepthwiseConv2D(c, *k, *stride, padding) if depthwise
             else Conv2D(c, out_c, *k, *stride, padding))
    return select_kernel("depthwise_conv2d" if depthwise else "conv2d", (h, w, c), layer,
                         kernel)


def soft_designs(kernel: str, rng) -> tuple[list[KernelCall], list[KernelCall]]:
    """(shapes to fit on, held-out shapes): small random windows, strides 1-3, 'same' and
    'valid', 1x1 ones on a 1x1 input (a dense layer); held out larger and odd ones."""
    fit = [_call(kernel, 1, 1, d, n, (1, 1), (1, 1), "valid")
           for d, n in ((1, 1), (2, 3), (5, 2), (3, 4))]
    for _ in range(60):
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        h, w = (int(v) for v in rng.integers(max(k), 8, 2))
        c = int(rng.integers(1, 5))
        fit.append(_call(kernel, h, w, c, int(rng.integers(1, 5)), k,
                         tuple(int(v) for v in rng.integers(1, 4, 2)),
                         ("same", "valid")[int(rng.integers(2))]))
    held = [_call(kernel, 1, 1, 37, 5, (1, 1), (1, 1), "valid"),
            _call(kernel, 9, 7, 3, 5, (3, 3), (2, 1), "same"),
            _call(kernel, 12, 10, 2, 3, (5, 4), (2, 3), "same"),
            _call(kernel, 1, 23, 6, 4, (1, 7), (1, 2), "valid"),
            _call(kernel, 8, 9, 7, 2, (3, 3), (1, 1), "same")]
    return fit, held
