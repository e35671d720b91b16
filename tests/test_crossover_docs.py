"""docs/results.md "Where the paper's method wins" is the output of
benchmarks/crossover.py: its --check passes on the file, and fails on an edited number."""
from __future__ import annotations

import functools

from tests.conftest import REPO, load_benchmark


def test_the_docs_table_is_the_benchmarks_output(tmp_path, monkeypatch, capsys):
    benchmark = load_benchmark("crossover")
    monkeypatch.setattr(benchmark, "maps", functools.cache(benchmark.maps))   # computed once
    docs = REPO / "docs" / "results.md"
    assert benchmark.main(["--check", str(docs)]) == 0, capsys.readouterr().err
    text = docs.read_text()
    stale = tmp_path / "results.md"
    stale.write_text(text.replace("| ch32v003 | **0.", "| ch32v003 | **9.", 1))
    assert stale.read_text() != text
    assert benchmark.main(["--check", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err


def test_the_before_after_table_is_the_benchmarks_output(tmp_path, capsys):
    """docs/results.md "Before and after the kernel libraries" is
    benchmarks/lut_vs_int8.py's output; an edited ratio fails --check."""
    benchmark = load_benchmark("lut_vs_int8")
    docs = REPO / "docs" / "results.md"
    assert benchmark.main(["--check", str(docs)]) == 0, capsys.readouterr().err
    text = docs.read_text()
    rows = benchmark.ratios()
    samd21 = dict(rows)["samd21"]
    # lut's loops -> library on Cortex-M0+: fewer lut cycles per int8 cycle on digits-mlp
    assert samd21[0][1] < samd21[0][0]
    stale = tmp_path / "results.md"
    start = text.index(benchmark.BEGIN)
    stale.write_text(text[:start] + text[start:].replace("| samd21 | ", "| samd21 | 9", 1))
    assert stale.read_text() != text
    assert benchmark.main(["--check", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err


def test_the_calibration_tables_are_the_benchmarks_output(tmp_path, capsys):
    """docs/cost-model.md's three calibration blocks (the paper's figures beside hwsim's,
    the layer on every device, the layer under other options) are
    benchmarks/cost_table.py's output; an edited figure fails --check."""
    benchmark = load_benchmark("cost_table")
    docs = REPO / "docs" / "cost-model.md"
    assert benchmark.main(["--check", str(docs)]) == 0, capsys.readouterr().err
    text = docs.read_text()
    for edit in (("| LUT, 1-cycle multiplier | 16.3 | ", "| LUT, 1-cycle multiplier | 16.3 | 9"),
                 ("\nsamd21   ", "\nsamd21  9"), ("| samd21 | ", "| samd21 | 9")):
        stale = tmp_path / "cost-model.md"
        stale.write_text(text.replace(*edit, 1))
        assert stale.read_text() != text, edit
        assert benchmark.main(["--check", str(stale)]) == 1, edit
        assert "stale" in capsys.readouterr().err
