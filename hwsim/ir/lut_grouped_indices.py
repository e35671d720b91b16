"""The grouped lut kernels' combined weight indices and their blocked order
(hwsim/machine/kernels/lut/hwsim_lut_grouped.h), shared by the dense layout
(hwsim.ir.lut_grouped) and the convolution's (hwsim.ir.lut_grouped_conv)."""
from __future__ import annotations

import numpy as np

BLOCK = 4                  # HWSIM_LUT_GROUPED_BLOCK: units per pass


def combined_indices(weight_index: np.ndarray, k_log2: int, g: int) -> np.ndarray:
    """(units, fan_in) indices -> (units, groups) combined bytes; the last group may hold
    fewer than g inputs."""
    w = np.asarray(weight_index, dtype=np.int64)
    units, fan = w.shape
    groups = -(-fan // g)
    padded = np.zeros((units, groups * g), dtype=np.int64)
    padded[:, :fan] = w
    shifts = np.arange(g, dtype=np.int64) * k_log2
    return (padded.reshape(units, groups, g) << shifts).sum(axis=2)


def blocked_groups(codes: np.ndarray) -> np.ndarray:
    """Combined (units, groups) bytes in the kernel's order: full blocks of BLOCK units
    group-major (w[group][unit]), then each remaining unit's groups; flat uint8."""
    codes = np.asarray(codes)
    full = codes.shape[0] - codes.shape[0] % BLOCK
    parts = [codes[o:o + BLOCK].T.reshape(-1) for o in range(0, full, BLOCK)]
    parts.append(codes[full:].reshape(-1))
    return np.concatenate(parts).astype(np.uint8)
