# %% [raw]
# # ASSIGNMENT CONFIG
# name: a1_dual_numbers
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
# # Assignment 1: dual numbers and JVP rules (10 points)
#
# Forward mode carries a pair $(a, \dot a)$ through every operation. The course
# writes the pair as the matrix $\begin{bmatrix} a & \dot a \\ 0 & a \end{bmatrix}$:
# adding and multiplying these matrices *is* the sum and product rule.
# You will write rules for new functions by hand: an answer that calls a ready-made
# derivative (`jax.grad`, `jax.jvp`, `diffcompare.forward.grad`, ...) gets no points
# for its task.
#
# Replace every `...` with your code. After each task, run its check:
# `grader.check("task1_1")` (the public tests; the grade comes from hidden tests
# on other inputs). Run the notebook top to bottom before you submit.

# %%
import jax.numpy as jnp

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import forward as fwd

diffcompare.enable_x64()

# %% [raw]
# # BEGIN QUESTION
# name: task1_1
# points: 2

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

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_product_and_quotient_at_one_point(dual_mul, dual_div):
    from diffcompare.course.testing import expect_close, hand_written

    expect_close(hand_written(dual_mul)((2.0, 1.0), (3.0, -0.5)), (6.0, 2.0), call="dual_mul((2.0, 1.0), (3.0, -0.5))")
    expect_close(hand_written(dual_div)((2.0, 1.0), (4.0, 2.0)), (0.5, 0.0), call="dual_div((2.0, 1.0), (4.0, 2.0))")

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_product_against_the_matrix_form(dual_mul):

    from diffcompare import forward as fwd
    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()  # drawn afresh on every grading run
    for _ in range(5):
        x, xd, y, yd = rng.normal(size=4)
        expected = fwd.from_matrix(fwd.dual_matrix(x, xd) @ fwd.dual_matrix(y, yd))
        expect_close(hand_written(dual_mul)((x, xd), (y, yd)), expected, call="dual_mul((x, xd), (y, yd))",
                     inputs={"x": x, "xd": xd, "y": y, "yd": yd})

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_quotient_against_the_matrix_form(dual_div):
    import jax.numpy as jnp

    from diffcompare import forward as fwd
    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    small = float(rng.uniform(1e-4, 1e-2))  # a small denominator
    cases = rng.normal(size=(5, 4)).tolist() + [[float(rng.normal()), 1.0, small, float(rng.normal())],
                                                [0.0, float(rng.normal()), float(rng.normal()), 2.0]]
    for x, xd, y, yd in cases:
        inverse = jnp.linalg.inv(fwd.dual_matrix(y, yd))
        expect_close(hand_written(dual_div)((x, xd), (y, yd)), fwd.from_matrix(fwd.dual_matrix(x, xd) @ inverse),
                     call=f"dual_div(({x!r}, {xd!r}), ({y!r}, {yd!r}))", rtol=1e-9)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task1_2
# points: 3

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


x = jnp.linspace(-2.0, 2.0, 5)
print(diffcompare.check(softplus_reference, x, grad=lambda x: fwd.grad(lambda x: dnp.sum(softplus(x)))(x),
                        methods=[], projections=0))

# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_softplus_rule_at_zero(softplus_jvp):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written

    got = hand_written(softplus_jvp)((np.zeros(2),), (np.array([1.0, 2.0]),))
    expect_close(got, (np.log(2.0) * np.ones(2), np.array([0.5, 1.0])),
                 call="softplus_jvp((x,), (t,))", inputs={"x": np.zeros(2), "t": np.array([1.0, 2.0])})

