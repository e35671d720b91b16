"""Weight memory of a deployed integer model against its float32 original."""
from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.ir.integer import IntegerModel


@dataclass(frozen=True)
class WeightFootprint:
    parameters: int
    float32_bytes: int
    index_bytes: int          # packed ceil(log2 K)-bit weight and bias indices
    table_bytes: int
    threshold_bytes: int

    @property
    def deployed_bytes(self) -> int:
        return self.index_bytes + self.table_bytes + self.threshold_bytes

    @property
    def ratio_to_float32(self) -> float:
        return self.deployed_bytes / self.float32_bytes


def index_bits(k: int) -> int:
    """Bits of one packed index into a codebook of k values."""
    return max(1, math.ceil(math.log2(k)))


def weight_footprint(model: IntegerModel) -> WeightFootprint:
    """Bytes of the parameters as float32, and as deployed: packed indices (each
    layer's indices packed contiguously, rounded up to a byte), the product tables
    at their entry width and the thresholds at the accumulator width."""
    parameters = index_bytes = threshold_bytes = 0
    for spec in model.layers:
        if spec.table is None:
            continue
        count = spec.weight_index.size + spec.bias_index.size
        parameters += count
        bits = index_bits(model.tables[spec.table].shape[1])
        index_bytes += math.ceil(count * bits / 8)
        if spec.thresholds is not None:
            threshold_bytes += spec.thresholds.size * model.accumulator_bits // 8
    table_bytes = sum(t.size for t in model.tables.values()) * model.table_entry_bits // 8
    return WeightFootprint(parameters, parameters * 4, index_bytes, table_bytes, threshold_bytes)
