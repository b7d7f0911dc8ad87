# %% [markdown]
# # 03 · Forward mode: dual numbers
#
# Forward mode carries, next to every value $a$, its tangent $\dot a$: the derivative of
# $a$ along one chosen input direction. Each operation maps input pairs to an output pair
# by its rule, so a single pass through the program gives $f(x)$ **and** one
# Jacobian-vector product $J\dot x$. `diffcompare.forward` implements it with dual numbers.
#
# Course: dual numbers as $2\times2$ matrices $\begin{bmatrix} a & \dot a\\ 0 & a\end{bmatrix}$,
# the sum and product rules; primal and tangent; one pass per input, $O(W^2)$ for all
# gradients; user-defined functions with hand-written derivatives.

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version

# %%
import jax
import jax.numpy as jnp
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import forward as fwd
from diffcompare.prose import claim

# %% [markdown]
# ## A dual number
#
# `fwd.jvp(f, (x,), (ẋ,))` runs `f` on the pair $(x, \dot x)$. With $\dot x = 1$ the tangent
# out is $f'(x)$; for the running example $e^x/x^2$ at $1.5$ that is $e^x(x-2)/x^3$.

# %%
def f(x):
    return dnp.exp(x) / x**2


value, tangent = fwd.jvp(f, (1.5,), (1.0,))
by_hand = np.exp(1.5) * (1.5 - 2) / 1.5**3
print(f"f(1.5) = {float(value):.12f}   f'(1.5) = {float(tangent):.12f}   by hand: {by_hand:.12f}")

# %% [markdown]
# ## The 2×2 matrix form: sum and product rules for free
#
# The pair $(a, \dot a)$ behaves like the matrix $\begin{bmatrix} a & \dot a\\ 0 & a\end{bmatrix}$
# ($a + \dot a\,\varepsilon$ with $\varepsilon^2 = 0$). Adding two such matrices gives
# $(x + y, \dot x + \dot y)$; multiplying gives $(xy, \dot x y + x\dot y)$: the sum and
# product rules are matrix arithmetic. The inverse gives the quotient rule, the matrix
# exponential the chain rule for exp.

# %%
X, Y = fwd.dual_matrix(2.0, 1.0), fwd.dual_matrix(3.0, -0.5)
print("X =\n", X, "\nY =\n", Y)
print("X + Y =\n", X + Y)
print("X @ Y =\n", X @ Y)
rules = fwd.matrix_rules(2.0, 1.0, 3.0, -0.5)
for rule in rules:
    pair = tuple(round(float(v), 12) for v in fwd.from_matrix(rule.matrix))
    print(f"{rule.name:9s} {rule.formula:11s} matrix gives (a, ȧ) = {pair}"
          f"   calculus rule: {tuple(round(float(v), 12) for v in rule.by_rule)}   agree: {rule.agrees}")
claim(all(r.agrees for r in rules), "every rule from the matrix arithmetic equals the calculus rule")

# %% [markdown]
# The engine's own dual numbers give the same pairs:

# %%
for name, op in [("product", lambda x, y: x * y), ("sum", lambda x, y: x + y)]:
    primal, t_out = fwd.jvp(op, (2.0, 3.0), (1.0, -0.5))
    print(f"{name:8s} (a, ȧ) = ({float(primal)}, {float(t_out)})")

# %% [markdown]
# > **Note on the course.** Course 003 pairs each variable with its **adjoint**,
# > $(a, \overleftarrow{a})$ with $\overleftarrow{a} = \partial(\text{output})/\partial a$, and
# > calls that pair "a dual number". In the usual terminology (and in this toolkit) a dual
# > number is the **forward** pair $(a, \dot a)$, $\dot a = \partial a/\partial(\text{input})$,
# > $a + \dot a\,\varepsilon$ with $\varepsilon^2 = 0$: both parts are known together, in one
# > pass from the inputs. An adjoint is known only after the whole program has run (it
# > depends on everything *after* $a$), so reverse mode keeps it apart, on a tape swept
# > backwards (notebook 04), and its pairs do not multiply like the $2\times2$ matrices above.

# %% [markdown]
# ## A forward sweep, printed as a table
#
# Every operation, in the order it runs, with its primal and tangent. First the running
# example, then the course's $f(x, y) = 1 + x + \exp(\sin(xy))$ with the tangent
# $(\dot x, \dot y) = (1, 0)$: the last tangent is $\partial f/\partial x$.

# %%
print(fwd.sweep(f, (1.5,), (1.0,)))

# %%
def g(x, y):
    return 1 + x + dnp.exp(dnp.sin(x * y))


sweep = fwd.sweep(g, (0.7, -1.3), (1.0, 0.0))
print(sweep)
x0, y0 = 0.7, -1.3
print("∂f/∂x by hand: 1 + exp(sin(xy)) cos(xy) y =", 1 + np.exp(np.sin(x0 * y0)) * np.cos(x0 * y0) * y0)

