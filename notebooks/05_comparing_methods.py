# %% [markdown]
# # 05 · Comparing the methods: accuracy, cost, memory
#
# The four methods side by side, on the same functions: how exact they are, what a
# gradient costs as the number of inputs grows, why reverse mode wins for scalar losses
# (the cheap-gradient principle), where forward mode wins (tall Jacobians), and what
# reverse mode pays in memory (and how checkpointing pays it back in time).
#
# The numbers come from the experiments' committed results in `results/` (`diffcompare
# run`); where a result is missing, this notebook computes a small version itself with the
# library. Set `DIFFCOMPARE_NOTEBOOK_RESULTS=compute` to always compute.

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version
USE_RESULTS = os.environ.get("DIFFCOMPARE_NOTEBOOK_RESULTS", "auto") != "compute"

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import METHODS
from diffcompare import finite_diff as fd
from diffcompare import forward as fwd
from diffcompare import reverse as rev
from diffcompare.apps import train
from diffcompare.problems import PROBLEMS
from diffcompare.results import load, show_plots  # committed results/<experiment>/data.csv and plots
from diffcompare.timing import best_time

COLOURS = {"finite_diff": "C0", "symbolic": "C1", "forward": "C2", "reverse": "C3", "jax": "C4"}


def timeit(fn, *args, repeat=5):
    """Best wall time of ``repeat`` calls after one warm-up call (which compiles)."""
    return best_time(fn, rounds=repeat, args=args)


# %% [markdown]
# ## Accuracy
#
# Relative error of every method's derivative against JAX (float64). Finite differences
# are approximate (about $10^{-10}$ to $10^{-8}$: truncation and round-off, notebook 01); the
# symbolic, forward and reverse derivatives are exact up to rounding ($10^{-16}$).

# %%
acc = load("accuracy", ["problem", "method", "rel_error", "dtype"])
if acc is None:  # compute a small version
    acc = []
    names = ["exp_over_square", "exp_sin_xy", "sqrt_cos", "rosenbrock"] + ([] if SMALL else ["mlp_l2", "layered_net"])
    for name in names:
        inst = PROBLEMS[name].make(size=None if name in ("exp_over_square", "exp_sin_xy", "sqrt_cos") else 4)
        ref = jax.jacrev(inst.fun, argnums=inst.argnums)(*inst.args)
        ref_leaves = jax.tree_util.tree_leaves(ref)
        scale = max(float(jnp.max(jnp.abs(r))) for r in ref_leaves)
        for method in ["finite_diff", "symbolic", "forward", "reverse"]:
            got = METHODS[method].jacobian(inst.fun, argnums=inst.argnums)(*inst.args)
            err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree_util.tree_leaves(got), ref_leaves))
            acc.append({"problem": name, "method": method, "dtype": "float64", "rel_error": err / scale})
methods = [m for m in ["finite_diff", "symbolic", "forward", "reverse"] if any(r["method"] == m for r in acc)]
problems = list(dict.fromkeys(r["problem"] for r in acc if r["dtype"] == "float64"))
table = {(r["problem"], r["method"]): r["rel_error"] for r in acc if r["dtype"] == "float64"}
print(f"{'problem':18s}" + "".join(f"{m:>13s}" for m in methods))
for p in problems:
    print(f"{p:18s}" + "".join(f"{table[(p, m)]:13.1e}" if (p, m) in table else f"{'-':>13s}" for m in methods))
worst = {m: max(v for (p, mm), v in table.items() if mm == m) for m in methods}
print("worst:", {m: f"{v:.1e}" for m, v in worst.items()})
assert all(worst[m] < 1e-12 for m in methods if m != "finite_diff") and worst["finite_diff"] < 1e-6

# %% [markdown]
# ## Cost of a full gradient as n grows
#
# Finite differences need $n+1$ (or $2n$) evaluations of $f$ and forward mode $n$ passes:
# their cost grows linearly with $n$. Reverse mode needs one forward and one backward pass
# whatever $n$ is.
#
# Two things in the plot need a word. **Reverse mode's ratio can sit below 1** (about 0.5 to
# 0.7 in the committed run): everything is compiled with `jax.jit`, and XLA on a CPU runs
# $f$'s final sum as one fused loop that vectorises worse than the gradient's elementwise
# loops, so the compiled gradient can take less time than $f$ itself. The ratio is what
# you pay; the passes (one forward, one backward) are what the method does. **The symbolic
# curve stops early**: Rosenbrock's slices `x[1:]`, `x[:-1]` are outside what the
# array-level symbolic mode covers, so `symbolic` falls back to scalar expansion, one
# expression per input, and tracing and compiling that expression grows faster than $n$;
# the experiment runs it only up to $n = 64$ (`LIMIT` in `diffcompare/experiments/cost_vs_n.py`).
# Where the array level applies, the derivative is an array expression whose size does not
# grow with $n$ (the `matrix_calculus` experiment).