# %%
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_softplus_rule_against_jax(softplus_jvp):
    import jax
    import jax.numpy as jnp

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    x, t = rng.normal(size=7), rng.normal(size=7)
    expected = jax.jvp(jax.nn.softplus, (jnp.asarray(x),), (jnp.asarray(t),))
    expect_close(hand_written(softplus_jvp)((x,), (t,)), expected, call="softplus_jvp((x,), (t,))",
                 inputs={"x": x, "t": t}, rtol=1e-12)

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_softplus_rule_far_out(softplus_jvp):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    x = np.array([-30.0 - rng.uniform(0, 10), 0.0, 30.0 + rng.uniform(0, 10)])
    t = rng.uniform(0.5, 2.0, size=3)
    _, tangent = hand_written(softplus_jvp)((x,), (t,))
    expect_close(tangent, t / (1 + np.exp(-x)), call="softplus_jvp((x,), (t,))[1]", inputs={"x": x, "t": t},
                 rtol=1e-12)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task1_3
# points: 3

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


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_hypot_rule_at_3_4(hypot_jvp):
    from diffcompare.course.testing import expect_close, hand_written

    got = hand_written(hypot_jvp)((3.0, 4.0), (1.0, 0.0))
    expect_close(got, (5.0, 0.6), call="hypot_jvp((3.0, 4.0), (1.0, 0.0))")

# %%
""" # BEGIN TEST CONFIG
points: 3
hidden: true
""" # END TEST CONFIG
def test_hypot_rule_against_jax(hypot_jvp):
    import jax
    import jax.numpy as jnp

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    x, y, tx, ty = (rng.normal(size=4) for _ in range(4))
    expected = jax.jvp(lambda x, y: jnp.sqrt(x**2 + y**2), tuple(map(jnp.asarray, (x, y))),
                       tuple(map(jnp.asarray, (tx, ty))))
    expect_close(hand_written(hypot_jvp)((x, y), (tx, ty)), expected, call="hypot_jvp((x, y), (tx, ty))",
                 inputs={"x": x, "y": y, "tx": tx, "ty": ty}, rtol=1e-12)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task1_4
# points: 2

# %% [markdown]
# ## Task 1.4 (2 points): one pass per Jacobian column
#
# Build the Jacobian of `f: Rⁿ → Rᵐ` with `fwd.jvp`, one pass per basis vector
# $e_j$ (column $j$ is $J e_j$). Return an array of shape (m, n). `fwd.jvp` is the
# one ready-made derivative this task allows.

# %%
def jacobian_by_columns(f, x):
    # BEGIN SOLUTION
    cols = [fwd.jvp(f, (x,), (jnp.zeros_like(x).at[j].set(1.0),))[1] for j in range(x.shape[0])]
    return jnp.stack(cols, axis=1)
    # END SOLUTION


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_jacobian_of_a_linear_map(jacobian_by_columns):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, ship

    A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    linear = ship("def linear(x):\n    import jax.numpy as jnp\n    return jnp.asarray("
                  "[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) @ x\n", "linear")
    got = hand_written(jacobian_by_columns, allow=["diffcompare.forward.jvp"])(linear, np.ones(3))
    expect_close(got, A, call="jacobian_by_columns(linear, np.ones(3))")

# %%
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_jacobian_one_pass_per_column(jacobian_by_columns):
    import jax
    import numpy as np

    from diffcompare.course.testing import count_forward_passes, expect, expect_close, hand_written, random_inputs, ship

    g = ship("def g(x):\n    import diffcompare.numpy as dnp\n"
             "    return dnp.stack([dnp.sum(dnp.sin(x) * x), dnp.prod(x), dnp.sum(x**3)])\n", "g")
    x = random_inputs().normal(size=4)
    J, passes = count_forward_passes(hand_written(jacobian_by_columns, allow=["diffcompare.forward.jvp"]), g, x)
    expect_close(J, np.asarray(jax.jacfwd(g)(x)), call="jacobian_by_columns(g, x)", inputs={"x": x}, rtol=1e-12)
    expect(passes == 4, f"jacobian_by_columns(g, x) made {passes} forward passes for 4 inputs; expected 4 "
                        "(one per column)")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
