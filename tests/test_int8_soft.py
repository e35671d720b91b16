"""The int8 kernels of cores without a multiplier (hwsim/machine/kernels/int8/hwsim_int8_soft.h,
hwsim.ir.int8_kernels.SOFT_KERNELS) on RV32I: characterized exactly with their libgcc
calls counted apart (hwsim.machine.soft_kernel_calls), priced from the weights and the
multipliers (hwsim.cost.soft_multiply.soft_call_terms), called by the generated code on
ch32v003 and validated there bit-exact within 2%."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from hwsim.cost.int8_choice import int8_kernel_choices
from hwsim.cost.int8_library import call_actions, library_data
from hwsim.cost.model import combine
from hwsim.cost.options import CostOptions, core_traits
from hwsim.cost.prices import action_prices
from hwsim.cost.soft_multiply import soft_call_terms
from hwsim.importers.int8_kernel_reference import REFERENCES
from hwsim.ir.int8_kernels import SOFT_KERNELS
from hwsim.ir.ops import WEIGHTED
from hwsim.machine.characterize import characterize_kernel
from hwsim.machine.kernels.cases import conv_case, fixed_path_case
from hwsim.machine.kernels.harness import build_firmware, kernel_cycles, run_case
from hwsim.specs.catalog import find_device

pytestmark = pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None,
                                reason="needs the RISC-V cross-compiler")


@pytest.fixture(scope="session")
def rv32i_firmware(tmp_path_factory):
    return build_firmware("rv32i", tmp_path_factory.mktemp("int8-rv32i"))


def _check(case, output):
    assert np.array_equal(output, REFERENCES[case.op](**case.reference_arguments)), \
        case.describe()


def test_characterization_is_exact_on_held_out_shapes(rv32i_firmware):
    """Each soft kernel, measured and fitted now (every output checked against TFLite's
    reference; each run's __mulsi3/__muldi3 executions equal libgcc's characterization
    at its |w| and multiplier bits), is proven on held-out shapes and equals the shipped
    record."""
    shipped = library_data("rv32i")
    assert set(shipped["kernels"]) == set(SOFT_KERNELS)
    for kernel in SOFT_KERNELS:
        record = characterize_kernel(rv32i_firmware, kernel, _check)
        assert record == {k: v for k, v in shipped["kernels"][kernel].items()
                          if k != "left_shift"}     # its left path: test_int8_left_shift.py
        assert record["held_out_shapes"] >= 5
        assert {"soft_mulsi3", "soft_muldi3"} <= set(record["counts"])


# Held-out shapes (none in the designs): a dense layer as a 1x1 convolution of a 1x1
# input, 'same' convolutions and depthwise with clipped windows, strides.
HELD_OUT = [
    ("conv_soft", dict(input_shape=(1, 1, 45), out_c=9, kernel_hw=(1, 1), padding="valid")),
    ("conv_soft", dict(input_shape=(10, 8, 3), out_c=6, kernel_hw=(3, 3), stride=(2, 1))),
    ("conv_soft", dict(input_shape=(1, 30, 4), out_c=5, kernel_hw=(1, 5), stride=(1, 2))),
    ("depthwise_soft", dict(input_shape=(9, 7, 10), out_c=0, kernel_hw=(3, 3))),
    ("depthwise_soft", dict(input_shape=(8, 11, 5), out_c=0, kernel_hw=(5, 3), stride=(2, 2))),
]


@pytest.mark.parametrize("kernel, args", HELD_OUT)
def test_counts_and_calls_price_like_the_emulated_kernel(rv32i_firmware, kernel, args):
    """With ch32v003's table: on the fixed path (inputs at the zero point, random weights)
    the characterized counts plus every libgcc call priced from the case's weights and
    multipliers equal the emulated kernel's cycles exactly; on random data within 3%;
    the stated bound (|w| = 127, multipliers of 31 set bits) is above both."""
    device = find_device("ch32v003")
    tr, prices = core_traits(device), action_prices(device)
    options = CostOptions(weights_in="sram")
    rng = np.random.default_rng(len(args["input_shape"]) + args["input_shape"][-1])
    random_case = conv_case(kernel, rng, **args)
    fixed = fixed_path_case(random_case.call, rng)

    def modelled(case, terms=True):
        soft = soft_call_terms(case.call, case.w, case.multiplier) if terms else None
        return combine(call_actions(case.call, tr, options, None, soft), prices)[0]

    assert modelled(fixed) == pytest.approx(kernel_cycles(run_case(rv32i_firmware, fixed),
                                                          device), abs=1e-6)
    run = run_case(rv32i_firmware, random_case)
    _check(random_case, run.output)
    assert modelled(random_case) == pytest.approx(kernel_cycles(run, device), rel=0.03)
    assert modelled(fixed, terms=False) > modelled(fixed)


def _depthwise_net():
    """A held-out network with a 'same' conv2d, a depthwise layer and dense layers."""
    from hwsim.ir.graph import graph_from_workload
    from hwsim.machine.heldout import _inputs, heldout_workloads
    workload = heldout_workloads(0, 4)[3]
    g = graph_from_workload(workload, seed=3)
    assert {"conv2d", "depthwise_conv2d", "dense"} <= {op.kind for _, op in g.nodes(data="op")}
    return g, _inputs(workload, 2, 3)


def test_generated_code_on_ch32v003_calls_the_soft_kernels():
    """The cost model's choice on ch32v003 is a soft kernel for every weighted node; the
    generated network calls them, links their sources (and the ops library: the pools and
    argmax) and no other int8 library source, and
    has no per-layer multiply loop; a network without a depthwise layer does not link
    depthwise_soft.c."""
    from hwsim.machine.codegen import generate
    g, _ = _depthwise_net()
    device = find_device("ch32v003")
    choices = int8_kernel_choices(g, device)
    assert {c.kernel for c in choices.values()} == set(SOFT_KERNELS)
    program = generate(g, "rv32i", "int8",
                       int8_choice=tuple((n, c.kernel) for n, c in choices.items()))
    network = program.files["network.c"]
    assert "hwsim_conv_soft_s8(" in network and "hwsim_depthwise_soft_s8(" in network
    nodes = network.split("/* graph node")[1:]       # the node functions, after the prelude
    assert nodes and not any("HW_MUL(" in node or "hw_requantize(" in node for node in nodes)
    library = {name for name in program.files if name.endswith(".c")} - {
        "network.c", "model_data.c", "start.c"}
    assert library == {"soft_walk.c", "conv_soft.c", "depthwise_soft.c", "ops_int8.c"}
    from hwsim.cost.model import dense_layer_workload
    from hwsim.ir.graph import graph_from_workload
    dense = generate(graph_from_workload(dense_layer_workload(16, 4), seed=0), "rv32i", "int8")
    assert {"soft_walk.c", "conv_soft.c"} <= set(dense.files)
    assert "depthwise_soft.c" not in dense.files


def test_ch32v003_int8_validates_characterized_bit_exact_within_2_percent(tmp_path):
    """`hwsim validate`'s path on a held-out network: every output byte equal, every
    weighted node's counts characterized and within 2% of the emulated cycles, the
    network within 2%; with the soft kernels' node functions priced (their `node_call`
    record, hwsim.machine.int8_node_call) every weighted node within 0.15% (failed
    before: its dense layers 0.2-0.3% low)."""
    from hwsim.machine.validate import validate_graph
    g, x = _depthwise_net()
    [report] = validate_graph(g, [find_device("ch32v003")], "int8", x, workdir=tmp_path,
                              check_instructions=False)
    assert report.bit_exact
    weighted = [n for n in report.nodes if n.op in WEIGHTED]
    assert len(weighted) >= 4 and {n.basis for n in weighted} == {"characterized"}
    assert all(abs(n.error) <= 0.02 for n in weighted), weighted
    assert abs(report.error) <= 0.02
    assert max(abs(n.error) for n in weighted) <= 0.0015, [(n.node, n.error) for n in weighted]


def test_cli_refuses_a_kernel_the_target_does_not_run():
    from tests.conftest import run_cli
    result = run_cli("characterize", "--target", "rv32i", "--kernels", "conv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "conv: not characterized on rv32i" in result.stderr and "conv_soft" in result.stderr