# %%
cost = load("cost_vs_n", ["n", "method", "ratio"])
committed = cost is not None
if not committed:
    cost = []
    for n in [4, 16] + ([] if SMALL else [64, 256]):
        x = jnp.linspace(-1.0, 1.5, n)
        f = PROBLEMS["rosenbrock"].make(size=n).fun
        t_f = timeit(jax.jit(f), x)
        for method in ["finite_diff", "forward", "reverse", "jax"]:
            grad = jax.jit(METHODS[method].grad(f))  # every engine computes with jax.numpy: all compile
            t_g = timeit(grad, x, repeat=3)
            cost.append({"n": n, "method": method, "ratio": t_g / t_f})
plt.figure(figsize=(6, 4))
for m in dict.fromkeys(r["method"] for r in cost):
    pts = sorted((r["n"], r["ratio"]) for r in cost if r["method"] == m)
    plt.loglog(*zip(*pts), "o-", color=COLOURS.get(m), label=m)
plt.xlabel("inputs n")
plt.ylabel("time(gradient) / time(f)")
plt.title("cost of a full gradient")
plt.legend()
plt.show()
largest = max(r["n"] for r in cost)
at_largest = {r["method"]: r["ratio"] for r in cost if r["n"] == largest}
print(f"at n = {int(largest)}: time(gradient)/time(f) =", {m: round(v, 2) for m, v in at_largest.items()})
if committed:  # the committed run goes to n = 512, where the work, not call overhead, decides
    assert at_largest["reverse"] < at_largest["forward"] < at_largest["finite_diff"]  # O(1) < n passes < 2n
print("evaluations of f for one gradient, n = 1000: forward differences", fd.evaluations("forward", 1000),
      "| central", fd.evaluations("central", 1000), "| forward mode: 1000 passes | reverse mode: 1 + 1 pass")

# %% [markdown]
# ## The cheap-gradient principle
#
# "Runtimes that do not exceed that of four or five applications of the forward program":
# the ratio time(gradient)/time(f) for reverse mode stays a small constant as the network
# grows, even as the number of parameters grows by orders of magnitude. (Run eagerly on the
# smallest networks the ratio is higher, up to about 10: the fixed cost of recording each
# operation dominates when the arrays are tiny; it falls toward the compiled ratio as the
# work per operation grows.)

# %%
cheap = load("cheap_gradient", ["width", "depth", "method", "n_params", "ratio"])
if cheap is None:
    cheap = []
    for width in [16, 32] + ([] if SMALL else [128, 256]):
        params = train.init_mlp((width, width, width, 10), seed=0)
        xb = jnp.asarray(np.random.default_rng(0).normal(size=(32, width)))
        labels = jnp.arange(32) % 10
        n_params = sum(p.size for p in jax.tree_util.tree_leaves(params))
        t_f = timeit(train.loss, params, xb, labels)
        t_rev = timeit(rev.grad(train.loss, staged=False), params, xb, labels, repeat=3)  # op by op, as f
        t_jax = timeit(jax.jit(jax.grad(train.loss)), params, xb, labels)
        t_fjit = timeit(jax.jit(train.loss), params, xb, labels)
        cheap += [{"width": width, "depth": 3, "method": "reverse (eager)", "n_params": n_params, "ratio": t_rev / t_f},
                  {"width": width, "depth": 3, "method": "jax", "n_params": n_params, "ratio": t_jax / t_fjit}]
print(f"{'method':18s} {'parameters':>10s} {'time(grad)/time(f)':>19s}")
for r in sorted(cheap, key=lambda r: (r["method"], r["n_params"])):
    print(f"{r['method']:18s} {int(r['n_params']):10d} {r['ratio']:19.2f}")
show_plots("cheap_gradient")

# %% [markdown]
# ## Forward or reverse: the shape of the Jacobian decides
#
# For $J = J_4 J_3 J_2 J_1$ (course 13.3.1) with $f:\mathbb R^n\to\mathbb R^m$: forward mode
# multiplies from the right (one JVP per input column, $n$ passes), reverse mode from the
# left (one VJP per output row, $m$ passes). With $m = 1$ and square inner Jacobians
# ($n\times n$), forming products right-to-left costs $O(n^3)$ and left-to-right $O(n^2)$:

