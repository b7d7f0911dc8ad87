"""cheap_gradient: time(gradient) / time(function) on MLPs of growing width and depth.

The course's "cheap gradient principle": reverse mode gives the whole
gradient of a scalar loss for a small constant multiple of the cost of the
loss itself, at most 4–5, however many parameters there are. A ReLU MLP
(``diffcompare.problems.models``: square layers, batch = width, mean
squared error) is timed at growing width (depth fixed) and growing depth
(width fixed):

* "reverse" and "jax": ``jax.jit`` of the engine's gradient and of
  ``jax.grad``, over ``jax.jit`` of the loss (the tape is built at trace time,
  so XLA runs the backward pass the engine recorded);
* "reverse (eager)": the hand-written engine run operation by operation,
  over the loss run the same way (Python's overhead included);
* "forward" and "finite_diff" (compiled), only where the parameters are few:
  their cost grows with the number of parameters n, far past the bound.

Times are the minimum over interleaved rounds after a warm-up (a burst of
load on a shared machine hits every contender alike).
"""

from __future__ import annotations

import math

import jax

from ..methods import METHODS
from ..problems.models import make_mlp, mlp_loss
from ..timing import best_time, best_times
from . import plotting
from ._common import attempt

NAME = "cheap_gradient"
TITLE = "The cheap gradient principle: time(gradient) / time(function)"
SUMMARY = "time(gradient)/time(function) per method on MLPs of growing width and depth, against the bound 4-5"
BOUND = (4.0, 5.0)
#: forward mode and finite differences only up to this many parameters
SMALL = 2000


def points(cfg):
    widths = cfg.pick((8,), (16, 64, 256), (16, 64, 256, 1024))
    depths = cfg.pick((3,), (2, 8, 16), (1, 2, 4, 8, 16, 32))
    fixed_depth, fixed_width = cfg.pick((2, 8), (4, 64), (4, 256))
    pts = [{"sweep": "width", "width": w, "depth": fixed_depth} for w in widths]
    pts += [{"sweep": "depth", "width": fixed_width, "depth": d} for d in depths]
    return pts


def measure(point, cfg):
    width, depth = point["width"], point["depth"]
    params, x, y = make_mlp(width, depth, dtype=cfg.dtype, seed=cfg.seed)
    n = sum(int(leaf.size) for leaf in jax.tree_util.tree_leaves(params))
    rounds = cfg.pick(2, 5, 7)
    contenders = {"f (jit)": jax.jit(mlp_loss), "f (eager)": mlp_loss}
    contenders["reverse"] = jax.jit(METHODS["reverse"].grad(mlp_loss))
    # op by op, as the eager f is (a staged call runs one compiled program: it is timed under "reverse")
    contenders["reverse (eager)"] = METHODS["reverse"].grad(mlp_loss, staged=False)
    contenders["jax"] = jax.jit(jax.grad(mlp_loss))
    if n <= SMALL:
        for name in ("forward", "finite_diff"):
            contenders[name] = jax.jit(METHODS[name].grad(mlp_loss))
    rows = []
    times, status, message = attempt(lambda: best_times(contenders, rounds, args=(params, x, y)))
    if status != "ok":  # time them one by one, so one failing method does not hide the others
        times = {}
        for name, fn in contenders.items():
            t, st, msg = attempt(lambda fn=fn: best_time(fn, rounds, args=(params, x, y)))
            times[name] = t if st == "ok" else math.nan
            if st != "ok":
                rows.append({"method": name, "n_params": n, "status": st, "message": msg})
    for name, t in times.items():
        if name.startswith("f ") or any(r["method"] == name for r in rows):
            continue
        base = times["f (eager)"] if name.endswith("(eager)") else times["f (jit)"]
        rows.append({"method": name, "n_params": n, "t_f_s": base, "t_grad_s": t, "ratio": t / base,
                     "status": "ok", "message": ""})
    return rows


def plot(rows, cfg, outdir):
    with plotting.style():
        fig, axes = plotting.plt.subplots(1, 2, figsize=(11, 4.3), sharey=True)
        for ax, sweep, xlabel in zip(axes, ("width", "depth"), ("width (units per layer; batch = width)",
                                                                 "depth (layers)")):
            sel = [r for r in rows if r["sweep"] == sweep and r["status"] == "ok"]
            for m in dict.fromkeys(r["method"] for r in sel):
                pts = sorted((r[sweep], r["ratio"]) for r in sel if r["method"] == m)
                plotting.line(ax, [p for p, _ in pts], [q for _, q in pts], m)
            ax.axhspan(*BOUND, color="0.85", zorder=0, label="the bound: 4–5")
            ax.axhline(1, color="k", lw=0.6)
            fixed = "depth" if sweep == "width" else "width"
            value = sel[0][fixed] if sel else ""
            ax.set(yscale="log", xlabel=xlabel, title=f"growing {sweep} ({fixed} {value})")
            plotting.log2_axis(ax)
        axes[0].set_ylabel("time(gradient) / time(loss)  (function evaluations)")
        merged = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                merged.setdefault(label, handle)
        axes[1].legend(merged.values(), merged.keys(), loc="upper right")
        fig.suptitle("Cheap gradient: reverse mode stays within 4–5 loss evaluations; forward and FD grow with n",
                     fontsize=10)
        return plotting.save(fig, outdir, "cheap_gradient")


def headline(rows, cfg):
    out = []
    for m in dict.fromkeys(r["method"] for r in rows):
        sel = [r for r in rows if r["method"] == m and r["status"] == "ok"]
        if not sel:
            continue
        ratios = [r["ratio"] for r in sel]
        largest = max(sel, key=lambda r: r["n_params"])
        within = sum(r <= BOUND[1] for r in ratios)
        out.append(f"{m}: time(grad)/time(f) from {min(ratios):.2f} to {max(ratios):.2f} "
                   f"({within}/{len(ratios)} configurations within 5; {largest['n_params']} parameters at most)")
    return out
