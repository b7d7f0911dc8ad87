# %% [markdown]
# # 01 · Finite differences
#
# The derivative is a limit, $f'(x) = \lim_{h\to 0} \frac{f(x+h) - f(x)}{h}$. Finite
# differences stop before the limit: they take a small $h$ and compute the quotient.
# This notebook measures what that costs in accuracy (truncation against round-off:
# the V curve) and in evaluations of $f$ (n + 1 for a gradient), with
# `diffcompare.finite_diff` doing the work.
#
# Course: numerical differentiation (forward $O(h)$, central $O(h^2)$, round-off),
# finite differences need $n+1$ evaluations for one gradient.

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import finite_diff as fd
from diffcompare.prose import claim, num, say


def f(x):  # the course's running example
    return dnp.exp(x) / x**2


def df(x):  # its derivative by hand: e^x (x - 2) / x^3
    return np.exp(x) * (x - 2) / x**3


x0 = 1.5
exact = df(x0)
print(f"f({x0}) = {float(f(x0)):.12f},  f'({x0}) = {exact:.12f}")

# %% [markdown]
# ## The definition, taken literally
#
# The forward quotient for shrinking $h$: it approaches $f'(x)$, then, for very small
# $h$, moves away again.

# %%
print(f"{'h':>8}  {'(f(x+h) - f(x)) / h':>22}  {'rel. error':>10}")
for k in range(1, 17, 2):
    h = 10.0**-k
    q = float(fd.grad(f, scheme="forward", step=h)(x0))
    print(f"{h:8.0e}  {q:22.15f}  {abs(q - exact) / abs(exact):10.2e}")

# %% [markdown]
# ## Forward, central and higher order
#
# Taylor's theorem gives the orders: forward $\frac{f(x+h)-f(x)}{h} = f'(x) + O(h)$,
# central $\frac{f(x+h)-f(x-h)}{2h} = f'(x) + O(h^2)$, the 4th-order central stencil
# $O(h^4)$. Halve $h$ and the error drops by $2^p$: the measured order is
# $\log_2$ of that ratio.

# %%
for scheme in ["forward", "backward", "central", "central4"]:
    e1 = abs(float(fd.grad(f, scheme=scheme, step=1e-2)(x0)) - exact)
    e2 = abs(float(fd.grad(f, scheme=scheme, step=5e-3)(x0)) - exact)
    print(f"{scheme:9s} theory order {fd.order(scheme)}   measured log2(e(h)/e(h/2)) = {np.log2(e1 / e2):.2f}")

# %% [markdown]
# ## Truncation against round-off: the V curve
#
# Each quotient carries two errors. Truncation falls like $h^p$. Round-off: $f(x+h)$
# and $f(x)$ are each known to about $\varepsilon |f|$, so their difference divided by
# $h$ is wrong by about $\varepsilon |f| / h$, which *grows* as $h$ shrinks. On log axes
# the sum is a V; its bottom is the best $h$. In float32 ($\varepsilon \approx 10^{-7}$)
# the V sits far higher and further right than in float64 ($\varepsilon \approx 2\cdot 10^{-16}$).

# %%
hs = np.logspace(-15 if not SMALL else -13, 0, 31 if not SMALL else 14)
schemes = ["forward", "central", "central4"]


def error_curve(scheme, dtype):
    x = jnp.asarray(x0, dtype)
    exact_d = float(df(np.float64(x0)))
    out = []
    for h in hs:
        if float((x + jnp.asarray(h, dtype)) - x) == 0.0:  # the step vanished in this precision
            out.append(np.nan)
            continue
        out.append(abs(float(fd.grad(f, scheme=scheme, step=float(h))(x)) - exact_d) / abs(exact_d))
    return np.array(out)


curves = {(s, d): error_curve(s, d) for s in schemes for d in (jnp.float64, jnp.float32)}

fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
for ax, dtype in zip(axes, (jnp.float64, jnp.float32)):
    for s in schemes:
        (line,) = ax.loglog(hs, curves[(s, dtype)], "o-", ms=3, label=s)
        ax.axvline(fd.default_step(s, dtype) * x0, color=line.get_color(), lw=0.8, ls="--")
    ax.set(title=f"{jnp.dtype(dtype).name}", xlabel="step h")
axes[0].set_ylabel("relative error of f'(1.5)")
handles, labels = axes[0].get_legend_handles_labels()
handles.append(plt.Line2D([], [], color="grey", lw=0.8, ls="--"))
labels.append("default step of each scheme (same colour)")
fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False)  # below the axes: it hides no arm
fig.suptitle("The V curve of f(x) = exp(x)/x² at x = 1.5: round-off (left arm) against truncation (right arm)")
fig.tight_layout(rect=(0, 0.08, 1, 1))
plt.show()

