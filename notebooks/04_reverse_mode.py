# %% [markdown]
# # 04 · Reverse mode: backpropagation
#
# Reverse mode runs the program once, **recording** every operation and keeping its
# inputs (the forward pass), then walks the record backwards (the backward pass), carrying
# for each value $v$ its *adjoint* $\bar v = \partial f/\partial v$. Each node passes
# $\bar u\,\partial u/\partial v$ to its operands; a value used twice receives the sum.
# One forward and one backward pass give the whole gradient, however many inputs.
#
# `diffcompare.reverse` is such an engine (a tape, a topological sort, one table of VJP
# rules). This notebook draws its graphs and prints its adjoints for the course's examples.

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version

# %%
import platform
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import reverse as rev
from diffcompare.apps import train
from diffcompare.prose import claim, compare, more_or_fewer, num, say

# %% [markdown]
# ## The computational graph, drawn: course Example 1
#
# $f(x) = \sqrt{x^2 + e^{x^2}} + \cos(x^2 + e^{x^2})$. Written with the intermediate
# $g = x^2 + e^{x^2}$ computed once, the graph shares it: $g$ has two children.
# Each box shows the value $v$ and, after the backward sweep, the adjoint $\bar a$.

# %%
def example1(x):
    u = x**2
    g = u + dnp.exp(u)  # computed once, used twice
    return dnp.sqrt(g) + dnp.cos(g)


graph = rev.graph.record(example1, 1.5)
fig = rev.graph.draw(graph, title="Example 1 at x = 1.5: values v and adjoints ā")
plt.show()
print(graph.table())

# %% [markdown]
# The input's adjoint is $f'(1.5)$. The course's direct formula
# $2x\big(\frac{1}{2\sqrt g} - \sin g\big)(1 + e^{x^2})$ agrees, and so does JAX:

# %%
x0 = 1.5
g0 = x0**2 + np.exp(x0**2)
formula = 2 * x0 * (1 / (2 * np.sqrt(g0)) - np.sin(g0)) * (1 + np.exp(x0**2))
print("adjoint of x:", float(graph.adjoints[0]), "  formula:", formula, "  jax.grad:", float(jax.grad(example1)(x0)))
claim(np.isclose(float(graph.adjoints[0]), formula, rtol=1e-12), "the adjoint of x equals the course's formula")

# %% [markdown]
# Each edge carries its **local partial derivative** $\partial\,\text{child}/\partial\,\text{parent}$
# (course 004, step 2): $2x = 3$ on the edges into `power`, $e^{u}$ into `exp`, 1 into `add`.
# The backward sweep multiplies them along the edges and adds where paths meet.
#
# ## Backpropagation is dynamic programming
#
# $f'(x)$ is the sum, over every path from $x$ to the output, of the product of the local
# partials along the path (the chain rule on a DAG). Enumerating the paths costs as many
# products as there are paths, and paths multiply at every fan-out. The backward sweep
# computes each node's adjoint **once** from its children's adjoints and reuses it for every
# path through the node: a table of subproblems, filled in topological order. On a chain of
# $k$ steps $x \leftarrow \sin x + \cos x$ (two paths per step) there are $2^k$ paths but
# only $4k$ edges:

# %%
def diamonds(x, k):
    for _ in range(k):
        x = dnp.sin(x) + dnp.cos(x)
    return x


def paths_sum(g, node, memo=None):
    """Σ over paths node → output of Π local partials, by enumerating every path (no reuse)."""
    partials = rev.graph.local_partials(g)
    children = {}
    for a, b in partials:
        children.setdefault(a, []).append(b)
    count = [0]

    def walk(i):
        if i == g.outputs[0].index:
            return 1.0
        total = 0.0
        for c in children.get(i, []):
            count[0] += 1  # one multiplication per edge visited along a path
            total += partials[(i, c)] * walk(c)
        return total

    return walk(node), count[0]


print(f"{'k':>3s} {'paths':>7s} {'products (paths)':>17s} {'edges swept':>12s}  same value")
for k in [2, 4, 8] + ([] if SMALL else [12]):
    gk = rev.graph.record(lambda x, k=k: diamonds(x, k), 0.3)
    by_paths, products = paths_sum(gk, 0)
    edges = len(gk.edges())
    same = np.isclose(by_paths, float(gk.adjoints[0]), rtol=1e-12)
    print(f"{k:3d} {2**k:7d} {products:17d} {edges:12d}  {same}")
    claim(same and products > edges, f"k = {k}: the same derivative, with fewer products by reuse",
          found=f"{products} products along paths, {edges} edges swept")

