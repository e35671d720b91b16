"""Layer configs and their float forward/backward passes (im2col + matmul, channels-last).

One namespace for both halves (``from hwsim.train import layers as L``):
:mod:`hwsim.train.layer_configs`, the configs (``L.Dense`` ... ``L.Add``, ``L.Layer``,
``L.WEIGHTED_LAYERS``, ``L.num_params``) with their data and weight layouts, padding
and MAC counts; and :mod:`hwsim.train.layer_passes`, the passes (``L.init_params``,
``L.forward``, ``L.backward``).
"""
from __future__ import annotations

from . import layer_configs, layer_passes
from .layer_configs import *  # noqa: F403
from .layer_passes import *  # noqa: F403

__all__ = [*layer_configs.__all__, *layer_passes.__all__]
