# %% [markdown]
# # 02 · Symbolic differentiation
#
# A formula is a graph: leaves are variables and constants, inner nodes are
# operations. Symbolic differentiation walks that graph applying the rules of calculus
# and returns a new graph: the derivative's formula. This notebook builds the course's
# examples as expression graphs with `diffcompare.symbolic`, shows the rules, measures
# *expression swell* (a tree against a shared graph), simplifies, compares with SymPy
# and compiles a derivative to a fast function.

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version

# %%
import jax
import numpy as np
import sympy

import diffcompare.numpy as dnp
from diffcompare import symbolic as S
from diffcompare.prose import claim, num, say

# %% [markdown]
# ## Expression graphs of the course's examples
#
# $f(x, y) = 1 + x + \exp(\sin(xy))$: the same Python function that runs on numbers runs
# on symbols and records its graph.

# %%
x, y = S.symbols("x y")


def f(x, y):
    return 1 + x + dnp.exp(dnp.sin(x * y))


e = f(x, y)
print("f      =", S.to_string(e.expression))
print("df/dx  =", S.to_string(S.diff(e, x).expression))
print("df/dy  =", S.to_string(S.diff(e, y).expression))

# %% [markdown]
# The graph itself: leaves on the left (variables blue, constants white), each operation a
# box, the output orange. `x*y` is one node used by `sin`: a graph, not a tree.

# %%
import matplotlib.pyplot as plt

from diffcompare.drawing import draw_expression

draw_expression([e.expression], title="f(x, y) = 1 + x + exp(sin(x y))")
plt.show()

# %% [markdown]
# The course's hand derivation: $\partial_x f = 1 + \exp(\sin(xy))\cos(xy)\,y$ and
# $\partial_y f = \exp(\sin(xy))\cos(xy)\,x$. SymPy confirms that ours are the same
# expressions, and JAX that they give the same numbers.

# %%
X, Y = sympy.symbols("x y", real=True)  # SymPy's symbols (our converter makes real symbols)
by_hand = [1 + sympy.exp(sympy.sin(X * Y)) * sympy.cos(X * Y) * Y, sympy.exp(sympy.sin(X * Y)) * sympy.cos(X * Y) * X]
ours = [S.to_sympy(S.diff(e, v).expression) for v in (x, y)]
for name, a, b in zip(["d/dx", "d/dy"], ours, by_hand):
    print(name, "ours - by hand simplifies to", sympy.simplify(a - b))
print("grad at (0.7, -1.3):", [float(v) for v in S.grad(f, argnums=(0, 1))(0.7, -1.3)],
      " jax:", [float(v) for v in jax.grad(f, argnums=(0, 1))(0.7, -1.3)])

# %% [markdown]
# The running example $\frac{\exp(x)}{x^2}$, whose derivative "looks a lot more complex":
# $\frac{\exp(x)(x-2)}{x^3}$.

# %%
g = S.parse("exp(x)/x**2")
dg = S.diff(g, S.var("x"))
print("derivative :", S.to_string(dg))
print("simplified :", S.to_string(S.simplify(dg)))
print("SymPy's algebra turns it into:", sympy.factor(sympy.simplify(S.to_sympy(dg))))
print("equal to e^x (x-2)/x^3:", sympy.simplify(S.to_sympy(dg) - sympy.exp(X) * (X - 2) / X**3) == 0)
print("LaTeX      :", S.to_latex(S.simplify(dg)))

# %% [markdown]
# ## The rules
#
# One table maps each operation to its local partial derivatives (the sum, product,
# quotient and chain rules are entries of this table); differentiation composes them
# along the graph.

# %%
a, b = S.var("a"), S.var("b")
for text in ["a + b", "a * b", "a / b", "a ** b", "exp(a)", "log(a)", "sin(a)", "cos(a)", "sqrt(a)", "tanh(a)"]:
    expr = S.parse(text)
    partials = [S.to_string(S.simplify(S.diff(expr, v))) for v in (a, b)]
    print(f"{text:8s}  d/da = {partials[0]:28s} d/db = {partials[1]}")

# %% [markdown]
# One entry needs a word: $\partial(a^b)/\partial b = \log(a)\,a^b$ is printed with
# `where([a == 0], 1, a)` inside the log. That guard is JAX's convention at $a = 0$ (where
# $\log a$ is $-\infty$ but $0^b$ is flat in $b$): it makes the derivative 0 there instead of
# NaN. For every $a \ne 0$ it *is* $\log(a)\,a^b$.

