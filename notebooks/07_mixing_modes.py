# %% [markdown]
# # 07 · Mixing the modes: the course's open question, computed
#
# The course costs a chain of Jacobians from the right (forward mode) or from the left
# (reverse mode) and ends with: *"how to efficiently combine forward and reverse mode
# autodiff is still an open question"*. It is open in general (finding the cheapest way to
# accumulate a Jacobian is NP-complete, Naumann 2008), but three parts of the answer are
# classical and `diffcompare.accumulate` computes each of them:
#
# 1. **chains**: bracket $J_L \cdots J_1$ optimally, each bracket by forward mode, reverse
#    mode or a matrix product (dynamic programming, like the matrix-chain problem);
# 2. **graphs**: eliminate the vertices of the computational graph in a better order than
#    forward or reverse (the Markowitz rule; Griewank & Walther, *Evaluating Derivatives*);
# 3. **sparsity**: a sparse Jacobian needs only as many passes as its columns need
#    colours (Curtis, Powell & Reid 1974).

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version

# %%
import itertools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from diffcompare import accumulate as acc
from diffcompare.accumulate import examples

# %% [markdown]
# ## 1 · Chains: which bracketing?
#
# For $f = f_L \circ \cdots \circ f_1$ with $f_k: \mathbb{R}^{n_{k-1}} \to \mathbb{R}^{n_k}$ the
# chain rule gives $J = J_L \cdots J_1$. Pushing one tangent through layer $k$ costs about
# $n_k n_{k-1}$ multiply-adds (a dense layer's JVP is a matrix-vector product), so
#
# * forward mode (all $n_0$ columns from the right) costs $n_0 \sum_k n_k n_{k-1}$,
# * reverse mode (all $n_L$ rows from the left) costs $n_L \sum_k n_k n_{k-1}$.
#
# A bracket $J_j \cdots J_{i+1}$ can also be computed on its own, by whichever mode suits
# *its* ends, and multiplied with its neighbour. `plan_chain` tries every split by dynamic
# programming. The table compares the four profiles of the experiment `jacobian_accumulation`:

# %%
print(f"{'profile':10s} {'widths':24s} {'forward':>13s} {'reverse':>13s} {'optimal':>11s}  ratio  plan")
plans = {}
for name, dims in examples.PROFILES.items():
    plan = plans[name] = acc.plan_chain(dims)
    fw, rv = acc.pure_cost(dims, "forward"), acc.pure_cost(dims, "reverse")
    print(f"{name:10s} {'→'.join(map(str, dims)):24s} {fw:13,d} {rv:13,d} {plan.cost:11,d} "
          f"{min(fw, rv) / plan.cost:6.1f}  {plan.text()}")
hourglass = plans["hourglass"]
assert hourglass.text() == "(J4 J3)·(J2 J1)" and hourglass.cost == 2_300_000
assert acc.pure_cost(examples.PROFILES["hourglass"], "forward") == 22_000_000

# %% [markdown]
# Tall chains (few inputs) keep forward mode, wide ones (few outputs) keep reverse mode,
# exactly as the course says. The **hourglass** 100 → 1000 → 10 → 1000 → 100 has 100 inputs
# and 100 outputs, so both pure modes cost 22,000,000 multiply-adds. But its waist has only
# 10 units: the plan `(J4 J3)·(J2 J1)` computes the left half by **reverse** mode (10 rows),
# the right half by **forward** mode (10 columns), and multiplies a 100×10 by a 10×100
# matrix: 2,300,000 multiply-adds, 9.6× fewer.

# %%
print("\n".join(hourglass.steps()))
print(hourglass.modes())

# %% [markdown]
# The plan runs on our own engines (`diffcompare.forward` for the forward brackets,
# `diffcompare.reverse` for the reverse ones), and `jax.jit` compiles the whole plan.
# It agrees with `jax.jacfwd`; the clock then shows what the count predicts (the ratio you
# see depends on your machine: small matrix products run further from the processor's peak
# than big ones, so the measured gain is smaller than the count's).