# %% [markdown]
# **Caching intermediate results: time against memory** (course 003). The backward sweep
# needs the forward pass's intermediates. Reverse mode *caches* them all (memory grows with
# the program: $O(W)$), or it keeps only a segment's inputs and *recomputes* the rest when
# the sweep reaches it (`rev.checkpoint`): less memory, one more evaluation of the segment.
# On Example 1 with $x$ a vector of $10^6$ entries ($10^5$ in the quick version) we
# checkpoint the shared $g$ and count two things that do not depend on the machine: the
# bytes the tape keeps and how often $g$ is evaluated. The clock is shown as measured (best
# of 5 calls, on the machine named in the output); whether the second evaluation of $g$ shows
# in it depends on the machine and its load (it is three elementwise operations among the
# dozen of the two passes, and keeping less can also save memory traffic), so the text
# claims nothing about it.

# %%
calls = {"n": 0}


def g_segment(x):
    calls["n"] += 1
    u = x**2
    return u + dnp.exp(u)


g_checkpointed = rev.checkpoint(g_segment)


def example1_vec(x, segment):
    g = segment(x)
    return dnp.sum(dnp.sqrt(g) + dnp.cos(g))


xs = jnp.linspace(-1.0, 1.0, 100_000 if SMALL else 1_000_000)
ckpt_rows = []
for name, segment in [("cache everything", g_segment), ("recompute g (checkpoint)", g_checkpointed)]:
    # staged=False: op by op, so the tape counted here is the one swept (and g runs once per sweep)
    grad_fn = rev.grad(lambda x, segment=segment: example1_vec(x, segment), staged=False)
    calls["n"] = 0
    grad_x = jax.block_until_ready(grad_fn(xs))  # also the warm-up
    evaluations = calls["n"]
    kept = rev.tape_stats(lambda x, segment=segment: example1_vec(x, segment), xs).bytes
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        jax.block_until_ready(grad_fn(xs))
        best = min(best, time.perf_counter() - t0)
    ckpt_rows.append((name, kept, evaluations, best, grad_x))
machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, JAX on {jax.devices()[0].platform}"
for name, kept, evaluations, seconds, _ in ckpt_rows:
    print(f"{name:26s} tape keeps {kept / 2**20:6.2f} MiB   g evaluated {evaluations}×   "
          f"gradient {seconds * 1e3:6.1f} ms  (measured on {machine})")
(_, kept_all, ev_all, t_all, g_all), (_, kept_ck, ev_ck, t_ck, g_ck) = ckpt_rows
say(f"Checkpointing $g$ kept {num(100 * (1 - kept_ck / kept_all), 2)}% fewer bytes on the tape and evaluated $g$ "
    f"{ev_ck} times instead of {ev_all}; this run's clock read {num(1e3 * t_ck)} ms against {num(1e3 * t_all)} ms "
    f"({compare(t_ck, t_all)} caching everything).")
claim(kept_ck < kept_all and ev_ck == ev_all + 1 and bool(jnp.allclose(g_all, g_ck, rtol=1e-12)),
      "checkpointing keeps fewer bytes, evaluates the segment once more, and gives the same gradient",
      found=f"{kept_ck} < {kept_all} bytes, {ev_ck} = {ev_all} + 1 evaluations")

# %% [markdown]
# Writing the formula *without* the shared $g$, as the course's text reads, is the opposite
# choice inside the forward pass itself: $x^2$ and $e^{x^2}$ computed twice, and a larger tape.

# %%
def example1_unshared(x):
    return dnp.sqrt(x**2 + dnp.exp(x**2)) + dnp.cos(x**2 + dnp.exp(x**2))


print("tape, unshared:", rev.tape_stats(example1_unshared, 1.5).by_op)
print("tape, shared  :", rev.tape_stats(example1, 1.5).by_op)

# %% [markdown]
# ## Topological order
#
# The backward sweep must visit a node only after **all** its children have sent their
# contributions. The engine sorts the graph once (parents before children) and sweeps in
# the reverse of that order:

# %%
order = rev.toposort(graph.outputs, graph.trace)
print("forward (topological) order :", " → ".join(f"#{n.index} {n.op}" for n in order))
print("backward sweep order        :", " → ".join(f"#{n.index} {n.op}" for n in reversed(order)))
position = {n.index: i for i, n in enumerate(order)}
claim(all(position[a] < position[b] for a, b in graph.edges()), "every edge runs from earlier to later in the order")

# %% [markdown]
# ## The add gate distributes, the multiply gate switches
#
# For $z = x + y$: $\bar x \mathrel{+}= \bar z$ and $\bar y \mathrel{+}= \bar z$ (the adjoint is
# copied to both). For $z = x y$: $\bar x \mathrel{+}= \bar z\,y$ and $\bar y \mathrel{+}= x\,\bar z$
# (each input gets the *other* input's value). We send the adjoint $\bar z = 2.5$ in:

# %%
for name, gate in [("add", lambda x, y: x + y), ("multiply", lambda x, y: x * y)]:
    z, pullback = rev.vjp(gate, 3.0, -4.0)
    x_bar, y_bar = pullback(2.5)
    print(f"{name:8s} z = {float(z):5.1f}   z̄ = 2.5  →  x̄ = {float(x_bar):5.1f}, ȳ = {float(y_bar):5.1f}")

# %% [markdown]
# ## Fan-out: adjoints sum over children
#
# In a DAG a value can feed several nodes (course: $x_4$ feeds $x_5$ and $x_7$):
# $\frac{\partial o}{\partial x_4} = \frac{\partial o}{\partial x_5}\frac{\partial x_5}{\partial x_4}
# + \frac{\partial o}{\partial x_7}\frac{\partial x_7}{\partial x_4}$.

# %%
def dag(x):
    x4 = dnp.sin(x)
    x5 = x4**2  # child 1 of x4
    x7 = dnp.exp(x4)  # child 2 of x4
    return x5 + x7


gd = rev.graph.record(dag, 0.8)
x4_node = next(n for n in gd.nodes if n.op == "sin")
x4 = np.sin(0.8)
print("adjoint of x4 from the sweep :", float(gd.adjoints[x4_node.index]))
print("sum over its two children    :", 1.0 * 2 * x4 + 1.0 * np.exp(x4))
fig = rev.graph.draw(gd, title="fan-out: x4 = sin(x) feeds two children")
plt.show()

# %% [markdown]
# ## VJPs of common layers
#
# A layer $z = f(x)$ enters reverse mode only through its VJP $u \mapsto u^\top J_f(x)$,
# never through its Jacobian. The course's three:
#
# * linear layer $z = Wx$: $u^\top W$ for the input and $u x^\top$ for the weights;
# * elementwise nonlinearity $z = \varphi(x)$: $u \odot \varphi'(x)$; ReLU's is
#   $H(x)$, with the subgradient 0 at 0;
# * softmax cross-entropy $z = -\sum_c y_c \log p_c$: $(p - y)^\top$.

# %%
rng = np.random.default_rng(0)
W_lin, x_lin, u_lin = (jnp.asarray(rng.normal(size=(3, 4))), jnp.asarray(rng.normal(size=4)),
                       jnp.asarray(rng.normal(size=3)))
_, pullback = rev.vjp(lambda W, x: W @ x, W_lin, x_lin)
W_bar, x_bar = pullback(u_lin)
print("linear:  W̄ = u xᵀ ?", bool(jnp.allclose(W_bar, jnp.outer(u_lin, x_lin))), "   x̄ = Wᵀu ?",
      bool(jnp.allclose(x_bar, W_lin.T @ u_lin)))

x_relu = jnp.asarray([-1.0, 0.0, 0.5, 2.0])
_, pullback = rev.vjp(dnp.relu, x_relu)
print("ReLU:    ū ⊙ H(x) with u = 1 at x =", x_relu.tolist(), "→", pullback(jnp.ones(4))[0].tolist(), "(0 at 0)")

logits, y_onehot = jnp.asarray(rng.normal(size=5)), jax.nn.one_hot(2, 5, dtype=jnp.float64)
_, pullback = rev.vjp(lambda s: -dnp.sum(y_onehot * dnp.log_softmax(s)), logits)
print("softmax cross-entropy: x̄ = p - y ?",
      bool(jnp.allclose(pullback(1.0)[0], jax.nn.softmax(logits) - y_onehot)))