# %% [markdown]
# ## The gradient as the Riesz representative
#
# The differential $d_xf(x_0)$ is the linear map $\delta x \mapsto$ (tangent out). The
# gradient is the vector that represents it through the inner product:
# $d_xf(x_0)\cdot\delta x = \langle\nabla f(x_0), \delta x\rangle$ for every direction. One
# forward pass gives the left side for one $\delta x$:

# %%
def h(x):
    return dnp.sum(dnp.sin(x) * x**2)


xh = jnp.asarray([0.3, -1.2, 2.0])
grad_h = jax.grad(h)(xh)
for direction in np.random.default_rng(0).normal(size=(3, 3)):
    tangent_out = fwd.jvp(h, (xh,), (jnp.asarray(direction),))[1]
    print(f"d f · δx = {float(tangent_out):+.12f}   <∇f, δx> = {float(grad_h @ direction):+.12f}")
    claim(np.isclose(tangent_out, grad_h @ direction, rtol=1e-12), "the two sides agree to 1e-12")

# %% [markdown]
# The gradient **depends on the inner product** (course 000). The differential is the same
# linear map whatever inner product we choose, but its representative changes: under
# $\langle u, v\rangle_M = u^\top M v$ with $M$ symmetric positive definite, the vector
# $g_M$ with $d_xf\cdot\delta x = \langle g_M, \delta x\rangle_M$ for every $\delta x$ is
# $g_M = M^{-1}\nabla f$. We compute the differential from forward passes (one per basis
# direction), solve for the representative, and check both definitions:

# %%
M = jnp.asarray([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])  # an SPD metric
differential = jnp.stack([fwd.jvp(h, (xh,), (e,))[1] for e in jnp.eye(3)])  # d f · e_j, j = 1..3
g_euclid = differential  # the Euclidean representative: the ordinary gradient
g_M = jnp.linalg.solve(M, differential)  # the representative under <., .>_M
print("Euclidean gradient  ∇f     =", np.round(np.asarray(g_euclid), 6))
print("under M:  g_M = M⁻¹ ∇f     =", np.round(np.asarray(g_M), 6))
for direction in np.random.default_rng(1).normal(size=(2, 3)):
    lhs = float(fwd.jvp(h, (xh,), (jnp.asarray(direction),))[1])
    print(f"d f · δx = {lhs:+.10f}   <∇f, δx> = {float(g_euclid @ direction):+.10f}"
          f"   <g_M, δx>_M = {float(g_M @ M @ direction):+.10f}")
    claim(np.isclose(lhs, g_M @ M @ direction, rtol=1e-12), "<g_M, δx>_M equals the differential")
claim(not np.allclose(g_M, g_euclid), "g_M is a different vector from ∇f, representing the same differential")

# %% [markdown]
# ## One pass per Jacobian column
#
# A pass with tangent $e_j$ gives column $j$ of the Jacobian, $J e_j$. For
# $F:\mathbb R^n\to\mathbb R^m$ the full Jacobian costs $n$ passes, whatever $m$. We build it
# column by column, and count passes.

# %%
def polar(v):  # R^3 -> R^4
    r, theta, z = v[0], v[1], v[2]
    return dnp.stack([r * dnp.cos(theta), r * dnp.sin(theta), z * r, dnp.exp(z)])


v = jnp.asarray([2.0, 0.3, -0.5])
columns = []
with fwd.counting() as counts:
    for j in range(3):
        e_j = jnp.zeros(3).at[j].set(1.0)
        columns.append(fwd.jvp(polar, (v,), (e_j,))[1])
J = jnp.stack(columns, axis=1)
print("J =\n", J)
print("passes:", counts.passes, "  equal to jax.jacfwd:", bool(jnp.allclose(J, jax.jacfwd(polar)(v))))

# %% [markdown]
# A gradient of $f:\mathbb R^n\to\mathbb R$ needs all $n$ columns: $n$ passes, each as
# expensive as $f$ itself. With $W$ operations in $f$ and $n \approx W$ inputs that is
# $O(W^2)$ work. Below, Rosenbrock is 11 array operations on arrays of length $n$, so its
# work $W$ (the numbers one evaluation computes, counted from the recorded program) grows
# like $n$. Forward mode makes $n$ passes of $W$ numbers each (plus as many tangent numbers):
# the **elements computed** grow like $n \cdot W \propto n^2$, while the count of
# primitive calls grows only like $11n$ (each call works on a whole array, which hides the
# square). Reverse mode (notebook 04) needs one pass: $O(W)$.

