"""Layer configs and their float forward/backward passes (im2col + matmul, channels-last).

One namespace for both halves (``from hwsim.train import layers as L``):
:mod:`hwsim.ir.layers`, the configs (``L.Dense`` ... ``L.Add``, ``L.Layer``,
``L.WEIGHTED_LAYERS``, ``L.num_params``) with their data and weight layouts, padding
and MAC counts; and :mod:`hwsim.train.layer_passes`, the passes (``L.init_params``,
``L.forward``, ``L.backward``).
"""
from __future__ import annotations

from hwsim.ir import layers as _configs
from hwsim.ir.layers import *  # noqa: F403
from hwsim.train import layer_passes as _passes
from hwsim.train.layer_passes import *  # noqa: F403

__all__ = [*_configs.__all__, *_passes.__all__]