# %% [markdown]
# ## The VJP is the adjoint of the JVP
#
# The *generalized gradient* $\partial_x F(x_0)$ is the adjoint of the differential:
# $\langle u, J v\rangle = \langle J^\top u, v\rangle$ for all $u, v$. The reverse engine's VJP
# and the forward engine's JVP satisfy it, and $m$ VJPs with the basis vectors $u = e_i$
# give the Jacobian row by row (forward mode: $n$ JVPs, column by column).

# %%
from diffcompare import forward as fwd


def F(v):  # R^3 -> R^2
    return dnp.stack([v[0] * v[1] + dnp.sin(v[2]), dnp.exp(v[0]) * v[2]])


xv, uv, vv = jnp.asarray([0.5, -1.0, 2.0]), jnp.asarray([1.5, -0.3]), jnp.asarray([0.2, 0.7, -1.1])
_, pullback = rev.vjp(F, xv)
lhs = float(uv @ fwd.jvp(F, (xv,), (vv,))[1])
rhs = float(pullback(uv)[0] @ vv)
print(f"<u, J v> = {lhs:.15f}    <Jᵀu, v> = {rhs:.15f}")
J_rows = jnp.stack([pullback(e)[0] for e in jnp.eye(2)])
print("Jacobian from 2 VJPs (rows):\n", J_rows, "\njax.jacrev:\n", jax.jacrev(F)(xv))

# %% [markdown]
# ## The chain rule composes adjoints
#
# For $F = f_3 \circ f_2 \circ f_1$ the chain rule $J_F = J_3 J_2 J_1$ transposes to
# $J_F^\top = J_1^\top J_2^\top J_3^\top$: the adjoint of a composition is the composition of
# the adjoints, **in reverse order** (course 000). So a VJP of the whole is the layers' VJPs
# applied one after another, from the last layer back to the first:

# %%
def f1(v):
    return dnp.tanh(v)


def f2(v):
    return dnp.stack([v[0] * v[1], v[1] + v[2], dnp.exp(v[2]), v[0] - v[2]])


def f3(v):
    return dnp.stack([dnp.sum(v**2), v[0] * v[3]])


x1 = jnp.asarray([0.4, -0.7, 1.1])
a1, pb1 = rev.vjp(f1, x1)
a2, pb2 = rev.vjp(f2, a1)
_, pb3 = rev.vjp(f3, a2)
u_out = jnp.asarray([1.0, -2.0])
layer_by_layer = pb1(pb2(pb3(u_out)[0])[0])[0]  # J1ᵀ (J2ᵀ (J3ᵀ u))
_, pb_whole = rev.vjp(lambda v: f3(f2(f1(v))), x1)
whole = pb_whole(u_out)[0]
print("VJPs composed layer by layer:", np.asarray(layer_by_layer))
print("VJP of the whole function   :", np.asarray(whole))

# %% [markdown]
# ## Row vectors, and caching from the left or from the right
#
# Reverse mode carries a **row vector** $u^\top$ from the output back through
# $J_3 J_2 J_1$: $((u^\top J_3) J_2) J_1$, each step a vector–matrix product, caching the
# partial products from the **left**. Forward mode carries a column vector from the input:
# $J_3 (J_2 (J_1 v))$, caching from the **right**. For the full Jacobian of a chain, any
# bracketing gives the same matrix, at very different costs, and mixing the two directions
# (the course's "open question") can beat both.
#
# > **Note on the course.** Course 003 says "we can cache the chain rule from the left
# > (forward) or the right (reverse)", writing forward mode as
# > $\frac{dz}{dy}\big(\frac{dy}{dx}\frac{dx}{dw}\big)$. Both texts agree on *which products are
# > formed first*: forward mode multiplies the Jacobians nearest the **input** first. They
# > differ only in which end is called "left": the course reads the pipeline
# > $w \to x \to y \to z$ left to right (the input on the left), while we read the matrix
# > product $J_3 J_2 J_1$, where the input's Jacobian $J_1$ stands on the right. So the
# > course's "from the left (forward)" and our "forward caches from the right" say the same.
#
# `diffcompare.accumulate.plan_chain` counts the cost of each way, the same model notebook 07
# uses: **multiply-adds, with one tangent (or cotangent) pushed through a dense layer
# $k$ counted as $n_k n_{k-1}$ and a product of two materialised brackets as the product of
# the three dimensions.** Forward mode pushes $n_0$ tangents through all layers, reverse mode
# $n_L$ cotangents, and the optimal plan brackets, by dynamic programming, whichever mode
# each piece suits:

