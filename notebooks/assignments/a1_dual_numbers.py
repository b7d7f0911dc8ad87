# %% [markdown]
# # Assignment 1: dual numbers and JVP rules (10 points)
#
# Forward mode carries a pair $(a, \dot a)$ through every operation. The course
# writes the pair as the matrix $\begin{bmatrix} a & \dot a \\ 0 & a \end{bmatrix}$:
# adding and multiplying these matrices *is* the sum and product rule.
# You will write rules for new functions and check them with `diffcompare.check`.
#
# Fill in every `raise NotImplementedError("Task N.M")`. Run the notebook top to
# bottom before you submit. Hidden tests give the points shown in each task.

# %%
import jax
import jax.numpy as jnp
import numpy as np

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import forward as fwd

diffcompare.enable_x64()
rng = np.random.default_rng(0)  # fixed seed: everyone gets the same points

# %% [markdown]
# ## Task 1.1 (2 points): products and quotients of pairs
#
# Write `dual_mul((x, xd), (y, yd))` and `dual_div((x, xd), (y, yd))` returning
# the pair of the product and of the quotient. Check yourself against the
# matrix form: `fwd.dual_matrix(x, xd) @ fwd.dual_matrix(y, yd)`.

# %%
def dual_mul(p, q):
    (x, xd), (y, yd) = p, q
    # BEGIN SOLUTION
    return x * y, xd * y + x * yd
    # END SOLUTION


def dual_div(p, q):
    (x, xd), (y, yd) = p, q
    # BEGIN SOLUTION
    return x / y, (xd * y - x * yd) / y**2
    # END SOLUTION


# %%
M = fwd.dual_matrix(2.0, 1.0) @ fwd.dual_matrix(3.0, -0.5)
print("matrix product:", fwd.from_matrix(M))

# %% tags=["hidden"]
# HIDDEN TEST Task 1.1 (1 point)
for _ in range(5):
    x, xd, y, yd = rng.normal(size=4)
    M = fwd.dual_matrix(x, xd) @ fwd.dual_matrix(y, yd)
    assert np.allclose(dual_mul((x, xd), (y, yd)), fwd.from_matrix(M), rtol=1e-12)

# %% tags=["hidden"]
# HIDDEN TEST Task 1.1 (1 point)
for _ in range(5):
    x, xd, y, yd = rng.normal(size=4)
    M = fwd.dual_matrix(x, xd) @ jnp.linalg.inv(fwd.dual_matrix(y, yd))
    assert np.allclose(dual_div((x, xd), (y, yd)), fwd.from_matrix(M), rtol=1e-10)

# %% [markdown]
# ## Task 1.2 (3 points): a JVP rule for softplus
#
# `softplus(x) = log(1 + exp(x))`. Give forward mode its rule: the tangent out is
# $\dot x \cdot \sigma(x)$. Complete the rule below (use `dnp`, so it works on arrays).

# %%
@fwd.custom_jvp
def softplus(x):
    return dnp.log1p(dnp.exp(x))


@softplus.defjvp
def softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    # BEGIN SOLUTION
    return softplus(x), t * dnp.sigmoid(x)
    # END SOLUTION


# %%
def softplus_reference(x):  # no custom rule: JAX differentiates the formula itself
    return dnp.sum(dnp.log1p(dnp.exp(x)))


x = jnp.asarray(rng.normal(size=5))
print(diffcompare.check(softplus_reference, x, grad=lambda x: fwd.grad(lambda x: dnp.sum(softplus(x)))(x),
                        methods=[], projections=0))

# %% tags=["hidden"]
# HIDDEN TEST Task 1.2 (2 points)
x = jnp.asarray(rng.normal(size=7))
diffcompare.check(softplus_reference, x, grad=lambda x: fwd.grad(lambda x: dnp.sum(softplus(x)))(x),
                  methods=[], projections=0).raise_if_failed()

# %% tags=["hidden"]
# HIDDEN TEST Task 1.2 (1 point)
out, t = fwd.jvp(softplus, (jnp.asarray([-30.0, 0.0, 30.0]),), (jnp.ones(3),))
assert np.allclose(t, jax.nn.sigmoid(jnp.asarray([-30.0, 0.0, 30.0])), rtol=1e-12)

# %% [markdown]
# ## Task 1.3 (3 points): a rule with two inputs
#
# `hypot(x, y) = sqrt(x² + y²)`. Its tangent is $(x\dot x + y\dot y)/\mathrm{hypot}(x, y)$.

# %%
@fwd.custom_jvp
def hypot(x, y):
    return dnp.sqrt(x**2 + y**2)


@hypot.defjvp
def hypot_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    # BEGIN SOLUTION
    r = hypot(x, y)
    return r, (x * tx + y * ty) / r
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 1.3 (3 points)
def hypot_reference(x, y):
    return dnp.sum(dnp.sqrt(x**2 + y**2))


x, y = jnp.asarray(rng.normal(size=4)), jnp.asarray(rng.normal(size=4))
diffcompare.check(hypot_reference, x, y, argnums=(0, 1), methods=[], projections=0,
                  grad=lambda x, y: fwd.grad(lambda x, y: dnp.sum(hypot(x, y)), argnums=(0, 1))(x, y)
                  ).raise_if_failed()

# %% [markdown]
# ## Task 1.4 (2 points): one pass per Jacobian column
#
# Build the Jacobian of `f: Rⁿ → Rᵐ` with `fwd.jvp`, one pass per basis vector
# $e_j$ (column $j$ is $J e_j$). Return an array of shape (m, n).

# %%
def jacobian_by_columns(f, x):
    # BEGIN SOLUTION
    cols = [fwd.jvp(f, (x,), (jnp.zeros_like(x).at[j].set(1.0),))[1] for j in range(x.shape[0])]
    return jnp.stack(cols, axis=1)
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 1.4 (2 points)
def g(x):
    return dnp.stack([dnp.sum(dnp.sin(x) * x), dnp.prod(x), dnp.sum(x**3)])


x = jnp.asarray(rng.normal(size=4))
with fwd.counting() as counts:
    J = jacobian_by_columns(g, x)
assert J.shape == (3, 4)
assert np.allclose(J, jax.jacfwd(g)(x), rtol=1e-12)
assert counts.passes == 4, counts
