"""Benchmark of diffcompare.accumulate: mixed-mode chains and sparse Jacobians against JAX's dense ones.

    diffcompare bench accumulate                 # hourglass 100→1000→10→1000→100; tridiagonal n = 10⁴
    diffcompare bench accumulate --n 3000      # a smaller sparse case

It prints, side by side:

* the hourglass chain: predicted multiply-adds of forward, reverse and the
  optimal bracketing, and the compiled time of the optimal bracketing against
  ``jax.jit(jax.jacfwd)`` and ``jax.jit(jax.jacrev)`` (as ratios);
* the same chain written as one plain function, its layers found on the
  recorded tape (``accumulate.find_chain``): the found stages, the plan, its time;
* the tridiagonal Jacobian of the 1-D Bratu residual: the number of colours,
  and the compiled time of the coloured forward-mode Jacobian against dense
  ``jax.jit(jax.jacfwd)``, ``sparsejac`` and ``asdex`` where they are installed.

Every ratio is "time of the other / time of ours" (above 1: ours is faster), from
contenders timed in interleaved rounds (best of each) in one run, after compiling.

What is timed in the sparse case, for every contender alike: one call of the
``jax.jit``-compiled function, from x to a ``BCOO`` Jacobian (the seeds' JVPs,
one batched pass under jit, and the decompression), with the pattern and the
colouring found once beforehand, as ``sparsejac.jacfwd(f, sparsity)`` and
``asdex.jacobian(f, x)`` do when they are built. Ours is timed in both result
layouts: "rows" (its default, row-batched: p slots per row, column indices only)
and "coo" (row and column per entry, the layout ``sparsejac`` and ``asdex`` return).
"""

from __future__ import annotations

import importlib.util
import time

import jax
import numpy as np

from .. import accumulate as acc
from .. import enable_x64
from ..accumulate import examples


def chain_figures(rounds: int) -> dict:
    dims = examples.PROFILES["hourglass"]
    layers, x = examples.dense_chain(dims)
    f = examples.compose(layers)
    plan = acc.plan_chain(dims)
    fns = {"optimal": jax.jit(acc.chain_jacobian(layers)), "jacfwd": jax.jit(jax.jacfwd(f)),
           "jacrev": jax.jit(jax.jacrev(f))}
    err = float(np.max(np.abs(np.asarray(fns["optimal"](x)) - np.asarray(fns["jacfwd"](x)))))
    t = examples.race(fns, x, rounds=rounds)
    return {"dims": dims, "plan": plan, "forward": acc.pure_cost(dims, "forward"),
            "reverse": acc.pure_cost(dims, "reverse"), "times": t, "error": err, "f": f, "x": x}


def found_chain_figures(f, x, rounds: int) -> dict:
    """The chain as one plain function: layers found on its tape, bracketed, timed against jax.jacfwd."""
    chain = acc.find_chain(f, x)
    fns = {"found": jax.jit(acc.chain_jacobian(f)), "jacfwd": jax.jit(jax.jacfwd(f))}
    err = float(np.max(np.abs(np.asarray(fns["found"](x)) - np.asarray(fns["jacfwd"](x)))))
    return {"chain": chain, "plan": acc.chain_jacobian(f).plan(x), "times": examples.race(fns, x, rounds=rounds),
            "error": err}


def sparse_figures(n: int, rounds: int) -> dict:
    f = examples.bratu_residual
    x = jax.numpy.asarray(np.random.default_rng(0).uniform(-1, 1, n))
    start = time.perf_counter()
    sj = acc.sparse_jacobian(f, x)
    setup = time.perf_counter() - start
    coo = acc.sparse_jacobian(f, x, pattern_matrix=sj.pattern, layout="coo")
    fns = {"ours": jax.jit(sj), "ours (coo)": jax.jit(coo), "jacfwd (dense)": jax.jit(jax.jacfwd(f))}
    if importlib.util.find_spec("sparsejac") is not None:
        import sparsejac
        from jax.experimental import sparse as jsparse

        fns["sparsejac"] = jax.jit(sparsejac.jacfwd(f, jsparse.BCOO.from_scipy_sparse(sj.pattern.astype(float))))
    if importlib.util.find_spec("asdex") is not None:
        import asdex

        fns["asdex"] = jax.jit(asdex.jacobian(f, x, mode="fwd"))
    dense = np.asarray(fns["jacfwd (dense)"](x))
    err = max(float(np.max(np.abs(np.asarray(fns[k](x).todense()) - dense))) for k in ("ours", "ours (coo)"))
    del dense
    dense = {"jacfwd (dense)": fns.pop("jacfwd (dense)")}  # timed on its own: its n² numbers would slow the others
    t = {**examples.race(fns, x, rounds=rounds, budget_s=60), **examples.race(dense, x, rounds=rounds, budget_s=20)}
    return {"n": n, "colours": sj.n_colours, "setup_s": setup, "times": t, "error": err}


def main(n: int = 10_000, rounds: int = 300) -> int:
    """Measure and print the three cases (``diffcompare bench accumulate``)."""
    enable_x64()
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), float64\n")

    c = chain_figures(rounds)
    t = c["times"]
    better = min(c["forward"], c["reverse"])
    print(f"hourglass chain {' → '.join(map(str, c['dims']))}: optimal plan {c['plan'].text()}")
    for line in c["plan"].steps():
        print(f"    {line}")
    print(f"  multiply-adds   forward {c['forward']:,}   reverse {c['reverse']:,}   optimal {c['plan'].cost:,}   "
          f"better pure / optimal = {better / c['plan'].cost:.1f}x")
    print(f"  compiled time   optimal {1e3 * t['optimal']:.3f} ms   jax.jacfwd {1e3 * t['jacfwd']:.3f} ms   "
          f"jax.jacrev {1e3 * t['jacrev']:.3f} ms")
    print(f"  ratios          jacfwd / optimal = {t['jacfwd'] / t['optimal']:.1f}x   "
          f"jacrev / optimal = {t['jacrev'] / t['optimal']:.1f}x   (max |difference| {c['error']:.1e})\n")

    g = found_chain_figures(c["f"], c["x"], rounds)
    t = g["times"]
    print(f"the same chain as one plain function, layers found on its tape: {g['chain'].text()}")
    print(f"  plan {g['plan'].text()}   compiled time {1e3 * t['found']:.3f} ms   jax.jacfwd {1e3 * t['jacfwd']:.3f} ms"
          f"   jacfwd / found = {t['jacfwd'] / t['found']:.1f}x   (max |difference| {g['error']:.1e})\n")

    s = sparse_figures(n, min(rounds, 30))
    t = s["times"]
    print(f"tridiagonal Jacobian (1-D Bratu residual), n = {s['n']}: {s['colours']} colours "
          f"(pattern + colouring once: {s['setup_s']:.2f} s)")
    print("  compiled time   " + "   ".join(f"{k} {1e3 * v:.3f} ms" for k, v in t.items()))
    print("  ratios          " + "   ".join(f"{k} / ours = {v / t['ours']:.2f}x" for k, v in t.items() if k != "ours")
          + f"   (max |difference| vs dense {s['error']:.1e})")
    for name in ("sparsejac", "asdex"):
        if name in t:
            print(f"  like with like  {name} / ours (coo) = {t[name] / t['ours (coo)']:.2f}x")
        else:
            print(f"  ({name} is not installed: pip install {name})")
    return 0