# %% [markdown]
# Fitting a line to each arm (float64) measures its slope; the theory says $+p$ on the right
# (truncation) and $-1$ on the left (round-off). The check prints what it found:

# %%
for s in schemes:
    e = curves[(s, jnp.float64)]
    h_star = fd.default_step(s, jnp.float64)
    right = (hs > 10 * h_star) & (e > 1e-13)
    left = (hs < h_star / 30) & np.isfinite(e) & (e > 0)
    slope_r = np.polyfit(np.log10(hs[right]), np.log10(e[right]), 1)[0] if right.sum() > 1 else np.nan
    slope_l = np.polyfit(np.log10(hs[left]), np.log10(e[left]), 1)[0] if left.sum() > 1 else np.nan
    print(f"{s:9s} truncation slope {slope_r:5.2f} (theory {fd.order(s)}),  round-off slope {slope_l:5.2f} (theory -1)")
    claim(abs(slope_r - fd.order(s)) < 0.5 and abs(slope_l + 1) < 0.5,
          f"{s}: both arms within 0.5 of their theoretical slopes", found=f"{slope_r:.2f} and {slope_l:.2f}",
          why="truncation error ~ h^p, round-off ~ eps/h")

# %% [markdown]
# ## Choosing h
#
# Balancing $h^p$ against $\varepsilon/h$ gives $h^* \approx \varepsilon^{1/(p+1)}$ (times
# the scale of $x$): $\sqrt\varepsilon$ for forward, $\varepsilon^{1/3}$ for central. That is
# what `finite_diff` uses when you give no step (the dashed lines above, one per scheme in its colour).
#
# The rule of thumb drops a constant. Minimising the error model exactly, e.g. for central
# differences $E(h) = \frac{h^2}{6}|f'''| + \frac{\varepsilon|f|}{h}$, gives
# $h^* = \big(3\varepsilon\,|f|/|f'''|\big)^{1/3}$: the best step depends on the function's
# scale and its higher derivatives, which `finite_diff` cannot know without extra
# evaluations. The table computes the model for $f = e^x/x^2$ at 1.5 (the derivatives by
# JAX) and compares three errors: the one at the default step, the model's $E$ at that step,
# and the lowest error found anywhere on the grid.
#
# The grid's lowest point is *not* a fair yardstick. $\varepsilon|f|/h$ is a **bound** on the
# round-off: real rounding errors partly cancel, so near the bottom of the V the measured
# error jumps up and down from one $h$ to the next, and the lowest of many noisy points can
# be a lucky dip far below the model. The sound claim is about the model: the default
# step's error stays under the model's bound $E$ at that step (times 2, for the rounding
# inside $f$ itself), and $E$ at the default step is within a small factor of $E$'s own
# minimum, whatever the grid.

# %%
derivs = [f]
for _ in range(5):
    derivs.append(jax.grad(derivs[-1]))
size = [abs(float(d(x0))) for d in derivs]  # |f|, |f'|, ..., |f^(5)| at x0
# the error model: truncation c_t h^p |f^(p+1)| + round-off c_r eps |f| / h (c_r: half the stencil's sum of |weights|)
model = {"forward": (1 / 2, 1.0), "central": (1 / 6, 1.0), "central4": (1 / 30, 1.5)}


def model_error(s, eps, h):  # relative to |f'(x0)|
    c_t, c_r = model[s]
    p = fd.order(s)
    return (c_t * h**p * size[p + 1] + c_r * eps * size[0] / h) / abs(exact)


fine = np.logspace(-14, 0, 3000)
table = []
for (s, dtype), e in curves.items():
    eps = float(jnp.finfo(dtype).eps)
    h_default = fd.default_step(s, dtype) * max(1.0, x0)
    at_default = abs(float(fd.grad(f, scheme=s)(jnp.asarray(x0, dtype))) - exact) / abs(exact)
    table.append({"scheme": s, "dtype": jnp.dtype(dtype).name, "h_default": h_default,
                  "h_model": fine[np.argmin(model_error(s, eps, fine))], "h_grid": hs[np.nanargmin(e)],
                  "at_default": at_default, "model_at_default": model_error(s, eps, h_default),
                  "model_min": model_error(s, eps, fine).min(), "grid_min": np.nanmin(e)})
print(f"{'scheme':9s} {'dtype':8s} {'default h':>10s} {'model best h':>12s} {'grid best h':>11s}"
      f" {'error at default':>16s} {'model E there':>13s} {'model min E':>11s} {'grid min':>9s}")
