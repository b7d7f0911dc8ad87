# %% [raw]
# # ASSIGNMENT CONFIG
# name: a3_fd_steps
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
# # Assignment 3: choosing finite-difference steps (10 points)
#
# A difference quotient has two errors: truncation, which shrinks with the step
# $h$ like $h^p$, and round-off, which grows like $\varepsilon/h$. Plotted on log
# axes the total error is a V. You will measure the V and explain it.
#
# The function is the course's running example $f(x) = e^x/x^2$ at $x = 1.5$,
# with $f'(x) = e^x (x - 2)/x^3$. Write the quotients yourself: an answer that calls
# a ready-made derivative (`diffcompare.finite_diff.grad`, `jax.grad`, ...) gets no
# points for its task.
#
# Replace every `...` with your code; after each task run its check, e.g.
# `grader.check("task3_1")` (public tests; the grade comes from hidden tests). Task 3.4's
# explanation is graded by hand (1 point).

# %%
import numpy as np

import diffcompare
import diffcompare.numpy as dnp

diffcompare.enable_x64()


def f(x):
    return dnp.exp(x) / x**2


def df(x):
    return np.exp(x) * (x - 2) / x**3


x0 = 1.5
EPS = np.finfo(np.float64).eps
hs = np.logspace(-14, -1, 40)

# %% [raw]
# # BEGIN QUESTION
# name: task3_1
# points: 2

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


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_quotients_of_a_parabola(forward_difference, central_difference):
    from diffcompare.course.testing import expect_close, hand_written, ship

    square = ship("def square(x):\n    return x * x\n", "square")
    expect_close(hand_written(forward_difference)(square, 3.0, 0.5), 6.5, call="forward_difference(square, 3.0, 0.5)")
    expect_close(hand_written(central_difference)(square, 3.0, 0.5), 6.0, call="central_difference(square, 3.0, 0.5)")

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_forward_difference(forward_difference):
    from diffcompare.course.testing import expect_close, hand_written, random_inputs, ship

    cubic = ship("def cubic(x):\n    return x**3 - 2 * x\n", "cubic")
    rng = random_inputs()
    for x, h in zip(rng.uniform(-2, 2, 3).tolist(), (10.0 ** rng.uniform([-6, -3, -1], [-4, -2, -0.5])).tolist()):
        expected = (cubic(x + h) - cubic(x)) / h
        expect_close(hand_written(forward_difference)(cubic, x, h), expected,
                     call=f"forward_difference(cubic, {x}, {h})", rtol=1e-9, hint="cubic(x) = x**3 - 2*x")

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_central_difference(central_difference):
    from diffcompare.course.testing import expect_close, hand_written, random_inputs, ship

    cubic = ship("def cubic(x):\n    return x**3 - 2 * x\n", "cubic")
    rng = random_inputs()
    for x, h in zip(rng.uniform(-2, 2, 3).tolist(), (10.0 ** rng.uniform([-6, -3, -1], [-4, -2, -0.5])).tolist()):
        expected = (cubic(x + h) - cubic(x - h)) / (2 * h)
        expect_close(hand_written(central_difference)(cubic, x, h), expected,
                     call=f"central_difference(cubic, {x}, {h})", rtol=1e-9, hint="cubic(x) = x**3 - 2*x")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task3_2
# points: 3

# %% [markdown]
# ## Task 3.2 (3 points): measure the V
#
# `errors(quotient)` returns the relative error $|q(h) - f'(x_0)|/|f'(x_0)|$ for every
# `h` in `hs`, as a NumPy array (`quotient(f, x0, h)` is one of your Task 3.1 functions).

# %%
def errors(quotient):
    # BEGIN SOLUTION
    exact = df(x0)
    return np.array([abs(float(quotient(f, x0, h)) - exact) / abs(exact) for h in hs])
    # END SOLUTION


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_errors_has_one_entry_per_step(errors, forward_difference):
    import numpy as np

    from diffcompare.course.testing import expect, hand_written

    e = np.asarray(hand_written(errors)(forward_difference))
    expect(e.shape == (40,), f"errors(forward_difference) has shape {e.shape}; expected (40,), one entry per h in hs")

# %%
""" # BEGIN TEST CONFIG
points: 3
hidden: true
""" # END TEST CONFIG
def test_errors_of_the_reference_quotients(errors):
    import jax.numpy as jnp
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, random_inputs, ship, using

    rng = random_inputs()
    x0 = float(rng.uniform(0.6, 1.8))  # away from 2, where f' = 0
    given = {
        "f": ship("def f(x):\n    import jax.numpy as jnp\n    return jnp.exp(x) / x**2\n", "f"),
        "df": ship("def df(x):\n    import numpy as np\n    return np.exp(x) * (x - 2) / x**3\n", "df"),
        "x0": x0, "hs": jnp.asarray(np.logspace(-14, -1, 40)),  # as the notebook's code gets them: JAX arrays
    }
    central = ship("def central(f, x, h):\n    return (f(x + h) - f(x - h)) / (2 * h)\n", "central")
    forward = ship("def forward(f, x, h):\n    return (f(x + h) - f(x)) / h\n", "forward")
    exact = np.exp(x0) * (x0 - 2) / x0**3
    for quotient in (forward, central):
        # JAX scalars, as the student's code gets them (NumPy's scalar arithmetic rounds differently)
        q = np.array([float(quotient(lambda x: jnp.exp(x) / x**2, x0, h)) for h in given["hs"]])
        expected = np.abs(q - exact) / abs(exact)
        expect_close(hand_written(using(errors, **given))(quotient), expected, call=f"errors({quotient.name})",
                     inputs={"x0": x0}, rtol=1e-6, atol=0, hint="(the quotient passed is the model answer of Task 3.1)")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task3_3
