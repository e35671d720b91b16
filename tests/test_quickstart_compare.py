"""docs/quickstart.md "Compare devices" is what `hwsim compare` prints on the code as it
is, and its prose's ratios are the table's."""
from __future__ import annotations

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
    lut, int8 = latency[("har-cnn", "ch32v003")][:2]
    assert round(int8 / lut) == 7                                  # "about 7x"
    assert "NO flash" in rows[("digits-mlp", "ch32v003")].split("NO flash -472 B")[0]