# %%
def chain_flops(sizes, left_to_right):
    """Multiply-adds to multiply J4 J3 J2 J1 (J_k of shape sizes[k] × sizes[k-1]) in one order."""
    shapes = [(sizes[k + 1], sizes[k]) for k in range(len(sizes) - 1)][::-1]  # J4 ... J1, left to right
    flops = 0
    if left_to_right:
        rows, inner = shapes[0]
        for _, c in shapes[1:]:
            flops += rows * inner * c
            inner = c
    else:
        inner, cols = shapes[-1]
        for r, c in reversed(shapes[:-1]):
            flops += r * c * cols
            inner = r
    return flops


for n in [10, 100, 1000]:
    sizes = [n, n, n, n, 1]  # x ∈ Rⁿ, three n×n layers, scalar output
    print(f"n = {n:5d}: right-to-left (forward) {chain_flops(sizes, False):>13,d} multiply-adds, "
          f"left-to-right (reverse) {chain_flops(sizes, True):>11,d}")

# %% [markdown]
# Measured on whole Jacobians of $f(x) = \sin(W_2 \tanh(W_1 x))$, $f:\mathbb R^n\to\mathbb R^m$ with
# $n\cdot m$ fixed and a hidden layer wide enough (1024 units) that the passes, not the fixed
# cost of a call, decide the time: forward mode wins when $n < m$ (tall), reverse mode when
# $n > m$ (wide), each by roughly the ratio of passes. At $n = m$ both make the same number
# of passes and either may come out ahead by a few tens of percent (noise and constant
# factors), so the crossover is *near* $n = m$, not exactly at it. The last column says which
# was faster; on the committed results the cell checks the direction at every tall and wide
# shape. (Without committed results the cell times a small version with a narrower hidden
# layer; at that size a call costs little more than its overhead and the order can blur.)

# %%
shape = load("jacobian_shape", ["n", "m", "method", "t_jac_s"])
shape_committed = shape is not None
if not shape_committed:  # a small version of the experiment: the same f, compiled, three shapes
    from diffcompare.experiments.jacobian_shape import make

    shape = []
    for n, m in [(8, 128), (32, 32), (128, 8)]:
        F, x = make(n, m, seed=0, dtype=jnp.float64, hidden=256 if SMALL else 1024)
        for method, jac in [("forward", fwd.jacobian(F)), ("reverse", rev.jacobian(F))]:
            shape.append({"n": n, "m": m, "method": method, "t_jac_s": timeit(jax.jit(jac), x)})
print("time of the whole Jacobian (ms), compiled")
print(f"{'n':>5s} {'m':>5s} {'shape':>6s}" + "".join(f"{m:>10s}" for m in ["forward", "reverse"]) + "   faster")
for n, m in dict.fromkeys((r["n"], r["m"]) for r in shape):
    vals = {r["method"]: 1e3 * r["t_jac_s"] for r in shape if r["n"] == n and r["m"] == m}
    kind = "tall" if n < m else ("wide" if n > m else "square")
    faster = "forward" if vals["forward"] < vals["reverse"] else "reverse"
    print(f"{int(n):5d} {int(m):5d} {kind:>6s}" + "".join(f"{vals[k]:10.3f}" for k in ["forward", "reverse"])
          + f"   {faster}")
    if shape_committed and n * 4 <= m:
        assert faster == "forward", (n, m, vals)  # the sentence above: forward wins for tall Jacobians
    if shape_committed and m * 4 <= n:
        assert faster == "reverse", (n, m, vals)  # ... and reverse for wide ones
print("(JAX's jacfwd/jacrev are in the committed results and the plot)")
show_plots("jacobian_shape")

# %% [markdown]
# Passes are the machine-independent view: forward mode needs $n$ JVPs, reverse mode $m$ VJPs.

# %%
with fwd.counting() as c:
    fwd.jacobian(lambda x: dnp.tanh(x[:3, None] * jnp.ones((3, 50))).reshape(-1), mode="passes")(jnp.ones(3))
print("forward passes for a 150×3 Jacobian:", c.passes)

