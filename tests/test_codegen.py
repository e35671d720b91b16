"""Code generation, the cross build and the machine-code proof (hwsim.machine.codegen,
hwsim.machine.toolchain, hwsim.machine.disasm): C for every target compiles and links, the ELF
declares the target's architecture, the lut machine code holds no multiply and no
helper call, and the int8 baseline's multiplies are where they should be."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from hwsim.artifact.save import save_artifact
from hwsim.artifact.load import load_artifact
from hwsim.specs.bundled import bundled_dir
from hwsim.machine.codegen import TARGETS, MemoryMap, generate
from hwsim.machine.disasm import prove
from hwsim.errors import HwsimError
from hwsim.ir.graph import graph_from_artifact, graph_from_workload
from hwsim.specs.yaml_reader import read_yaml
from hwsim.machine.toolchain import architecture, build_program, find_compiler, read_elf
from hwsim.train.pipeline import run_training
from hwsim.specs.workload import workload_from_data
from tests.conftest import hwsim_script

EXPECTED_ARCH = {"cortex-m0": "v6S-M", "cortex-m4": "v7E-M", "rv32i": "rv32i",
                 "rv32im": "rv32im"}


def small_artifact(directory) -> str:
    """digits-mlp with 2 + 1 epochs: a real trained artifact in a fraction of a second."""
    data = read_yaml(bundled_dir("workloads") / "digits-mlp.yaml")
    data["training"]["epochs"], data["training"]["finetune_epochs"] = 2, 1
    save_artifact(run_training(workload_from_data(data, "small digits-mlp")), directory)
    return str(directory)


def shape_workload(kind: str):
    """Small shape-only networks covering every kernel: 'same' padding, strides,
    depthwise, average and max pools (windows up to 4 written out, larger looped),
    a K that is not a power of two, per-layer and global tables."""
    layers = {
        "2d": [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
               {"type": "depthwise_conv2d", "kernel": 3, "stride": 2, "padding": "same"},
               {"type": "avg_pool2d", "size": 2}, {"type": "max_pool2d", "size": 2},
               {"type": "flatten"}, {"type": "dense", "units": 5}],
        "1d": [{"type": "conv1d", "filters": 6, "kernel": 5, "stride": 2, "padding": "same"},
               {"type": "avg_pool1d", "size": 2}, {"type": "conv1d", "filters": 5, "kernel": 3},
               {"type": "max_pool1d", "size": 3}, {"type": "flatten"},
               {"type": "dense", "units": 4}],
        "valid2d": [{"type": "conv2d", "filters": 4, "kernel": 3},
                    {"type": "depthwise_conv2d", "kernel": 3},
                    {"type": "conv2d", "filters": 8, "kernel": 1},
                    {"type": "max_pool2d", "size": 2}, {"type": "flatten"},
                    {"type": "dense", "units": 5}],
        "residual": [{"name": "a", "type": "conv2d", "filters": 4, "kernel": 3,
                      "padding": "same"},
                     {"name": "b", "type": "conv2d", "filters": 4, "kernel": 3,
                      "padding": "same"},
                     {"name": "sum", "type": "add", "inputs": ["b", "a"]},
                     {"type": "max_pool2d", "size": 2}, {"type": "flatten"},
                     {"type": "dense", "units": 3}],
        "big": [{"type": "conv2d", "filters": 3, "kernel": [3, 2], "stride": [2, 1],
                 "padding": "same"},
                {"type": "max_pool2d", "size": 3, "stride": 1},
                {"type": "avg_pool2d", "size": [1, 5]}, {"type": "flatten"},
                {"type": "dense", "units": 4}],
    }[kind]
    shape = {"2d": [8, 8, 1], "1d": [32, 3], "big": [9, 9, 2], "valid2d": [10, 10, 2],
             "residual": [6, 6, 2]}[kind]
    k, levels, scope = {"2d": (16, 8, "per_layer"), "1d": (300, 16, "global"),
                        "residual": (6, 12, "global"),
                        "big": (12, 5, "per_layer"), "valid2d": (32, 16, "global")}[kind]
    return workload_from_data({
        "schema_version": 1, "name": f"shapes-{kind}", "description": "kernel coverage",
        "task": "classification", "dataset": "none", "input": {"shape": shape, "levels": 17},
        "layers": layers,
        "discretization": {"activation_levels": levels, "weight_clusters": k,
                           "cluster_scope": scope},
        "integer": {"accumulator_bits": 32, "table_entry_bits": 16},
        "training": {"epochs": 1, "finetune_epochs": 1, "batch_size": 8, "learning_rate": 0.01,
                     "cluster_interval_steps": 10, "seed": 0},
        "realtime": {"frame_period_ms": 10, "deadline_ms": 10}}, f"<{kind}>")


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return graph_from_artifact(load_artifact(small_artifact(tmp_path_factory.mktemp("art"))))


@pytest.fixture(scope="module")
def builds(graph, tmp_path_factory):
    """The small artifact built for every target in both styles (compiled once)."""
    root = tmp_path_factory.mktemp("builds")
    return {(t, s): build_program(generate(graph, t, s), root / f"{t}-{s}")
            for t in TARGETS for s in ("lut", "int8")}


def _proof(build):
    program = build.program
    return prove(build.elf_path, program.target, program.style, program.node_of_function)


def test_one_function_per_node_and_the_entry_point(builds):
    build = builds[("cortex-m0", "lut")]
    program = build.program
    network = program.files["network.c"]
    assert "void network_run(const uint8_t *input, void *output)" in network
    image = read_elf(build.elf_path)
    for node in ("L1.dense", "L2.dense", "output"):
        function = program.function_of(node)
        assert function == "node_" + node.replace(".", "_")
        assert f"void {function}(" in network or f"uint32_t {function}(" in network
        assert image.symbols[function].kind == "func"
    # the lut library's call searches the fused threshold: no code of its own
    assert program.function_of("L1.threshold") == ""
    assert "hwsim_lut_conv_s16(&CALL_L1_dense, x, y);" in network
    for symbol in ("network_run", "_start", "hwsim_halt", "hwsim_input", "hwsim_output"):
        assert symbol in image.symbols
    assert program.function_of("L0.flatten") == ""           # a view: no code
    assert set(re.findall(r"#include <([^>]+)>", network)) == {"stdint.h"}   # freestanding
    assert not re.search(r"\b(float|double)\s+\w", network)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("style", ["lut", "int8"])
def test_elf_declares_the_target_architecture(builds, target, style):
    image = read_elf(builds[(target, style)].elf_path)
    assert architecture(image) == EXPECTED_ARCH[target]
    if target.startswith("cortex"):
        assert image.attributes["TAG_CPU_ARCH_PROFILE"] == ord("M")
        assert image.attributes["TAG_THUMB_ISA_USE"] == (1 if target == "cortex-m0" else 2)
    else:
        assert image.machine == "EM_RISCV" and image.e_flags & 0x6 == 0   # soft float ABI


@pytest.mark.parametrize("target", TARGETS)
def test_lut_machine_code_has_no_multiply_and_no_helper_call(builds, target):
    proof = _proof(builds[(target, "lut")])
    assert proof.multiply_free
    assert proof.multiplies == proof.helper_calls == proof.float_ops == 0
    assert {f.node for f in proof.functions if f.node} == {"L1.dense", "L2.dense", "output"}
    assert any(f.function.startswith("hwsim_lut_conv_") for f in proof.functions)
    assert not [f.function for f in proof.functions if f.function.startswith("__")]


def test_int8_multiplies_where_expected(builds):
    """Where the int8 kernel library is characterized (Cortex-M0, Cortex-M4, RV32IM) the
    weighted nodes call it and its functions multiply (MULS; SMLAD; MUL); on RV32I they
    call its soft kernel, which calls __mulsi3, and link no other library source."""
    def library(target):
        build = builds[(target, "int8")]
        assert "hwsim_fully_connected_s8(" in build.program.files["network.c"]
        functions = _proof(build).functions
        assert not {f.function: f for f in functions}["node_L1_dense"].multiplies
        return [m.split(": ")[1] for f in functions if f.function.startswith(("hwsim_", "mat_"))
                for m in f.multiplies]
    assert any(m.startswith("muls") for m in library("cortex-m0"))
    assert any(m.startswith("smlad") for m in library("cortex-m4"))
    assert any(m.startswith("mul ") for m in library("rv32im"))
    rv32i = {f.function: f for f in _proof(builds[("rv32i", "int8")]).functions}
    assert "hwsim_conv_soft_s8(" in builds[("rv32i", "int8")].program.files["network.c"]
    assert any("__mulsi3" in c for c in rv32i["conv_soft_pixel"].helper_calls)
    assert not any(f.multiplies for f in rv32i.values())         # no M extension
    assert "matmul.c" not in builds[("rv32i", "int8")].program.files


@pytest.mark.parametrize("kind", ["1d", "2d", "big", "residual"])
def test_every_kernel_builds_multiply_free_everywhere(kind, tmp_path):
    g = graph_from_workload(shape_workload(kind), seed=3)
    for target in TARGETS:
        build = build_program(generate(g, target, "lut"), tmp_path / target)
        proof = _proof(build)
        assert proof.multiply_free, (target, [(f.function, f.multiplies, f.helper_calls)
                                              for f in proof.functions if not f.clean])


def test_programs_are_deterministic(graph):
    a = generate(graph, "rv32i", "int8")
    b = generate(graph, "rv32i", "int8")
    assert a.files == b.files


def test_a_network_that_does_not_fit_is_a_clear_error(graph):
    tiny = MemoryMap(0, 4096, 0x2000_0000, 4096)
    with pytest.raises(HwsimError, match=r"cannot run on cortex-m0 .*flash is 4,096 bytes"):
        generate(graph, "cortex-m0", "lut", tiny)
    small_ram = MemoryMap(0, 1 << 20, 0x2000_0000, 512, stack_bytes=384)
    with pytest.raises(HwsimError, match="arena needs .* RAM is 512 bytes"):
        generate(graph, "cortex-m0", "lut", small_ram)


def test_unknown_target_style_and_op_are_errors(graph):
    with pytest.raises(HwsimError, match="unknown target 'cortex-m7'"):
        generate(graph, "cortex-m7", "lut")
    with pytest.raises(HwsimError, match="unknown code generation style 'float64'"):
        generate(graph, "cortex-m0", "float64")


def test_residual_add_reads_levels_through_the_value_table_and_sums_as_they_are():
    g = graph_from_workload(shape_workload("residual"), seed=3)
    kinds = {g.edges[s, "L2.add"]["kind"] for s in g.predecessors("L2.add")}
    assert kinds == {"levels", "sums"}
    network = generate(g, "cortex-m0", "lut", ops_kernels="loops").files["network.c"]
    assert ("void node_L2_add(const int32_t *restrict x0, const uint8_t *restrict x1, "
            "uint8_t *restrict y)") in network
    assert "x0[i] + V_add_activation[x1[i]]" in network
    assert "node_L2_threshold(acc)" in network          # the threshold is fused
    # by default the ops library's add of a sum and a level tensor, its search inside
    program = generate(g, "cortex-m0", "lut")
    assert "hwsim_ops_add_sv16(&OPS_L2_add, x0, x1, y);" in program.files["network.c"]
    assert "node_L2_threshold" not in program.files["network.c"]
    assert "V_add_activation" in program.files["model_data.c"]
    assert "ops_lut.c" in program.files and "ops_int8.c" not in program.files


def test_missing_compiler_names_the_debian_package(graph, tmp_path):
    program = generate(graph, "rv32im", "lut")
    with pytest.raises(HwsimError, match="install the Debian package gcc-riscv64-unknown-elf"):
        build_program(program, tmp_path, path=str(tmp_path))
    assert find_compiler(TARGETS["cortex-m0"]).endswith("arm-none-eabi-gcc")


def test_codegen_cli(tmp_path):
    artifact = small_artifact(tmp_path / "art")
    out = tmp_path / "out"
    result = subprocess.run([hwsim_script(), "codegen", artifact, "--target", "cortex-m4",
                             "--out", str(out), "--build"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "machine code: no multiply" in result.stdout
    assert (out / "network.elf").exists() and (out / "link.ld").exists()
    env = dict(os.environ, PATH=str(tmp_path))          # no cross compiler on PATH
    result = subprocess.run([hwsim_script(), "codegen", artifact, "--target", "cortex-m0",
                             "--out", str(tmp_path / "o2"), "--build"], capture_output=True,
                            text=True, timeout=120, env=env, check=False)
    assert result.returncode == 2
    assert "install the Debian package gcc-arm-none-eabi" in result.stderr
    assert "Traceback" not in result.stderr
