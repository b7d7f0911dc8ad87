"""cheap_gradient: the cost of a gradient over the cost of the function, on MLPs of growing width and depth.

The course's "cheap gradient principle": reverse mode gives the whole
gradient of a scalar loss for a small constant multiple of the cost of the
loss itself, at most 4–5, however many parameters there are. A ReLU MLP
(``diffcompare.problems.models``: square layers, batch = width, mean
squared error) is measured at growing width (depth fixed) and growing depth
(width fixed), two ways:

* **counted**: the arithmetic operations (flops + transcendentals) of the
  compiled gradient over those of the compiled loss, as XLA's cost analysis
  counts them: the same on every machine, on every run;
* **measured**: wall time of the gradient over wall time of the loss, both in
  the same regime: "reverse", "jax", "forward" and "finite_diff" are
  ``jax.jit`` of the gradient over ``jax.jit`` of the loss (our reverse tape is
  built at trace time, so XLA runs the backward pass the engine recorded);
  "reverse (eager)" is the hand-written engine run operation by operation
  over the loss run operation by operation (Python's overhead in both).

Forward mode and finite differences run only on the small networks (at most
``SMALL`` parameters): their cost grows with the number of parameters n, far
past the bound. Times are the minimum over interleaved rounds after a warm-up
(a burst of load on a shared machine hits every contender alike), with the
fixed cost of a compiled call (a jitted identity) timed beside them: on the
smallest networks that fixed cost, not the work, is most of the loss's time.
"""

from __future__ import annotations

import math

import jax

from ..methods import METHODS
from ..problems.models import make_mlp, mlp_loss
from ..timing import best_time, best_times
from . import plotting
from ._common import attempt, counted_operations, fit_slope, fmt

NAME = "cheap_gradient"
TITLE = "The cheap gradient principle: cost(gradient) / cost(function)"
SUMMARY = ("operations counted and time measured for a gradient over the loss, per method, on MLPs of growing "
           "width and depth, against the bound 4-5")
BOUND = (4.0, 5.0)
#: forward mode and finite differences only up to this many parameters
SMALL = 2000
#: below this many empty calls' worth, the loss's time is mostly the fixed cost of a call
OVERHEAD_FACTOR = 5.0
COMPILED = ("reverse", "jax", "forward", "finite_diff")


def points(cfg):
    widths = cfg.pick((4, 8, 16), (4, 8, 16, 64, 256), (4, 8, 16, 64, 256, 1024))
    depths = cfg.pick((1, 2, 3), (2, 8, 16), (1, 2, 4, 8, 16, 32))
    fixed_depth, fixed_width = cfg.pick((2, 8), (4, 64), (4, 256))
    pts = [{"sweep": "width", "width": w, "depth": fixed_depth} for w in widths]
    pts += [{"sweep": "depth", "width": fixed_width, "depth": d} for d in depths]
    return pts


def measure(point, cfg):
    width, depth = point["width"], point["depth"]
    params, x, y = make_mlp(width, depth, dtype=cfg.dtype, seed=cfg.seed)
    args = (params, x, y)
    n = sum(int(leaf.size) for leaf in jax.tree_util.tree_leaves(params))
    rounds = cfg.pick(3, 15, 25)  # the minimum of many rounds: a loaded machine spoils some, rarely all
    grads = {"reverse": METHODS["reverse"].grad(mlp_loss), "jax": jax.grad(mlp_loss)}
    if n <= SMALL:
        for name in ("forward", "finite_diff"):
            grads[name] = METHODS[name].grad(mlp_loss)
    contenders = {"f (jit)": jax.jit(mlp_loss), "f (eager)": mlp_loss, "call": jax.jit(lambda *a: a[1])}
    contenders.update({name: jax.jit(g) for name, g in grads.items()})
    # op by op, as the eager f is (a staged call runs one compiled program: compare it with f (jit))
    contenders["reverse (eager)"] = METHODS["reverse"].grad(mlp_loss, staged=False)
    rows = []
    # interleaved rounds, each call right after an untimed call of itself (see diffcompare.timing)
    times, status, message = attempt(lambda: best_times(contenders, rounds, args=args, back_to_back=True))
    if status != "ok":  # time them one by one, so one failing method does not hide the others
        times = {}
        for name, fn in contenders.items():
            t, st, msg = attempt(lambda fn=fn: best_time(fn, rounds, args=args))
            times[name] = t if st == "ok" else math.nan
            if st != "ok":
                rows.append({"method": name, "n_params": n, "status": st, "message": msg})
    ops_f = counted_operations(mlp_loss, *args)
    for name, t in times.items():
        if name.startswith("f ") or name == "call" or any(r["method"] == name for r in rows):
            continue
        eager = name.endswith("(eager)")
        base = times["f (eager)"] if eager else times["f (jit)"]
        ops = math.nan if eager else counted_operations(grads[name], *args)
        rows.append({"method": name, "n_params": n, "regime": "eager" if eager else "compiled", "t_f_s": base,
                     "t_grad_s": t, "t_call_s": times["call"], "ratio": t / base, "ops_f": ops_f,
                     "ops_grad": ops, "ops_ratio": ops / ops_f, "status": "ok", "message": ""})
    return rows


