# %% [raw]
# # ASSIGNMENT CONFIG
# name: a2_vjp_rules
# init_cell: true
# check_all_cell: true
# export_cell: false
# run_tests: false
# solutions_pdf: false
# strip_solutions_from_all_cells: true
# tests:
#   ok_format: false
#   files: false

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
# You write them by hand: an answer that calls a ready-made derivative (`jax.vjp`,
# `jax.grad`, `diffcompare.reverse.vjp`, ...) gets no points for its task. Then plug
# them into the reverse engine with `rev.custom_vjp` and compare with JAX.
#
# Replace every `...` with your code; after each task run its check, e.g.
# `grader.check("task2_1")` (public tests; the grade comes from hidden tests on other inputs).

# %%
import jax
import jax.numpy as jnp
import numpy as np

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import reverse as rev

diffcompare.enable_x64()
rng = np.random.default_rng(1)

# %% [raw]
# # BEGIN QUESTION
# name: task2_1
# points: 3

# %% [markdown]
# ## Task 2.1 (3 points): the linear layer
#
# `linear_vjp(W, x, u)` returns `(grad_W, grad_x)` for `z = W @ x` (W: m×n, x: n, u: m).

# %%
def linear_vjp(W, x, u):
    # BEGIN SOLUTION
    return dnp.outer(u, x), W.T @ u
    # END SOLUTION


# %%
@rev.custom_vjp
def linear(W, x):
    return W @ x


linear.defvjp(lambda W, x: (W @ x, (W, x)), lambda res, u: linear_vjp(*res, u))
W, x = jnp.asarray(rng.normal(size=(5, 3))), jnp.asarray(rng.normal(size=3))
print(diffcompare.check(lambda W, x: dnp.sum(dnp.tanh(W @ x)), W, x, argnums=(0, 1), methods=[], projections=0,
                        grad=rev.grad(lambda W, x: dnp.sum(dnp.tanh(linear(W, x))), argnums=(0, 1))))

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_linear_vjp_small(linear_vjp):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written

    W, x, u = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([1.0, -1.0]), np.array([1.0, 0.0, 2.0])
    expect_close(hand_written(linear_vjp)(W, x, u), (np.outer(u, x), W.T @ u), call="linear_vjp(W, x, u)",
                 inputs={"W": W, "x": x, "u": u})

# %%
""" # BEGIN TEST CONFIG
points: 3
hidden: true
""" # END TEST CONFIG
def test_linear_vjp_against_jax(linear_vjp):
    import jax

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    for shape in [(3, 4), (1, 5), (6, 2)]:
        W, x, u = rng.normal(size=shape), rng.normal(size=shape[1]), rng.normal(size=shape[0])
        expected = jax.vjp(lambda W, x: W @ x, W, x)[1](u)
        expect_close(hand_written(linear_vjp)(W, x, u), expected, call="linear_vjp(W, x, u)",
                     inputs={"W": W, "x": x, "u": u}, rtol=1e-12)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task2_2
# points: 3

# %% [markdown]
# ## Task 2.2 (3 points): ReLU
#
# `relu_vjp(x, u)` returns $u \odot H(x)$ with $H(0) = 0$ (JAX's convention, the course's choice).

# %%
def relu_vjp(x, u):
    # BEGIN SOLUTION
    return dnp.where(x > 0, u, 0.0)
    # END SOLUTION


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_relu_vjp_small(relu_vjp):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written

    x, u = np.array([-2.0, 3.0]), np.array([5.0, 7.0])
    expect_close(hand_written(relu_vjp)(x, u), np.array([0.0, 7.0]), call="relu_vjp(x, u)", inputs={"x": x, "u": u})

# %%
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_relu_vjp_against_jax(relu_vjp):
    import jax

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    x, u = rng.normal(size=8), rng.normal(size=8)
    expected = jax.vjp(jax.nn.relu, x)[1](u)[0]
    expect_close(hand_written(relu_vjp)(x, u), expected, call="relu_vjp(x, u)", inputs={"x": x, "u": u}, rtol=1e-12)

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_relu_vjp_is_zero_at_zero(relu_vjp):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    x = rng.permutation(np.concatenate([[0.0, 0.0], -rng.uniform(0.1, 2, 2), rng.uniform(0.1, 2, 2)]))
    u = rng.normal(size=6)
    expect_close(hand_written(relu_vjp)(x, u), np.where(x > 0, u, 0.0), call="relu_vjp(x, u)",
                 inputs={"x": x, "u": u}, hint="The course's convention: H(0) = 0.")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task2_3