# %%
from diffcompare import accumulate as acc

print(f"{'widths n0 → n4':28s} {'forward':>12s} {'reverse':>12s} {'optimal':>12s}  plan")
chain_costs = {}
for dims in [(100, 100, 100, 100, 1), (1, 100, 100, 100, 100), (100, 1000, 10, 1000, 100), (10, 200, 200, 200, 10)]:
    plan = acc.plan_chain(dims)
    chain_costs[dims] = (acc.pure_cost(dims, "forward"), acc.pure_cost(dims, "reverse"), plan.cost)
    print(f"{' → '.join(map(str, dims)):28s} {chain_costs[dims][0]:12,d} {chain_costs[dims][1]:12,d} "
          f"{plan.cost:12,d}  {plan.text()}")
fw, rv, best = chain_costs[(100, 1000, 10, 1000, 100)]
say(f"For the hourglass 100 → 1000 → 10 → 1000 → 100 both pure directions cost {fw:,} multiply-adds "
    f"(forward) and {rv:,} (reverse); the mixed plan needs {best:,}: "
    f"{more_or_fewer(best, min(fw, rv), 'multiply-adds')}.")

# %% [markdown]
# A scalar loss ($n_4 = 1$) makes reverse mode ("from the left" in the matrix product)
# optimal: that is why backpropagation wins for training. One input ($n_0 = 1$) makes forward
# mode optimal. For the hourglass neither pure direction is best: the narrow middle (10 units)
# lets the plan compute each half by the mode that suits it and multiply the two thin results
# (notebook 07 computes and runs such plans).
#
# **Predict, then run.** For the chain $1000 \to 10 \to 1000$ (two layers), which is cheaper:
# forward mode, reverse mode, or a plan that materialises both Jacobians and multiplies them?

# %%
for mode in ("forward", "reverse", "optimal"):
    print(f"{mode:8s} {acc.plan_chain((1000, 10, 1000), mode).cost:>12,d} multiply-adds")
print("optimal plan:", acc.plan_chain((1000, 10, 1000)).text())

# %% jupyter={"source_hidden": true} tags=["hide-input"]
costs = {mode: acc.plan_chain((1000, 10, 1000), mode).cost for mode in ("forward", "reverse", "optimal")}
say(f"*Answer.* Both pure modes push 1000 vectors through both layers ({costs['forward']:,} and "
    f"{costs['reverse']:,} multiply-adds). The narrow middle lets the plan build one layer's Jacobian from its "
    f"10-wide side (10 vectors instead of 1000), so it needs {costs['optimal']:,}: "
    f"{more_or_fewer(costs['optimal'], min(costs['forward'], costs['reverse']), 'multiply-adds')}. Its steps:")
print("\n".join(acc.plan_chain((1000, 10, 1000)).steps()))

# %% [markdown]
# ## Reverse mode for an MLP with an ℓ2 loss, step by step
#
# Course: $\mathcal L = \tfrac12\|y - W_2\varphi(W_1x)\|^2$ as
# $x_2 = W_1 x$, $x_3 = \varphi(x_2)$, $x_4 = W_2 x_3$, $\mathcal L = \tfrac12\|y - x_4\|^2$.
# Chaining the VJPs by hand: $u_2 = x_4 - y$, $u_1 = (W_2^\top u_2)\odot\varphi'(x_2)$,
# $\nabla W_2 = u_2 x_3^\top$, $\nabla W_1 = u_1 x^\top$. The engine's gradient is the same.
#
# > **Note on the course.** Course 001 writes $u_2 = \nabla_{x_4}\mathcal L = p - y$ in this
# > example. That is the cross-entropy layer's VJP from the section before it (softmax
# > probabilities $p$); for the ℓ2 loss $\tfrac12\|y - x_4\|^2$ the derivative is
# > $u_2 = x_4 - y$, which is what we use and what the engine confirms below. (Its
# > $\nabla W_1 = u_1 x_1^\top$ writes the input as $x_1$; here it is $x$.)

# %%
D, K, C = 4, 6, 3
W1, W2 = jnp.asarray(rng.normal(size=(K, D))), jnp.asarray(rng.normal(size=(C, K)))
xin, yout = jnp.asarray(rng.normal(size=D)), jnp.asarray(rng.normal(size=C))