# %% [markdown]
# ## Expression swell: a tree against a shared graph
#
# Course Example 1: $f(x) = \sqrt{x^2 + e^{x^2}} + \cos(x^2 + e^{x^2})$. The
# subexpression $g = x^2 + e^{x^2}$ appears twice. Written out as a tree it is stored and
# differentiated twice; in a graph it is one node with two parents:

# %%
ex1 = S.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
xv = S.var("x")
draw_expression([ex1], title="Example 1: x**2 and g = x**2 + exp(x**2) are shared")
plt.show()

# %% [markdown]
# **When does the derivative swell?** Example 1 is too shallow to show it: the table
# compares the sizes of $f$, its derivative by the textbook tree walk (`naive`) and by
# reverse accumulation on the shared graph (which reuses $x^2$, $e^{x^2}$ and $g$; it is
# built to be shared, not copied, so written out as a tree it need not be the smaller).
# Swell comes from **nesting**: the product rule
# copies both factors, the chain rule copies the inner function under the outer
# derivative, so each level of depth multiplies the copies. A derivative tree grows
# exponentially with the depth of the formula; a derivative graph grows linearly.

# %%
naive = S.naive(ex1, xv)  # the textbook tree walk
shared = S.reverse([ex1], [xv])[0]  # reverse accumulation on the shared graph
print(f"{'':22s} {'as a tree':>9s} {'as a graph':>11s}")
ex1_sizes = {}
for name, expr in [("f", ex1), ("df/dx, tree walk", naive), ("df/dx, shared graph", shared)]:
    ex1_sizes[name] = S.measure([expr])
    print(f"{name:22s} {ex1_sizes[name].tree:9d} {ex1_sizes[name].graph:11d}")
f_size, naive_size, shared_size = ex1_sizes.values()
say(f"The tree walk's derivative has {num(naive_size.tree / f_size.tree, 2)}× as many tree nodes as $f$; "
    f"as a graph the shared derivative has {shared_size.graph} nodes against the tree walk's {naive_size.graph} "
    f"and, written out as a tree, {shared_size.tree} against {naive_size.tree}.")
print()
print("the derivative written with its shared intermediates (CSE form):")
print(S.cse_string([shared]))
x_val = 0.8
course_formula = 2 * x_val * (1 / (2 * np.sqrt(x_val**2 + np.exp(x_val**2))) - np.sin(x_val**2 + np.exp(x_val**2))) * (
    1 + np.exp(x_val**2))
print("\nvalue at x = 0.8:", float(S.evaluate([shared], {"x": x_val})[0]), " course formula:", course_formula)

# %% [markdown]
# Swell grows with depth. The logistic map $l_{k+1} = 4 l_k(1 - l_k)$ iterated $k$ times is
# a small graph (each step reuses $l_k$ twice), but as a tree it doubles with each step;
# the naive derivative tree grows faster still (more than doubling each step). Reverse
# accumulation on the graph stays linear (the same few nodes more per step).

# %%
def logistic_map(z, steps):
    """l_{k+1} = 4 l_k (1 − l_k) from l_0 = z, `steps` times."""
    for _ in range(steps):
        z = 4 * z * (1 - z)
    return z


steps = [1, 2, 3, 4, 5, 6] + ([] if SMALL else [8, 10])
swell_rows = []
print(f"{'k':>3} {'f tree':>8} {'f graph':>8} {'naive tree':>11} {'reverse graph':>14} {'SymPy diff ops':>15}")
for k in steps:
    sz = S.sizes(lambda z, k=k: logistic_map(z, k), 0.3)
    l_k = S.trace(lambda z, k=k: logistic_map(z, k), 0.3)
    sym = sympy.diff(S.to_sympy(l_k.expression), sympy.Symbol(l_k.variables[0].value, real=True))
    naive_tree = sz["naive"].tree if sz["naive"] is not None else float("nan")
    swell_rows.append((k, sz["function"].tree, sz["function"].graph, naive_tree, sz["reverse"].graph,
                       sympy.count_ops(sym)))
    print(f"{k:3d} {swell_rows[-1][1]:8d} {swell_rows[-1][2]:8d} {naive_tree:11} {swell_rows[-1][4]:14d} "
          f"{swell_rows[-1][5]:15d}")