# %%
dims = examples.PROFILES["hourglass"]
layers, x = examples.dense_chain(dims)
f = examples.compose(layers)
contenders = {"optimal (ours)": jax.jit(acc.chain_jacobian(layers)),
              "forward (ours)": jax.jit(acc.chain_jacobian(layers, "forward")),
              "reverse (ours)": jax.jit(acc.chain_jacobian(layers, "reverse")),
              "jax.jacfwd": jax.jit(jax.jacfwd(f)), "jax.jacrev": jax.jit(jax.jacrev(f))}
J_ref = contenders["jax.jacfwd"](x)
for name, fn in contenders.items():
    assert jnp.max(jnp.abs(fn(x) - J_ref)) < 1e-12, name
times = examples.race(contenders, x, rounds=5 if SMALL else 30)
for name, t in times.items():
    print(f"{name:15s} {1e3 * t:8.3f} ms   ({t / times['optimal (ours)']:.1f}× the optimal plan's time)")

# %% [markdown]
# A function is rarely handed over as a list of layers. `find_chain` records it once on the
# reverse engine's tape and cuts it where no edge of the graph jumps over a node: there the
# whole computation passes through one intermediate array, so the nodes between two cuts
# are a layer of their own (elementwise steps join the layer before them). The hourglass
# written as one plain function is split back into its four layers, and `chain_jacobian(f)`
# plans its bracketing:

# %%
W = [jnp.asarray(np.random.default_rng(k).normal(size=(b, a)) / np.sqrt(a))
     for k, (a, b) in enumerate(zip(dims, dims[1:]))]


def plain(v):
    h = diffcompare.numpy.tanh(W[0] @ v)
    h = diffcompare.numpy.sin(W[1] @ h) * 2.0
    return W[3] @ diffcompare.numpy.exp(W[2] @ h / 4)


chain = acc.find_chain(plain, x)
print(chain.text())
print("plan:", acc.chain_jacobian(plain).plan(x).text())
assert chain.dims == dims
assert jnp.max(jnp.abs(jax.jit(acc.chain_jacobian(plain))(x) - jax.jacfwd(plain)(x))) < 1e-12

# %% [markdown]
# ## 2 · Graphs: vertex elimination and the lighthouse
#
# On a general computational graph the chain rule says: label each edge $u \to v$ with the
# local partial $c_{vu} = \partial v / \partial u$; then $\partial y/\partial x$ is the sum over
# paths of the products of labels. **Eliminating** an intermediate vertex $j$ replaces every
# path $i \to j \to k$ by a direct edge, $c_{ki} \mathrel{+}= c_{kj} c_{ji}$: that costs
# $|P(j)|\cdot|S(j)|$ multiplications (predecessors times successors). Forward mode eliminates
# in evaluation order, reverse mode in the opposite order, and the **Markowitz** rule always
# eliminates the vertex that is cheapest right now.
#
# Griewank's lighthouse: a beam turning at angular speed $\omega$ hits a quay wall of
# slope $\gamma$ at distance $\nu$; at time $t$ the spot is at
# $y_1 = \frac{\nu \tan(\omega t)}{\gamma - \tan(\omega t)}$, $y_2 = \gamma y_1$.
# We record it on the reverse engine's tape (scalar inputs) and linearise it:

# %%
args = (2.0, 3.0, 0.4, 1.3)  # ν, γ, ω, t
graph = acc.linearize(acc.lighthouse, *args)
for v, label in graph.labels.items():
    print(f"{v:2d} {label:18s} predecessors {[graph.labels[u].split()[0] for u in graph.preds(v)]}")

# %%
eliminations = {order: acc.eliminate(graph, order) for order in acc.ORDERS}
J_lighthouse = np.asarray(jax.jacfwd(lambda *a: jnp.stack(acc.lighthouse(*a)), argnums=(0, 1, 2, 3))(
    *map(jnp.asarray, args))).T
for e in eliminations.values():
    print(e.table())
    assert np.allclose(e.jacobian(), J_lighthouse, rtol=1e-12)
best = min(acc.eliminate(graph, list(p)).multiplications for p in itertools.permutations(graph.intermediates()))
print("\nthe cheapest of all", len(list(itertools.permutations(graph.intermediates()))), "orders:", best)
counts = {order: e.multiplications for order, e in eliminations.items()}
assert counts == {"forward": 16, "reverse": 16, "markowitz": 12} and best == 11