# points: 3

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


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_theory_step_of_a_first_order_scheme(theory_step):
    from diffcompare.course.testing import expect_close, hand_written

    expect_close(hand_written(theory_step)(1, 1e-16), 1e-8, call="theory_step(1, 1e-16)")

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_theory_step(theory_step):

    from diffcompare.course.testing import expect_close, hand_written, random_inputs

    rng = random_inputs()
    for p in rng.choice([1, 2, 3, 4, 6], size=3, replace=False).tolist():
        eps = float(10.0 ** rng.uniform(-17, -5))
        expect_close(hand_written(theory_step)(p, eps), eps ** (1 / (p + 1)), call=f"theory_step({p}, eps)",
                     inputs={"eps": eps}, rtol=1e-12, atol=0)  # relative: the steps are tiny

# %%
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_measured_best_step(measured_best_step):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, random_inputs, using

    rng = random_inputs()
    hs = np.logspace(-14, -1, 40)
    for _ in range(3):
        errs = rng.uniform(0.01, 1.0, size=40)  # any curve: the step of the smallest error
        expect_close(hand_written(using(measured_best_step, hs=hs))(errs), hs[int(np.argmin(errs))],
                     call="measured_best_step(errs)", inputs={"errs": errs}, rtol=1e-12, atol=0)  # steps are tiny

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task3_4
# points: 1

# %% [markdown]
# ## Task 3.4 (1 point + 1 point graded by hand): explain the V from its slopes
#
# Fit straight lines to $\log_{10}$ error against $\log_{10} h$ on the two arms:
# `slopes(errs, p)` returns `(truncation_slope, roundoff_slope)`, fitted on
# $h > 10\,h^*$ and on $h < h^*/10$ with $h^*$ = `theory_step(p)`.

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


# %% [raw]
# # BEGIN TESTS

# %%
""" # BEGIN TEST CONFIG
points: 0
""" # END TEST CONFIG
def test_slopes_of_an_exact_v(slopes, theory_step):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written

    hs = np.logspace(-14, -1, 40)
    errs = hs**2 + 1e-16 / hs  # truncation h**2, round-off eps/h
    got = hand_written(slopes)(errs, 2)
    expect_close(got, (2.0, -1.0), call="slopes(errs, 2)", inputs={"errs": errs}, rtol=0.05, atol=0.05)

# %%
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_slopes_of_exact_vs(slopes):
    import numpy as np

    from diffcompare.course.testing import expect_close, hand_written, random_inputs, ship, using

    rng = random_inputs()
    hs = np.logspace(-14, -1, 40)
    theory_step = ship("def theory_step(p, eps=2.220446049250313e-16):\n    return eps ** (1.0 / (p + 1))\n",
                       "theory_step")
    for p in (1, 2):
        scale, noise = rng.uniform(1, 5), rng.uniform(0.5e-16, 2e-16)
        errs = scale * hs**p + noise / hs
        got = hand_written(using(slopes, hs=hs, theory_step=theory_step))(errs, p)
        expect_close(got, (float(p), -1.0), call=f"slopes(errs, {p})", inputs={"errs": errs}, rtol=0.05,
                     atol=0.05, hint=f"errs = {scale:.3g} h**{p} + {noise:.3g}/h: the arms' slopes are {p} and -1")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: task3_4_written
# manual: true
# points: 1

# %% [markdown]
# **Task 3.4, your explanation (1 point, graded by hand).** Run the code cell below, then write in the answer
# cell under it what the two slopes of each scheme mean and where the arms cross.

# %%
for name, quotient, p in [("forward", forward_difference, 1), ("central", central_difference, 2)]:
    print(name, "slopes (truncation, round-off):", slopes(errors(quotient), p))

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Model answer.** The right arm's slope is the order $p$ of the scheme (truncation error
# $\propto h^p$: 1 for forward, 2 for central); the left arm's slope is about $-1$ (round-off
# $\varepsilon|f|/h$). The arms cross near $h^* \approx \varepsilon^{1/(p+1)}$, the best step.
#
# **Rubric (1 point).** ½ point: the truncation slope is the scheme's order $p$, with the reason
# (error $\propto h^p$). ½ point: the round-off slope $-1$ comes from $\varepsilon/h$, and the
# best step is where the two arms meet. No credit for restating the numbers without a reason.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