def _ok(rows, **match):
    return [r for r in rows if r["status"] == "ok" and all(r.get(k) == v for k, v in match.items())]


def plot(rows, cfg, outdir):
    with plotting.style():
        fig, axes = plotting.plt.subplots(1, 3, figsize=(15, 4.8))
        panels = (("width", "ops_ratio", "Counted (XLA flops + transcendentals), growing width"),
                  ("width", "ratio", "Measured time, growing width"),
                  ("depth", "ratio", "Measured time, growing depth"))
        for ax, (sweep, key, title) in zip(axes, panels):
            sel = _ok(rows, sweep=sweep)
            for m in dict.fromkeys(r["method"] for r in sel):
                pts = sorted((r["n_params"], r[key]) for r in sel if r["method"] == m and math.isfinite(r[key]))
                if pts:
                    plotting.line(ax, [p for p, _ in pts], [q for _, q in pts], m)
            ax.axhspan(*BOUND, color="0.85", zorder=0, label="the bound: 4–5")
            ax.axhline(1, color="k", lw=0.6)
            fixed = "depth" if sweep == "width" else "width"
            value = sel[0][fixed] if sel else ""
            ax.set(xscale="log", yscale="log", xlabel=f"parameters n ({sweep} grows, {fixed} {value})",
                   title=title)
            plotting.data_ticks(ax, [r["n_params"] for r in sel])
            shown = [r[key] for r in sel if math.isfinite(r[key]) and r[key] > 0]
            if shown:  # at least a decade, 1 and the bound included: no crowded minor labels (2×10⁰, 3×10⁰, ...)
                ax.set_ylim(min(0.5, min(shown) / 1.5), max(10.0, max(shown) * 1.5))
        axes[0].set_ylabel("operations(gradient) / operations(loss)")
        axes[1].set_ylabel("time(gradient) / time(loss)")
        merged = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                merged.setdefault(label, handle)
        axes[0].legend(merged.values(), merged.keys(), loc="center right", fontsize=8)
        fig.suptitle("Cheap gradient: gradient over loss; compiled methods over the compiled loss, "
                     "reverse (eager) over the eager loss", fontsize=10)
        return plotting.save(fig, outdir, "cheap_gradient")


def _trend(slope):
    if not math.isfinite(slope):
        return "no slope (fewer than 3 sizes)"
    if slope > 0.5:
        return f"grows with n (~ n^{slope:.2f})"
    if abs(slope) <= 0.2:
        return f"flat in n (~ n^{slope + 0.0:.2f})".replace("-0.00", "0.00")
    return f"~ n^{slope:.2f}"


def headline(rows, cfg):
    out = []
    for m in dict.fromkeys(r["method"] for r in rows):
        sel = sorted(_ok(rows, method=m), key=lambda r: r["n_params"])
        if not sel:
            continue
        ratios = [r["ratio"] for r in sel]
        within = sum(r <= BOUND[1] for r in ratios)
        width = [r for r in sel if r["sweep"] == "width"]
        text = f"{m}: "
        counted = [r for r in sel if math.isfinite(r.get("ops_ratio", math.nan))]
        if counted:
            s = fit_slope([r["n_params"] for r in width], [r["ops_ratio"] for r in width], min_points=3)
            text += (f"counted operations {fmt(min(r['ops_ratio'] for r in counted), 3)}× to "
                     f"{fmt(max(r['ops_ratio'] for r in counted), 3)}× the loss, {_trend(s)}; ")
        s = fit_slope([r["n_params"] for r in width], [r["ratio"] for r in width], min_points=3)
        regime = "eager over the eager loss" if sel[0].get("regime") == "eager" else "compiled over the compiled loss"
        text += (f"measured time ({regime}) {fmt(min(ratios))}× to {fmt(max(ratios))}× the loss, {_trend(s)} "
                 f"over the width sweep ({within}/{len(ratios)} configurations within 5; "
                 f"{int(sel[-1]['n_params'])} parameters at most)")
        below = [r for r in sel if r["ratio"] < 1]
        if below:
            r = min(below, key=lambda r: r["ratio"])
            if r["t_f_s"] < OVERHEAD_FACTOR * r["t_call_s"]:
                why = (f"the loss took {fmt(1e6 * r['t_f_s'])} µs, mostly the fixed cost of a compiled call "
                       f"({fmt(1e6 * r['t_call_s'])} µs for an empty one), not the work")
            else:
                why = (f"XLA ran the loss at {fmt(r['ops_f'] / (1e6 * r['t_f_s']))} operations/µs and the "
                       f"gradient at {fmt(r['ops_grad'] / (1e6 * r['t_grad_s']))}")
            counted_text = (f" although it counts {fmt(r['ops_ratio'], 3)}× the loss's operations"
                            if math.isfinite(r.get("ops_ratio", math.nan)) else "")
            text += (f"; below the loss ({fmt(r['ratio'])}×) at {int(r['n_params'])} parameters{counted_text}: {why}")
        out.append(text)
    return out