def mlp_l2(W1, W2):
    return 0.5 * dnp.sum((yout - W2 @ dnp.relu(W1 @ xin)) ** 2)


x2 = W1 @ xin
x3 = jax.nn.relu(x2)
u2 = W2 @ x3 - yout
u1 = (W2.T @ u2) * (x2 > 0)
gW1, gW2 = rev.grad(mlp_l2, argnums=(0, 1))(W1, W2)
print("∇W2 = u2 x3ᵀ ?", bool(jnp.allclose(gW2, jnp.outer(u2, x3))), "   ∇W1 = u1 xᵀ ?",
      bool(jnp.allclose(gW1, jnp.outer(u1, xin))))

# %% [markdown]
# ## The layered network's delta equations, from the engine's sweep
#
# Course: $s^{(l)} = W^{(l)}z^{(l-1)} + b^{(l)}$, $z^{(l)} = \sigma(s^{(l)})$, loss
# $E = \tfrac12\|z^{(L)} - y\|^2$. The sensitivities $\delta^{(l)} = \bar s^{(l)}$ obey
# $\delta^{(l-1)} = \sigma'(s^{(l-1)}) \odot (W^{(l)})^\top\delta^{(l)}$, and
# $\bar W^{(l)} = \delta^{(l)} z^{(l-1)\top}$, $\bar b^{(l)} = \delta^{(l)}$.
#
# We read $\delta^{(l)}$ off the engine: add a zero "probe" $e_l$ to each pre-activation,
# $s^{(l)} + e_l$; the engine's adjoint of $e_l$ is exactly $\bar s^{(l)}$.

# %%
width, depth = 5, 3
layers = [{"W": jnp.asarray(rng.normal(size=(width, width)) / np.sqrt(width)),
           "b": jnp.asarray(0.1 * rng.normal(size=width))} for _ in range(depth)]
x_net, y_net = jnp.asarray(rng.normal(size=width)), jnp.asarray(rng.uniform(size=width))


def layered(layers, probes):
    z = x_net
    for layer, e in zip(layers, probes):
        z = dnp.sigmoid(layer["W"] @ z + layer["b"] + e)  # s^(l) + e_l, e_l = 0
    return 0.5 * dnp.sum((z - y_net) ** 2)


probes = [jnp.zeros(width) for _ in range(depth)]
grads_layers, deltas = rev.grad(layered, argnums=(0, 1))(layers, probes)  # δ^(l) = adjoint of the probe

zs, ss, z = [x_net], [], x_net  # the forward pass, to check the equations
for layer in layers:
    ss.append(layer["W"] @ z + layer["b"])
    z = jax.nn.sigmoid(ss[-1])
    zs.append(z)
sig_prime = [jax.nn.sigmoid(s) * (1 - jax.nn.sigmoid(s)) for s in ss]
print("δ^(L) = σ'(s^(L)) ⊙ (z^(L) - y):", bool(jnp.allclose(deltas[-1], sig_prime[-1] * (zs[-1] - y_net))))
for l_ in range(depth - 1, 0, -1):
    rhs = sig_prime[l_ - 1] * (layers[l_]["W"].T @ deltas[l_])
    print(f"δ^({l_}) = σ'(s^({l_})) ⊙ W^({l_ + 1})ᵀ δ^({l_ + 1}):", bool(jnp.allclose(deltas[l_ - 1], rhs)))
for l_ in range(depth):
    ok_W = jnp.allclose(grads_layers[l_]["W"], jnp.outer(deltas[l_], zs[l_]))
    ok_b = jnp.allclose(grads_layers[l_]["b"], deltas[l_])
    print(f"layer {l_ + 1}: W̄ = δ zᵀ {bool(ok_W)},  b̄ = δ {bool(ok_b)}")

# %% [markdown]
# > **Note on the course.** Course 004 sets up the same layered network with "the squared
# > loss $L(p) = \|y - F(p, x)\|_2$", written without the square. The two are not the same
# > function: the norm's gradient is the squared loss's divided by the norm,
# > $\nabla\|r\| = \nabla\big(\tfrac12\|r\|^2\big)/\|r\|$ with $r = F - y$, so the delta equations
# > change only by that scalar factor (and the norm has no gradient at $r = 0$). We use
# > $\tfrac12\|z - y\|^2$, as course 002 does; the engine shows the factor:

