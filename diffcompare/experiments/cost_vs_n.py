"""cost_vs_n: what a full gradient costs as the number of inputs n grows.

f(x) = Σ uᵢ², with every input first sent through a chain of smooth operations
(``DEPTH`` rounds of u ← u + sin(u)·exp(−u²/2)), so that evaluating f is real
work (a few dozen operations per input) and not only the fixed cost of a call.

Cost is shown two ways, side by side:

* **counted**: the arithmetic operations (flops + transcendentals) of the
  compiled gradient as XLA's cost analysis counts them, over those of the
  compiled f. The count does not depend on the machine or its load: reverse
  mode (and JAX, and the symbolic derivative) stay a constant few times f
  whatever n; central differences (2n evaluations of f) and forward mode (n
  tangent passes) grow like n.
* **measured**: the wall time of the compiled gradient over the wall time of
  the compiled f, both ``jax.jit``, best of interleaved rounds after a
  warm-up (each call right after an untimed call of itself), with the fixed
  cost of a compiled call (a jitted identity) timed beside them. Two things
  make the measured ratio differ from the count, and the headline says which
  one it saw: at small n the fixed cost of a call is most of f's time; and
  finite differences and forward mode run their n passes as one batched call
  (``jax.vmap``, as ``jax.jacfwd`` does), which costs less than n separate
  calls of f.

"Passes" is the theory: 2n evaluations for central differences, n forward
passes, one forward plus one backward pass for reverse mode.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from .. import finite_diff as fd
from .. import numpy as dnp
from ..methods import METHODS
from ..timing import best_times
from . import plotting
from ._common import attempt, compiled, counted_operations, fit_slope, fmt

NAME = "cost_vs_n"
TITLE = "Cost of a full gradient against the number of inputs n"
SUMMARY = ("operations counted and time measured for a full gradient as n grows, both relative to f "
           "(FD, forward O(n); reverse, JAX, symbolic O(1))")
#: rounds of the smooth per-input map
DEPTH = 8
#: methods whose cost grows like n: run only up to this n (their work grows like n²)
GROWING = ("finite_diff", "forward")
#: below this many calls' worth of fixed cost, f's time is mostly the call, not the work
OVERHEAD_FACTOR = 5.0


def smooth_chain(x):
    """x sent DEPTH times through u ← u + sin(u)·exp(−u²/2)."""
    u = x
    for _ in range(DEPTH):
        u = u + dnp.sin(u) * dnp.exp(-0.5 * u * u)
    return u


def smoothed_square(x):
    """f(x) = Σ uᵢ², u = smooth_chain(x)."""
    u = smooth_chain(x)
    return dnp.sum(u * u)


def sizes(cfg):
    # the quick run stops where finite differences and forward mode stop: every method at every size
    return cfg.pick((8, 16, 32), (64, 256, 1024), (64, 256, 1024, 2048, 4096, 16384, 65536))


def limit(cfg, method):
    """The largest n ``method`` runs at."""
    return cfg.pick(32, 1024, 2048) if method in GROWING else math.inf


def methods():
    return ["finite_diff", "symbolic", "forward", "reverse", "jax"]


def points(cfg):
    return [{"n": n, "method": m} for n in sizes(cfg) for m in methods() if n <= limit(cfg, m)]


def passes(method: str, n: int) -> float:
    """Passes over f for one gradient, in theory (reverse: one forward + one backward)."""
    if method == "symbolic":
        return math.nan  # one derivative expression, evaluated once: its size, not a number of passes, decides
    return {"finite_diff": fd.evaluations("central", n), "forward": n}.get(method, 2)


def _input(n, cfg):
    return jax.numpy.asarray(np.random.default_rng(cfg.seed).uniform(-1.0, 1.5, n), cfg.dtype)


def measure(point, cfg):
    n, method = point["n"], point["method"]
    x = _input(n, cfg)
    rounds = cfg.pick(3, 15, 25)  # the minimum of many rounds: a loaded machine spoils some, rarely all
    f_jit = jax.jit(smoothed_square)
    identity = jax.jit(lambda v: v)
    grad = METHODS[method].grad(smoothed_square)

    def timed():
        call, is_compiled = compiled(grad, x)
        if not is_compiled:
            raise RuntimeError(f"{method}'s gradient did not compile: the experiment times compiled calls only")
        # interleaved rounds (a burst of load on a shared machine hits f, the gradient and the empty call alike),
        # each call timed right after an untimed call of itself: a call that follows a different one pays
        # tens of µs for the change, which at small n would be most of f's time
        return best_times({"f": f_jit, "grad": call, "call": identity}, rounds, args=(x,), back_to_back=True)

    times, status, message = attempt(timed)
    ops_f = counted_operations(smoothed_square, x)
    ops_g = counted_operations(grad, x) if status == "ok" else math.nan
    if status != "ok":
        times = {"f": math.nan, "grad": math.nan, "call": math.nan}
    return [{"t_f_s": times["f"], "t_grad_s": times["grad"], "t_call_s": times["call"],
             "ratio": times["grad"] / times["f"], "passes": passes(method, n), "ops_f": ops_f, "ops_grad": ops_g,
             "ops_ratio": ops_g / ops_f, "status": status, "message": message}]


def _series(rows, method):
    return sorted((r for r in rows if r["method"] == method and r["status"] == "ok"), key=lambda r: r["n"])


def fits(rows):
    """method -> (slope of the counted ratio, slope of the measured ratio), fitted over every size it ran at
    (nan with fewer than 3 sizes: a line through two points always fits)."""
    out = {}
    for m in dict.fromkeys(r["method"] for r in rows):
        sel = _series(rows, m)
        ns = [r["n"] for r in sel]
        out[m] = (fit_slope(ns, [r["ops_ratio"] for r in sel], min_points=3),
                  fit_slope(ns, [r["ratio"] for r in sel], min_points=3))
    return out


def _slope_text(s):
    return "n/a (fewer than 3 sizes)" if not math.isfinite(s) else f"{s + 0.0:.2f}".replace("-0.00", "0.00")


def plot(rows, cfg, outdir):
    slopes = fits(rows)
    with plotting.style():
        fig, (ax1, ax2) = plotting.plt.subplots(1, 2, figsize=(12, 4.6))
        for m in dict.fromkeys(r["method"] for r in rows):
            sel = _series(rows, m)
            if not sel:
                continue
            ns = [r["n"] for r in sel]
            s_c, s_t = slopes[m]
            plotting.line(ax1, ns, [r["ops_ratio"] for r in sel], f"{m} (slope {_slope_text(s_c)})", style_label=m)
            plotting.line(ax2, ns, [r["ratio"] for r in sel], f"{m} (slope {_slope_text(s_t)})", style_label=m)
            if m in ("finite_diff", "forward"):
                for ax in (ax1, ax2):
                    ax.plot(ns, [r["passes"] for r in sel], color=plotting.color_of(m), ls=":", lw=1)
        for ax in (ax1, ax2):
            ax.axhline(1, color="k", lw=0.6)
            ax.set(xscale="log", yscale="log", xlabel="inputs n")
            plotting.log2_axis(ax)
            ax.set_yscale("log")
            ax.legend(fontsize=8, loc="upper left")
        ax1.set(ylabel="operations(gradient) / operations(f)",
                title="Counted: XLA's flops + transcendentals")
        ax2.set(ylabel="time(gradient) / time(f)",
                title="Measured: both compiled (jax.jit), best of k")
        fig.suptitle("A full gradient of f(x) = Σ u(x)², relative to f; "
                     "dotted: passes in theory (2n for FD, n forward)", fontsize=10)
        return plotting.save(fig, outdir, "cost_vs_n")


def _trend(slope: float) -> str:
    if not math.isfinite(slope):
        return "(fewer than 3 sizes: no slope)"
    if slope > 0.5:
        return f"grows with n (~ n^{_slope_text(slope)})"
    if abs(slope) <= 0.2:
        return f"independent of n (~ n^{_slope_text(slope)})"
    return f"~ n^{_slope_text(slope)}"


def _why_below_f(r, sel) -> str:
    """Why the measured gradient took less time than f at row ``r``, from the numbers of its series ``sel``."""
    rate_f = r["ops_f"] / (1e6 * r["t_f_s"])
    best = max(sel, key=lambda q: q["ops_f"] / (1e6 * q["t_f_s"]))
    best_rate = best["ops_f"] / (1e6 * best["t_f_s"])
    if r["t_f_s"] < OVERHEAD_FACTOR * r["t_call_s"] or rate_f < best_rate / 4:
        return (f"at n = {int(r['n'])} f's {fmt(1e6 * r['t_f_s'])} µs is mostly the fixed cost of a compiled call, "
                f"not the work (an empty call took {fmt(1e6 * r['t_call_s'])} µs; f ran at {fmt(rate_f)} "
                f"operations/µs here against {fmt(best_rate)} at n = {int(best['n'])})")
    rate_g = r["ops_grad"] / (1e6 * r["t_grad_s"])
    return (f"at n = {int(r['n'])} XLA ran f's one fused loop at {fmt(rate_f)} operations/µs and the gradient's "
            f"loops at {fmt(rate_g)}")


def headline(rows, cfg):
    slopes = fits(rows)
    out = []
    for m, (s_c, s_t) in slopes.items():
        sel = _series(rows, m)
        if not sel:
            continue
        first, last = sel[0], sel[-1]
        text = (f"{m}: counted operations {fmt(first['ops_ratio'], 3)}× f at n = {int(first['n'])}, "
                f"{fmt(last['ops_ratio'], 3)}× at n = {int(last['n'])}: {_trend(s_c)}; "
                f"measured time {fmt(last['ratio'])}× f at n = {int(last['n'])}, {_trend(s_t)}")
        p = last["passes"]
        if math.isfinite(p) and p > 2:
            text += (f"; the {int(p)} passes ran as one batched call (jax.vmap): each pass took "
                     f"{fmt(last['ratio'] / p)}× the time of a separate call of f")
        below = [r for r in sel if r["ratio"] < 1]
        if below:
            r = below[-1]
            text += (f"; measured below f ({fmt(r['ratio'])}×) although it counts {fmt(r['ops_ratio'], 3)}× f's "
                     f"operations: {_why_below_f(r, sel)}")
        out.append(text)
    return out