# points: 2

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


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_xent_vjp_uniform(xent_vjp):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written

    logits, y = np.zeros(4), np.array([0.0, 1.0, 0.0, 0.0])
    expect_close(hand_written(xent_vjp)(logits, y, 1.0), np.array([0.25, -0.75, 0.25, 0.25]),
                 call="xent_vjp(logits, y, 1.0)", inputs={"logits": logits, "y": y})

# %%
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_xent_vjp_against_jax(xent_vjp):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    for g in [1.0, -2.5]:
        logits, y = rng.normal(size=6), np.eye(6)[2]
        expected = jax.vjp(lambda x, y=y: -jnp.sum(y * jax.nn.log_softmax(x)), logits)[1](g)[0]
        expect_close(hand_written(xent_vjp)(logits, y, g), expected, call=f"xent_vjp(logits, y, {g})",
                     inputs={"logits": logits, "y": y}, rtol=1e-12)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task2_4
# points: 2

# %% [markdown]
# ## Task 2.4 (2 points): backpropagation through the MLP by hand
#
# For $\mathcal L = -\sum_c y_c \log \mathrm{softmax}(W_2\,\mathrm{relu}(W_1 x))_c$ return
# `(grad_W1, grad_W2)` using only your three VJPs (the course's "putting it all together":
# $u_2 = p - y$, $u_1 = (W_2^\top u_2) \odot H(W_1 x)$, $\nabla W_2 = u_2 x_3^\top$, $\nabla W_1 = u_1 x^\top$).
# The hidden test runs it with the model answers of Tasks 2.1-2.3, so a mistake there costs only those points.

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


# %%
W1, W2 = jnp.asarray(rng.normal(size=(7, 5))), jnp.asarray(rng.normal(size=(4, 7)))
x, y = jnp.asarray(rng.normal(size=5)), jax.nn.one_hot(1, 4, dtype=jnp.float64)
print(diffcompare.check(mlp_loss, W1, W2, x, y, argnums=(0, 1), methods=[], projections=0, grad=mlp_grads))

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_mlp_grads_shapes(mlp_grads):
    import numpy as np

    from diffcompare.course.testing import expect, hand_written

    W1, W2, x, y = np.ones((3, 2)), np.ones((2, 3)), np.ones(2), np.array([1.0, 0.0])
    gW1, gW2 = hand_written(mlp_grads)(W1, W2, x, y)
    expect(np.shape(gW1) == (3, 2) and np.shape(gW2) == (2, 3),
           f"mlp_grads returned gradients of shapes {np.shape(gW1)} and {np.shape(gW2)}; expected (3, 2) and (2, 3)")

# %%
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_mlp_grads_against_jax(mlp_grads):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, random_inputs, ship, using

    references = {
        "linear_vjp": ship("def linear_vjp(W, x, u):\n    import jax.numpy as jnp\n"
                           "    return jnp.outer(u, x), jnp.asarray(W).T @ u\n", "linear_vjp"),
        "relu_vjp": ship("def relu_vjp(x, u):\n    import jax.numpy as jnp\n"
                         "    return jnp.where(jnp.asarray(x) > 0, u, 0.0)\n", "relu_vjp"),
        "xent_vjp": ship("def xent_vjp(logits, y, g):\n    import jax\n"
                         "    return g * (jax.nn.softmax(logits) - y)\n", "xent_vjp"),
    }
    rng = random_inputs()
    W1, W2, x, y = rng.normal(size=(7, 5)), rng.normal(size=(4, 7)), rng.normal(size=5), np.eye(4)[1]

    def loss(W1, W2):
        return -jnp.sum(y * jax.nn.log_softmax(W2 @ jax.nn.relu(W1 @ x)))

    expected = jax.grad(loss, argnums=(0, 1))(W1, W2)
    expect_close(hand_written(using(mlp_grads, **references))(W1, W2, x, y), expected,
                 call="mlp_grads(W1, W2, x, y)", inputs={"W1": W1, "W2": W2, "x": x, "y": y}, rtol=1e-10)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
