"""The deployed network as a networkx DiGraph of ops (nodes) and tensors (edges).

Built from a trained artifact (`graph_from_artifact`) or, for shape-only
workloads, from a workload with random weights of the right kind
(`graph_from_workload`). The attribute vocabulary is documented in docs/graph.md;
the executor, cost model, memory planner and scheduler read only these names.
"""
from __future__ import annotations

import dataclasses
import math

import networkx as nx

from hwsim.errors import HwsimError
from hwsim.ir import layers as L
from hwsim.ir.integer import IntegerModel
from hwsim.ir.ops import (KINDS, SHAPE_KINDS, WEIGHTED_KINDS, ArgmaxOp, InputOp, Op, OutputTableOp,
                          ShapeOp, ThresholdOp, WeightedOp)
from hwsim.ir.network import Network
from hwsim.ir.random_model import random_integer_model

OPS = KINDS   # every op kind


def level_bits(levels: int) -> int:
    """Bits of one packed level index."""
    return max(1, math.ceil(math.log2(levels)))


def _tensor(shape, kind: str, levels: int | None, accumulator_bits: int) -> dict:
    elements = math.prod(shape)
    bits = level_bits(levels) if kind != "sums" else accumulator_bits
    unpacked = 1 if kind != "sums" else accumulator_bits // 8
    return {"shape": tuple(shape), "elements": elements, "kind": kind, "levels": levels,
            "bits": bits, "packed_bytes": math.ceil(elements * bits / 8),
            "unpacked_bytes": elements * unpacked}


def build_graph(workload: Network, model: IntegerModel, *, source: str) -> nx.DiGraph:
    """The op graph of a deployed integer model of `workload`."""
    g = nx.DiGraph(name=workload.name, task=workload.task, source=source,
                   workload_sha256=workload.sha256, input_shape=tuple(workload.input_shape),
                   input_levels=workload.input_levels, activation_levels=model.activation_levels,
                   accumulator_bits=model.accumulator_bits, table_entry_bits=model.table_entry_bits,
                   scale_bits=model.scale_bits, tables=dict(model.tables),
                   value_tables=dict(model.value_tables), output_values=model.output_values)
    acc = model.accumulator_bits
    order = 0

    def add_node(node: str, record: type[Op], **fields) -> str:
        nonlocal order
        g.add_node(node, op=record(order=order, **fields))
        order += 1
        return node

    add_node("input", InputOp, kind="input", output_shape=tuple(workload.input_shape),
             outputs=math.prod(workload.input_shape), levels=workload.input_levels)
    producer = {-1: ("input", "levels", workload.input_levels)}   # layer -> (node, kind, levels)
    shapes = workload.shapes
    flags = workload.activation_flags
    for i, (layer, sources) in enumerate(zip(workload.layers, workload.inputs)):
        spec = model.layers[i]
        in_shape = tuple(workload.input_shape) if sources[0] < 0 else shapes[sources[0]]
        out_shape = shapes[i]
        base = {"layer_index": i, "layer_name": workload.names[i], "layer": layer,
                "input_shape": in_shape, "output_shape": out_shape,
                "outputs": math.prod(out_shape)}
        if isinstance(layer, L.WEIGHTED_LAYERS):
            table = model.tables[spec.table]
            k = table.shape[1]
            weights, biases = spec.weight_index.size, spec.bias_index.size
            op = WEIGHTED_KINDS[type(layer)]
            node = add_node(f"L{i}.{op}", WeightedOp, kind=op, **base,
                            fan_in=layer.fan_in, connections=math.prod(out_shape) * layer.fan_in,
                            weights=weights, biases=biases, params=weights + biases,
                            clusters=k, index_bits=level_bits(k), table=spec.table,
                            table_shape=table.shape, levels_in=spec.levels_in,
                            padding=getattr(layer, "padding", "valid"),
                            weight_index=spec.weight_index, bias_index=spec.bias_index)
            kind, levels = "sums", None
        else:
            op = SHAPE_KINDS[type(layer)]
            extra = {}
            if isinstance(layer, (L.MaxPool1D, L.AvgPool1D)):
                extra["window"] = layer.size
            elif isinstance(layer, (L.MaxPool2D, L.AvgPool2D)):
                extra["window"] = layer.size_h * layer.size_w
            if spec.pool_bounds is not None:
                extra["pool_bounds"] = spec.pool_bounds
            node = add_node(f"L{i}.{op}", ShapeOp, kind=op, **base, levels=spec.levels_in, **extra)
            kind = "sums" if op == "add" else producer[sources[0]][1]
            levels = None if op == "add" else producer[sources[0]][2]
        for s in sources:
            src, src_kind, src_levels = producer[s]
            src_shape = tuple(workload.input_shape) if s < 0 else shapes[s]
            g.add_edge(src, node, **_tensor(src_shape, src_kind, src_levels, acc))
        if flags[i]:
            act = add_node(f"L{i}.threshold", ThresholdOp, kind="threshold",
                           **{**base, "input_shape": out_shape}, levels=spec.levels_out,
                           thresholds=spec.thresholds, units=math.prod(out_shape),
                           compares_per_unit=level_bits(spec.levels_out))
            g.add_edge(node, act, **_tensor(out_shape, "sums", None, acc))
            node, kind, levels = act, "levels", spec.levels_out
        producer[i] = (node, kind, levels)
    last, kind, levels = producer[len(workload.layers) - 1]
    out_shape = shapes[-1]
    if workload.task == "classification":
        out = add_node("output", ArgmaxOp, kind="argmax", input_shape=out_shape,
                       output_shape=(1,), outputs=1, classes=math.prod(out_shape))
    else:
        out = add_node("output", OutputTableOp, kind="output_table", input_shape=out_shape,
                       output_shape=out_shape, outputs=math.prod(out_shape), levels=levels)
    g.add_edge(last, out, **_tensor(out_shape, kind, levels, acc))
    check_graph(g)
    return g


