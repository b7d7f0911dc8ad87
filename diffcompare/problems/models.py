"""Models the experiments and benchmarks build at many sizes: a square ReLU MLP and its loss.

The zoo's ``mlp_l2`` is one small network with a closed-form gradient; this
is the network the cost and memory sweeps grow (square layers, batch =
width), written once with ``dnp`` so that every method runs it.

    >>> params, x, y = make_mlp(width=64, depth=4)
    >>> mlp_loss(params, x, y)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp


def make_mlp(width: int, depth: int = 4, batch: int | None = None, dtype=jnp.float32, seed: int = 0):
    """Parameters (a list of {"W", "b"} layers), a batch ``x`` and targets ``y``."""
    batch = batch or width
    rng = np.random.default_rng(seed)
    params = [
        {"W": jnp.asarray(rng.normal(size=(width, width)) / np.sqrt(width), dtype),
         "b": jnp.asarray(0.01 * rng.normal(size=(width,)), dtype)}
        for _ in range(depth)
    ]
    x = jnp.asarray(rng.normal(size=(batch, width)), dtype)
    y = jnp.asarray(rng.normal(size=(batch, width)), dtype)
    return params, x, y


def layer(p, h):
    """One hidden layer: ``relu(h W + b)``."""
    return dnp.relu(h @ p["W"] + p["b"])


def mlp_loss(params, x, y, segment=layer):
    """Mean squared error of a ReLU MLP (the last layer linear); ``segment`` runs each hidden layer."""
    h = x
    for p in params[:-1]:
        h = segment(p, h)
    return head_loss(params[-1], h, y)


def head_loss(last, h, y):
    """The linear last layer and the mean squared error."""
    out = h @ last["W"] + last["b"]
    return dnp.mean((out - y) ** 2)