dk = swell_rows[-1][0] - swell_rows[-2][0]  # the last rows may be two steps apart
growth_tree = (swell_rows[-1][3] / swell_rows[-2][3]) ** (1 / dk)
growth_graph = (swell_rows[-1][4] - swell_rows[-2][4]) // dk
say(f"Per step, at the end: the naive tree grew ×{num(growth_tree, 3)}, the reverse graph by +{growth_graph} nodes.")
claim(growth_tree > 2 and all(b[4] - a[4] == growth_graph * (b[0] - a[0])
                              for a, b in zip(swell_rows[1:], swell_rows[2:])),
      "the naive tree more than doubles per step while the reverse graph grows by the same count every step")

# %%
r = np.array(swell_rows, dtype=float)
fig, ax = plt.subplots(figsize=(6.5, 4.2))
ax.semilogy(r[:, 0], r[:, 1], "o-", label="f as a tree")
ax.semilogy(r[:, 0], r[:, 3], "s-", label="derivative, naive tree")
ax.semilogy(r[:, 0], r[:, 2], "^--", label="f as a shared graph")
ax.semilogy(r[:, 0], r[:, 4], "v--", label="derivative, reverse on the graph")
ax.set(xlabel="logistic map steps k", ylabel="nodes (log scale)", xticks=steps,
       title="expression swell: trees (solid) and graphs (dashed)")
ax.legend()
plt.show()

# %% [markdown]
# ## Simplification and common subexpressions
#
# `simplify` folds constants and identities ($0\cdot a$, $1\cdot a$, $a - a$, ...) without
# changing values; `cse` writes a graph as straight-line code, one temporary per shared
# node: this is what a compiler (or a human) would want to evaluate. Whether a derivative
# holds anything to fold depends on how it was built; the table measures the logistic map's
# derivative (3 steps), built both ways, before and after, and the sentences under it say
# what changed:

# %%
logistic3 = S.trace(lambda z: logistic_map(z, 3), 0.3)
d_reverse = S.reverse([logistic3.expression], logistic3.variables)[0]
d_naive = S.naive(logistic3.expression, logistic3.variables[0])
print(f"{'':22s} {'tree':>6s} {'graph':>6s} {'depth':>6s}")
simplified_sizes = {}
for name, expr in [("reverse", d_reverse), ("naive (tree walk)", d_naive)]:
    before, after = S.measure([expr]), S.measure([S.simplify(expr)])
    simplified_sizes[name] = (before, after)
    print(f"{name + ', before':22s} {before.tree:6d} {before.graph:6d} {before.depth:6d}")
    print(f"{name + ', simplified':22s} {after.tree:6d} {after.graph:6d} {after.depth:6d}")


def change(before, after):
    return "unchanged" if before == after else f"{before} → {after}"


for name, (before, after) in simplified_sizes.items():
    say(f"Simplifying the {name} derivative: tree {change(before.tree, after.tree)}, graph "
        f"{change(before.graph, after.graph)}, depth (longest chain) {change(before.depth, after.depth)}.")

# %% [markdown]
# CSE shows the shared graph as a short program, one line per shared node:

# %%
print(S.cse_string([S.simplify(d_reverse)]))

# %% [markdown]
# ## Comparison with SymPy
#
# SymPy differentiates trees and simplifies with heavier algebra; `sympy.cse` recovers
# sharing afterwards. Our sizes and SymPy's, and the same numbers from both:

# %%
from_ours = S.to_sympy(S.simplify(shared))
from_sympy = sympy.diff(S.to_sympy(ex1), X)
print("ours  :", from_ours)
print("SymPy :", from_sympy)
print("difference simplifies to", sympy.simplify(from_ours - from_sympy))
print("SymPy count_ops:", sympy.count_ops(from_sympy), "  after sympy.cse:", len(sympy.cse(from_sympy)[0]),
      "temporaries")
print("back from SymPy into our graph:", S.to_string(S.from_sympy(from_sympy)))

# %% [markdown]
# ## Compiling a derivative
#
# A derivative graph becomes a `jax.numpy` function (`compile_jax`), which `jax.jit`
# compiles. Here the gradient of a 2-input function, checked against `jax.grad`.

