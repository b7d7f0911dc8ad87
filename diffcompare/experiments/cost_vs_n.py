"""cost_vs_n: what a full gradient costs as the number of inputs n grows.

A Rosenbrock function of n inputs, each input first sent through a chain of
smooth operations (``DEPTH`` rounds of u ← u + sin(u)·exp(−u²/2)) so that
evaluating f is real work and not only the fixed cost of a call (plain
Rosenbrock costs a few flops per input: its time would be all overhead and
no slope would show). For growing n: the time of one full
gradient by each method, the time of f itself, their ratio (the cost in
"function evaluations"), and the passes over f each method makes in theory:
2n evaluations for central differences, n forward passes (one per input, here
vectorised with ``jax.vmap`` as ``jax.jacfwd`` does), and one forward plus one
backward pass for reverse mode, whatever n. Everything is timed compiled
(``jax.jit``; the symbolic derivative is compiled too), best of several calls
after a warm-up; the slopes are fitted on log-log axes over the larger sizes,
where the work rather than the call overhead decides the time.

A compiled gradient can take *less* time than f (a ratio below 1): XLA on CPU
evaluates f's final sum in one fused loop that vectorises worse than the
gradient's elementwise loops. The ratio is what a user pays; the passes are
what the method does.
"""

from __future__ import annotations

import math

import jax

from .. import finite_diff as fd
from .. import numpy as dnp
from ..methods import METHODS
from ..problems import PROBLEMS
from ..problems._zoo import rosenbrock
from ..timing import best_times
from . import plotting
from ._common import attempt, compiled, fit_slope, seconds

NAME = "cost_vs_n"
TITLE = "Cost of a full gradient against the number of inputs n"
SUMMARY = "time and function-equivalent evaluations of a full gradient as n grows (FD, forward O(n); reverse O(1))"
#: the largest n each method is run at (symbolic traces one variable per input)
LIMIT = {"symbolic": 64}
#: rounds of the smooth per-input map before Rosenbrock
DEPTH = 8


def smoothed_rosenbrock(x):
    """Rosenbrock of u, with u = x sent DEPTH times through u ← u + sin(u)·exp(−u²/2)."""
    u = x
    for _ in range(DEPTH):
        u = u + dnp.sin(u) * dnp.exp(-0.5 * u * u)
    return rosenbrock(u)


def sizes(cfg):
    return cfg.pick((4, 8), (8, 32, 128, 512), (4, 16, 64, 256, 1024, 2048))


def methods():
    return ["finite_diff", "symbolic", "forward", "reverse", "jax"]


def points(cfg):
    return [{"n": n, "method": m} for n in sizes(cfg) for m in methods() if n <= LIMIT.get(m, math.inf)]


def passes(method: str, n: int) -> float:
    """Passes over f for one gradient, in theory (reverse: one forward + one backward)."""
    if method == "symbolic":
        return math.nan  # one derivative expression, evaluated once: its size, not a number of passes, decides
    return {"finite_diff": fd.evaluations("central", n), "forward": n}.get(method, 2)


def measure(point, cfg):
    n, method = point["n"], point["method"]
    x = PROBLEMS["rosenbrock"].make(size=n, seed=cfg.seed, dtype=cfg.dtype).args[0]
    rounds = cfg.pick(2, 5, 5)
    f_jit = jax.jit(smoothed_rosenbrock)
    grad = METHODS[method].grad(smoothed_rosenbrock)

    def timed():
        call, _ = compiled(grad, x)
        # interleaved rounds: a burst of load on a shared machine hits f and the gradient alike
        times = best_times({"f": f_jit, "grad": call}, rounds, args=(x,))
        return times["f"], times["grad"]

    value, status, message = attempt(timed)
    t_f, t_grad = value if status == "ok" else (seconds(f_jit, x, repeat=rounds), math.nan)
    return [{"t_f_s": t_f, "t_grad_s": t_grad, "ratio": t_grad / t_f, "passes": passes(method, n),
             "status": status, "message": message}]


def fits(rows):
    """method -> (slope of time, slope of ratio) over the upper half of the sizes it ran at."""
    out = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        sel = sorted((r for r in rows if r["method"] == m and r["status"] == "ok"), key=lambda r: r["n"])
        upper = sel[len(sel) // 2 - (1 if len(sel) >= 4 else 0):] if len(sel) > 2 else sel
        ns = [r["n"] for r in upper]
        out[m] = (fit_slope(ns, [r["t_grad_s"] for r in upper]), fit_slope(ns, [r["ratio"] for r in upper]))
    return out


def plot(rows, cfg, outdir):
    slopes = fits(rows)
    with plotting.style():
        fig, (ax1, ax2) = plotting.plt.subplots(1, 2, figsize=(11, 4.3))
        for m in dict.fromkeys(r["method"] for r in rows):
            sel = sorted((r for r in rows if r["method"] == m and r["status"] == "ok"), key=lambda r: r["n"])
            if not sel:
                continue
            ns = [r["n"] for r in sel]
            s_t, s_r = slopes[m]
            plotting.line(ax1, ns, [1e3 * r["t_grad_s"] for r in sel], f"{m} (slope {s_t:.2f})", style_label=m)
            plotting.line(ax2, ns, [r["ratio"] for r in sel], f"{m} (slope {s_r:.2f})", style_label=m)
            if m in ("finite_diff", "forward", "reverse"):
                ax2.plot(ns, [r["passes"] for r in sel], color=plotting.color_of(m), ls=":", lw=1)
        f_rows = sorted({r["n"]: r["t_f_s"] for r in rows}.items())
        ax1.plot([n for n, _ in f_rows], [1e3 * t for _, t in f_rows], "k--", lw=1, label="f itself")
        ax1.set(xscale="log", yscale="log", xlabel="inputs n", ylabel="time of one full gradient (ms)",
                title="Smoothed Rosenbrock: gradient time (compiled, best of k)")
        ax2.set(xscale="log", yscale="log", xlabel="inputs n",
                ylabel="time(gradient) / time(f)  (function evaluations)",
                title="Cost in function evaluations (dotted: passes in theory)")
        ax1.legend()
        ax2.legend()
        return plotting.save(fig, outdir, "cost_vs_n")


def headline(rows, cfg):
    slopes = fits(rows)
    out = ["every gradient, jax's included, timed compiled (jax.jit), best of several calls"]
    for m, (s_t, s_r) in slopes.items():
        sel = sorted((r for r in rows if r["method"] == m and r["status"] == "ok"), key=lambda r: r["n"])
        if sel:
            passes = sel[-1]["passes"]
            theory = f" ({passes:g} passes in theory)" if passes is not None and math.isfinite(passes) else ""
            out.append(f"{m}: time ~ n^{s_t:.2f}, cost in f-evaluations ~ n^{s_r:.2f}; at n = {sel[-1]['n']}: "
                       f"{sel[-1]['ratio']:.3g} f-evaluations{theory}")
    return out
