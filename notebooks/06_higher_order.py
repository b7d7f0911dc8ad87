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
import time

import jax
import jax.numpy as jnp
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import METHODS
from diffcompare import forward as fwd
from diffcompare import reverse as rev


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
    assert err < (1e-4 if name == "finite_diff" else 1e-12)
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
assert jnp.allclose(hv, H_ref @ v, rtol=1e-12) and jnp.allclose(hv_by_hand, H_ref @ v, rtol=1e-12)

# %% [markdown]
# Other nestings give the same numbers: reverse over reverse (the VJP of the gradient,
# which is $H^\top v = Hv$ by symmetry) and forward over forward.

# %%
_, pullback = rev.vjp(rev.grad(rosenbrock), x)
print("reverse over reverse:", pullback(v)[0])
print("forward over forward:", fwd.jvp(lambda y: fwd.jvp(rosenbrock, (y,), (v,))[1], (x,), (jnp.eye(5)[0],))[1],
      " (= vᵀ H e₀ =", float(v @ H_ref[:, 0]), ")")

# %% [markdown]
# ## Why they cost what they cost
#
# * A gradient costs a small constant $c$ times $f$ (reverse mode, notebook 04).
# * A Hessian-vector product is one forward-mode pass over that gradient computation: each
#   value becomes a pair, so about $2$–$3\times$ the gradient: still $O(1)\cdot$ cost($f$),
#   **independent of $n$**.
# * The full Hessian is $n$ Hessian-vector products (one per column $e_j$): $O(n)\cdot$
#   cost($f$), and $n^2$ numbers to store. Newton-type methods that only need $Hv$ (conjugate
#   gradients) therefore never form $H$.
#
# We measure against the engine's own gradient (the engines run eagerly in Python, so
# `f` on plain JAX arrays is not a fair unit; the gradient, run by the same engine, is):

# %%
def timed(fn, *args, repeat=3):
    fn(*args)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


print(f"{'n':>5s} {'hvp/grad':>9s} {'hessian/grad':>13s} {'hessian/hvp':>12s}")
for n in [4, 8] + ([] if SMALL else [16, 64]):
    xn = jnp.linspace(-1.0, 1.5, n)
    vn = jnp.ones(n)
    # op by op (staged=False): the time follows the passes; a staged call compiles them into one program
    t_g = timed(rev.grad(rosenbrock, staged=False), xn)
    t_hvp = timed(rev.hvp(rosenbrock, staged=False), xn, vn)
    t_h = timed(fwd.jacobian(rev.grad(rosenbrock, staged=False), mode="passes", staged=False), xn,
                repeat=1)  # n forward-over-reverse passes
    print(f"{n:5d} {t_hvp / t_g:9.1f} {t_h / t_g:13.1f} {t_h / t_hvp:12.1f}")

# %% [markdown]
# The Hessian-vector product costs a constant number of gradients as $n$ grows; the
# Hessian's cost grows with $n$ (about $n$ Hessian-vector products).
#
# Counting passes makes the same point without a clock: the Hessian by forward over
# reverse is one forward-mode pass per column.

# %%
with fwd.counting() as c:
    H = fwd.jacobian(rev.grad(rosenbrock), mode="passes")(x)
print("forward passes over the gradient for a 5×5 Hessian:", c.passes)
assert c.passes == 5 and jnp.allclose(H, H_ref)

# %%
report = diffcompare.check(rosenbrock, x, methods=["reverse", "forward"])
print(report)
assert report.passed
