"""Training: mini-batch Adam over a workload's network, continuous or discretized
with periodic weight clustering that ends on a clustering step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from hwsim.train import layers as L
from hwsim.train.cluster import kmeans_1d
from hwsim.train.losses import mse, softmax_cross_entropy
from hwsim.train.network import Mode, backward, forward, init_network
from hwsim.train.optim import AdamConfig, adam_init, adam_step

# progress(phase, step, total_steps, loss)
Progress = Callable[[str, int, int, float], None]


@dataclass(frozen=True)
class Clustering:
    """Every weight and bias as an index into a codebook of its scope."""
    scope: str                           # "global" or "per_layer"
    codebooks: dict[str, np.ndarray]     # scope name -> ascending centroids (K,)
    layer_scope: dict[int, str]          # weighted layer index -> scope name
    indices: dict[int, dict[str, np.ndarray]]  # layer index -> {"w": idx, "b": idx}


def scope_name(scope: str, layer_index: int) -> str:
    return "global" if scope == "global" else f"layer{layer_index}"


def cluster_params(layers, params, clusters: int, scope: str) -> Clustering:
    """k-means (1-D, exact K where the values allow it) over the weights and biases
    of each scope; returns the codebooks and the index of every parameter."""
    weighted = [i for i, layer in enumerate(layers) if isinstance(layer, L.WEIGHTED_LAYERS)]
    groups: dict[str, list[int]] = {}
    for i in weighted:
        groups.setdefault(scope_name(scope, i), []).append(i)
    codebooks, indices, layer_scope = {}, {}, {}
    for name, members in groups.items():
        arrays = [params[i][key] for i in members for key in ("w", "b")]
        flat = np.concatenate([a.ravel() for a in arrays]).astype(np.float64)
        centroids, assignment = kmeans_1d(flat, clusters)
        codebooks[name] = np.asarray(centroids, dtype=np.float64)
        offset = 0
        for i in members:
            indices[i] = {}
            layer_scope[i] = name
            for key in ("w", "b"):
                size = params[i][key].size
                indices[i][key] = assignment[offset:offset + size].reshape(params[i][key].shape)
                offset += size
    return Clustering(scope, codebooks, layer_scope, indices)


def apply_clustering(params, clustering: Clustering) -> None:
    """Replace every weight and bias by its centroid, in place."""
    for i, keys in clustering.indices.items():
        codebook = clustering.codebooks[clustering.layer_scope[i]]
        for key, index in keys.items():
            params[i][key][...] = codebook[index]


def loss_and_grad(layers, params, x, y, mode: Mode, task: str, flags=None, inputs=None):
    out, tape = forward(layers, params, x, mode, task, flags, inputs)
    if task == "classification":
        loss, d_out = softmax_cross_entropy(out, y)
    else:            # an auto-encoder: its input, or given target values of its output shape
        target = y if y is not None and np.ndim(y) > 1 else x
        loss, d_out = mse(out, target.reshape(out.shape))
    return loss, backward(layers, params, tape, d_out, task, mode, inputs)


def train(layers, x, y, *, task: str, mode: Mode, epochs: int, batch_size: int,
          learning_rate: float, seed: int, params=None, clusters: int | None = None,
          cluster_scope: str = "global", cluster_interval_steps: int = 200,
          phase: str = "train", progress: Progress | None = None, flags=None, inputs=None):
    """Train and return (params, clustering or None). With `clusters`, weights are
    clustered at the start, every `cluster_interval_steps` steps and at the end, so
    the result has exactly the clustered values (as many as the data allows, <= K).
    inputs: per layer its sources (Workload.graph_inputs; None: a chain)."""
    rng = np.random.default_rng(seed)
    if params is None:
        params = init_network(layers, rng)
    params = [{k: np.array(v, dtype=np.float64) for k, v in p.items()} for p in params]
    config = AdamConfig(lr=learning_rate)
    state = adam_init(params)
    n = len(x)
    steps_per_epoch = max(1, -(-n // batch_size))
    total = epochs * steps_per_epoch
    clustering = None
    if clusters is not None:
        clustering = cluster_params(layers, params, clusters, cluster_scope)
        apply_clustering(params, clustering)
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_and_grad(layers, params, x[batch], y[batch], mode, task, flags,
                                        inputs)
            # With clustering the learning rate decays linearly to a tenth, so the
            # last clustering step moves the weights least.
            rate = learning_rate * (1.0 - 0.9 * step / max(1, total)) if clusters else learning_rate
            params, state = adam_step(params, grads, state, config, lr=rate)
            step += 1
            if clusters is not None and (step % cluster_interval_steps == 0 or step == total):
                clustering = cluster_params(layers, params, clusters, cluster_scope)
                apply_clustering(params, clustering)
            if progress is not None:
                progress(phase, step, total, loss)
    return params, clustering