# %%
traced = S.trace(f, 0.0, 0.0)
xs = traced.variables  # the variables the tracer made for the two arguments
grad_nodes = S.reverse([traced.expression], xs)
compiled = jax.jit(S.compile_jax(grad_nodes, xs))
print("variables:", [v.value for v in xs])
print("compiled gradient at (0.7, -1.3):", [float(v) for v in compiled(0.7, -1.3)])
print("jax.grad                        :", [float(v) for v in jax.grad(f, argnums=(0, 1))(0.7, -1.3)])

# %% [markdown]
# The method interface does all of this in one call, and `diffcompare.check` compares it with JAX:

# %%
report = diffcompare.check(f, 0.7, -1.3, argnums=(0, 1), methods=["symbolic"])
print(report)
claim(report.passed, "the symbolic gradient, JVP and VJP agree with JAX")

# %% [markdown]
# ## Where symbolic differentiation stops: control flow that depends on values
#
# A symbolic engine builds the formula *before* it sees numbers, so it cannot decide a
# Python `if` or `while` whose condition depends on $x$ (course 002). It says so with a
# `ConcretizationError` naming the line, and suggests `dnp.where`, which it can express as
# a piecewise node. Finite differences, forward and reverse mode run such code, since they
# see the values:

# %%
from diffcompare import reverse
from diffcompare.errors import ConcretizationError


def clipped_square(x):
    if x > 1.0:  # a branch on the value of x
        return 2.0 * x - 1.0
    return x * x


try:
    S.grad(clipped_square)(0.5)
except ConcretizationError as err:
    print("symbolic:", str(err).splitlines()[0])
print("reverse mode at 0.5 and 3.0:", [float(reverse.grad(clipped_square)(v)) for v in (0.5, 3.0)])


def clipped_square_where(x):  # the same function without a Python branch
    return dnp.where(x > 1.0, 2.0 * x - 1.0, x * x)


try:
    print("symbolic with dnp.where at 0.5 and 3.0:", float(S.grad(clipped_square_where)(0.5)),
          float(S.grad(clipped_square_where)(3.0)))
except diffcompare.errors.DiffCompareError as err:  # an engine without piecewise nodes says so
    print("symbolic with dnp.where:", type(err).__name__, str(err).splitlines()[0])

# %% [markdown]
# ## Matrix calculus: derivatives as formulas on whole arrays
#
# Expanding every array into scalars makes a formula per element: the gradient of a layer
# with a 64 x 64 weight matrix is thousands of scalar expressions, never the matrix formulas
# of the course. Where every operation has an array rule (the default `expand="auto"`),
# the symbolic engine differentiates the array expression itself, one VJP per matrix
# operation, so the derivative is again a short array expression whose size does not grow
# with n (matrix calculus, as matrixcalculus.org computes it). The course's formulas, as
# the engine prints them:

# %%
from diffcompare.symbolic import array

rng = np.random.default_rng(0)
n = 4
x_vec, A = rng.normal(size=n), rng.normal(size=(n, n))


def quadratic_form(x, A):
    return x @ (A @ x)


def linear_layer(W, x):
    return W @ x


def logistic_loss(w, X, y):  # labels in {0, 1}
    z = X @ w
    return dnp.sum(dnp.log1p(dnp.exp(z)) - y * z)


def mlp_loss(W1, W2, x, y):
    return 0.5 * dnp.sum((W2 @ dnp.tanh(W1 @ x) - y) ** 2)


X_data, y01 = rng.normal(size=(6, n)), (rng.normal(size=6) > 0).astype(float)
W1, W2, t = rng.normal(size=(5, n)), rng.normal(size=(3, 5)), rng.normal(size=3)
print("Hessian of xᵀAx:       ", array.to_text(array.hessian_expression(quadratic_form, x_vec, A)))
print("VJP of W ↦ W x along u:",
      array.to_text(array.vjp_expression(linear_layer, rng.normal(size=(3, n)), x_vec)))
print("logistic regression:   ", "; ".join(array.hessian_formulas(logistic_loss, x_vec, X_data, y01)))
print("the MLP's backpropagation:")
for line in array.gradient_formulas(mlp_loss, W1, W2, x_vec, t, argnums=(0, 1)):
    print("   ", line)

# %% [markdown]
# The same lines in LaTeX, ready for a report:

