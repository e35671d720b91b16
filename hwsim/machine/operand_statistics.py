"""The int8 input statistics of a trained artifact: for each weighted layer, how many of
the MACs on its int8 inputs (as the generated int8 code computes them, hwsim.machine.
codegen.int8_reference; each input as often as the layer's windows multiply it) take an
input of 1 ... 32 significant bits read unsigned (a negative int8 has 32), over the first
samples of the training split. A multiplier whose time follows its second
operand (Ibex's slow multiplier) prices the int8 library's input muls from them
(hwsim.cost.mul_operands.mul_operand_bits). Stored in model.json as
`int8_input_statistics` (docs/model-format.md section 2.13).

    record_int8_input_statistics("runs/digits-mlp")   # hwsim train does it at export
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwsim.artifact.load import OPERAND_BITS, load_artifact
from hwsim.artifact.save import add_document_fields
from hwsim.cost.mul_operands import value_bits
from hwsim.ir.graph import graph_from_artifact
from hwsim.ir.int8_kernels import kernel_call
from hwsim.ir.mac_counts import input_macs

SAMPLES = 256       # training samples the statistics are taken over (fewer if the split is)


def int8_input_statistics(g, x_levels) -> dict[str, list[int]]:
    """Per weighted layer index (a string, as model.json keys it): the MACs of its int8
    inputs with 1 ... OPERAND_BITS significant bits, over the input levels `x_levels`:
    each input element counted as often as the layer's windows multiply it
    (hwsim.ir.mac_counts.input_macs; once per output channel)."""
    from hwsim.machine.codegen.int8_reference import int8_forward
    values = int8_forward(g, x_levels)
    out = {}
    for node, op in g.nodes(data="op"):
        if not op.weighted:
            continue
        (source,) = g.predecessors(node)
        v = np.asarray(values[source]).reshape(len(x_levels), -1)
        call = kernel_call(op)
        macs = np.broadcast_to(input_macs(call).reshape(-1, 1),
                               (call.in_h * call.in_w, call.in_c)).ravel()
        counts = np.bincount(value_bits(v), weights=np.tile(macs, len(v)),
                             minlength=OPERAND_BITS + 1)
        out[str(op.layer_index)] = [int(round(n)) for n in counts[1:]]
    return out


def training_levels(artifact, samples: int = SAMPLES) -> np.ndarray:
    """The first `samples` training inputs of the artifact's dataset, as level indices."""
    from hwsim.train.network import quantize_input
    from hwsim.train.pipeline import dataset_for
    x = np.asarray(dataset_for(artifact.workload).x_train[:samples], dtype=np.float64)
    return quantize_input(x, artifact.workload.input_levels)


def record_int8_input_statistics(directory: str | Path, samples: int = SAMPLES) -> dict:
    """Add `int8_input_statistics` to a trained artifact (an integer network) from its
    training data; the field written."""
    artifact = load_artifact(directory)
    x = training_levels(artifact, samples)
    field = {"data": f"the first {len(x)} samples of the training split",
             "samples": int(len(x)),
             "bits": "per weighted layer index: the MACs on its int8 inputs (the generated "
                     "int8 code's; each input as often as the layer's windows multiply it) "
                     "with an input of 1, 2, ..., 32 significant bits read unsigned (0 has 1; "
                     "a negative value 32)",
             "layers": int8_input_statistics(graph_from_artifact(artifact), x)}
    add_document_fields(directory, {"int8_input_statistics": field})
    return field
