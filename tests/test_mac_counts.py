"""How many MACs each weight tap and input element of an int8 library call takes part in
(hwsim.ir.mac_counts), against a brute-force walk over every output and tap; and the
mul site roles the characterization gives from the operands it saw
(hwsim.machine.mul_sites)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.ir.int8_kernels import FOLDED_OFFSET, KernelCall, mul_parameters
from hwsim.ir.mac_counts import input_macs, padded_share, tap_macs
from hwsim.machine.mul_sites import check_parameter_sites, loop_mul_bits, site_roles

CALLS = [KernelCall("conv_scalar", 5, 4, 1, 5, 4, 2, 3, 3, 1, 1, 1, 1),
         KernelCall("conv", 7, 7, 2, 3, 3, 2, 3, 3, 2, 2, 1, 1),
         KernelCall("conv", 7, 7, 1, 2, 2, 2, 2, 2, 3, 3, 0, 0),
         KernelCall("depthwise", 6, 9, 3, 6, 5, 3, 3, 5, 1, 2, 1, 2),
         KernelCall("depthwise_3x3", 5, 5, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1),
         KernelCall("fully_connected", 1, 1, 13, 1, 1, 5)]


def brute_force(call: KernelCall):
    taps = np.zeros((call.kh, call.kw), dtype=np.int64)
    cover = np.zeros((call.in_h, call.in_w), dtype=np.int64)
    padded = total = 0
    for oy in range(call.out_h):
        for ox in range(call.out_w):
            for ky in range(call.kh):
                for kx in range(call.kw):
                    y = oy * call.stride_h - call.pad_top + ky
                    x = ox * call.stride_w - call.pad_left + kx
                    total += 1
                    if 0 <= y < call.in_h and 0 <= x < call.in_w:
                        taps[ky, kx] += 1
                        cover[y, x] += 1
                    else:
                        padded += 1
    if call.kernel in FOLDED_OFFSET:          # padded taps are multiplied too
        taps[:] = call.out_h * call.out_w
        return taps, cover, padded / total
    return taps, cover, 0.0


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.kernel)
def test_mac_counts_are_what_a_walk_over_every_window_counts(call):
    taps, cover, padded = brute_force(call)
    assert np.array_equal(tap_macs(call), taps)
    assert np.array_equal(input_macs(call), cover)
    assert padded_share(call) == pytest.approx(padded)


def _run(call: KernelCall, operands: dict):
    return SimpleNamespace(case=SimpleNamespace(call=call, describe=lambda: "a case"),
                           mul_operands=operands)


def test_mul_sites_take_the_role_of_what_they_multiply_by():
    """A site by a weight (-1), a Q31 multiplier or an input keeps its data role; one by a
    shape value of every call becomes mul_by_<name> (the first name in mul_parameters'
    order that matches); one by a loop variable (several values in a run) stays `mul`, as
    does any site seen in one run only; a held-out run with another value is an error."""
    a = KernelCall("conv_scalar", 5, 4, 3, 5, 4, 2, 3, 3, 1, 1, 1, 1)
    b = KernelCall("conv_scalar", 6, 7, 5, 6, 7, 2, 3, 2, 1, 1, 1, 0)
    runs = [_run(c, {(0x10, 0xFFFFFFFF): 9, (0x14, 1 << 30): 2, (0x18, c.in_c): 4,
                     (0x1C, c.in_w * c.in_c): 1, (0x20, 0): 3, (0x20, 2): 1, (0x24, 2): 1})
            for c in (a, b)]
    assert site_roles(runs) == {0x10: "mul_weight", 0x14: "mul_multiplier", 0x18: "mul_by_in_c",
                                0x1C: "mul_by_in_row", 0x20: "mul", 0x24: "mul"}
    assert site_roles(runs[:1])[0x18] == "mul"
    assert mul_parameters(b)["in_row"] == 35
    assert loop_mul_bits(runs[0], site_roles(runs)) == (5, 3 * 1 + 2 + 2)
    check_parameter_sites(runs[1], site_roles(runs))
    with pytest.raises(HwsimError, match="multiplies by 4, not by the call's in_c"):
        check_parameter_sites(_run(b, {(0x18, 4): 1}), site_roles(runs))
