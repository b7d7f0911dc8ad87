"""jacobian_shape: forward against reverse mode as the Jacobian goes from tall to wide.

f: Rⁿ → Rᵐ, f(x) = sin(W₂ tanh(W₁ x)) with a hidden layer of k units and
n·m fixed, so the cost of f (k·n + m·k multiply-adds) and the Jacobian's size
stay the same while n/m sweeps across 1. Forward mode builds the Jacobian from
n JVPs (one per column), reverse mode from m VJPs (one per row), so the
course predicts forward is cheaper for tall Jacobians (n < m) and reverse for
wide ones (n > m), with the crossover near n = m. Both engines' ``jacobian``
and JAX's ``jacfwd``/``jacrev`` are timed compiled (``jax.jit``), best of k.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from ..methods import METHODS
from . import plotting
from ._common import attempt, compiled, fit_slope, seconds

NAME = "jacobian_shape"
TITLE = "Forward against reverse mode as n/m sweeps across 1"
SUMMARY = "time of a full Jacobian of f: Rⁿ → Rᵐ (n·m fixed) by forward and reverse mode as n/m sweeps across 1"
#: hidden units: enough work per pass that the passes, not the fixed cost of a call, decide the time
#: (at 64 units a whole Jacobian took ~0.1 ms and the tall/wide ordering drowned in call overhead)
HIDDEN = {"tiny": 64, "quick": 1024, "full": 1024}


def shapes(cfg):
    total = cfg.pick(64, 4096, 16384)
    exps = cfg.pick((-1, 1), (-2, -1, 0, 1, 2), (-4, -3, -2, -1, 0, 1, 2, 3, 4))
    root = int(math.isqrt(total))
    return [(int(root * 2.0**e), int(root / 2.0**e)) for e in exps]


CONTENDERS = {
    "forward": ("forward", "jacobian", {}),
    "reverse": ("reverse", "jacobian", {}),
    "jax fwd (jacfwd)": ("jax", "jacobian", {"mode": "fwd"}),
    "jax rev (jacrev)": ("jax", "jacobian", {"mode": "rev"}),
}


def points(cfg):
    return [{"n": n, "m": m, "method": label} for n, m in shapes(cfg) for label in CONTENDERS]


def make(n, m, seed, dtype, hidden=HIDDEN["quick"]):
    rng = np.random.default_rng(seed)
    W1 = jnp.asarray(rng.normal(size=(hidden, n)) / np.sqrt(n), dtype)
    W2 = jnp.asarray(rng.normal(size=(m, hidden)) / np.sqrt(hidden), dtype)
    x = jnp.asarray(rng.normal(size=n), dtype)

    def f(x):
        return dnp.sin(W2 @ dnp.tanh(W1 @ x))

    return f, x


def measure(point, cfg):
    n, m = point["n"], point["m"]
    module, kind, options = CONTENDERS[point["method"]]
    f, x = make(n, m, cfg.seed, cfg.dtype, HIDDEN[cfg.scale])
    repeat = cfg.pick(2, 5, 7)
    t_f = seconds(jax.jit(f), x, repeat=repeat)
    jac = getattr(METHODS[module], kind)(f, **options)

    def timed():
        call, _ = compiled(jac, x)
        return seconds(call, x, repeat=repeat)

    t, status, message = attempt(timed)
    t = t if status == "ok" else math.nan
    return [{"n_over_m": n / m, "t_f_s": t_f, "t_jac_s": t, "ratio": t / t_f,
             "passes": n if point["method"] in ("forward", "jax fwd (jacfwd)") else m,
             "status": status, "message": message}]


def crossover(rows, fwd="forward", rev="reverse"):
    """The n/m where time(forward)/time(reverse) crosses 1 (log-linear interpolation); and that ratio per n/m."""
    t = {(r["method"], r["n_over_m"]): r["t_jac_s"] for r in rows if r["status"] == "ok"}
    ratios = sorted((q, t[fwd, q] / t[rev, q]) for (meth, q) in t if meth == fwd and (rev, q) in t)
    for (q0, r0), (q1, r1) in zip(ratios, ratios[1:]):
        if (r0 - 1) * (r1 - 1) <= 0 and r0 != r1:
            a = (math.log(r0)) / (math.log(r0) - math.log(r1))
            return math.exp(math.log(q0) + a * (math.log(q1) - math.log(q0))), ratios
    return math.nan, ratios


def plot(rows, cfg, outdir):
    with plotting.style():
        fig, (ax1, ax2) = plotting.plt.subplots(1, 2, figsize=(11, 4.3))
        for label in dict.fromkeys(r["method"] for r in rows):
            sel = sorted((r for r in rows if r["method"] == label and r["status"] == "ok"),
                         key=lambda r: r["n_over_m"])
            plotting.line(ax1, [r["n_over_m"] for r in sel], [1e3 * r["t_jac_s"] for r in sel], label)
        f_rows = sorted({r["n_over_m"]: r["t_f_s"] for r in rows}.items())
        ax1.plot([q for q, _ in f_rows], [1e3 * t for _, t in f_rows], "k--", lw=1, label="f itself")
        ax1.axvline(1, color="k", lw=0.8, ls=":")
        ax1.set(xscale="log", yscale="log", xlabel="n / m  (inputs / outputs; n·m fixed)",
                ylabel="time of the full Jacobian (ms)", title="Full Jacobian of sin(W₂ tanh(W₁x)), compiled")
        ax1.legend()
        for fwd, rev, label in (("forward", "reverse", "ours"), ("jax fwd (jacfwd)", "jax rev (jacrev)", "jax")):
            cross, ratios = crossover(rows, fwd, rev)
            if ratios:
                plotting.line(ax2, [q for q, _ in ratios], [r for _, r in ratios],
                              f"{label}: forward/reverse (crosses 1 at n/m ≈ {cross:.2g})", style_label=fwd)
        qs = sorted({r["n_over_m"] for r in rows})
        ax2.plot(qs, qs, "k:", lw=1, label="n/m (passes forward / passes reverse)")
        ax2.axhline(1, color="k", lw=0.8)
        ax2.axvline(1, color="k", lw=0.8, ls=":")
        ax2.set(xscale="log", yscale="log", xlabel="n / m", ylabel="time(forward) / time(reverse)",
                title="Forward wins below 1 (tall), reverse above (wide)")
        ax2.legend()
        for ax in (ax1, ax2):
            plotting.data_ticks(ax, qs)
        return plotting.save(fig, outdir, "jacobian_shape")


def headline(rows, cfg):
    out = []
    for fwd, rev, label in (("forward", "reverse", "diffcompare (under jax.jit)"),
                            ("jax fwd (jacfwd)", "jax rev (jacrev)", "JAX (jax.jit of jacfwd / jacrev)")):
        cross, ratios = crossover(rows, fwd, rev)
        if ratios:
            (q0, r0), (q1, r1) = ratios[0], ratios[-1]
            slope = fit_slope([q for q, _ in ratios], [r for _, r in ratios])
            out.append(f"{label}: time(forward)/time(reverse) = {r0:.2g} at n/m = {q0:g} (tall), {r1:.2g} at "
                       f"n/m = {q1:g} (wide); crosses 1 at n/m ≈ {cross:.2g}; ~ (n/m)^{slope:.2f}")
    return out