# %% [markdown]
# Forward and reverse order each take 16 multiplications, the Markowitz order 12, and the
# best of all 120 orders 11: the greedy rule is a heuristic, but here it beats both pure
# modes. (Convention: every product of two partials counts, also when a partial is ±1; the
# copy of $y_1$ that feeds $y_2$ carries a structural 1 that costs nothing.)
# Here is the Markowitz elimination step by step (red: the vertex being eliminated; orange:
# the edges that step created or changed; edge labels are the partials' values):

# %%
fig = acc.draw_elimination(eliminations["markowitz"])
plt.show()

# %% [markdown]
# ## 3 · Sparsity: one pass per colour
#
# The residual of a 1-D finite-difference PDE (Bratu: $u'' + \lambda e^u = 0$) couples each
# $u_i$ only to $u_{i-1}$ and $u_{i+1}$: its Jacobian is tridiagonal. Columns that share no
# row can share one tangent: $J(e_0 + e_3 + e_6 + \dots)$ holds columns 0, 3, 6, … each in
# its own rows. The pattern is read off the reverse engine's recorded tape (which inputs each
# recorded value depends on), the columns are coloured greedily so that columns sharing a row
# differ, and one JVP per colour gives the whole Jacobian.

# %%
n_small = 12
u = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, n_small))
sj = acc.sparse_jacobian(examples.bratu_residual, u)
print("colours per column:", sj.colours, "→", sj.n_colours, "JVPs instead of", n_small)
assert sj.n_colours == 3
J = np.asarray(sj(u).todense())
assert np.allclose(J, jax.jacfwd(examples.bratu_residual)(u), rtol=1e-12)

fig, axes = plt.subplots(1, 3, figsize=(13, 4))
palette = np.array([[0.12, 0.47, 0.71], [0.84, 0.15, 0.16], [0.17, 0.63, 0.17], [1.0, 0.5, 0.05], [0.58, 0.4, 0.74]])
image = np.ones((n_small, n_small, 3))
rows, cols = sj.pattern.nonzero()
image[rows, cols] = palette[sj.colours[cols]]
axes[0].imshow(image)
axes[0].set_title("pattern, by column colour", fontsize=10)
B = np.asarray(sj.compressed(u))  # column c is J times the sum of colour c's unit vectors
packed = np.ones(B.shape + (3,))
filled = np.nonzero(B)
packed[filled] = palette[filled[1]]
axes[1].imshow(packed, aspect="auto")
axes[1].set_title(f"compressed J·S: {sj.n_colours} JVPs", fontsize=10)
axes[2].imshow(np.log10(np.abs(J) + 1e-16), cmap="viridis")
axes[2].set_title("decompressed J (log10 |J|)", fontsize=10)
plt.show()

# %% [markdown]
# The same colouring works with **finite differences** (one difference quotient per colour:
# the CPR method) and, colouring rows instead, with **reverse mode** (one VJP per colour):

# %%
for mode in ("forward", "reverse", "finite_diff"):
    s = acc.sparse_jacobian(examples.bratu_residual, u, mode)
    err = np.max(np.abs(np.asarray(s(u).todense()) - J))
    print(f"{mode:12s} {s.n_colours} passes, max |error| {err:.1e}")

# %% [markdown]
# The number of colours does not grow with $n$: a tridiagonal Jacobian needs 3 passes for
# any size, where dense `jax.jacfwd` needs $n$. Timed compiled, at the size this notebook
# runs (in the experiment, up to $n = 10^4$):

# %%
n_big = 2000 if SMALL else 10_000
u_big = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, n_big))
sj_big = acc.sparse_jacobian(examples.bratu_residual, u_big)
assert sj_big.n_colours == 3
timing = examples.race({"coloured (ours, 3 JVPs)": jax.jit(sj_big),
                        f"dense jax.jacfwd ({n_big} JVPs)": jax.jit(jax.jacfwd(examples.bratu_residual))},
                       u_big, rounds=3)
ours = timing["coloured (ours, 3 JVPs)"]
for name, t in timing.items():
    print(f"n = {n_big}: {name:28s} {1e3 * t:9.3f} ms  ({t / ours:.0f}× ours)")
