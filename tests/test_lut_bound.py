"""The per-connection bound of the lut style and the generated kernel's distance from it
(hwsim.machine.lut_bound, benchmarks/lut_bound.py, docs/cost-model.md, docs/lut-kernels.md)."""
from __future__ import annotations

import shutil

import pytest

from hwsim.machine.lut_bound import connection_bound_cycles
from hwsim.specs.catalog import find_device
from tests.conftest import REPO, load_benchmark


def test_bound_is_two_loads_and_an_add_from_the_device_table():
    m0 = find_device("samd21")          # loads 2, alu 1, one flash wait per load
    assert connection_bound_cycles(m0) == 2 + 1 + 2 + 1 + 1
    m4 = find_device("nrf52840")        # loads 2, no flash wait
    assert connection_bound_cycles(m4) == 5
    assert connection_bound_cycles(m4, entry_bits=8) == 5


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None
                    or shutil.which("riscv64-unknown-elf-gcc") is None,
                    reason="needs the cross-compilers (tools/system-packages.sh)")
def test_docs_table_is_what_the_benchmark_measures():
    rows = load_benchmark("lut_bound").table()
    for name in ("cost-model.md", "lut-kernels.md"):
        doc = (REPO / "docs" / name).read_text()
        for row in rows:
            assert row in doc, (name, row)
    # never below the bound: the bound is a bound; the library within 1.25x of it (issue
    # 12's target on Cortex-M0+, Cortex-M4 and RV32IM) and faster than the loops
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        library, loops = float(cells[5].rstrip("x")), float(cells[7].rstrip("x"))
        assert 1.0 <= library <= 1.25 and library < loops, row
        assert cells[3] == cells[4] or abs(float(cells[3]) - float(cells[4])) <= 0.01, row