for r in table:
    print(f"{r['scheme']:9s} {r['dtype']:8s} {r['h_default']:10.1e} {r['h_model']:12.1e} {r['h_grid']:11.1e}"
          f" {r['at_default']:16.1e} {r['model_at_default']:13.1e} {r['model_min']:11.1e} {r['grid_min']:9.1e}")
for r in table:
    claim(r["at_default"] <= 2 * r["model_at_default"] and r["model_at_default"] <= 3 * r["model_min"],
          f"{r['scheme']} {r['dtype']}: the default step's error is under the model's bound, "
          "and the bound there is within 3× of its minimum",
          found=f"{num(r['at_default'], 2)} ≤ 2 × {num(r['model_at_default'], 2)}; "
                f"{num(r['model_at_default'], 2)} ≤ 3 × {num(r['model_min'], 2)}",
          why="round-off is at most about eps|f|/h per evaluation; h = eps^(1/(p+1)) balances the two terms")
dip = max(table, key=lambda r: r["at_default"] / r["grid_min"])
say(f"The largest gap between the default step's error and the grid's lowest point is {dip['scheme']} in "
    f"{dip['dtype']}: {num(dip['at_default'], 2)} against {num(dip['grid_min'], 2)} at h = {num(dip['h_grid'], 2)} "
    f"({num(dip['at_default'] / dip['grid_min'], 2)}×). The model's minimum there is {num(dip['model_min'], 2)}, "
    + (f"so the grid's point is a dip {num(dip['model_min'] / dip['grid_min'], 2)}× below the model's bound, "
       "which no rule for choosing h could aim for."
       if dip["grid_min"] < dip["model_min"] else "so on this grid even the best point does not beat the model."))

# %% [markdown]
# **Predict, then run.** In float32 the central scheme's default step at $x = 1.5$ is
# $1.5\,\varepsilon_{32}^{1/3} \approx 7\cdot 10^{-3}$. If you take the *float64* default step
# ($1.5\,\varepsilon_{64}^{1/3} \approx 9\cdot 10^{-6}$) in float32 instead, will the error be smaller or larger, and by
# roughly how much? Write your guess down, then run the next cell.

# %%
h64 = fd.default_step("central", jnp.float64) * x0
x32 = jnp.asarray(x0, jnp.float32)
err_own = abs(float(fd.grad(f, scheme="central")(x32)) - exact) / abs(exact)
err_64 = abs(float(fd.grad(f, scheme="central", step=h64)(x32)) - exact) / abs(exact)
print(f"float32, central: its own default step {num(fd.default_step('central', jnp.float32) * x0)} → error "
      f"{err_own:.1e};  float64's step {num(h64)} → error {err_64:.1e}  ({num(err_64 / err_own, 2)}×)")

# %% jupyter={"source_hidden": true} tags=["hide-input"]
say(f"*Answer.* {'Larger' if err_64 > err_own else 'Smaller'}: {num(err_64, 2)} against {num(err_own, 2)} "
    f"({num(err_64 / err_own, 2)}×). float64's step is "
    f"{num(fd.default_step('central', jnp.float32) / fd.default_step('central', jnp.float64), 2)}× "
    "smaller than float32's, which moves it out along float32's left arm, where round-off grows like ε/h "
    "and truncation no longer helps. The best step depends on the precision, which is why `finite_diff` "
    "chooses it from the dtype.")

# %% [markdown]
# ## The complex step
#
# For an analytic $f$, $f(x + ih) = f(x) + ih f'(x) - h^2 f''(x)/2 + \dots$, so
# $f'(x) \approx \operatorname{Im} f(x+ih)/h$ with **no subtraction**: no round-off arm,
# and $h$ can be tiny. (It needs $f$ to accept complex numbers: no `abs`, `max` or comparisons.)

# %%
for h in [1e-4, 1e-8, 1e-20, 1e-100, 1e-200]:
    q = float(fd.grad(f, scheme="complex", step=h)(x0))
    print(f"h = {h:7.0e}   complex step rel. error {abs(q - exact) / abs(exact):.1e}")

# %% [markdown]
# ## Richardson extrapolation
#
# Central differences at $h, h/2, h/4, \dots$ have errors $c_1h^2 + c_2h^4 + \dots$;
# combining them cancels the leading terms (Ridders' tableau) and reaches nearly full
# precision with real arithmetic.

# %%
for scheme in ["forward", "central", "central4", "richardson", "complex"]:
    q = float(fd.grad(f, scheme=scheme)(x0))
    print(f"{scheme:10s} default step: rel. error {abs(q - exact) / abs(exact):.1e}, "
          f"evaluations of f for one derivative: {fd.evaluations(scheme, 1)}")

