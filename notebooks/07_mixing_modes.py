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
import platform

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import accumulate as acc
from diffcompare.accumulate import examples
from diffcompare.prose import claim, compare, more_or_fewer, num, say

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
claim(hourglass.text() == "(J4 J3)·(J2 J1)", "the hourglass's best plan splits it at its 10-unit waist",
      found=hourglass.text())

# %% [markdown]
# What is counted, here and in notebook 04 (both use `plan_chain`): **multiply-adds, with
# one tangent or cotangent pushed through a dense layer $k$ counted as $n_k n_{k-1}$ and a
# product of two materialised brackets as the product of its three dimensions.** Tall chains
# (few inputs) keep forward mode, wide ones (few outputs) keep reverse mode, exactly as the
# course says. The hourglass has as many inputs as outputs, but a narrow waist:

# %%
hg_dims = examples.PROFILES["hourglass"]
hg_fw, hg_rv = acc.pure_cost(hg_dims, "forward"), acc.pure_cost(hg_dims, "reverse")
by_mode = {mode: bracket for bracket, mode in hourglass.modes().items()}
say(f"The hourglass {' → '.join(map(str, hg_dims))} has {hg_dims[0]} inputs and {hg_dims[-1]} outputs: forward mode "
    f"costs {hg_fw:,} multiply-adds and reverse mode {hg_rv:,}. Its waist has only {min(hg_dims)} units, so the "
    f"plan `{hourglass.text()}` computes `{by_mode['reverse']}` by **reverse** mode and `{by_mode['forward']}` by "
    f"**forward** mode ({min(hg_dims)} vectors each) and multiplies the two thin matrices: {hourglass.cost:,} "
    f"multiply-adds, {more_or_fewer(hourglass.cost, min(hg_fw, hg_rv))}.")

# %%
print("\n".join(hourglass.steps()))
print(hourglass.modes())

# %% [markdown]
# The plan runs on our own engines (`diffcompare.forward` for the forward brackets,
# `diffcompare.reverse` for the reverse ones), and `jax.jit` compiles the whole plan.
# It agrees with `jax.jacfwd`. The clock is shown as measured, on the machine named in the
# output; how close it comes to the count's ratio depends on that machine (small matrix
# products run further from a processor's peak than big ones).

# %%
dims = examples.PROFILES["hourglass"]
layers, x = examples.dense_chain(dims)
f = examples.compose(layers)
contenders = {"optimal (ours)": jax.jit(acc.chain_jacobian(layers)),
              "forward (ours)": jax.jit(acc.chain_jacobian(layers, "forward")),
              "reverse (ours)": jax.jit(acc.chain_jacobian(layers, "reverse")),
              "jax.jacfwd": jax.jit(jax.jacfwd(f)), "jax.jacrev": jax.jit(jax.jacrev(f))}
J_ref = contenders["jax.jacfwd"](x)
agree = {name: float(jnp.max(jnp.abs(fn(x) - J_ref))) for name, fn in contenders.items()}
claim(max(agree.values()) < 1e-12, "every contender's Jacobian equals jax.jacfwd's (max |difference| < 1e-12)",
      found=f"{max(agree.values()):.1e}")
times = examples.race(contenders, x, rounds=5 if SMALL else 30)
machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, JAX on {jax.devices()[0].platform}"
print(f"compiled, best of the rounds, measured on {machine}:")
for name, t in times.items():
    print(f"{name:15s} {1e3 * t:8.3f} ms   ({t / times['optimal (ours)']:.1f}× the optimal plan's time)")
