"""What it costs to keep finite differences right when f's state changes between calls.

    diffcompare bench finite-diff-cache [--rounds 5] [--calls 5]

A central-difference gradient evaluates f at 2n perturbed points. Four ways to
evaluate them, timed per gradient while the state f reads changes at every
call (a coefficient in a closure, or a new mini-batch array):

* ``stale``: ``jax.jit(jax.vmap(f))`` compiled once per function object (the
  old finite_diff): fastest, and WRONG after the state changes;
* ``nocache``: a fresh ``jax.jit`` at every call (trace and compile every call);
* ``eager``: ``jax.vmap(f)`` without jit, nothing kept (what finite_diff did before it staged);
* ``retrace``: trace f to a jaxpr at every call and keep compiled programs
  keyed by the jaxpr's text (array constants passed as arguments): a new
  scalar in a closure is a new literal, hence a new compilation.

Rounds interleave the strategies; the best round counts. Ratios are to ``stale``.
``fd.grad`` is the library's own call, for comparison: f traced at every call, the compiled
program looked up by the trace's structure with constants and scalar literals passed in
(``finite_diff.staged``), so it is never stale and rarely compiles.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from .. import enable_x64
from .. import finite_diff as fd
from .. import numpy as dnp


def _points(x):
    h = fd.default_step("central") * np.maximum(1.0, np.abs(np.asarray(x)))
    eye = np.eye(x.size) * h[:, None]
    return jnp.asarray(np.concatenate([x - eye, x + eye])), h


def _central(ys, h):
    n = h.size
    return (ys[n:] - ys[:n]) / (2 * h)


_STALE: dict = {}
_RETRACED: dict = {}


def stale(f, xs):
    if f not in _STALE:
        _STALE[f] = jax.jit(jax.vmap(f))
    return _STALE[f](xs)


def nocache(f, xs):
    return jax.jit(jax.vmap(lambda x: f(x)))(xs)


def eager(f, xs):
    return jax.vmap(f)(xs)


def retrace(f, xs):
    closed = jax.make_jaxpr(jax.vmap(lambda x: f(x)))(xs)  # a new wrapper: JAX's trace cache cannot hit
    key = str(closed.jaxpr)
    if key not in _RETRACED:
        _RETRACED[key] = jax.jit(functools.partial(jax.core.eval_jaxpr, closed.jaxpr))
    return _RETRACED[key](closed.consts, xs)[0]


STRATEGIES = {"stale": stale, "nocache": nocache, "eager": eager, "retrace": retrace}


def _problem(kind: str, n: int):
    """(f, x, change): ``change(i)`` alters the state f reads before call i."""
    rng = np.random.default_rng(0)
    if kind == "closure":
        state = {"a": 2.0}

        def f(x):
            return state["a"] * dnp.sum(dnp.sin(x) * dnp.exp(x / 3.0)) + dnp.sum(dnp.tanh(x[1:] * x[:-1]))

        return f, rng.normal(size=n), lambda i: state.update(a=2.0 + i)
    hidden = max(1, n // 12)  # an MLP with about n parameters on a global mini-batch
    batch = {"X": jnp.asarray(rng.normal(size=(32, 10))), "y": jnp.asarray(rng.normal(size=32))}

    def f(p):
        w1 = dnp.reshape(p[: 10 * hidden], (10, hidden))
        b1, w2 = p[10 * hidden : 11 * hidden], p[11 * hidden : 12 * hidden]
        return dnp.mean((dnp.tanh(batch["X"] @ w1 + b1) @ w2 - batch["y"]) ** 2)

    def new_batch(i):
        batch["X"] = jnp.asarray(np.random.default_rng(i).normal(size=(32, 10)))

    return f, rng.normal(size=12 * hidden) * 0.3, new_batch


def measure(kind: str, n: int, rounds: int, calls: int) -> dict[str, float]:
    f, x, change = _problem(kind, n)
    xs, h = _points(x)
    contenders = {name: functools.partial(lambda s: _central(s(f, xs), h), s) for name, s in STRATEGIES.items()}
    contenders["fd.grad"] = lambda: fd.grad(f)(jnp.asarray(x))
    best = dict.fromkeys(contenders, float("inf"))
    for r in range(rounds + 1):  # round 0 warms up
        for name, run in contenders.items():
            start = time.perf_counter()
            for i in range(calls):
                change(r * calls + i)  # a new state at every call
                jax.block_until_ready(run())
            if r:
                best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


def main(rounds: int = 5, calls: int = 5) -> None:
    """Measure and print one line per case (``diffcompare bench finite-diff-cache``)."""
    enable_x64()
    for kind, n in [("closure", 100), ("closure", 1000), ("mlp", 120), ("mlp", 1200)]:
        best = measure(kind, n, rounds, calls)
        cells = "  ".join(f"{k} {v * 1e3:8.2f} ms ({v / best['stale']:6.1f}x)" for k, v in best.items())
        print(f"{kind:7s} n={n:5d}  {cells}", flush=True)