# %%
residual = jnp.asarray([0.3, -1.2, 0.5])
g_half_square = rev.grad(lambda r: 0.5 * dnp.sum(r**2))(residual)
g_norm = rev.grad(lambda r: dnp.sqrt(dnp.sum(r**2)))(residual)
print("∇ ½‖r‖² =", np.asarray(g_half_square), "  ∇‖r‖ =", np.asarray(g_norm),
      "  ratio =", np.asarray(g_half_square / g_norm), " ‖r‖ =", float(jnp.linalg.norm(residual)))

# %% [markdown]
# ## What the tape holds, and what the backward pass costs
#
# The forward pass **stores** every intermediate $x_i$ (memory $O(W)$); the backward pass
# applies one VJP per recorded node, each a few operations: no more than a small multiple
# of the forward work ("backward costs no more than 4–5 forward passes"). Notebook 05
# measures the time; here the tape:

# %%
net_params = [{"W": jnp.asarray(rng.normal(size=(32, 16))), "b": jnp.zeros(32)},
          {"W": jnp.asarray(rng.normal(size=(10, 32))), "b": jnp.zeros(10)}]
xb = jnp.asarray(rng.normal(size=16))


def small_net(params):
    h = dnp.tanh(params[0]["W"] @ xb + params[0]["b"])
    return dnp.sum((params[1]["W"] @ h + params[1]["b"]) ** 2)


stats = rev.tape_stats(small_net, net_params)
print(stats, "| operations recorded:", stats.by_op)

# %% [markdown]
# ## Static and traced (dynamic) graphs
#
# A **static** graph is built once, before any data is seen, and then run for every input.
# JAX's `jax.make_jaxpr` shows one: the program `jax.jit` compiles for Example 1 is the same
# list of operations whatever $x$ is (only shapes and dtypes were known when it was built):

# %%
static = jax.make_jaxpr(example1)(1.5)
print(static)
claim(str(jax.make_jaxpr(example1)(-7.0)) == str(static), "x = -7.0 gives the same jaxpr as x = 1.5")

# %% [markdown]
# The engine's graph is **traced**: recorded while the program runs, so Python control flow
# simply happens, and a loop whose trip count depends on $x$ gives a different graph for a
# different $x$. `branchy` halves $x$ until it is inside the unit ball, then branches on the
# sign of its sum:

# %%
def branchy(x):
    """Halve x until it is inside the unit ball, then branch on the sign of its sum."""
    while dnp.sum(x * x) > 1.0:  # a loop whose trip count depends on x
        x = 0.5 * x
    if dnp.sum(x) > 0:  # a branch that depends on x
        return dnp.sum(dnp.sin(x))
    return dnp.sum(dnp.cos(x) * x)


sizes = []
for x_branch in [jnp.asarray([0.3, 0.2]), jnp.asarray([3.0, 2.0]), jnp.asarray([-5.0, 1.0])]:
    st = rev.tape_stats(branchy, x_branch)
    sizes.append(st.nodes)
    print(f"x = {x_branch.tolist()}: {st.nodes:2d} recorded operations, gradient "
          f"{np.round(np.asarray(rev.grad(branchy)(x_branch)), 6).tolist()} "
          f"(jax: {np.round(np.asarray(jax.grad(branchy)(x_branch)), 6).tolist()})")
claim(len(set(sizes)) == 3, "three inputs, three different recorded graphs", found=f"{sizes} operations")

# %% [markdown]
# A static graph cannot follow that: it would have to decide the loop's trip count without
# knowing $x$. JAX's static tracing and the symbolic engine (which builds its expression
# before seeing values) both refuse. JAX raises a `TracerBoolConversionError` (a subclass of
# its `ConcretizationTypeError`: `bool()` was asked of a traced value); the symbolic engine
# raises its own `ConcretizationError`, naming the line and what to write instead:

# %%
import textwrap

from diffcompare import symbolic
from diffcompare.errors import ConcretizationError

try:
    jax.make_jaxpr(branchy)(jnp.asarray([3.0, 2.0]))
except jax.errors.ConcretizationTypeError as err:
    print("jax.make_jaxpr:", type(err).__name__, "(a ConcretizationTypeError) -", str(err).splitlines()[0])
try:
    symbolic.grad(branchy)(jnp.asarray([3.0, 2.0]))
except ConcretizationError as err:
    print("symbolic.grad :", type(err).__name__)
    print(textwrap.fill(str(err).splitlines()[0], 100, initial_indent="    ", subsequent_indent="    "))