# %%
from IPython.display import Math, display

for line in array.gradient_formulas(mlp_loss, W1, W2, x_vec, t, argnums=(0, 1), latex=True):
    display(Math(line))

# %% [markdown]
# SymPy has matrix calculus too (`MatrixSymbol` derivatives). `sympy_matrix.cross_check`
# writes the same function as a SymPy matrix expression, lets SymPy differentiate it and
# compares the numbers; where SymPy has no rule it says so instead of failing:

# %%
from diffcompare.symbolic import sympy_matrix

for name, fn, args, kind in [("xᵀAx", quadratic_form, (x_vec, A), "hessian"),
                            ("MLP by W1", mlp_loss, (W1, W2, x_vec, t), "grad"),
                            ("logistic regression", logistic_loss, (x_vec, X_data, y01), "hessian")]:
    check = sympy_matrix.cross_check(fn, *args, kind=kind)
    verdict = f"agrees, max |diff| {check.max_abs_difference:.1e}" if check.status == "ok" else check.status
    print(f"{name} ({kind}): {verdict}")
claim(sympy_matrix.cross_check(quadratic_form, x_vec, A, kind="hessian").status == "ok",
      "SymPy's matrix calculus agrees on the Hessian of xᵀAx")

# %% [markdown]
# ## Exercises
#
# **Predict, then run.** The product $x \cdot x \cdot x \cdot x$ ($k = 4$ factors, written as a
# chain of multiplications). The tree walk applies the product rule at every `*`. Will its
# derivative tree be larger or smaller than the reverse graph's, and does simplification close
# the gap?

# %%
product4 = S.parse("x*x*x*x")
product_sizes = {}
for name, expr in [("naive", S.naive(product4, S.var("x"))), ("reverse", S.reverse([product4], [S.var("x")])[0])]:
    product_sizes[name] = (S.measure([expr]).tree, S.measure([S.simplify(expr)]).tree)
    print(f"{name:8s} tree {product_sizes[name][0]:4d} → simplified {product_sizes[name][1]:4d}:",
          S.to_string(S.simplify(expr)))

# %% jupyter={"source_hidden": true} tags=["hide-input"]
(nb, na), (rb, ra) = product_sizes["naive"], product_sizes["reverse"]
say(f"*Answer.* Before simplification the tree walk's derivative has {nb} nodes as a tree and reverse "
    f"accumulation's {rb} (reverse builds a graph meant to be shared, so written out as a tree it can be the "
    f"larger). Simplification took them to {na} and {ra}: it folds identities such as 1·a and collects "
    "repeated factors, "
    + ("so after it the reverse derivative is the smaller. " if ra < na else
       "so after it the tree walk's is the smaller. " if na < ra else "so after it they have the same size. ")
    + "On a formula this shallow both are small; what "
    "keeps a derivative small as the formula deepens is sharing (the logistic map above), not simplification.")

# %% [markdown]
# **Predict, then run.** Symbolic differentiation of `dnp.abs(x)`: does `S.grad` work, and what
# does it give at 0?

# %%
try:
    print("d|x|/dx at -2, 0, 3:", [float(S.grad(dnp.abs)(v)) for v in (-2.0, 0.0, 3.0)],
          "  jax:", [float(jax.grad(jax.numpy.abs)(v)) for v in (-2.0, 0.0, 3.0)])
except diffcompare.errors.DiffCompareError as err:
    print(type(err).__name__, str(err).splitlines()[0])

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* It works: `abs` has a rule (its sign, as a piecewise expression, no Python branch),
# and at the kink the engine follows JAX's convention, $|x|'(0) = 1$.

# %% [markdown]
# **Try it on your own function.** Write a function of scalars with `diffcompare.numpy`; the
# cell prints its symbolic derivative, draws its graph and checks the symbolic method against
# JAX with `diffcompare.check`.

# %%
def my_function(a, b):
    return dnp.log1p(a**2 * b) * dnp.cos(a - b)


a_sym, b_sym = S.symbols("a b")
mine = my_function(a_sym, b_sym)
print("d/da =", S.to_string(S.simplify(S.diff(mine, a_sym).expression)))
draw_expression([mine.expression], title="my_function")
plt.show()
print(diffcompare.check(my_function, 0.4, 1.1, argnums=(0, 1), methods=["symbolic"]))