say(f"On this run the optimal plan took {num(1e3 * times['optimal (ours)'])} ms: "
    f"{compare(times['optimal (ours)'], times['forward (ours)'])} forward mode and "
    f"{compare(times['optimal (ours)'], times['reverse (ours)'])} reverse mode; the count predicts "
    f"{num(min(hg_fw, hg_rv) / hourglass.cost, 2)}× fewer multiply-adds.")

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
claim(chain.dims == dims and float(jnp.max(jnp.abs(jax.jit(acc.chain_jacobian(plain))(x) - jax.jacfwd(plain)(x))))
      < 1e-12, "find_chain recovers the four layers, and the planned Jacobian equals jax.jacfwd's",
      found=f"widths {chain.dims}")

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
graph = acc.linearize(acc.lighthouse, *args, names=("ν", "γ", "ω", "t"), output_names=("y1", "y2"))
for v, label in graph.labels.items():
    print(f"{v:2d} {label:18s} predecessors {[graph.labels[u].split()[0] for u in graph.preds(v)]}")

# %% [markdown]
# The inputs are named as in the formula ($\nu, \gamma, \omega, t$), `v1`…`v6` are the
# recorded operations in evaluation order ($v_1 = \omega t$, $v_2 = \tan v_1$, …), and the
# outputs are $y_1$ (the quotient $v_5$, copied into its own vertex because $y_2 = \gamma y_1$
# uses it further) and $y_2 = v_6$.

# %%
eliminations = {order: acc.eliminate(graph, order) for order in acc.ORDERS}
J_lighthouse = np.asarray(jax.jacfwd(lambda *a: jnp.stack(acc.lighthouse(*a)), argnums=(0, 1, 2, 3))(
    *map(jnp.asarray, args))).T
for e in eliminations.values():
    print(e.table())
    claim(np.allclose(e.jacobian(), J_lighthouse, rtol=1e-12), f"{e.rule} order gives JAX's Jacobian")
best = min(acc.eliminate(graph, list(p)).multiplications for p in itertools.permutations(graph.intermediates()))
n_orders = len(list(itertools.permutations(graph.intermediates())))
print("\nthe cheapest of all", n_orders, "orders:", best)
counts = {order: e.multiplications for order, e in eliminations.items()}
say(f"Forward order takes {counts['forward']} multiplications, reverse order {counts['reverse']}, the Markowitz "
    f"order {counts['markowitz']}, and the best of all {n_orders} orders {best}: the greedy rule is a heuristic, "
    + ("but here it beats both pure modes." if counts["markowitz"] < min(counts["forward"], counts["reverse"])
       else "and here it does not beat both pure modes."))

# %% [markdown]
# (Convention: every product of two partials counts, also when a partial is ±1; the copy of
# $y_1$ that feeds $y_2$ carries a structural 1 that costs nothing.)
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
J = np.asarray(sj(u).todense())
claim(sj.n_colours == 3 and np.allclose(J, jax.jacfwd(examples.bratu_residual)(u), rtol=1e-12),
      "3 colours, and the decompressed Jacobian equals jax.jacfwd's", found=f"{sj.n_colours} colours")

fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
palette = np.array([[0.12, 0.47, 0.71], [0.84, 0.15, 0.16], [0.17, 0.63, 0.17], [1.0, 0.5, 0.05], [0.58, 0.4, 0.74]])
image = np.ones((n_small, n_small, 3))
nz_rows, nz_cols = sj.pattern.nonzero()
image[nz_rows, nz_cols] = palette[sj.colours[nz_cols]]
axes[0].imshow(image)
axes[0].set(title="pattern, coloured by column colour", xlabel="column j (input u_j)", ylabel="row i (residual r_i)")
B = np.asarray(sj.compressed(u))  # column c is J times the sum of colour c's unit vectors
packed = np.ones(B.shape + (3,))
filled = np.nonzero(B)
packed[filled] = palette[filled[1]]
axes[1].imshow(packed, aspect="auto")
axes[1].set(title=f"compressed J·S: {sj.n_colours} JVPs", xlabel="colour c (one JVP each)", ylabel="row i",
            xticks=range(sj.n_colours))
shown = axes[2].imshow(np.log10(np.abs(J) + 1e-16), cmap="viridis", vmin=-3)
axes[2].set(title="decompressed J", xlabel="column j", ylabel="row i")
fig.colorbar(shown, ax=axes[2], label="log10 |J_ij| (zeros shown at the bottom)")
fig.tight_layout()
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
# any size, where dense `jax.jacfwd` needs $n$ (a count). Timed compiled, at the size this
# notebook runs (in the experiment, up to $n = 10^4$), as measured on this machine:

