"""accuracy: every method on every problem of the zoo, max relative error against JAX.

Each method computes the full derivative (the gradient of a scalar-valued
problem, the Jacobian of a vector-valued one) at the problem's seeded input
in the configured dtype; the reference is JAX in float64 at the same input.
The error is norm-wise, ``max|a − b| / max|b|`` (:mod:`diffcompare.metrics`).
A method that refuses a problem (symbolic tracing on value-dependent control
flow) is recorded as "unsupported" with its message, not as a crash.

Forward, reverse and JAX run under ``jax.jit`` (the numbers are those of the
same operations; it only saves the per-operation compilation of eager JAX);
finite differences and symbolic run as they are, since each compiles its own
evaluation.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..methods import METHODS
from ..metrics import relative_error
from ..problems import PROBLEMS
from . import plotting
from ._common import attempt, compiled, contenders

NAME = "accuracy"
TITLE = "Accuracy: every method on every problem, against JAX"
SUMMARY = "max relative error against JAX (float64) of every method on every zoo problem: table and heatmap"
#: methods that compile their own evaluation: run them as a user would
UNJITTED = ("finite_diff", "symbolic")
TINY_PROBLEMS = ("exp_over_square", "mlp_l2", "tall_map", "branchy")


def points(cfg):
    names = [p for p in PROBLEMS if p in TINY_PROBLEMS] if cfg.scale == "tiny" else list(PROBLEMS)
    return [{"problem": p} for p in names]


def derivative_of(module, inst, options=None):
    argnums = inst.argnums if len(inst.argnums) > 1 else 0
    kind = module.grad if inst.scalar_output else module.jacobian
    return kind(inst.fun, argnums, **(options or {}))


def reference(inst):
    """JAX's derivative in float64 at the instance's input (cast up from float32 if need be)."""
    args64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), inst.args)
    fn = derivative_of(METHODS["jax"], inst)
    return compiled(fn, *args64)[0](*args64)


def evaluate(method: str, options: dict, inst, ref) -> dict:
    module = METHODS[method]
    fn = derivative_of(module, inst, options)
    jitted = False

    def run():
        nonlocal jitted
        call = fn
        if method not in UNJITTED:
            call, jitted = compiled(fn, *inst.args)
        return call(*inst.args)

    value, status, message = attempt(run)
    err = math.nan
    if status == "ok":
        err, status2, message2 = attempt(lambda: relative_error(value, ref))
        if status2 != "ok":
            err, status, message = math.nan, status2, message2
    return {"rel_error": err, "status": status, "jit": jitted, "message": message}


def measure(point, cfg):
    problem = PROBLEMS[point["problem"]]
    inst = problem.make(seed=cfg.seed, dtype=cfg.dtype)
    ref = reference(inst)
    rows = []
    for label, method, options in contenders():
        row = evaluate(method, options, inst, ref)
        rows.append({"method": label, "dtype": cfg.dtype, "n_in": inst.input_dim, "n_out": inst.output_dim,
                     "kinks": problem.has_kinks, "control_flow": problem.data_dependent, **row})
    return rows


def plot(rows, cfg, outdir):
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    grid = np.full((len(problems), len(methods)), np.nan)
    status = {}
    for r in rows:
        i, j = problems.index(r["problem"]), methods.index(r["method"])
        status[i, j] = r["status"]
        if r["status"] == "ok" and r["rel_error"] is not None:
            grid[i, j] = r["rel_error"]
    eps = float(jnp.finfo(cfg.dtype).eps)
    shown = np.log10(np.clip(grid, 1e-17, None))
    with plotting.style():
        fig, ax = plotting.plt.subplots(figsize=(1.3 * len(methods) + 3, 0.38 * len(problems) + 1.6))
        im = ax.imshow(shown, cmap="viridis", vmin=-17, vmax=0, aspect="auto")
        for (i, j), st in status.items():
            if st != "ok":
                ax.text(j, i, "unsupported" if st == "unsupported" else "error", ha="center", va="center",
                        fontsize=7, color="0.4")
            else:
                v = grid[i, j]
                ax.text(j, i, "0" if v == 0 else f"{v:.0e}", ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] < -8 else "black")
        ax.set_xticks(range(len(methods)), methods, rotation=20, ha="right")
        ax.set_yticks(range(len(problems)), problems)
        ax.grid(False)
        bar = fig.colorbar(im, ax=ax, fraction=0.04)
        bar.set_label("log₁₀ max relative error vs JAX (dimensionless)")
        bar.ax.axhline(np.log10(eps), color="w", lw=1)
        ax.set_title(f"Max relative error against JAX (float64), inputs in {cfg.dtype}; "
                     f"exact 0 shown as 0, white line on the bar: ε")
        return plotting.save(fig, outdir, "accuracy_heatmap")


def table(rows) -> str:
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cell = {(r["problem"], r["method"]): r for r in rows}
    lines = ["| problem | " + " | ".join(methods) + " |", "| --- |" + " --- |" * len(methods)]
    for p in problems:
        out = []
        for m in methods:
            r = cell.get((p, m))
            if r is None:
                out.append("")
            elif r["status"] != "ok":
                out.append(r["status"])
            else:
                out.append(f"{r['rel_error']:.1e}")
        lines.append(f"| {p} | " + " | ".join(out) + " |")
    return "\n".join(lines)


def headline(rows, cfg):
    out = []
    for m in dict.fromkeys(r["method"] for r in rows):
        sel = [r for r in rows if r["method"] == m]
        ok = [r["rel_error"] for r in sel if r["status"] == "ok" and r["rel_error"] is not None]
        bad = [r["problem"] for r in sel if r["status"] != "ok"]
        worst = max(ok) if ok else math.nan
        note = f"; not run on {', '.join(bad)}" if bad else ""
        out.append(f"{m}: worst relative error {worst:.1e} over {len(ok)} problems ({cfg.dtype}){note}")
    return out