# %%
def rosenbrock(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


from diffcompare import reverse as rev

print(f"{'n':>5} {'passes':>7} {'primitive calls':>16} {'W (numbers/pass)':>17} {'elements: passes·W':>19}"
      f" {'/ n²':>6}")
ns, elements = [], []
for n in [4, 8, 16, 32] + ([] if SMALL else [64, 128]):
    x = jnp.linspace(-1.0, 1.5, n)
    with fwd.counting() as c:
        gr = fwd.grad(rosenbrock, mode="passes")(x)
    claim(bool(jnp.allclose(gr, jax.grad(rosenbrock)(x))),
          f"n = {n}: the gradient from {c.passes} passes equals jax.grad")
    W = rev.tape_stats(rosenbrock, x).bytes // x.dtype.itemsize  # numbers one evaluation of f computes
    ns.append(n)
    elements.append(c.passes * W)
    print(f"{n:5d} {c.passes:7d} {c.primitives:16d} {W:17d} {c.passes * W:19d} {c.passes * W / n**2:6.1f}")
slope = np.polyfit(np.log(ns), np.log(elements), 1)[0]
claim(1.8 < slope < 2.2, "the elements computed grow like n² (a slope between 1.8 and 2.2, fitted over "
      f"{len(ns)} sizes)", found=f"n^{slope:.2f}", why="n passes of W ∝ n numbers each")

# %% [markdown]
# ## Vector mode
#
# Instead of $n$ passes, carry $n$ tangents at once: each tangent gets a leading axis of
# length $n$ (the identity matrix as the seed). One pass, the same arithmetic, better
# vectorised. `batched` mode does this inside the dual numbers; `vector` mode vectorises
# the one-tangent pass with `jax.vmap`, as `jax.jacfwd` does.

# %%
x = jnp.linspace(-1.0, 1.5, 8)
for mode in fwd.MODES:
    with fwd.counting() as c:
        gr = fwd.grad(rosenbrock, mode=mode)(x)
    print(f"{mode:8s} passes {c.passes:2d}, tangent directions {c.directions:2d}, "
          f"max |error| vs jax.grad {float(jnp.max(jnp.abs(gr - jax.grad(rosenbrock)(x)))):.1e}")
out, tangents = fwd.jvp(polar, (v,), (jnp.eye(3),), batched=True)  # all three columns in one pass
print("batched tangents (one row per direction) =\n", tangents)

# %% [markdown]
# ## A user-defined function with a hand-written derivative
#
# When an operation is missing, or its formula is numerically poor, give its rule by hand
# (JAX's `custom_jvp` signature). `softplus(x) = log(1 + e^x)` has tangent $\dot x\,\sigma(x)$:

# %%
@fwd.custom_jvp
def softplus(x):
    return dnp.log1p(dnp.exp(x))


@softplus.defjvp
def softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * dnp.sigmoid(x)


print(fwd.sweep(lambda x: 2.0 * softplus(x), (0.5,), (1.0,)))
print("σ(0.5) * 2 =", 2 * float(jax.nn.sigmoid(0.5)))

# %% [markdown]
# Forward mode agrees with JAX on every method of the interface:

# %%
report = diffcompare.check(g, 0.7, -1.3, argnums=(0, 1), methods=["forward"])
print(report)
claim(report.passed, "forward mode agrees with JAX")

# %% [markdown]
# ## Exercises
#
# **Predict, then run.** The dual number $(2, 1)$ stands for $x = 2$ with $\dot x = 1$. What
# pair does $x^3$ give, and what does the $2\times2$ matrix $\begin{bmatrix}2&1\\0&2\end{bmatrix}^3$
# hold in its top row?

# %%
cube, cube_tangent = fwd.jvp(lambda x: x**3, (2.0,), (1.0,))
print("fwd.jvp: (x³, tangent) =", (float(cube), float(cube_tangent)))
print("matrix cube:\n", np.linalg.matrix_power(np.asarray(fwd.dual_matrix(2.0, 1.0)), 3))

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* $(x^3, 3x^2\dot x) = (8, 12)$, and the cube of the matrix is
# $\begin{bmatrix}8&12\\0&8\end{bmatrix}$: powers of $a + \dot a\varepsilon$ expand by the
# binomial theorem with $\varepsilon^2 = 0$, leaving $a^3 + 3a^2\dot a\,\varepsilon$.

# %% [markdown]
# **Predict, then run.** How many forward passes does the full Jacobian of a function
# $\mathbb R^5 \to \mathbb R^{100}$ take, and how many for $\mathbb R^{100} \to \mathbb R^5$?

# %%
def wide(v):  # R^5 -> R^100
    return dnp.sin(jnp.arange(1.0, 101.0) * dnp.sum(v))


def narrow(v):  # R^100 -> R^5
    return dnp.stack([dnp.sum(v ** k) for k in range(1, 6)])


for name, fn, n_in in [("R^5 -> R^100", wide, 5), ("R^100 -> R^5", narrow, 100)]:
    with fwd.counting() as c:
        fwd.jacobian(fn, mode="passes")(jnp.linspace(0.1, 0.5, n_in))
    print(f"{name}: {c.passes} passes")

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* 5 and 100: one pass per **input** (column of $J$), whatever the number of outputs.
# Forward mode suits the first shape; for the second, reverse mode needs 5 passes (one per row).

# %% [markdown]
# **Try it on your own function.** `fwd.sweep` prints the primal and tangent of every
# operation of a function you write with `diffcompare.numpy`; `diffcompare.check` compares
# forward mode's gradient, JVP and VJP with JAX's.

# %%
def my_function(a, b):
    return dnp.tanh(a * b) + dnp.sqrt(a**2 + b**2)


print(fwd.sweep(my_function, (0.6, -0.8), (1.0, 0.0)))
print(diffcompare.check(my_function, 0.6, -0.8, argnums=(0, 1), methods=["forward"]))
