"""What the executor counts: the actions of the deployed integer network, per node.

Every count is an exact number of operations the executor performed, taken from
the sizes of the arrays it gathered, added, compared and stored (never from a
formula over the layer's geometry). The counters describe a plain
output-stationary kernel on a device: for each output unit, load the bias entry,
then for each of its connections load the activation, the weight index and the
table entry and add it; store the result. Address arithmetic (base + offset,
shifts, loop counters) is not counted: the cost model prices it per load.

Counters (see docs/graph.md for the per-op table):

- ``index_loads``       weight and bias column indices (one per connection, one per unit)
- ``table_loads``       product-table and value-table entries
- ``activation_loads``  elements of an input tensor (level indices or integer sums)
- ``threshold_loads``   thresholds and average-pool bounds read by a binary search
- ``loads_sram`` / ``loads_flash``   every load above, by the memory it reads
- ``loads_8bit`` / ``loads_16bit`` / ``loads_32bit``   every load above, by its width
- ``adds``              integer additions of data (accumulations, pool window sums)
- ``compares``          integer compares (binary-search steps, argmax)
- ``branches``          conditional updates that follow a compare (one per compare)
- ``max_ops``           integer max of two values (max pools)
- ``stores``            elements written to an output tensor
- ``multiplies``, ``float_ops``   not counted by the runners: `hwsim verify` fills them
  with what hwsim.execute.measure measured on the inference itself (every ufunc and
  numpy function applied to the traced arrays; divisions count as float ops there)
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

from hwsim.errors import HwsimError

MEMORIES = ("sram", "flash")
LOAD_KINDS = ("index_loads", "table_loads", "activation_loads", "threshold_loads")


@dataclass(frozen=True)
class Counts:
    index_loads: int = 0
    table_loads: int = 0
    activation_loads: int = 0
    threshold_loads: int = 0
    loads_sram: int = 0
    loads_flash: int = 0
    loads_8bit: int = 0
    loads_16bit: int = 0
    loads_32bit: int = 0
    adds: int = 0
    compares: int = 0
    branches: int = 0
    max_ops: int = 0
    stores: int = 0
    multiplies: int = 0
    float_ops: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(*[getattr(self, n) + getattr(other, n) for n in COUNTERS])

    @property
    def loads(self) -> int:
        return self.loads_sram + self.loads_flash

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}

    def per_inference(self, batch: int) -> "Counts":
        """These counts (over a batch) for one inference; every action is per sample,
        so each total divides exactly."""
        if any(getattr(self, name) % batch for name in COUNTERS):
            raise HwsimError(f"counts {self.as_dict()} do not divide by the batch {batch}")
        return Counts(*[getattr(self, name) // batch for name in COUNTERS])


COUNTERS = tuple(f.name for f in fields(Counts))
_POSITION = {name: index for index, name in enumerate(COUNTERS)}
_ZEROS = tuple(0 for _ in COUNTERS)


def total(counts) -> Counts:
    result = Counts()
    for c in counts:
        result = result + c
    return result


@lru_cache(maxsize=None)
def _load_positions(kind: str, memory: str, bits: int) -> tuple[int, int, int]:
    """The counters one load adds to: its kind, its memory, its width."""
    return _POSITION[kind], _POSITION[f"loads_{memory}"], _POSITION[f"loads_{bits}bit"]


def tally(loads=(), **operations: int) -> Counts:
    """Counts from (kind, count, memory, bits) loads and other operations by name:
    each load counts under its kind, its memory ("sram"/"flash") and its width."""
    return _tally(tuple(loads), tuple(operations.items()))


@lru_cache(maxsize=4096)
def _tally(loads: tuple, operations: tuple) -> Counts:
    """tally, remembered: a batch run again makes the same counts (Counts is frozen)."""
    values = list(_ZEROS)
    for kind, count, memory, bits in loads:
        for position in _load_positions(kind, memory, bits):
            values[position] += count
    for name, count in operations:
        values[_POSITION[name]] += count
    return Counts(*values)


def storage_bits(bits: int) -> int:
    """Width of the load that fetches a `bits`-wide value: 8, 16 or 32."""
    if bits <= 8:
        return 8
    return 16 if bits <= 16 else 32


@dataclass(frozen=True)
class Placement:
    """Where each kind of data lives: "flash" or "sram"."""
    tables: str = "flash"        # product tables, value tables
    weights: str = "flash"       # weight and bias indices
    thresholds: str = "flash"    # thresholds, average-pool bounds
    activations: str = "sram"    # every tensor between nodes

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in MEMORIES:
                raise HwsimError(f"placement.{f.name} must be 'sram' or 'flash', got {value!r}")
