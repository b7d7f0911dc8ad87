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

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, dtype in zip(axes, (jnp.float64, jnp.float32)):
    for s in schemes:
        ax.loglog(hs, curves[(s, dtype)], "o-", ms=3, label=s)
        ax.axvline(fd.default_step(s, dtype) * x0, color="grey", lw=0.5, ls="--",
                   label="default step h* of each scheme" if s == schemes[0] else None)
    ax.set(title=f"{jnp.dtype(dtype).name}: error of f'(1.5)", xlabel="step h", ylabel="relative error")
    ax.legend()
plt.show()

# %% [markdown]
# The slopes of the two arms are the theory: $+p$ on the right (truncation), $-1$ on the
# left (round-off).

# %%
for s in schemes:
    e = curves[(s, jnp.float64)]
    h_star = fd.default_step(s, jnp.float64)
    right = (hs > 10 * h_star) & (e > 1e-13)
    left = (hs < h_star / 30) & np.isfinite(e) & (e > 0)
    slope_r = np.polyfit(np.log10(hs[right]), np.log10(e[right]), 1)[0] if right.sum() > 1 else np.nan
    slope_l = np.polyfit(np.log10(hs[left]), np.log10(e[left]), 1)[0] if left.sum() > 1 else np.nan
    print(f"{s:9s} truncation slope {slope_r:5.2f} (theory {fd.order(s)}),  round-off slope {slope_l:5.2f} (theory -1)")

# %% [markdown]
# ## Choosing h
#
# Balancing $h^p$ against $\varepsilon/h$ gives $h^* \approx \varepsilon^{1/(p+1)}$ (times
# the scale of $x$): $\sqrt\varepsilon$ for forward, $\varepsilon^{1/3}$ for central. That is
# what `finite_diff` uses when you give no step (the dashed grey lines above).
#
# The rule of thumb drops a constant. Minimising the error model exactly, e.g. for central
# differences $\frac{h^2}{6}|f'''| + \frac{\varepsilon|f|}{h}$, gives
# $h^* = \big(3\varepsilon\,|f|/|f'''|\big)^{1/3}$: the best step depends on the function's
# scale and its higher derivatives, which `finite_diff` cannot know without extra
# evaluations. The table computes that constant for $f = e^x/x^2$ at 1.5 (the derivatives
# by JAX). Even so, the measured best step on the grid can sit up to about ten times lower:
# $\varepsilon|f|/h$ is a *bound* on the round-off (real rounding errors partly cancel), so the
# bottom of the V is flat and noisy and its lowest grid point wanders along it. What matters
# is the error, and the last column shows that the default step's error is within a small
# factor of the best error found on the whole grid:

# %%
derivs = [f]
for _ in range(5):
    derivs.append(jax.grad(derivs[-1]))
size = [abs(float(d(x0))) for d in derivs]  # |f|, |f'|, ..., |f^(5)| at x0
# the exact minimiser of truncation + round-off, per scheme: (constant · eps · |f| / |f^(p+1)|)^(1/(p+1))
with_constant = {"forward": lambda eps: 2 * np.sqrt(eps * size[0] / size[2]),
                 "central": lambda eps: (3 * eps * size[0] / size[3]) ** (1 / 3),
                 "central4": lambda eps: (45 * eps * size[0] / (4 * size[5])) ** (1 / 5)}
print(f"{'scheme':9s} {'dtype':8s} {'eps^(1/(p+1))·x':>16s} {'with constant':>14s} {'best h (grid)':>14s}"
      f" {'best error':>11s} {'error at default h':>19s} {'ratio':>6s}")
for (s, dtype), e in curves.items():
    eps = float(jnp.finfo(dtype).eps)
    theory = fd.default_step(s, dtype) * max(1.0, x0)
    best = hs[np.nanargmin(e)]
    at_default = abs(float(fd.grad(f, scheme=s)(jnp.asarray(x0, dtype))) - exact) / abs(exact)
    ratio = at_default / np.nanmin(e)
    print(f"{s:9s} {jnp.dtype(dtype).name:8s} {theory:16.1e} {with_constant[s](eps):14.1e} {best:14.1e}"
          f" {np.nanmin(e):11.1e} {at_default:19.1e} {ratio:6.1f}")
    assert best <= 3 * theory and ratio < 30  # best steps at or below h*; the default's error close to the best

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
    assert n_fwd == fd.evaluations("forward", n) and n_cen == fd.evaluations("central", n)
    print(f"{n:5d}  {n_fwd:15d}  {n + 1:6d}  {n_cen:26d}  {2 * n:5d}")

# %% [markdown]
# With $n$ in the millions (a network's weights) that is hopeless: "one should not use
# finite differences to compute the gradient of a scalar-valued objective". Reverse mode
# (notebook 04) gets the same gradient for a few evaluations' worth of work. Finite
# differences stay useful as an independent check: `diffcompare.check` compares every
# method, finite differences included, with JAX.

# %%
x = jnp.linspace(-1.0, 1.5, 6)
report = diffcompare.check(lambda x: dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2), x,
                           methods=["finite_diff"], options={"finite_diff": {"scheme": "central"}})
print(report)
assert report.passed
