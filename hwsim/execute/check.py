"""Checks a graph before the executor runs it, so that a hand-built or modified
graph fails with one message naming every bad node instead of a numpy error
mid-run: tables, indices, thresholds and pool bounds consistent in shape, dtype and
range; every node's input shape, kind (levels or sums) and level count what its
producer makes; one input and one output."""
from __future__ import annotations

import networkx as nx
import numpy as np

from hwsim.ir.ops import WEIGHTED
from hwsim.errors import HwsimError
from hwsim.ir.integer import VALUE_TABLE
from hwsim.ir.graph import check_graph, execution_order
from hwsim.ir.ops import SHAPE_KINDS, WEIGHTED_KINDS

ACCUMULATOR_BITS = (16, 32)
TABLE_ENTRY_BITS = (8, 16, 32)
LAYER_OF_OP = {op: cls for cls, op in (*WEIGHTED_KINDS.items(), *SHAPE_KINDS.items())}


def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _integer_array(value, ndim: int) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.ndim == ndim


def _sorted(values: np.ndarray) -> bool:
    return bool(np.all(values[1:] >= values[:-1]))


class _Problems:
    def __init__(self):
        self.items: list[str] = []

    def add(self, node, message: str) -> None:
        self.items.append(f"node {node!r}: {message}" if node is not None else message)


def _graph_attrs(g: nx.DiGraph, p: _Problems) -> None:
    attrs = g.graph
    if attrs.get("accumulator_bits") not in ACCUMULATOR_BITS:
        p.add(None, f"accumulator_bits must be 16 or 32, got {attrs.get('accumulator_bits')!r}")
    entry = attrs.get("table_entry_bits")
    if entry not in TABLE_ENTRY_BITS:
        p.add(None, f"table_entry_bits must be 8, 16 or 32, got {entry!r}")
    elif attrs.get("accumulator_bits") in ACCUMULATOR_BITS and entry > attrs["accumulator_bits"]:
        p.add(None, f"table_entry_bits {entry} exceeds accumulator_bits "
                    f"{attrs['accumulator_bits']}")
    levels = attrs.get("input_levels")
    if not isinstance(levels, int) or not 2 <= levels <= 256:
        p.add(None, f"input_levels must be an integer from 2 to 256, got {levels!r}")
    shape = attrs.get("input_shape")
    if not (isinstance(shape, tuple) and shape
            and all(isinstance(s, int) and s > 0 for s in shape)):
        p.add(None, f"input_shape must be a tuple of positive integers, got {shape!r}")
    bits = attrs.get("table_entry_bits")
    limit = signed_range(bits)[1] if bits in TABLE_ENTRY_BITS else None
    for kind in ("tables", "value_tables"):
        for name, table in (attrs.get(kind) or {}).items():
            ndim = 2 if kind == "tables" else 1
            if not _integer_array(table, ndim) or 0 in table.shape:
                p.add(None, f"{kind}[{name!r}] must be a non-empty {ndim}-D integer array, got "
                            f"{getattr(table, 'dtype', type(table).__name__)} "
                            f"{list(getattr(table, 'shape', []))}")
            elif limit is not None and np.abs(table).max() > limit:
                p.add(None, f"{kind}[{name!r}] has entries that do not fit {bits}-bit table "
                            f"entries (largest magnitude {int(np.abs(table).max())})")


def _lut(node, a, tensor, tables, p: _Problems):
    table = tables.get(getattr(a, "table", None))
    if not _integer_array(table, 2):
        return          # reported by _graph_attrs or check_graph
    rows, k = table.shape
    if getattr(a, "levels_in", None) != tensor[2]:
        p.add(node, f"levels_in is {a.levels_in!r}, its input has {tensor[2]} levels")
    elif rows != tensor[2] + 1:
        p.add(node, f"table {a.table!r} has {rows} rows, {tensor[2]} input levels need "
                    f"{tensor[2] + 1} (one per level and the bias row)")
    shapes = a.layer.param_shapes()
    for key, shape in (("weight_index", shapes["w"]), ("bias_index", shapes["b"])):
        index = getattr(a, key, None)
        if not isinstance(index, np.ndarray) or index.dtype.kind not in "iu":
            p.add(node, f"{key} must be an integer array, got {type(index).__name__}")
        elif index.shape != shape:
            p.add(node, f"{key} has shape {list(index.shape)}, the layer needs {list(shape)}")
        elif index.size and (index.min() < 0 or index.max() >= k):
            p.add(node, f"{key} must lie in 0..{k - 1} (table {a.table!r} has {k} columns), "
                        f"found {int(index.min())}..{int(index.max())}")


def _search_values(node, values, name: str, count: int, bits: int | None, p: _Problems):
    if not _integer_array(values, 1):
        p.add(node, f"{name} must be a 1-D integer array, got {type(values).__name__}")
    elif len(values) != count:
        p.add(node, f"{name} has {len(values)} entries, {count + 1} levels need {count}")
    elif not _sorted(values):
        p.add(node, f"{name} must be sorted ascending, got {values.tolist()}")
    elif bits is not None and len(values) and (
            values.min() < signed_range(bits)[0] or values.max() > signed_range(bits)[1]):
        p.add(node, f"{name} must fit the {bits}-bit accumulator")


