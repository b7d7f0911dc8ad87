"""The functions the accumulation experiment, benchmark, notebook and tests share, and a fair timer.

* chains of dense layers x ↦ tanh(W x + b) with given widths (``PROFILES``: tall,
  wide, hourglass, diamond);
* a 1-D finite-difference PDE residual (the Bratu problem, tridiagonal Jacobian)
  and a banded map (pentadiagonal Jacobian), for any n.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp

#: layer widths n_0 → … → n_L of the chain profiles
PROFILES = {
    "tall": (10, 100, 1000, 1000),
    "wide": (1000, 1000, 100, 10),
    "hourglass": (100, 1000, 10, 1000, 100),
    "diamond": (10, 100, 1000, 100, 10),
}


def dense_chain(dims, seed: int = 0, dtype=jnp.float64) -> tuple[list[Callable], jnp.ndarray]:
    """Layers x ↦ tanh(W_k x + b_k) with W_k of shape n_k × n_{k-1} (random, scaled by 1/√n_{k-1}), and an input."""
    rng = np.random.default_rng(seed)
    layers = []
    for a, b in zip(dims, dims[1:]):
        W = jnp.asarray(rng.normal(size=(b, a)) / np.sqrt(a), dtype)
        bias = jnp.asarray(0.1 * rng.normal(size=b), dtype)
        layers.append(lambda x, W=W, bias=bias: dnp.tanh(W @ x + bias))
    return layers, jnp.asarray(rng.normal(size=dims[0]), dtype)


def compose(layers) -> Callable:
    """x ↦ layers[-1](… layers[0](x))."""

    def f(x):
        for layer in layers:
            x = layer(x)
        return x

    return f


def bratu_residual(u, lam: float = 1.0):
    """F(u)_i = u_{i-1} − 2u_i + u_{i+1} + h²λ exp(u_i), u_0 = u_{n+1} = 0, h = 1/(n+1): a tridiagonal Jacobian."""
    n = dnp.shape(u)[0]
    zero = jnp.zeros(1, dnp.dtype_of(u))
    ext = dnp.concatenate([zero, u, zero])
    return ext[2:] - 2.0 * u + ext[:-2] + (lam / (n + 1) ** 2) * dnp.exp(u)


def banded_map(x):
    """y_i = x_i² + x_{i-2}·x_{i+1} + sin(x_{i-1}) − x_{i+2}/2 (zero outside): a pentadiagonal Jacobian."""
    zero = jnp.zeros(2, dnp.dtype_of(x))
    ext = dnp.concatenate([zero, x, zero])
    return x**2 + ext[:-4] * ext[3:-1] + dnp.sin(ext[1:-3]) - 0.5 * ext[4:]


SPARSE_PROBLEMS = {"bratu (tridiagonal)": bratu_residual, "banded (pentadiagonal)": banded_map}


def race(contenders: dict[str, Callable], *args, rounds: int = 20, budget_s: float | None = None) -> dict[str, float]:
    """Best seconds of each contender, timed in interleaved rounds (one call of each per round) after a warm-up.

    Interleaving gives each contender the same share of a busy machine's quiet moments, so
    their ratios within one run are fair. ``budget_s`` stops early once the rounds have taken that long.
    """
    for fn in contenders.values():
        jax.block_until_ready(fn(*args))
    best = dict.fromkeys(contenders, float("inf"))
    start = time.perf_counter()
    for _ in range(rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            best[name] = min(best[name], time.perf_counter() - t0)
        if budget_s is not None and time.perf_counter() - start > budget_s:
            break
    return best
