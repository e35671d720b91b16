"""Users' own models (.tflite, .onnx) read into one format-neutral, channels-last model.

Owns: reading TensorFlow Lite flatbuffers (`tflite`, one converter per operator
in `tflite_ops`) and ONNX protobufs (`onnx_model`, one converter per node kind
in `onnx_nodes`) into the frozen
records of `model` (tensors, ops from a fixed vocabulary, per-op parameter and
MAC counts), and executing an imported model in numpy: int8 with TensorFlow
Lite's reference integer arithmetic (`int8_reference` on `fixed_point`,
bit-exact against the interpreter's reference kernels) and float32
(`float_reference`); `geometry` holds the window/padding rules both share; `network` makes the
workload; `tflm_arena` computes the arena TensorFlow Lite Micro would allocate for a
.tflite model (its greedy planner and persistent structs, no TFLM needed).

May import: numpy, the optional readers `tflite`, `flatbuffers` and `onnx`
(imported lazily, inside the reader that needs them), `hwsim.errors`, and
`hwsim.specs` for `network`, which makes an imported model a shape-only `Workload`
(the same IR as workloads/*.yaml) and is where every command resolves a workload
name, YAML or model path (`load_network`); `hwsim.train` for `convert` (with
`float_network`, `calibrate` and `encode`, which follows residual adds), which makes a
user's classifier or auto-encoder the paper's network with the trainer's clustering,
fine-tuning and integer export. Evaluate, sweep and
report import it.
The library never prints; every problem with a user's file is one HwsimError
naming the file, the op and the problem.
"""
from __future__ import annotations

from importlib import import_module

# The public names, imported on first use (PEP 562): resolving a bundled workload name
# through hwsim.importers.network, which every command does, then loads no model record.
_HOMES = {"load_model": "hwsim.importers.load", **dict.fromkeys(
    ("OP_KINDS", "ImportedModel", "Op", "Quantization", "Tensor", "macs", "parameter_count"),
    "hwsim.importers.model")}

__all__ = ["OP_KINDS", "ImportedModel", "Op", "Quantization", "Tensor", "load_model", "macs", "parameter_count"]


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
