"""precision: float32 against float64 for every method.

Each method differentiates the same problems with its input in float32 and
in float64; the error is against JAX in float64 at the same (rounded) input,
so it measures what the method's own arithmetic loses. Exact methods
(symbolic, forward, reverse) lose about the dtype's ε (1.2e-7 against
2.2e-16); finite differences lose far more, ε^(p/(p+1)) at their best step
(about 5e-5 for central differences in float32), which is why float32 finite
differences are a poor gradient check.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..problems import PROBLEMS
from . import plotting
from ._common import FD_SCHEMES, contenders
from .accuracy import evaluate, reference

NAME = "precision"
TITLE = "Precision: float32 against float64 for every method"
SUMMARY = "relative error against float64 JAX of every method (and FD scheme) with float32 and float64 inputs"
PROBLEM_NAMES = ("exp_over_square", "exp_sin_xy", "sqrt_cos", "mlp_l2", "rosenbrock", "logistic_map")
DTYPES = ("float32", "float64")


def points(cfg):
    names = cfg.pick(PROBLEM_NAMES[:1], ("exp_over_square", "sqrt_cos", "mlp_l2", "rosenbrock"),
                     PROBLEM_NAMES + ("mlp_softmax_xent", "layered_net", "tall_map"))
    return [{"problem": p, "dtype": d} for p in names for d in DTYPES]


def measure(point, cfg):
    inst = PROBLEMS[point["problem"]].make(seed=cfg.seed, dtype=point["dtype"])
    ref = reference(inst)
    return [{"method": label, **evaluate(method, options, inst, ref)}
            for label, method, options in contenders(FD_SCHEMES)]


def _summary(rows):
    """(method, dtype) -> the median and worst error over the problems."""
    out = {}
    for key in {(r["method"], r["dtype"]) for r in rows}:
        errs = [r["rel_error"] for r in rows if (r["method"], r["dtype"]) == key and r["status"] == "ok"
                and r["rel_error"] is not None and np.isfinite(r["rel_error"])]
        if errs:
            out[key] = (float(np.median(errs)), float(np.max(errs)))
    return out


def plot(rows, cfg, outdir):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    summary = _summary(rows)
    with plotting.style():
        fig, ax = plotting.plt.subplots(figsize=(8.5, 4.4))
        width = 0.38
        for k, dtype in enumerate(DTYPES):
            x = np.arange(len(methods)) + (k - 0.5) * width
            med = [max(summary.get((m, dtype), (math.nan,))[0], 1e-18) for m in methods]
            worst = [max(summary.get((m, dtype), (math.nan, math.nan))[1], 1e-18) for m in methods]
            colors = [plotting.color_of(m) for m in methods]
            ax.bar(x, med, width, color=colors, alpha=0.55 if dtype == "float32" else 1.0,
                   hatch="//" if dtype == "float32" else None, edgecolor="k", linewidth=0.5,
                   label=f"{dtype} (median over problems; marker: worst)")
            ax.scatter(x, worst, color="k", marker="_", s=120, zorder=3)
            ax.axhline(float(jnp.finfo(dtype).eps), color="k", ls="--" if dtype == "float32" else ":", lw=0.9)
        ax.text(len(methods) - 0.5, float(jnp.finfo("float32").eps) * 1.5, "ε float32", ha="right", fontsize=8)
        ax.text(len(methods) - 0.5, float(jnp.finfo("float64").eps) * 1.5, "ε float64", ha="right", fontsize=8)
        ax.set_xticks(range(len(methods)), methods, rotation=35, ha="right")
        ax.set(yscale="log", ylabel="relative error vs float64 JAX (dimensionless)", ylim=(1e-18, 1),
               title="float32 (hatched) against float64 (solid) for every method and FD scheme")
        ax.legend(loc="upper left")
        return plotting.save(fig, outdir, "precision")


def headline(rows, cfg):
    summary = _summary(rows)
    out = []
    for m in dict.fromkeys(r["method"] for r in rows):
        s32, s64 = summary.get((m, "float32")), summary.get((m, "float64"))
        if s32 and s64:
            out.append(f"{m}: median error {s32[0]:.1e} in float32, {s64[0]:.1e} in float64 "
                       f"(worst {s32[1]:.1e} / {s64[1]:.1e})")
    return out