def check_graph(g: nx.DiGraph) -> None:
    """Cycles, dangling references (edges to nodes never defined, tables that do not
    exist) and unknown ops are errors naming the nodes."""
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        loop = " -> ".join(str(a) for a, _ in cycle)
        raise HwsimError(f"graph {g.graph.get('name')!r}: cycle {loop} -> {cycle[0][0]}")
    problems = []
    for node, op in g.nodes(data="op"):
        if op is None:
            users = ", ".join(sorted(map(str, list(g.predecessors(node)) + list(g.successors(node)))))
            problems.append(f"node {node!r} is referenced (by {users}) but never defined")
        elif not isinstance(op, Op) or op.kind not in KINDS:
            problems.append(f"node {node!r}: unknown op {getattr(op, 'kind', op)!r}")
        elif op.weighted and op.table not in g.graph.get("tables", {}):
            problems.append(f"node {node!r}: table {op.table!r} does not exist")
    if problems:
        raise HwsimError(f"graph {g.graph.get('name')!r}: " + "; ".join(problems))


def execution_order(g: nx.DiGraph) -> list[str]:
    """A topological order, stable: ties broken by construction order."""
    return list(nx.lexicographical_topological_sort(g, key=lambda n: g.nodes[n]["op"].order))


# g.graph key of a trained artifact's int8 input statistics (docs/model-format.md
# `int8_input_statistics`): weighted node -> counts of its int8 inputs with 1 ... 32
# significant bits. Absent without them (a shape-only graph, an older artifact).
INT8_INPUT_BITS = "int8_input_bits"


def graph_from_artifact(artifact) -> nx.DiGraph:
    """The graph of a trained artifact (an hwsim.artifact.load.Artifact)."""
    if artifact.integer_model is None:
        raise HwsimError(f"{artifact.directory}: no integer model (continuous activations or "
                         "weights); train it with numeric --levels and --clusters")
    g = build_graph(artifact.workload, artifact.integer_model, source="artifact")
    statistics = getattr(artifact, "int8_input_bits", None)
    if statistics:
        g.graph[INT8_INPUT_BITS] = {node: statistics[op.layer_index]
                                    for node, op in g.nodes(data="op")
                                    if op.weighted and op.layer_index in statistics}
    return g


def graph_from_workload(workload: Network, seed: int = 0) -> nx.DiGraph:
    """The graph of a workload with random weights of its kind (shape-only costing)."""
    return build_graph(workload, random_integer_model(workload, seed), source="random")


def totals(g: nx.DiGraph) -> dict[str, int]:
    """Parameter and connection (MAC) counts of the whole graph."""
    weighted = [op for _, op in g.nodes(data="op") if op.weighted]
    return {"params": sum(op.params for op in weighted),
            "weights": sum(op.weights for op in weighted),
            "biases": sum(op.biases for op in weighted),
            "connections": sum(op.connections for op in weighted)}


def replace_op(g: nx.DiGraph, node: str, **changes) -> None:
    """Replace fields of a node's op record (a new frozen record, in place in `g`)."""
    g.nodes[node]["op"] = dataclasses.replace(g.nodes[node]["op"], **changes)
