# %% [markdown]
# # 06 · Higher order: Hessians and Hessian-vector products
#
# Because every engine's rules are written with `diffcompare.numpy`, a rule applied to
# another engine's values is itself differentiated: forward over reverse, reverse over
# reverse and forward over forward come for free. This notebook computes Hessians each way,
# Hessian-vector products by **forward over reverse** (Pearlmutter's trick), and counts
# what they cost.

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version

# %%
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import METHODS
from diffcompare import forward as fwd
from diffcompare import reverse as rev
from diffcompare.prose import claim, num, say


def rosenbrock(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


x = jnp.asarray([-1.2, 1.0, 0.8, 1.5, 0.3])

# %% [markdown]
# ## The Hessian, by every method
#
# Finite differences of finite differences lose half the digits (the inner gradient's
# error is divided by $h$ again); the automatic methods are exact up to rounding.

# %%
H_ref = jax.hessian(rosenbrock)(x)
for name, method in METHODS.items():
    H = method.hessian(rosenbrock)(x)
    err = float(jnp.max(jnp.abs(H - H_ref)) / jnp.max(jnp.abs(H_ref)))
    print(f"{name:12s} relative error {err:.1e}")
    claim(err < (1e-4 if name == "finite_diff" else 1e-12),
          f"{name}: error below {'1e-4 (half the digits)' if name == 'finite_diff' else '1e-12 (rounding)'}",
          found=f"{err:.1e}")
print("\nH =\n", np.round(np.asarray(H_ref), 1))

# %% [markdown]
# ## Hessian-vector products: forward over reverse
#
# $Hv$ is the directional derivative of the gradient: $Hv = \frac{d}{d\varepsilon}\nabla f(x +
# \varepsilon v)\big|_{\varepsilon=0}$. So push a **dual number** $(x, v)$ through the
# **reverse-mode gradient**: the tape's nodes hold dual numbers, the backward sweep
# computes with them, and the tangent of the gradient is $Hv$, without ever forming $H$.

# %%
v = jnp.asarray([1.0, -2.0, 0.5, 0.0, 3.0])
hv = rev.hvp(rosenbrock)(x, v)
hv_by_hand = fwd.jvp(rev.grad(rosenbrock), (x,), (v,))[1]  # the same, spelled out
print("H v (forward over reverse):", hv)
print("H v (written out)         :", hv_by_hand)
print("H v (jax: jvp of grad)    :", jax.jvp(jax.grad(rosenbrock), (x,), (v,))[1])
claim(bool(jnp.allclose(hv, H_ref @ v, rtol=1e-12)) and bool(jnp.allclose(hv_by_hand, H_ref @ v, rtol=1e-12)),
      "forward over reverse gives H v, without forming H")

# %% [markdown]
# Other nestings reach the same $Hv$ differently. Reverse over reverse (the VJP of the
# gradient) gives $H^\top v = Hv$ (by symmetry) in one pass. Forward over forward does not:
# the inner JVP gives the directional derivative $\nabla f\cdot v$, a **scalar**, and the outer
# JVP in direction $w$ gives the second directional derivative $w^\top H v$, one number per
# pass. Taking $w = e_0, \dots, e_{n-1}$ gives $Hv$ entry by entry: $n$ passes for what forward
# over reverse does in one.

# %%
_, pullback = rev.vjp(rev.grad(rosenbrock), x)
print("reverse over reverse:", pullback(v)[0])


def directional(y):  # ∇f(y)·v by one forward pass
    return fwd.jvp(rosenbrock, (y,), (v,))[1]


one_entry = fwd.jvp(directional, (x,), (jnp.eye(5)[0],))[1]
print("forward over forward, one pass with w = e₀:", float(one_entry), "  (vᵀ H e₀ =", float(v @ H_ref[:, 0]), ")")
fof = jnp.stack([fwd.jvp(directional, (x,), (e,))[1] for e in jnp.eye(5)])
print("forward over forward, 5 passes (w = e₀ … e₄):", np.asarray(fof))
claim(bool(jnp.allclose(pullback(v)[0], H_ref @ v, rtol=1e-12)) and bool(jnp.allclose(fof, H_ref @ v, rtol=1e-12)),
      "reverse over reverse in one pass, and forward over forward in n passes, both give Hv")

# %% [markdown]
# ## Why they cost what they cost
#
# * A gradient costs a small constant $c$ times $f$ (reverse mode, notebook 04).
# * A Hessian-vector product is one forward-mode pass over that gradient computation: the
#   same operations, each on a (value, tangent) pair, so a constant factor more work than
#   the gradient: still $O(1)\cdot$ cost($f$), **independent of $n$**.
# * The full Hessian is $n$ Hessian-vector products (one per column $e_j$): $O(n)\cdot$
#   cost($f$), and $n^2$ numbers to store. Newton-type methods that only need $Hv$ (conjugate
#   gradients) therefore never form $H$.
#
# Counting first, which no machine changes: the forward engine counts its passes and the
# primitive operations it evaluates (each with its tangent rule) while it differentiates the
# reverse-mode gradient.

# %%
print(f"{'n':>5s} {'HVP: passes':>12s} {'HVP: primitives':>16s} {'Hessian: passes':>16s} {'Hessian: primitives':>20s}")
counted = []
for n in [4, 16, 64] + ([] if SMALL else [128]):
    xn, vn = jnp.linspace(-1.0, 1.5, n), jnp.ones(n)
    with fwd.counting() as c_hvp:
        rev.hvp(rosenbrock)(xn, vn)
    with fwd.counting() as c_hess:
        fwd.jacobian(rev.grad(rosenbrock), mode="passes")(xn)
    counted.append((n, c_hvp.passes, c_hvp.primitives, c_hess.passes, c_hess.primitives))
    print(f"{n:5d} {c_hvp.passes:12d} {c_hvp.primitives:16d} {c_hess.passes:16d} {c_hess.primitives:20d}")
claim(len({row[2] for row in counted}) == 1 and all(row[3] == row[0] for row in counted),
      "an HVP evaluates the same number of primitives at every n; the Hessian takes n passes",
      found=f"HVP primitives {sorted({row[2] for row in counted})}, Hessian passes {[row[3] for row in counted]}")

# %% [markdown]
# Each primitive here is an array operation whose work grows with $n$, as $f$'s does; so the
# HVP is a fixed number of passes over arrays of size $n$, like $f$ itself, and the Hessian
# $n$ times that. The clock, measured against the engine's own gradient (the engines run
# eagerly in Python, so `f` on plain JAX arrays is not a fair unit; the gradient, run by the
# same engine, is). The ratios are shown as measured on the machine named below; they move
# from run to run:

# %%
def timed(fn, *args, repeat=3):
    fn(*args)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, JAX on {jax.devices()[0].platform}"
print(f"best of 3 eager calls, measured on {machine}")
print(f"{'n':>5s} {'hvp/grad':>9s} {'hessian/grad':>13s} {'hessian/hvp':>12s}")
measured = []
for n in [4, 8] + ([] if SMALL else [16, 64]):
    xn = jnp.linspace(-1.0, 1.5, n)
    vn = jnp.ones(n)
    # op by op (staged=False): the time follows the passes; a staged call compiles them into one program
    t_g = timed(rev.grad(rosenbrock, staged=False), xn)
    t_hvp = timed(rev.hvp(rosenbrock, staged=False), xn, vn)
    t_h = timed(fwd.jacobian(rev.grad(rosenbrock, staged=False), mode="passes", staged=False), xn,
                repeat=1)  # n forward-over-reverse passes
    measured.append((n, t_hvp / t_g, t_h / t_g))
    print(f"{n:5d} {t_hvp / t_g:9.1f} {t_h / t_g:13.1f} {t_h / t_hvp:12.1f}")
hvp_ratios, hess_ratios = [m[1] for m in measured], [m[2] for m in measured]
say(f"On this run an HVP took between {num(min(hvp_ratios), 2)} and {num(max(hvp_ratios), 2)} gradients' time for "
    f"n from {measured[0][0]} to {measured[-1][0]}, while the Hessian took {num(hess_ratios[0], 2)} gradients' time "
    f"at n = {measured[0][0]} and {num(hess_ratios[-1], 2)} at n = {measured[-1][0]}"
    + (" (it grew with n, as the pass count says)." if hess_ratios[-1] > hess_ratios[0]
       else " (on this run the clock did not show the growth the pass count predicts)."))

# %%
with fwd.counting() as c:
    H = fwd.jacobian(rev.grad(rosenbrock), mode="passes")(x)
print("forward passes over the gradient for a 5×5 Hessian:", c.passes)
claim(c.passes == 5 and bool(jnp.allclose(H, H_ref)), "5 passes give the 5×5 Hessian", found=f"{c.passes} passes")

# %%
report = diffcompare.check(rosenbrock, x, methods=["reverse", "forward"])
print(report)
claim(report.passed, "reverse and forward mode agree with JAX on the Rosenbrock function")

# %% [markdown]
# ## Exercises
#
# **Predict, then run.** For $f(x) = \tfrac12 x^\top A x$ with a symmetric $A$, what is
# $Hv$? Check your answer with `rev.hvp`.

# %%
A_sym = jnp.asarray([[2.0, -1.0, 0.0], [-1.0, 3.0, 0.5], [0.0, 0.5, 1.0]])
v_quad = jnp.asarray([1.0, 2.0, -1.0])
print("rev.hvp:", np.asarray(rev.hvp(lambda z: 0.5 * z @ (A_sym @ z))(jnp.ones(3), v_quad)))

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* $H = A$ everywhere (a quadratic has a constant Hessian), so $Hv = Av$, whatever
# the point: here $A v = (0, 4.5, 0)$.

# %% [markdown]
# **Predict, then run.** How many forward passes over the gradient does the Hessian of a
# function of 12 inputs take? And how many for 3 Hessian-vector products?

# %%
x12 = jnp.linspace(0.0, 1.0, 12)
with fwd.counting() as c12:
    fwd.jacobian(rev.grad(rosenbrock), mode="passes")(x12)
with fwd.counting() as c3:
    for k in range(3):
        rev.hvp(rosenbrock)(x12, jnp.eye(12)[k])
print("Hessian:", c12.passes, "passes;  3 HVPs:", c3.passes, "passes")

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* 12 and 3: one forward pass over the gradient per column of $H$ (the Hessian) or per
# vector $v$ (the HVPs). That is why methods that need only a few $Hv$ never form $H$.

# %% [markdown]
# **Try it on your own function.** Write any scalar function with `diffcompare.numpy`; the
# cell compares every method's Hessian with JAX's and one HVP by forward over reverse.

# %%
def my_function(z):
    return dnp.sum(dnp.sin(z) * z**2) + dnp.prod(dnp.cos(z))


z_mine, w_mine = jnp.asarray([0.3, -1.2, 0.8]), jnp.asarray([1.0, 0.0, -2.0])
H_mine = jax.hessian(my_function)(z_mine)
for name, method in METHODS.items():
    err = float(jnp.max(jnp.abs(method.hessian(my_function)(z_mine) - H_mine)))
    print(f"{name:12s} Hessian max |error| {err:.1e}")
print("HVP by forward over reverse, max |error|:",
      float(jnp.max(jnp.abs(rev.hvp(my_function)(z_mine, w_mine) - H_mine @ w_mine))))
