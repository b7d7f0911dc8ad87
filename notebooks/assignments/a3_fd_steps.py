# %% [markdown]
# # Assignment 3: choosing finite-difference steps (10 points)
#
# A difference quotient has two errors: truncation, which shrinks with the step
# $h$ like $h^p$, and round-off, which grows like $\varepsilon/h$. Plotted on log
# axes the total error is a V. You will measure the V and explain it.
#
# The function is the course's running example $f(x) = e^x/x^2$ at $x = 1.5$,
# with $f'(x) = e^x (x - 2)/x^3$.

# %%
import jax.numpy as jnp
import numpy as np

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import finite_diff as fd

diffcompare.enable_x64()


def f(x):
    return dnp.exp(x) / x**2


def df(x):
    return np.exp(x) * (x - 2) / x**3


x0 = 1.5
EPS = np.finfo(np.float64).eps
hs = np.logspace(-14, -1, 40)

# %% [markdown]
# ## Task 3.1 (2 points): the two quotients
#
# Write `forward_difference(f, x, h)` $= (f(x+h) - f(x))/h$ and
# `central_difference(f, x, h)` $= (f(x+h) - f(x-h))/(2h)$.

# %%
def forward_difference(f, x, h):
    # BEGIN SOLUTION
    return (f(x + h) - f(x)) / h
    # END SOLUTION


def central_difference(f, x, h):
    # BEGIN SOLUTION
    return (f(x + h) - f(x - h)) / (2 * h)
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 3.1 (1 point)
assert np.isclose(forward_difference(f, x0, 1e-3), fd.grad(f, scheme="forward", step=1e-3)(x0), rtol=1e-8)
diffcompare.check(f, x0, grad=lambda x: forward_difference(f, x, 1e-8), methods=[], projections=0,
                  tolerance=1e-6).raise_if_failed()

# %% tags=["hidden"]
# HIDDEN TEST Task 3.1 (1 point)
assert np.isclose(central_difference(f, x0, 1e-3), fd.grad(f, scheme="central", step=1e-3)(x0), rtol=1e-8)
diffcompare.check(f, x0, grad=lambda x: central_difference(f, x, 6e-6), methods=[], projections=0,
                  tolerance=1e-9).raise_if_failed()

# %% [markdown]
# ## Task 3.2 (3 points): measure the V
#
# `errors(quotient)` returns the relative error $|q(h) - f'(x_0)|/|f'(x_0)|$ for every
# `h` in `hs`, as a NumPy array.

# %%
def errors(quotient):
    # BEGIN SOLUTION
    exact = df(x0)
    return np.array([abs(float(quotient(f, x0, h)) - exact) / abs(exact) for h in hs])
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 3.2 (3 points)
e_fwd, e_cen = errors(forward_difference), errors(central_difference)
assert e_fwd.shape == hs.shape and e_cen.shape == hs.shape
exact = df(x0)
ref = np.array([abs(float((f(x0 + h) - f(x0 - h)) / (2 * h)) - exact) / abs(exact) for h in hs])
assert np.allclose(e_cen, ref, rtol=1e-6)
assert e_cen.min() < 1e-9 and e_fwd.min() < 1e-7

# %% [markdown]
# ## Task 3.3 (3 points): the best step, in theory and measured
#
# Truncation $\propto h^p$ and round-off $\propto \varepsilon/h$ balance at
# $h^* \approx \varepsilon^{1/(p+1)}$. Write `theory_step(p, eps)` and
# `measured_best_step(errs)` (the `h` in `hs` with the smallest error).

# %%
def theory_step(p, eps=EPS):
    # BEGIN SOLUTION
    return eps ** (1.0 / (p + 1))
    # END SOLUTION


def measured_best_step(errs):
    # BEGIN SOLUTION
    return hs[int(np.argmin(errs))]
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 3.3 (1 point)
assert np.isclose(theory_step(1), fd.default_step("forward", jnp.float64), rtol=1e-12)
assert np.isclose(theory_step(2), fd.default_step("central", jnp.float64), rtol=1e-12)

# %% tags=["hidden"]
# HIDDEN TEST Task 3.3 (2 points)
for quotient, p in [(forward_difference, 1), (central_difference, 2)]:
    h_best = measured_best_step(errors(quotient))
    assert h_best in hs
    assert abs(np.log10(h_best) - np.log10(theory_step(p))) < 1.5, (h_best, theory_step(p))

# %% [markdown]
# ## Task 3.4 (2 points): explain the V from its slopes
#
# Fit straight lines to $\log_{10}$ error against $\log_{10} h$ on the two arms:
# `slopes(errs, p)` returns `(truncation_slope, roundoff_slope)`, fitted on
# $h > 10\,h^*$ and on $h < h^*/10$ with $h^*$ = `theory_step(p)`.
# Then say in the markdown cell below what the two numbers mean.

# %%
def slopes(errs, p):
    # BEGIN SOLUTION
    h_star = theory_step(p)
    right = (hs > 10 * h_star) & (errs > 0)
    left = (hs < h_star / 10) & (errs > 0)
    trunc = np.polyfit(np.log10(hs[right]), np.log10(errs[right]), 1)[0]
    rounding = np.polyfit(np.log10(hs[left]), np.log10(errs[left]), 1)[0]
    return trunc, rounding
    # END SOLUTION


# %% [markdown]
# *Your explanation (not auto-graded):* the right arm's slope is the order $p$ of the
# scheme (truncation error $\propto h^p$); the left arm's slope is about $-1$
# (round-off $\varepsilon|f|/h$). Their crossing is the best step.

# %% tags=["hidden"]
# HIDDEN TEST Task 3.4 (2 points)
t1, r1 = slopes(errors(forward_difference), 1)
t2, r2 = slopes(errors(central_difference), 2)
assert abs(t1 - 1) < 0.3 and abs(t2 - 2) < 0.3, (t1, t2)
assert abs(r1 + 1) < 0.4 and abs(r2 + 1) < 0.4, (r1, r2)