# %%
n_big = 2000 if SMALL else 10_000
u_big = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, n_big))
sj_big = acc.sparse_jacobian(examples.bratu_residual, u_big)
claim(sj_big.n_colours == 3, f"n = {n_big} still needs 3 colours", found=f"{sj_big.n_colours}")
timing = examples.race({"coloured (ours, 3 JVPs)": jax.jit(sj_big),
                        f"dense jax.jacfwd ({n_big} JVPs)": jax.jit(jax.jacfwd(examples.bratu_residual))},
                       u_big, rounds=3)
ours = timing["coloured (ours, 3 JVPs)"]
print(f"compiled, best of 3, measured on {machine}:")
for name, t in timing.items():
    print(f"n = {n_big}: {name:28s} {1e3 * t:9.3f} ms  ({t / ours:.0f}× ours)")

# %% [markdown]
# ## Exercises
#
# **Predict, then run.** The chain $10 \to 1000 \to 1000 \to 10$ has few inputs *and* few
# outputs. Which plan wins, and by how much over the better pure mode?

# %%
diamond_like = (10, 1000, 1000, 10)
print({mode: f"{acc.plan_chain(diamond_like, mode).cost:,}" for mode in ("forward", "reverse", "optimal")},
      acc.plan_chain(diamond_like).text())

# %% jupyter={"source_hidden": true} tags=["hide-input"]
dl_costs = {mode: acc.plan_chain(diamond_like, mode).cost for mode in ("forward", "reverse", "optimal")}
say(f"*Answer.* Both pure modes push 10 vectors through all three layers ({dl_costs['forward']:,} multiply-adds "
    f"each). The optimal plan costs {dl_costs['optimal']:,}: "
    f"{more_or_fewer(dl_costs['optimal'], min(dl_costs['forward'], dl_costs['reverse']), 'multiply-adds')}. "
    "With narrow ends and a wide middle there is no waist to split at: a pure mode is already optimal.")

# %% [markdown]
# **Predict, then run.** A Jacobian with two bands (each $r_i$ depends on $u_i$ and $u_{i+2}$):
# how many colours, i.e. JVPs, does it need?

# %%
def two_bands(v):
    return v[:-2] * v[2:] + dnp.sin(v[:-2])


print("colours:", acc.sparse_jacobian(two_bands, jnp.linspace(0.1, 1.0, 12)).n_colours)

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* 2. Column $j$ shares a row with column $j + 2$ (row $j$) and $j - 2$, never with
# $j \pm 1$: colouring the columns alternately $0, 0, 1, 1, 0, 0, 1, 1, \dots$ already keeps
# every row's two columns apart. The number of colours is set by the sparsity pattern, not by $n$.

# %% [markdown]
# **Try it on your own function.** `acc.chain_jacobian(f)` finds the layers of any function
# you write with `diffcompare.numpy` as a chain of dense steps and plans its bracketing;
# `acc.sparse_jacobian(f, x)` colours its Jacobian. Change the widths or the function:

# %%
rng_mine = np.random.default_rng(7)
W_mine = [jnp.asarray(rng_mine.normal(size=(b, a)) / np.sqrt(a)) for a, b in [(50, 400), (400, 5), (5, 300)]]


def my_chain(v):
    return W_mine[2] @ dnp.tanh(W_mine[1] @ dnp.sin(W_mine[0] @ v))


v_mine = jnp.ones(50)
print(acc.find_chain(my_chain, v_mine).text())
print("plan:", acc.chain_jacobian(my_chain).plan(v_mine).text())
print("max |error| against jax.jacfwd:",
      float(jnp.max(jnp.abs(acc.chain_jacobian(my_chain)(v_mine) - jax.jacfwd(my_chain)(v_mine)))))