# %% [markdown]
# ## Memory, and checkpointing
#
# Reverse mode keeps every intermediate of the forward pass for the backward pass: memory
# grows with the depth of the program (course: "O(W) memory", "trade computational
# complexity for space complexity"). Checkpointing keeps only the inputs of selected
# segments and recomputes their insides during the backward pass: less memory, one more
# forward pass of each segment, the same gradient. The tape sizes below are counted (exact);
# the time ratio is measured eagerly and stays near 1: the recomputation is a forward pass
# of plain JAX operations, small next to the recording and sweeping every layer costs
# anyway (the committed `memory` run below, compiled and larger, shows overheads of 1.1 to 2).

# %%
def deep_net(params, x):
    for layer in params:
        x = dnp.tanh(x @ layer["W"] + layer["b"])
    return dnp.sum(x**2)


def layer_fn(layer, x):
    return dnp.tanh(x @ layer["W"] + layer["b"])


checkpointed_layer = rev.checkpoint(layer_fn)


def deep_net_checkpointed(params, x):
    for layer in params:
        x = checkpointed_layer(layer, x)
    return dnp.sum(x**2)


width = 64
xb = jnp.asarray(np.random.default_rng(1).normal(size=(32, width)))
print(f"{'depth':>5s} {'tape bytes':>12s} {'checkpointed':>13s} {'ratio':>6s}")
for depth in [2, 4, 8] + ([] if SMALL else [16, 32]):
    params = train.init_mlp((width,) * (depth + 1), seed=0)
    plain = rev.tape_stats(lambda p: deep_net(p, xb), params)
    ckpt = rev.tape_stats(lambda p: deep_net_checkpointed(p, xb), params)
    print(f"{depth:5d} {plain.bytes:12,d} {ckpt.bytes:13,d} {ckpt.bytes / plain.bytes:6.2f}")
g_plain = rev.grad(deep_net)(params, xb)
g_ckpt = rev.grad(deep_net_checkpointed)(params, xb)
same = all(bool(jnp.allclose(a, b, rtol=1e-12)) for a, b in zip(jax.tree_util.tree_leaves(g_plain),
                                                                 jax.tree_util.tree_leaves(g_ckpt)))
print("same gradient with checkpointing:", same)
assert same
t_plain = timeit(rev.grad(deep_net, staged=False), params, xb, repeat=3)  # both op by op (a checkpoint always is)
t_ckpt = timeit(rev.grad(deep_net_checkpointed, staged=False), params, xb, repeat=3)
print(f"time: checkpointed / plain = {t_ckpt / t_plain:.2f}")

# %% [markdown]
# The committed `memory` experiment also measures the **peak**: the tape plus what the
# backward sweep holds at its worst moment. Checkpointing lowers the peak only once the
# network is deep enough. While the sweep is inside a segment it rebuilds that segment's
# tape on top of the checkpoints it kept, so the peak is *(checkpoints) + (one segment's
# tape)*. At depth 2 a segment is half the network and the checkpoints are as big as what
# they replace: the peak comes out *higher* than without checkpointing (262,160 against
# 229,392 bytes in the committed run). From depth 8 on the saving shows (458,768 against
# 819,216 bytes at depth 8, 1,245,200 against 3,178,512 at depth 32), and it grows with depth,
# while the time overhead stays near one extra forward pass.

# %%
mem = load("memory", ["depth", "policy", "tape_bytes"])
if mem is not None:
    print(f"{'depth':>5s} {'policy':40s} {'tape bytes':>12s} {'peak bytes':>12s} {'time overhead':>14s}")
    for r in mem:
        print(f"{int(r['depth']):5d} {r['policy']:40s} {int(r['tape_bytes']):12,d} "
              f"{int(r.get('peak_bytes', 0) or 0):12,d} {r.get('time_overhead', float('nan')):14.2f}")
    peak = {(int(r["depth"]), r["policy"]): r["peak_bytes"] for r in mem}
    for depth in sorted({d for d, _ in peak}):
        plain, every = peak[(depth, "reverse")], peak[(depth, "reverse (checkpoint every layer)")]
        assert (every > plain) if depth <= 2 else True  # the text: higher at depth 2
        assert (every < plain) if depth >= 8 else True  # ... lower from depth 8 on
    show_plots("memory")

# %% [markdown]
# **Summary.** Finite differences: simple, approximate, $n+1$ evaluations. Symbolic: exact,
# but expressions swell unless shared. Forward mode: exact, one pass per input: the tool for
# tall Jacobians. Reverse mode: exact, one backward pass per output: a gradient of a scalar
# loss for a few forward passes' worth of work, paid for in memory.