# %% [markdown]
# ## A gradient costs n + 1 evaluations
#
# For $F:\mathbb R^n\to\mathbb R$ the forward-difference gradient perturbs each input in
# turn: $n$ perturbed evaluations plus $F(x_0)$ itself, **n + 1** (central: $2n$ perturbed
# points). We record every point at which $f$ is evaluated. (`finite_diff` first tries to
# batch the points into one compiled call; the `float(...)` below is value-dependent
# control flow, so it falls back to one Python call per point, which we can watch.)

# %%
points = []


def rosenbrock_recorded(x):
    if float(dnp.sum(x)) > 1e300:  # never true; makes f value-dependent
        return dnp.sum(x)
    points.append(tuple(np.asarray(x).tolist()))
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


print(f"{'n':>5}  {'forward: points':>15}  {'n + 1':>6}  {'central: points besides x0':>26}  {'2n':>5}")
for n in [2, 5] + ([] if SMALL else [10, 50]):
    x = jnp.linspace(-1.0, 1.5, n)
    x_point = tuple(np.asarray(x).tolist())
    points.clear()
    fd.grad(rosenbrock_recorded, scheme="forward")(x)
    n_fwd = len(set(points))
    points.clear()
    fd.grad(rosenbrock_recorded, scheme="central")(x)
    n_cen = len(set(points) - {x_point})
    print(f"{n:5d}  {n_fwd:15d}  {n + 1:6d}  {n_cen:26d}  {2 * n:5d}")
    claim(n_fwd == fd.evaluations("forward", n) and n_cen == fd.evaluations("central", n),
          f"n = {n}: the points counted are the n + 1 and 2n that finite_diff.evaluations states")

# %% [markdown]
# With $n$ in the millions (a network's weights) that is hopeless: "one should not use
# finite differences to compute the gradient of a scalar-valued objective". Reverse mode
# (notebook 04) gets the same gradient for a few evaluations' worth of work. Finite
# differences stay useful as an independent check: `diffcompare.check` compares every
# method, finite differences included, with JAX.

# %%
x_check = jnp.linspace(-1.0, 1.5, 6)
report = diffcompare.check(lambda x: dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2), x_check,
                           methods=["finite_diff"], options={"finite_diff": {"scheme": "central"}})
print(report)
claim(report.passed, "central differences agree with jax.grad within the check's tolerance")

# %% [markdown]
# ## Exercises
#
# **Predict, then run.** The complex step has no round-off arm. At $h = 10^{-100}$, what
# relative error do you expect for $f'(1.5)$ in float64, and how many evaluations of $f$
# does it take?

# %%
q = float(fd.grad(f, scheme="complex", step=1e-100)(x0))
print(f"complex step, h = 1e-100: relative error {abs(q - exact) / abs(exact):.1e}, "
      f"evaluations: {fd.evaluations('complex', 1)}")

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* Rounding level (about $10^{-16}$) from **one** evaluation of $f$ at the complex
# point $x + ih$: nothing is subtracted, so a tiny $h$ costs nothing, and the truncation error
# $h^2 f'''/6$ is about $10^{-200}$.

# %% [markdown]
# **Predict, then run.** Forward differences for a gradient in $n = 1000$ inputs: how many
# evaluations of $f$? And central differences?

# %%
print("forward:", fd.evaluations("forward", 1000), "  central:", fd.evaluations("central", 1000))

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* $n + 1 = 1001$ and $2n = 2000$: every input is perturbed on its own (once for
# forward, twice for central), plus $f(x)$ itself for the forward scheme.

# %% [markdown]
# **Try it on your own function.** `fd_step.sweep(f, x)` runs the step sweep on any
# scalar function you write with `diffcompare.numpy` and returns one row per scheme and
# step. Change `my_f` and `my_x` (an array works too; `dtype="float32"` repeats it in single
# precision) and look where the V of each scheme bottoms out.

# %%
from diffcompare.experiments import fd_step


def my_f(x):
    return dnp.sin(x) * dnp.exp(-(x**2))


my_x = 0.8
sweep_rows = fd_step.sweep(my_f, my_x, schemes=("forward", "central", "central4"))
fig, ax = plt.subplots(figsize=(6, 4))
for s in ("forward", "central", "central4"):
    mine = [(r["h"], r["rel_error"]) for r in sweep_rows if r["scheme"] == s and np.isfinite(r["rel_error"])]
    ax.loglog(*zip(*mine), "o-", ms=3, label=s)
    h_best, e_best = min(mine, key=lambda he: he[1])
    print(f"{s:9s} lowest error {e_best:.1e} at h = {h_best:.1e}")
ax.set(xlabel="step h", ylabel="relative error of the gradient", title="fd_step.sweep on my_f")
ax.legend()
plt.show()
