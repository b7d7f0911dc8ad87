"""fd_step: finite-difference error against the step h, the V-shaped curves.

For each scheme (forward, central, 4th-order central, complex step,
Richardson), each course example and each dtype, the relative error of the
derivative against the closed form, at steps h from 1 down to 1e-16 (float64
round-off ends below that). Truncation error falls as hᵖ on the right of the
V, round-off grows as ε/h on the left; the best step balances them near
ε^(1/(p+1)) · max(1, |x|): ε^(1/2) for forward, ε^(1/3) for central, ε^(1/5)
for the 4th-order scheme. The complex step has no cancellation, so no left arm.
Below h ≈ ε·|x| the perturbed points round to x itself, the quotient is 0/0
(nan in the CSV) and the curve stops.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import finite_diff as fd
from ..problems import PROBLEMS
from . import plotting
from ._common import FD_SCHEMES, attempt, fit_slope, flat

NAME = "fd_step"
TITLE = "Finite differences: error against step size"
SUMMARY = "error vs step h for forward, central, 4th-order, complex-step and Richardson schemes (float32, float64)"
PROBLEM_NAMES = ("exp_over_square", "sqrt_cos")
DTYPES = ("float64", "float32")


def steps(cfg) -> np.ndarray:
    per_decade = cfg.pick(1, 4, 8)
    return np.logspace(0, -16, 16 * per_decade + 1)


def points(cfg):
    problems = PROBLEM_NAMES[:1] if cfg.scale == "tiny" else PROBLEM_NAMES
    return [{"problem": p, "dtype": d, "scheme": s} for p in problems for d in DTYPES for s in FD_SCHEMES]


def theory_step(scheme: str, dtype: str, x: float = 1.0) -> float:
    """The step that balances truncation and round-off: ε^(1/(p+1))·max(1, |x|) (the complex step: none)."""
    if scheme in ("complex", "richardson"):
        return math.nan
    eps = float(jnp.finfo(dtype).eps)
    return eps ** (1.0 / (fd.order(scheme) + 1)) * max(1.0, abs(x))


def measure(point, cfg):
    inst = PROBLEMS[point["problem"]].make(dtype=point["dtype"])
    exact = float(flat(inst.derivative(*[jnp.asarray(a, jnp.float64) for a in inst.args]))[0])
    rows = []
    with np.errstate(all="ignore"):  # tiny steps divide by zero on purpose: that is the left arm
        rows = _sweep(inst, point, exact, cfg)
    return rows


def _sweep(inst, point, exact, cfg):
    rows = []
    for h in steps(cfg):
        value, status, message = attempt(
            lambda h=h: fd.grad(inst.fun, 0, scheme=point["scheme"], step=float(h))(*inst.args))
        err = abs(float(flat(value)[0]) - exact) / abs(exact) if status == "ok" else math.nan
        rows.append({"h": float(h), "value": float(flat(value)[0]) if status == "ok" else math.nan,
                     "exact": exact, "rel_error": err, "status": status, "message": message})
    return rows


def sweep(f, x, schemes=("forward", "central", "central4"), steps=None, dtype=None, exact=None):
    """The step sweep on any function of your own: the relative error of its FD gradient against h.

    Arguments:
        f: a scalar-valued function of one argument (written with ``diffcompare.numpy``).
        x: the point (a float or an array).
        schemes: finite-difference schemes to sweep (any of ``finite_diff``'s schemes).
        steps: the steps h (default: 1 down to 1e-16, four per decade). As in ``finite_diff``,
            the step is relative to max(1, |x|).
        dtype: "float64" or "float32" to evaluate in (default: x's own dtype, float64 for a float).
        exact: the true gradient (default: ``jax.grad(f)(x)`` in float64).

    Returns:
        Tidy rows, one per (scheme, h): ``{"scheme", "dtype", "h", "rel_error", "status",
        "message"}``; ``rel_error`` is max |fd - exact| / max |exact| (nan where the method failed
        or the perturbed points rounded to x itself).

    Example:
        >>> rows = sweep(lambda x: dnp.sin(x) * x, 0.7, schemes=("central",))
        >>> min(r["rel_error"] for r in rows if r["rel_error"] == r["rel_error"]) < 1e-9
        True
    """
    import jax

    hs = np.logspace(0, -16, 65) if steps is None else np.asarray(steps, dtype=float)
    x64 = jnp.asarray(x, jnp.float64)
    dtype = jnp.dtype(dtype if dtype is not None else (x.dtype if hasattr(x, "dtype") else jnp.float64)).name
    truth = flat(jax.grad(f)(x64) if exact is None else exact)
    scale = float(np.max(np.abs(truth))) or 1.0
    xd = jnp.asarray(x, dtype)
    rows = []
    with np.errstate(all="ignore"):
        for scheme in schemes:
            for h in hs:
                value, status, message = attempt(lambda h=h, s=scheme: fd.grad(f, scheme=s, step=float(h))(xd))
                err = math.nan
                if status == "ok":
                    err = float(np.max(np.abs(flat(value) - truth))) / scale
                rows.append({"scheme": scheme, "dtype": dtype, "h": float(h), "rel_error": err,
                             "status": status, "message": message})
    return rows


def analyse(rows):
    """Per (problem, dtype, scheme): measured best h, its error, truncation and round-off slopes."""
    out = []
    keys = sorted({(r["problem"], r["dtype"], r["scheme"]) for r in rows}, key=str)
    for problem, dtype, scheme in keys:
        sel = [r for r in rows if (r["problem"], r["dtype"], r["scheme"]) == (problem, dtype, scheme)
               and r["rel_error"] is not None and np.isfinite(r["rel_error"])]
        if not sel:
            continue
        h = np.array([r["h"] for r in sel])
        e = np.array([r["rel_error"] for r in sel])
        e_pos = np.where(e > 0, e, np.inf)
        best = int(np.argmin(e_pos))
        h_theory = theory_step(scheme, dtype)
        eps = float(jnp.finfo(dtype).eps)
        trunc = round_off = math.nan
        if np.isfinite(h_theory):
            right = (h >= 10 * h_theory) & (h <= 0.1) & (e > 10 * eps)
            left = (h <= h_theory / 10) & (e < 0.1) & (e > 0)
            trunc, round_off = fit_slope(h[right], e[right]), fit_slope(h[left], e[left])
        out.append({"problem": problem, "dtype": dtype, "scheme": scheme, "h_best": float(h[best]),
                    "err_best": float(e_pos[best]), "h_theory": h_theory, "truncation_slope": trunc,
                    "roundoff_slope": round_off, "order": fd.order(scheme)})
    return out


def plot(rows, cfg, outdir):
    files = []
    stats = {(a["problem"], a["dtype"], a["scheme"]): a for a in analyse(rows)}
    for problem in sorted({r["problem"] for r in rows}):
        with plotting.style():
            fig, axes = plotting.plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
            for ax, dtype in zip(axes, DTYPES):
                eps = float(jnp.finfo(dtype).eps)
                for scheme in FD_SCHEMES:
                    sel = [r for r in rows if (r["problem"], r["dtype"], r["scheme"]) == (problem, dtype, scheme)]
                    if not sel:
                        continue
                    h = np.array([r["h"] for r in sel])
                    e = np.array([r["rel_error"] if r["rel_error"] is not None else np.nan for r in sel])
                    e = np.clip(e, 1e-18, None)  # an exact 0 shows at the bottom
                    a = stats.get((problem, dtype, scheme), {})
                    note = ""
                    if a and np.isfinite(a.get("truncation_slope", np.nan)):
                        note = f"  (slopes {a['truncation_slope']:+.1f} / {a['roundoff_slope']:+.1f})"
                    label = f"fd {scheme}"
                    plotting.line(ax, h, e, label + note, style_label=label, markersize=3)
                    if a and np.isfinite(a.get("h_theory", np.nan)):
                        ax.axvline(a["h_theory"], color=plotting.color_of(label), ls=":", lw=1)
                # the x-axis spans the steps of the real-valued schemes (the complex step runs to 1e-16 in any
                # dtype, which would leave float32's V-curves in the right half of an empty panel)
                real = [r["h"] for r in rows if (r["problem"], r["dtype"]) == (problem, dtype)
                        and r["scheme"] != "complex" and r["h"] and r["h"] > 0
                        and r["rel_error"] is not None and 0 < r["rel_error"] <= 1e2]  # what the panel shows
                left = min(real) / 2 if real else 1e-16
                ax.set_xlim(left, 3.0)
                ax.axhline(eps, color="k", lw=0.8, ls="--")
                ax.text(left * 1.5, eps * 1.6, "machine ε", fontsize=8)
                # h grows to the right, so the legend's slopes read as drawn: round-off falls (−1) on the
                # left arm, truncation rises (+p) on the right arm
                ax.set(xscale="log", yscale="log", xlabel="step h (relative to max(1, |x|))",
                       title=f"{dtype}: {PROBLEMS[problem].title}", ylim=(1e-18, 1e2))
            axes[0].set_ylabel("relative error of f'(x) (dimensionless)")
            axes[0].legend(loc="upper center", fontsize=7.5)
            axes[1].legend(loc="lower right", fontsize=7.5)
            fig.suptitle("Finite differences: round-off (left arm, small h, ~ε/h) vs truncation "
                         "(right arm, large h, ~hᵖ); dotted: optimal h from theory", fontsize=10)
            files += plotting.save(fig, outdir, f"fd_step_{problem}")
    return files


def headline(rows, cfg):
    out = []
    for a in analyse(rows):
        if a["problem"] != PROBLEM_NAMES[0] or a["scheme"] not in ("forward", "central"):
            continue
        out.append(f"{a['dtype']} {a['scheme']}: error ~ h^{a['truncation_slope']:.2f} (theory h^{a['order']}), "
                   f"round-off ~ h^{a['roundoff_slope']:.2f} (theory h^-1); best h {a['h_best']:.1e} "
                   f"vs theory {a['h_theory']:.1e}, best error {a['err_best']:.1e}")
    for a in analyse(rows):
        if a["problem"] == PROBLEM_NAMES[0] and a["scheme"] == "complex":
            out.append(f"{a['dtype']} complex step: best error {a['err_best']:.1e} (no round-off arm)")
    return out
