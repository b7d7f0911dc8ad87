# %% [markdown]
# # Assignment 2: VJP rules for a network's layers (10 points)
#
# Reverse mode needs, for every layer $z = f(x)$, its vector-Jacobian product
# $u \mapsto u^\top J_f(x)$. The course derives three of them:
#
# * linear layer $z = Wx$: $u^\top W$ for $x$ and $u x^\top$ for $W$;
# * elementwise nonlinearity $z = \varphi(x)$: $u \odot \varphi'(x)$ (ReLU: $\varphi' = H(x)$, 0 at 0);
# * softmax cross-entropy $z = -\sum_c y_c \log p_c$: $(p - y)$ times the incoming scalar.
#
# You write them, plug them into the reverse engine with `rev.custom_vjp`, and
# the gradient checker `diffcompare.check` compares the result with JAX.

# %%
import jax
import jax.numpy as jnp
import numpy as np

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import reverse as rev

diffcompare.enable_x64()
rng = np.random.default_rng(1)

# %% [markdown]
# ## Task 2.1 (3 points): the linear layer
#
# `linear_vjp(W, x, u)` returns `(grad_W, grad_x)` for `z = W @ x` (W: m×n, x: n, u: m).

# %%
def linear_vjp(W, x, u):
    # BEGIN SOLUTION
    return dnp.outer(u, x), W.T @ u
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 2.1 (1 point)
W, x, u = (jnp.asarray(rng.normal(size=s)) for s in [(3, 4), (4,), (3,)])
_, pullback = jax.vjp(lambda W, x: W @ x, W, x)
gW, gx = linear_vjp(W, x, u)
ref_W, ref_x = pullback(u)
assert np.allclose(gW, ref_W, rtol=1e-12) and np.allclose(gx, ref_x, rtol=1e-12)

# %% tags=["hidden"]
# HIDDEN TEST Task 2.1 (2 points)
@rev.custom_vjp
def linear(W, x):
    return W @ x


linear.defvjp(lambda W, x: (W @ x, (W, x)), lambda res, u: linear_vjp(*res, u))
W, x = jnp.asarray(rng.normal(size=(5, 3))), jnp.asarray(rng.normal(size=3))
diffcompare.check(lambda W, x: dnp.sum(dnp.tanh(W @ x)), W, x, argnums=(0, 1), methods=[], projections=0,
                  grad=rev.grad(lambda W, x: dnp.sum(dnp.tanh(linear(W, x))), argnums=(0, 1))).raise_if_failed()

# %% [markdown]
# ## Task 2.2 (3 points): ReLU
#
# `relu_vjp(x, u)` returns $u \odot H(x)$ with $H(0) = 0$ (JAX's convention, the course's choice).

# %%
def relu_vjp(x, u):
    # BEGIN SOLUTION
    return dnp.where(x > 0, u, 0.0)
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 2.2 (2 points)
x = jnp.asarray(rng.normal(size=8))
u = jnp.asarray(rng.normal(size=8))
assert np.allclose(relu_vjp(x, u), jax.vjp(jax.nn.relu, x)[1](u)[0], rtol=1e-12)

# %% tags=["hidden"]
# HIDDEN TEST Task 2.2 (1 point)
x = jnp.asarray([-1.0, 0.0, 2.0])
assert np.allclose(relu_vjp(x, jnp.ones(3)), [0.0, 0.0, 1.0])

# %% [markdown]
# ## Task 2.3 (2 points): softmax cross-entropy
#
# `xent_vjp(logits, y, g)` for $z = -\sum_c y_c \log \mathrm{softmax}(x)_c$ (one example, `y` one-hot):
# the cotangent of the logits, given the scalar cotangent `g` of `z`.

# %%
def xent(logits, y):
    return -dnp.sum(y * dnp.log_softmax(logits))


def xent_vjp(logits, y, g):
    # BEGIN SOLUTION
    return g * (dnp.softmax(logits) - y)
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 2.3 (2 points)
@rev.custom_vjp
def xent_custom(logits, y):
    return xent(logits, y)


xent_custom.defvjp(lambda x, y: (xent(x, y), (x, y)), lambda res, g: (xent_vjp(res[0], res[1], g), None))
logits = jnp.asarray(rng.normal(size=6))
y = jax.nn.one_hot(2, 6, dtype=jnp.float64)
diffcompare.check(xent, logits, y, methods=[], projections=0, grad=rev.grad(xent_custom)).raise_if_failed()

# %% [markdown]
# ## Task 2.4 (2 points): backpropagation through the MLP by hand
#
# For $\mathcal L = -\sum_c y_c \log \mathrm{softmax}(W_2\,\mathrm{relu}(W_1 x))_c$ return
# `(grad_W1, grad_W2)` using only your three VJPs (the course's "putting it all together":
# $u_2 = p - y$, $u_1 = (W_2^\top u_2) \odot H(W_1 x)$, $\nabla W_2 = u_2 x_3^\top$, $\nabla W_1 = u_1 x^\top$).

# %%
def mlp_loss(W1, W2, x, y):
    return xent(W2 @ dnp.relu(W1 @ x), y)


def mlp_grads(W1, W2, x, y):
    # BEGIN SOLUTION
    x2 = W1 @ x
    x3 = dnp.relu(x2)
    x4 = W2 @ x3
    u2 = xent_vjp(x4, y, 1.0)
    gW2, u3 = linear_vjp(W2, x3, u2)
    u1 = relu_vjp(x2, u3)
    gW1, _ = linear_vjp(W1, x, u1)
    return gW1, gW2
    # END SOLUTION


# %% tags=["hidden"]
# HIDDEN TEST Task 2.4 (2 points)
W1, W2 = jnp.asarray(rng.normal(size=(7, 5))), jnp.asarray(rng.normal(size=(4, 7)))
x, y = jnp.asarray(rng.normal(size=5)), jax.nn.one_hot(1, 4, dtype=jnp.float64)
diffcompare.check(mlp_loss, W1, W2, x, y, argnums=(0, 1), methods=[], projections=0,
                  grad=mlp_grads).raise_if_failed()
