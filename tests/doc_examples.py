"""The numbers docs/model-format.md shows, computed from the artifact it describes
(digits-mlp, L = 8, K = 16, trained with the bundled seed). tests/test_doc_examples.py
checks that every one of them appears in the doc, so a change that alters them
fails a test; `python -m tests.doc_examples` prints them to paste into the doc."""
from __future__ import annotations

import numpy as np

from hwsim.artifact.load import Artifact
from hwsim.ir.integer import integer_forward, layer_sums, worst_case_sum

LEVELS, CLUSTERS = 8, 16


def _join(values) -> str:
    return ", ".join(str(v) for v in values)


def _spaced(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def model_format_facts(artifact: Artifact, arrays: dict[str, np.ndarray], x_test,
                       y_test) -> dict[str, str]:
    """name -> the exact text the doc must contain."""
    m = artifact.integer_model
    doc = artifact.document
    book = arrays["codebook.global"]
    s = m.scale_bits
    first, hidden = m.layers[1], m.layers[2]
    metrics = doc["metrics"]
    facts = {}
    accuracies = {metrics["continuous"], metrics["discretized"], metrics["integer"]}
    if len(accuracies) == 1:
        facts["accuracy"] = f"Test accuracy is {100 * metrics['integer']:.2f} % for all three"
    else:
        facts["accuracy"] = (f"Test accuracy is {100 * metrics['continuous']:.2f} % "
                             f"(continuous), {100 * metrics['discretized']:.2f} % (discretized) "
                             f"and {100 * metrics['integer']:.2f} % (integer)")
    largest = float(np.abs(book).max())
    entry_max = (1 << (m.table_entry_bits - 1)) - 1
    integer = doc["integer"]
    facts["integer_example"] = (
        f'`{{"accumulator_bits": {m.accumulator_bits}, "table_entry_bits": '
        f'{m.table_entry_bits}, "scale_bits": {s},\n"binding_bound": '
        f'"{integer["binding_bound"]}", "table_entry_limit_bits": '
        f'{integer["table_entry_limit_bits"]}, "accumulator_limit_bits": '
        f'{integer["accumulator_limit_bits"]}}}`')
    facts["largest_product"] = (
        f"The largest product is codebook value {largest:.6f} times 1.0. At s = {s} it "
        f"becomes {int(np.rint(np.ldexp(largest, s)))}, and at\ns = {s + 1} it would be "
        f"{int(np.rint(np.ldexp(largest, s + 1)))} > {entry_max}. The accumulator alone "
        f"would allow s = {integer['accumulator_limit_bits']}.")
    facts["thresholds"] = f"`[{_join(first.thresholds.tolist())}]`"
    bounds = [worst_case_sum(m.tables[spec.table], spec.weight_index, spec.bias_index)
              for spec in (first, hidden)]
    facts["bounds"] = (f"bound is {_spaced(bounds[0])} for layer 1 and {_spaced(bounds[1])} "
                       f"for layer 2")
    facts["codebook"] = (f"`[{_join(book[:5].tolist())}, ..., {book[-1].item()}]`. With "
                         f"s = {s}, 2^s = {1 << s}.")
    table = m.tables["input"]
    q = x_test[:1].reshape(1, -1)
    w, b = first.weight_index[:, 0], int(first.bias_index[0])
    rows = []
    for pixel in range(2, 5):
        level, column = int(q[0, pixel]), int(w[pixel])
        exact = level / 16 * float(book[column]) * (1 << s)
        rows.append(f"| `T[{level}, {column}]` | rint({level}/16 * {book[column].item()} * "
                    f"{1 << s}) = rint({exact:.3f}) | {int(table[level, column])} |")
    bias_exact = float(book[b]) * (1 << s)
    rows.append(f"| `T[{table.shape[0] - 1}, {b}]` (bias row) | rint(1.0 * {book[b].item()} * "
                f"{1 << s}) = rint({bias_exact:.1f}) | {int(table[-1, b])} |")
    facts["input_table_rows"] = "\n".join(rows)
    column0 = m.tables["hidden"][:, 0]
    facts["hidden_column"] = (f"Column 0 (c[0] = {book[0]:.5f}) holds, over rows\n"
                              f"v_0..v_7 and the bias row: `[{_join(column0.tolist())}]`.")
    sums = layer_sums(m, first, q)
    trace = integer_forward(m, x_test[:1])
    levels = trace.per_layer[1].reshape(-1)
    terms = [f"`T[{table.shape[0] - 1}, {b}] = {int(table[-1, b])}` (bias)"]
    terms += [f"`T[{int(q[0, i])}, {int(w[i])}] = {int(table[q[0, i], w[i]])}` (pixel {i})"
              for i in range(6)]
    facts["unit0_terms"] = "The sum\nbegins " + ", ".join(terms)
    facts["unit0"] = (f"The total is **acc = {int(sums[0, 0])}**.")
    facts["unit0_level"] = f"so the unit's level is\n**{int(levels[0])}**"
    facts["first_units"] = (f"`[{_join(sums[0, :4].tolist())}]` and levels "
                            f"`[{_join(levels[:4].tolist())}]`")
    facts["weights_start"] = (f"`bias_index[0] = {b}`, and `weight_index[:, 0]` starts "
                              f"`[{_join(w[:6].tolist())}, ...]`")
    facts["output_sums"] = f"`[{_join(trace.sums.reshape(-1).tolist())}]`"
    facts["argmax"] = (f"argmax is **{int(trace.outputs[0])}**, which is "
                       f"{'correct' if int(trace.outputs[0]) == int(y_test[0]) else 'wrong'}")
    return facts


def build(directory):
    """Train the documented artifact into `directory`; (artifact, arrays, x, y)."""
    from hwsim.artifact.load import load_artifact
    from hwsim.artifact.save import save_artifact
    from hwsim.datasets import load_dataset
    from hwsim.io import read_npz
    from hwsim.specs.workload import load_workload
    from hwsim.train.network import quantize_input
    from hwsim.train.pipeline import run_training
    workload = load_workload("digits-mlp").with_overrides(levels=LEVELS, clusters=CLUSTERS)
    save_artifact(run_training(workload), directory)
    artifact = load_artifact(directory)
    data = load_dataset("digits")
    x = quantize_input(np.asarray(data.x_test, dtype=np.float64), workload.input_levels)
    return artifact, read_npz(directory / "model.npz"), x, np.asarray(data.y_test)


if __name__ == "__main__":
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as temp:
        for name, text in model_format_facts(*build(Path(temp) / "doc-example")).items():
            print(f"--- {name}\n{text}")
