"""docs/quickstart.md "Compare devices" is what `hwsim compare` prints on the code as it
is, and its prose's ratios are the table's."""
from __future__ import annotations

import re

from tests.conftest import REPO, run_cli

COMMAND = "$ hwsim compare digits-mlp har-cnn --devices samd21,cm0plus-iterative-mul,ch32v003,nrf52840"


def test_quickstart_compare_block_is_the_commands_output():
    text = (REPO / "docs" / "quickstart.md").read_text()
    start = text.index(COMMAND) + len(COMMAND) + 1
    block = text[start:text.index("```", start)]
    result = run_cli(*COMMAND.split()[2:])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == block.strip()
    rows = {tuple(line.split()[:2]): line for line in block.splitlines()[2:] if line.strip()}
    latency = {key: [float(p.split()[0]) for p in line.split("ok ")[1:]]
               for key, line in rows.items()}
    lut, int8 = latency[("digits-mlp", "cm0plus-iterative-mul")][:2]
    assert round(int8 / lut) == 4                                  # "about 4x"
    # "neither lookup network fits its flash ..., while har-cnn's int8 does"
    cells = {key: re.split(r"\s{2,}", line.strip())[2:] for key, line in rows.items()}
    for workload in ("digits-mlp", "har-cnn"):
        assert cells[(workload, "ch32v003")][0].startswith("NO flash")      # lut
    assert cells[("har-cnn", "ch32v003")][1].startswith("ok ")              # int8