# %% [markdown]
# > **Note on the course.** Course 001 lists JAX among the libraries that build the graph "just
# > in time by **tracing** the execution of the function", next to PyTorch and TensorFlow's eager
# > mode, which makes dynamic graphs easy. That is true of *when* JAX builds its graph (on the
# > first call, for the shapes and dtypes it sees), but the jaxpr it traces is **static** in the
# > sense above: it holds no values, so, unlike PyTorch's tape or our engine's, it cannot
# > follow a branch or a loop that depends on $x$ (use `jax.lax.cond`/`while_loop`, or leave
# > such code un-jitted). Our reverse engine traces with values, as PyTorch does.

# %% [markdown]
# ## Training an MLP on the digits
#
# The engine's `value_and_grad` drives plain SGD on scikit-learn's 8×8 digits (bundled);
# every few steps the gradient is compared with `jax.grad`.

# %%
params, hist = train.train(steps=10 if SMALL else 300, batch=64, lr=0.1, hidden=32 if SMALL else 64,
                           check_every=10 if SMALL else 50, log_every=5 if SMALL else 25)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
ax_loss.plot(hist.step, hist.loss, "o-")
ax_loss.set(xlabel="SGD step", ylabel="training loss (cross-entropy)", title="loss")
ax_acc.plot(hist.step, hist.test_accuracy, "s-", color="C1")
ax_acc.set(xlabel="SGD step", ylabel="test accuracy (fraction correct)", title="accuracy on held-out digits",
           ylim=(0, 1))
fig.suptitle("an MLP trained with the hand-written reverse mode")
fig.tight_layout()
plt.show()
print(f"test accuracy {hist.test_accuracy[-1]:.3f} after {hist.step[-1]} steps; largest relative difference "
      f"from jax.grad at the checked steps: {hist.max_rel_diff:.1e}")
claim(hist.max_rel_diff < 1e-10, "the engine's gradients equal jax.grad's at every checked step (to 1e-10)",
      found=f"{hist.max_rel_diff:.1e}")

# %%
report = diffcompare.check(mlp_l2, W1, W2, argnums=(0, 1), methods=["reverse"])
print(report)
claim(report.passed, "reverse mode agrees with JAX on the ℓ2 MLP")

# %% [markdown]
# ## Exercises
#
# **Predict, then run.** Example 1 at $x = 1.5$ has 7 nodes on the tape. How many
# recorded operations for `diamonds(x, 10)`, and how many edges does the backward sweep
# walk? How many paths from $x$ to the output are there?

# %%
g10 = rev.graph.record(lambda x: diamonds(x, 10), 0.3)
print("nodes:", len(g10.nodes), "  edges:", len(g10.edges()), "  paths: 2**10 =", 2**10)

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* Each step records `sin`, `cos` and `add` (3 nodes), plus the input: $3k + 1 = 31$.
# Each step has 4 edges ($x$ into `sin` and `cos`, both into `add`): $4k = 40$. The paths double
# at every step: $2^{10} = 1024$. The sweep's work grows with the edges, not the paths.

# %% [markdown]
# **Predict, then run.** Adding a zero to a value changes nothing in $f$. What adjoint does
# the engine give the zero "probe" $e$ in $f(x, e) = \sin(x + e)\cdot x$ at $x = 1$?

# %%
print("adjoint of the probe:", float(rev.grad(lambda x, e: dnp.sin(x + e) * x, argnums=1)(1.0, 0.0)),
      "  cos(1)·1 =", float(np.cos(1.0)))

# %% [markdown] jupyter={"source_hidden": true} tags=["hide-input"]
# *Answer.* $\partial f/\partial e = \cos(x + e)\,x = \cos 1 \approx 0.540$: the adjoint of the
# *value* $x + e$, which is how the delta equations above were read off the engine.

# %% [markdown]
# **Try it on your own function.** `diffcompare.check` runs any function you write with
# `diffcompare.numpy` through the reverse engine (and any other method) and compares the
# gradient, a JVP and a VJP with JAX; `rev.graph.record` shows its tape with the adjoints.

# %%
def my_function(x):
    return dnp.sum(dnp.tanh(x) ** 2 * dnp.exp(-x))


my_x = jnp.asarray([0.5, -1.0, 2.0])
print(diffcompare.check(my_function, my_x, methods=["reverse", "forward"]))
print(rev.graph.record(my_function, my_x).table())