def _output_of(g, node, a, inputs, p: _Problems):
    """The (shape, kind, levels) a node produces, or None when it cannot be known."""
    op = a.kind
    acc = g.graph.get("accumulator_bits")
    if op == "input":
        return tuple(g.graph["input_shape"]), "levels", g.graph["input_levels"]
    if any(t is None for t in inputs):
        return None
    shape, kind, levels = inputs[0]
    if op != "add" and len(inputs) != 1:
        p.add(node, f"a {op} node takes one input, got {len(inputs)}")
        return None
    if op in LAYER_OF_OP and not isinstance(getattr(a, "layer", None), LAYER_OF_OP[op]):
        p.add(node, f"layer must be a {LAYER_OF_OP[op].__name__}, got {a.layer!r}")
        return None
    if op in ("argmax", "output_table"):
        if op == "output_table" and kind != "levels":
            p.add(node, "output_table reads level indices, its input holds sums")
        return ((1,) if op == "argmax" else shape), kind, levels
    if op == "threshold":
        if kind != "sums":
            p.add(node, "threshold reads integer sums, its input holds level indices")
        out_levels = getattr(a, "levels", None)
        if not isinstance(out_levels, int) or not 2 <= out_levels <= 256:
            p.add(node, f"levels must be an integer from 2 to 256, got {out_levels!r}")
            return None
        _search_values(node, getattr(a, "thresholds", None), "thresholds", out_levels - 1, acc, p)
        return shape, "levels", out_levels
    if op == "add":
        if len(inputs) < 2 or len({t[0] for t in inputs}) != 1:
            p.add(node, f"add needs two or more inputs of one shape, got "
                        f"{', '.join(str(list(t[0])) for t in inputs)}")
            return None
        table = g.graph.get("value_tables", {}).get(VALUE_TABLE)
        for src, (_, src_kind, src_levels) in zip(g.predecessors(node), inputs):
            if src_kind != "levels":
                continue
            if table is None:
                p.add(node, f"input {src!r} holds level indices but graph.value_tables has no "
                            f"{VALUE_TABLE!r} table")
            elif _integer_array(table, 1) and len(table) != src_levels:
                p.add(node, f"input {src!r} has {src_levels} levels, value table "
                            f"{VALUE_TABLE!r} has {len(table)} entries")
        return shape, "sums", None
    if kind != "levels":
        p.add(node, f"{op} reads level indices, its input holds sums")
        return None
    try:
        out_shape = a.layer.output_shape(shape)
    except ValueError as exc:
        p.add(node, f"input shape {list(shape)} does not fit the layer: {exc}")
        return None
    if op in WEIGHTED:
        _lut(node, a, (shape, kind, levels), g.graph.get("tables", {}), p)
        return out_shape, "sums", None
    if op in ("avg_pool1d", "avg_pool2d"):
        _search_values(node, getattr(a, "pool_bounds", None), "pool_bounds", levels - 1, None, p)
    return out_shape, kind, levels


def _shape_attr(node, a, key: str, made: tuple, p: _Problems) -> None:
    value = getattr(a, key, None)
    if value is None:
        p.add(node, f"{key} is missing (its inputs make {list(made)})")
    elif tuple(value) != made:
        p.add(node, f"{key} is {list(value)}, its inputs make {list(made)}")


def check_executable(g: nx.DiGraph) -> None:
    """Raise HwsimError listing every reason the executor cannot run `g`."""
    check_graph(g)
    p = _Problems()
    _graph_attrs(g, p)
    if p.items:
        raise HwsimError(f"graph {g.graph.get('name')!r}: " + "; ".join(p.items))
    inputs = [n for n, a in g.nodes(data="op") if a.kind == "input"]
    sinks = [n for n in g.nodes if g.out_degree(n) == 0]
    if len(inputs) != 1:
        p.add(None, f"needs exactly one input node, got {len(inputs)}")
    for node in g.nodes:
        op = g.nodes[node]["op"].kind
        if not isinstance(getattr(g.nodes[node]["op"], "order", None), int):
            p.add(node, "needs an integer 'order' (its construction order, which breaks ties "
                        "in the execution order)")
        if op == "input" and g.in_degree(node):
            p.add(node, "the input node has predecessors")
        elif op != "input" and not g.in_degree(node):
            p.add(node, f"{op} node has no input")
    if len(sinks) != 1 or g.nodes[sinks[0]]["op"].kind not in ("argmax", "output_table"):
        p.add(None, f"needs exactly one output node (argmax or output_table) that nothing "
                    f"consumes, got {', '.join(map(repr, sinks)) or 'none'}")
    made: dict = {}
    if not p.items:
        for node in execution_order(g):
            a = g.nodes[node]["op"]
            preds = list(g.predecessors(node))
            for src in preds:
                edge = g.edges[src, node]
                if made[src] is not None and (edge.get("shape"), edge.get("kind"),
                                              edge.get("levels")) != made[src]:
                    p.add(node, f"edge from {src!r} says shape/kind/levels "
                                f"{edge.get('shape')}/{edge.get('kind')}/{edge.get('levels')}, "
                                f"{src!r} makes {'/'.join(map(str, made[src]))}")
            made[node] = _output_of(g, node, a, [made[s] for s in preds], p)
            if a.kind != "input" and preds and made[preds[0]] is not None:
                _shape_attr(node, a, "input_shape", made[preds[0]][0], p)
            if a.kind != "argmax" and made[node] is not None:
                _shape_attr(node, a, "output_shape", made[node][0], p)
    if p.items:
        head = f"graph {g.graph.get('name')!r}: "
        if len(p.items) == 1:
            raise HwsimError(head + p.items[0])
        raise HwsimError(head + f"{len(p.items)} problems\n" + "\n".join("  " + i for i in p.items))
