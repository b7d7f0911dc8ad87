# %% [markdown]
# # 05 · Comparing the methods: accuracy, cost, memory
#
# The four methods side by side, on the same functions: how exact they are, what a
# gradient costs as the number of inputs grows, why reverse mode wins for scalar losses
# (the cheap-gradient principle), where forward mode wins (tall Jacobians), and what
# reverse mode pays in memory (and how checkpointing pays it back in time).
#
# The numbers come from the experiments' committed results in `results/` (`diffcompare
# run --quick`); where a result is missing, this notebook computes a small version itself.
# Set `DIFFCOMPARE_NOTEBOOK_RESULTS=compute` to always compute. Every sentence below that
# quotes a number is printed from the data beside it, so it reads right on any run; the
# timings are what one machine measured (named under each table), the counts (evaluations,
# passes, operations, bytes) are the same on every machine.

# %%
# ruff: noqa: E402  (a notebook imports where the story needs it)
import os

import diffcompare

diffcompare.enable_x64()  # float64: accuracy is the subject
SMALL = os.environ.get("DIFFCOMPARE_NOTEBOOK_SIZE", "full") == "small"  # the tests run a small version
USE_RESULTS = os.environ.get("DIFFCOMPARE_NOTEBOOK_RESULTS", "auto") != "compute"

# %%
import json
import platform

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import diffcompare.numpy as dnp
from diffcompare import METHODS
from diffcompare import finite_diff as fd
from diffcompare import forward as fwd
from diffcompare import reverse as rev
from diffcompare.problems import PROBLEMS
from diffcompare.prose import check, compare, more_or_fewer, num, say, times
from diffcompare.results import load, results_dir, show_plots
from diffcompare.timing import best_times

COLOURS = {"finite_diff": "C0", "symbolic": "C1", "forward": "C2", "reverse": "C3", "jax": "C4"}
THIS_MACHINE = f"this machine ({platform.machine()}, JAX on {jax.devices()[0].platform})"


def machine(experiment):
    """Where the committed run of ``experiment`` was measured, read from its meta.json."""
    folder = results_dir()
    meta = json.loads((folder / experiment / "meta.json").read_text())
    return f"the committed {meta['config']['scale']} run ({meta['device']}, {meta['platform']})"


def operations(fn, *args):
    """Arithmetic operations (flops + transcendentals) in jax.jit(fn) as XLA counts them: machine-independent."""
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost["flops"] + cost.get("transcendentals", 0.0))


def span(lo, hi):
    """'3.02×' when the two agree to 3 digits, else '2.57× to 2.64×'."""
    return f"{num(lo)}×" if num(lo) == num(hi) else f"{num(lo)}× to {num(hi)}×"


# %% [markdown]
# ## Accuracy
#
# Relative error of every method's derivative against JAX (float64). Finite differences are
# approximate (truncation and round-off, notebook 01); the symbolic, forward and reverse
# derivatives are exact up to rounding.

# %%
acc = load("accuracy", ["problem", "method", "rel_error", "dtype"]) if USE_RESULTS else None
if acc is None:  # compute a small version
    acc = []
    for name in ["exp_over_square", "exp_sin_xy", "sqrt_cos", "rosenbrock"] + ([] if SMALL else ["mlp_l2"]):
        inst = PROBLEMS[name].make(size=4 if name in ("rosenbrock", "mlp_l2") else None)
        ref = jax.tree_util.tree_leaves(jax.jacrev(inst.fun, argnums=inst.argnums)(*inst.args))
        scale = max(float(jnp.max(jnp.abs(r))) for r in ref)
        for method in ["finite_diff", "symbolic", "forward", "reverse"]:
            got = jax.tree_util.tree_leaves(METHODS[method].jacobian(inst.fun, argnums=inst.argnums)(*inst.args))
            err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(got, ref))
            acc.append({"problem": name, "method": method, "dtype": "float64", "rel_error": err / scale})
acc_methods = [m for m in ["finite_diff", "symbolic", "forward", "reverse"] if any(r["method"] == m for r in acc)]
acc_table = {(r["problem"], r["method"]): r["rel_error"] for r in acc if r["dtype"] == "float64"}
print(f"{'problem':18s}" + "".join(f"{m:>13s}" for m in acc_methods))
for p in dict.fromkeys(p for p, _ in acc_table):
    print(f"{p:18s}" + "".join(f"{acc_table[(p, m)]:13.1e}" if (p, m) in acc_table else f"{'-':>13s}"
                               for m in acc_methods))
fd_errors = [v for (p, m), v in acc_table.items() if m == "finite_diff"]
exact_worst = max(v for (p, m), v in acc_table.items() if m != "finite_diff")
say(f"Finite differences: relative errors from {num(min(fd_errors), 2)} to {num(max(fd_errors), 2)} "
    f"(median {num(np.median(fd_errors), 2)}) over {len(fd_errors)} problems. The exact methods: at worst "
    f"{num(exact_worst, 2)}, {times(min(fd_errors), exact_worst)} below finite differences' best.")
check("the exact methods agree with JAX to rounding (below 1e-12)", exact_worst < 1e-12, f"worst {num(exact_worst, 2)}")

# %% [markdown]
# ## Cost of a full gradient as n grows
#
# Central differences need $2n$ evaluations of $f$, forward mode $n$ passes: their cost
# grows like $n$. Reverse mode needs one forward and one backward pass, whatever $n$ is.
# The experiment `cost_vs_n` measures this on $f(x) = \sum_i u_i^2$, each input first sent
# through eight rounds of $u \leftarrow u + \sin(u)\,e^{-u^2/2}$ (so that $f$ is real work),
# two ways:
#
# * **counted**: the arithmetic operations of the compiled gradient over those of the
#   compiled $f$, as XLA counts them (`operations` above: JAX's `cost_analysis`). A count
#   is the same on every machine and every run.
# * **measured**: the time of the compiled gradient over the time of the compiled $f$
#   (both `jax.jit`, the same regime), best of several calls.

# %%
cost_columns = ["n", "method", "ratio", "ops_ratio", "passes", "t_f_s", "t_call_s", "ops_f"]
cost = load("cost_vs_n", cost_columns) if USE_RESULTS else None
cost_where = machine("cost_vs_n") if cost is not None else THIS_MACHINE
if cost is None:  # a small version of the experiment, computed here
    from diffcompare.experiments.cost_vs_n import smoothed_square

    cost = []
    for n in [16, 64, 256] + ([] if SMALL else [1024]):
        x = jnp.linspace(-1.0, 1.5, n)
        grads = {m: jax.jit(METHODS[m].grad(smoothed_square)) for m in ["finite_diff", "forward", "reverse"]}
        t = best_times({"f": jax.jit(smoothed_square), "call": jax.jit(lambda v: v), **grads}, 5, args=(x,))
        for m in grads:
            cost.append({"n": n, "method": m, "ratio": t[m] / t["f"], "t_f_s": t["f"], "t_call_s": t["call"],
                         "ops_f": operations(smoothed_square, x),
                         "ops_ratio": operations(METHODS[m].grad(smoothed_square), x) / operations(smoothed_square, x),
                         "passes": {"finite_diff": 2 * n, "forward": n}.get(m, 2)})
cost_methods = list(dict.fromkeys(r["method"] for r in cost))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for m in cost_methods:
    pts = sorted((r["n"], r["ops_ratio"], r["ratio"]) for r in cost if r["method"] == m)
    ax1.loglog([p[0] for p in pts], [p[1] for p in pts], "o-", color=COLOURS.get(m), label=m)
    ax2.loglog([p[0] for p in pts], [p[2] for p in pts], "o-", color=COLOURS.get(m), label=m)
ax1.set(xlabel="inputs n", ylabel="operations(gradient) / operations(f)", title="counted (XLA)")
ax2.set(xlabel="inputs n", ylabel="time(gradient) / time(f)", title="measured, both compiled")
ax1.legend()
plt.show()


def series(method, key):
    """(n, value) of one method, by n."""
    return sorted((r["n"], r[key]) for r in cost if r["method"] == method)


rev_ops = [v for _, v in series("reverse", "ops_ratio")]
(n0, fd0), (n1, fd1) = series("finite_diff", "ops_ratio")[0], series("finite_diff", "ops_ratio")[-1]
(_, fw0), (_, fw1) = series("forward", "ops_ratio")[0], series("forward", "ops_ratio")[-1]
say(f"**Counted.** From n = {int(n0)} to n = {int(n1)} ({times(n1, n0)} the inputs), central differences' "
    f"operations went from {num(fd0)}× to {num(fd1)}× f's ({times(fd1, fd0)}) and forward mode's from "
    f"{num(fw0)}× to {num(fw1)}× ({times(fw1, fw0)}): they grow like n. Reverse mode's stayed at "
    f"{span(min(rev_ops), max(rev_ops))} f's at every n: a small constant.")
check("counted: reverse's ratio does not grow with n while FD's and forward's grow at least 4× as fast as n/4",
      max(rev_ops) < 1.2 * min(rev_ops) and fd1 / fd0 > (n1 / n0) / 4 and fw1 / fw0 > (n1 / n0) / 4,
      f"reverse {span(min(rev_ops), max(rev_ops))}, FD ×{num(fd1 / fd0)}, forward ×{num(fw1 / fw0)} "
      f"for n ×{num(n1 / n0)}")
if "symbolic" in cost_methods:
    sym_ops = [v for _, v in series("symbolic", "ops_ratio")]
    say(f"The symbolic derivative ran at every n up to {int(max(n for n, _ in series('symbolic', 'ops_ratio')))}: f "
        f"is elementwise operations and a sum, which the array-level symbolic mode covers, so its derivative is one "
        f"array expression whatever n; counted, it costs {span(min(sym_ops), max(sym_ops))} f's operations.")
n_big = max(n for n, _ in series("finite_diff", "ratio"))
at = {r["method"]: r for r in cost if r["n"] == n_big}
fd_row = at["finite_diff"]
say(f"**Measured** on {cost_where}, at n = {int(n_big)}: central differences took {num(fd_row['ratio'])}× the time "
    f"of f for {int(fd_row['passes'])} evaluations, forward mode {num(at['forward']['ratio'])}× for "
    f"{int(at['forward']['passes'])} passes, reverse mode {num(at['reverse']['ratio'])}×. The {int(fd_row['passes'])} "
    f"evaluations run as one batched call (`jax.vmap`), so each took {num(fd_row['ratio'] / fd_row['passes'])}× "
    f"the time of a separate call of f: batching changes the constant, not the growth.")
below = [r for r in cost if r["method"] in ("reverse", "jax", "symbolic") and r["ratio"] < 1]
if below:
    r = min(below, key=lambda r: r["ratio"])
    rate = r["ops_f"] / (1e6 * r["t_f_s"])  # f's operations per µs at that n, against its best rate in the run
    best_rate = max(q["ops_f"] / (1e6 * q["t_f_s"]) for q in cost)
    say(f"A gradient measured *below* f: {r['method']} at n = {int(r['n'])} took {num(r['ratio'])}× f's time although "
        f"it counts {num(r['ops_ratio'])}× f's operations. There f took {num(1e6 * r['t_f_s'])} µs (an empty "
        f"compiled call: {num(1e6 * r['t_call_s'])} µs) and ran at {num(rate)} operations/µs, against "
        f"{num(best_rate)} at its best in this run: "
        + ("most of f's time there is the fixed cost of a call, not the work, and a ratio of times hides it."
           if r["t_f_s"] < 5 * r["t_call_s"] or rate < best_rate / 4 else
           "XLA compiled f and its gradient into different loops, which run at different speeds."))
else:
    say("No gradient was measured below f in this run.")

# %% [markdown]
# > **Note on the course.** Course 000 counts $n + 1$ evaluations for a finite-difference
# > gradient (forward differences); the experiment uses central differences, $2n$ evaluations,
# > for their $O(h^2)$ accuracy (`fd.evaluations` gives both). Either way the count grows like $n$.

# %%
for scheme in ("forward", "central"):
    print(f"{scheme} differences, n = 1000: {fd.evaluations(scheme, 1000)} evaluations of f")

# %% [markdown]
# ### Exercise 1: predict, then run
#
# The counted ratio of forward mode at the largest n above is printed by the cell below.
# **Predict** the ratio at twice that n, then run the cell (it only counts: nothing is timed).

# %%
from diffcompare.experiments.cost_vs_n import smoothed_square

n_exercise = 128 if SMALL else int(n_big)
x_exercise = jnp.linspace(-1.0, 1.5, n_exercise)
x_double = jnp.linspace(-1.0, 1.5, 2 * n_exercise)
ops_one = operations(fwd.grad(smoothed_square), x_exercise) / operations(smoothed_square, x_exercise)
print(f"forward mode at n = {n_exercise}: {ops_one:.1f}× f's operations")
ops_two = operations(fwd.grad(smoothed_square), x_double) / operations(smoothed_square, x_double)
print(f"forward mode at n = {2 * n_exercise}: {ops_two:.1f}× f's operations")

# %% jupyter={"outputs_hidden": true, "source_hidden": true}
say(f"**Answer.** Twice the inputs, {times(ops_two, ops_one)} the ratio: forward mode makes one tangent pass per "
    "input, each costing about as much as f, so the ratio doubles with n (and the total work, ratio × f's own "
    "cost, grows like n²).")

# %% [markdown]
# ## The cheap-gradient principle
#
# Course 000: "runtimes that do not exceed that of four or five applications of the forward
# program". The `cheap_gradient` experiment measures it on ReLU networks of growing width
# and depth: counted operations, and time of each gradient over the loss, each in the same
# regime (compiled over compiled; the hand-written engine run eagerly over the loss run
# eagerly).

# %%
cheap_columns = ["sweep", "method", "n_params", "ratio", "ops_ratio", "regime", "t_f_s", "t_call_s"]
cheap = load("cheap_gradient", cheap_columns) if USE_RESULTS else None
cheap_where = machine("cheap_gradient") if cheap is not None else THIS_MACHINE
if cheap is None:
    from diffcompare.problems.models import make_mlp, mlp_loss

    cheap = []
    for width in [4, 8, 16] + ([] if SMALL else [64]):
        params, xb, yb = make_mlp(width, 3, dtype=jnp.float64)
        n_params = sum(p.size for p in jax.tree_util.tree_leaves(params))
        grads = {"reverse": rev.grad(mlp_loss), "jax": jax.grad(mlp_loss), "forward": fwd.grad(mlp_loss)}
        t = best_times({"f (jit)": jax.jit(mlp_loss), "f (eager)": mlp_loss,
                        "reverse (eager)": rev.grad(mlp_loss, staged=False),  # op by op, as the eager f
                        "call": jax.jit(lambda *a: a[1]), **{m: jax.jit(g) for m, g in grads.items()}}, 5,
                       args=(params, xb, yb))
        ops_f = operations(mlp_loss, params, xb, yb)
        for m, g in grads.items():
            cheap.append({"sweep": "width", "method": m, "n_params": n_params, "regime": "compiled",
                          "ratio": t[m] / t["f (jit)"], "ops_ratio": operations(g, params, xb, yb) / ops_f,
                          "t_f_s": t["f (jit)"], "t_call_s": t["call"]})
        cheap.append({"sweep": "width", "method": "reverse (eager)", "n_params": n_params, "regime": "eager",
                      "ratio": t["reverse (eager)"] / t["f (eager)"], "ops_ratio": float("nan"),
                      "t_f_s": t["f (eager)"], "t_call_s": t["call"]})
print(f"{'method':16s} {'parameters':>10s} {'counted':>9s} {'measured':>9s}   (ratios to the loss)")
for r in sorted(cheap, key=lambda r: (r["method"], r["n_params"])):
    print(f"{r['method']:16s} {int(r['n_params']):10d} {r['ops_ratio']:9.2f} {r['ratio']:9.2f}")
print(f"measured on {cheap_where}")

# %%
def cheap_range(method, key):
    values = [r[key] for r in cheap if r["method"] == method and np.isfinite(r[key])]
    sizes = [r["n_params"] for r in cheap if r["method"] == method]
    return min(values), max(values), int(min(sizes)), int(max(sizes))


lo, hi, p_lo, p_hi = cheap_range("reverse", "ops_ratio")
say(f"**Counted:** reverse mode's gradient needs {span(lo, hi)} the loss's operations, from {p_lo:,} to "
    f"{p_hi:,} parameters ({times(p_hi, p_lo)} as many): a small constant, within the course's 4–5.")
check("counted: reverse mode's ratio stays within the bound of 5", hi <= 5, f"at most {num(hi)}")
lo_t, hi_t, _, _ = cheap_range("reverse", "ratio")
lo_e, hi_e, _, _ = cheap_range("reverse (eager)", "ratio")
inside = sum(r["ratio"] <= 5 for r in cheap if r["method"] == "reverse")
total = sum(r["method"] == "reverse" for r in cheap)
say(f"**Measured** on {cheap_where}: compiled, reverse mode took {num(lo_t)}× to {num(hi_t)}× the loss's time "
    f"({inside} of {total} networks within 5); run eagerly, operation by operation, {num(lo_e)}× to {num(hi_e)}×.")
if lo_t < 1:
    r = min((r for r in cheap if r["method"] == "reverse"), key=lambda r: r["ratio"])
    why = ("most of that is the fixed cost of calling a compiled function, which the gradient pays once too"
           if r["t_f_s"] < 5 * r["t_call_s"] else
           "XLA compiled the loss and the gradient into different loops, which ran at different speeds")
    say(f"A ratio of {num(r['ratio'])} (at {int(r['n_params']):,} parameters) is a gradient measured cheaper than "
        f"the loss, which counts {num(r['ops_ratio'])}× fewer operations. The loss took {num(1e6 * r['t_f_s'])} µs "
        f"and an empty compiled call {num(1e6 * r['t_call_s'])} µs: {why}. The counted ratio is the work.")
if any(r["method"] == "forward" for r in cheap):
    f_lo, f_hi, fp_lo, fp_hi = cheap_range("forward", "ops_ratio")
    say(f"Forward mode, counted: {num(f_lo)}× the loss at {fp_lo:,} parameters, {num(f_hi)}× at {fp_hi:,}: "
        f"it grows with the parameters, as n passes must.")
_ = show_plots("cheap_gradient")

# %% [markdown]
# > **Note on the course.** Course 000's "four or five applications of the forward program" is a
# > statement about the work. A measured ratio of times also holds the fixed cost of a call and
# > what the compiler made of each program, so on small networks it can fall below 1 and on
# > others rise above the count; the count (XLA's operations) is the machine-independent form of
# > the course's claim, and it is the one that stays put.

# %% [markdown]
# ## Forward or reverse: the shape of the Jacobian decides
#
# For $J = J_4 J_3 J_2 J_1$ (course 001) with $f:\mathbb R^n\to\mathbb R^m$: forward mode
# multiplies from the right (one JVP per input column, $n$ passes), reverse mode from the
# left (one VJP per output row, $m$ passes). With $m = 1$ and square inner Jacobians
# ($n\times n$), forming the products right to left costs $O(n^3)$ multiply-adds and left to
# right $O(n^2)$. The cost model `diffcompare.accumulate.plan_chain` counts them (one
# multiply-add per entry of each product):

# %%
from diffcompare import accumulate

for n in [10, 100, 1000]:
    widths = (n, n, n, n, 1)  # x ∈ Rⁿ, three n×n layers, scalar output
    f_cost, r_cost = accumulate.pure_cost(widths, "forward"), accumulate.pure_cost(widths, "reverse")
    say(f"n = {n}: right to left (forward) {f_cost:,} multiply-adds, left to right (reverse) {r_cost:,}: "
        f"reverse needs {more_or_fewer(r_cost, f_cost, 'multiply-adds')}.")

# %% [markdown]
# > **Note on the course.** Course 001 states $O(n^3)$ for forward mode with $m = 1$: that is the
# > cost of forming the whole Jacobian by $n$ JVPs (each a chain of matrix-vector products,
# > $O(n^2)$). One JVP on its own costs $O(n^2)$, the same as one VJP.
#
# Measured on whole Jacobians of $f(x) = \sin(W_2 \tanh(W_1 x))$, $f:\mathbb R^n\to\mathbb R^m$ with
# $n\cdot m$ fixed (the `jacobian_shape` experiment):

# %%
shape = load("jacobian_shape", ["n", "m", "method", "t_jac_s"]) if USE_RESULTS else None
shape_where = machine("jacobian_shape") if shape is not None else THIS_MACHINE
if shape is None:  # a small version of the experiment: the same f, compiled, three shapes
    from diffcompare.experiments.jacobian_shape import make

    shape = []
    for n, m in [(8, 128), (32, 32), (128, 8)]:
        F, x = make(n, m, seed=0, dtype=jnp.float64, hidden=256 if SMALL else 1024)
        t = best_times({"forward": jax.jit(fwd.jacobian(F)), "reverse": jax.jit(rev.jacobian(F))}, 5, args=(x,))
        shape += [{"n": n, "m": m, "method": k, "t_jac_s": v} for k, v in t.items()]
print(f"{'n':>5s} {'m':>5s} {'shape':>6s} {'forward ms':>11s} {'reverse ms':>11s}   faster")
shape_t = {(r["n"], r["m"], r["method"]): r["t_jac_s"] for r in shape}
shapes = sorted({(n, m) for n, m, _ in shape_t}, key=lambda s: s[0] / s[1])
for n, m in shapes:
    tf, tr = shape_t[n, m, "forward"], shape_t[n, m, "reverse"]
    kind = "tall" if n < m else ("wide" if n > m else "square")
    faster = "forward" if tf < tr else "reverse"
    print(f"{int(n):5d} {int(m):5d} {kind:>6s} {1e3 * tf:11.3f} {1e3 * tr:11.3f}   {faster}")
print(f"measured on {shape_where}")
for n, m in (shapes[0], shapes[-1]):
    tf, tr = shape_t[n, m, "forward"], shape_t[n, m, "reverse"]
    passes_f, passes_r = int(n), int(m)
    say(f"n = {int(n)}, m = {int(m)}: forward mode makes {passes_f} passes and reverse mode {passes_r} "
        f"({more_or_fewer(passes_f, passes_r, 'passes')}); measured, forward mode was {compare(tf, tr)} reverse "
        "mode.")
tall, wide = shapes[0], shapes[-1]
check("forward mode is faster on the tallest Jacobian, reverse mode on the widest",
      shape_t[(*tall, "forward")] < shape_t[(*tall, "reverse")]
      and shape_t[(*wide, "reverse")] < shape_t[(*wide, "forward")],
      f"tall {int(tall[0])}×{int(tall[1])}, wide {int(wide[0])}×{int(wide[1])}")

# %% [markdown]
# Both modes batch their passes (`jax.vmap`), and a batched pass costs less than a separate
# one, so the measured factor need not equal the ratio of passes:

# %%
for n, m in (tall, wide):
    measured = max(shape_t[n, m, "forward"], shape_t[n, m, "reverse"]) / min(shape_t[n, m, "forward"],
                                                                               shape_t[n, m, "reverse"])
    say(f"n = {int(n)}, m = {int(m)}: the faster mode won by {num(measured)}×, the ratio of passes is "
        f"{num(max(n, m) / min(n, m))}: the measured factor is "
        f"{'smaller than' if measured < max(n, m) / min(n, m) else 'at least'} the ratio of passes.")

# %% [markdown]
# The pass counts are the machine-independent view:

# %%
with fwd.counting() as counter:
    fwd.jacobian(lambda x: dnp.tanh(x[:3, None] * jnp.ones((3, 50))).reshape(-1), mode="passes")(jnp.ones(3))
print("forward passes for a 150×3 Jacobian:", counter.passes)

# %% [markdown]
# ### Exercise 2: predict, then run
#
# $g:\mathbb R^{200}\to\mathbb R^{2}$. **Predict** how many passes forward mode and reverse mode
# each need for the full Jacobian, then run the cell.

# %%
def g_two_outputs(x):
    return dnp.stack([dnp.sum(dnp.sin(x)), dnp.sum(x**2)])


with fwd.counting() as counter:
    fwd.jacobian(g_two_outputs, mode="passes")(jnp.ones(200))
print("forward passes:", counter.passes)
print("reverse passes: one VJP per output row, m =", g_two_outputs(jnp.ones(200)).shape[0])

# %% jupyter={"outputs_hidden": true, "source_hidden": true}
say(f"**Answer.** Forward mode: {counter.passes} passes, one per input; reverse mode: 2, one per output. A wide "
    "Jacobian (n ≫ m) is reverse mode's case: a gradient (m = 1) is the widest of all.")

# %% [markdown]
# ## Memory, and checkpointing
#
# Reverse mode keeps every intermediate of the forward pass for the backward pass: memory
# grows with the depth of the program. Checkpointing keeps only the inputs of selected
# segments and recomputes their insides during the backward pass: less memory, one more
# forward pass of each segment, the same gradient. The tape sizes below are counted (exact);
# the times are measured here, eagerly.
#
# > **Note on the course.** Course 002 calls storing every intermediate ("$O(W)$ space") the
# > price of reverse mode. Checkpointing, not in the course, lowers that price: it keeps a few
# > values and recomputes the rest.

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


def make_params(width, depth, seed=0):
    rng = np.random.default_rng(seed)
    return [{"W": jnp.asarray(rng.normal(size=(width, width)) / np.sqrt(width)), "b": jnp.zeros(width)}
            for _ in range(depth)]


net_width = 64
net_x = jnp.asarray(np.random.default_rng(1).normal(size=(32, net_width)))
print(f"{'depth':>5s} {'tape bytes':>12s} {'checkpointed':>13s} {'ratio':>6s}")
tapes = {}
for depth in [2, 4, 8] + ([] if SMALL else [16, 32]):
    net_params = make_params(net_width, depth)
    plain = rev.tape_stats(lambda p: deep_net(p, net_x), net_params)
    ckpt = rev.tape_stats(lambda p: deep_net_checkpointed(p, net_x), net_params)
    tapes[depth] = (plain.bytes, ckpt.bytes)
    print(f"{depth:5d} {plain.bytes:12,d} {ckpt.bytes:13,d} {ckpt.bytes / plain.bytes:6.2f}")
g_plain = rev.grad(deep_net)(net_params, net_x)
g_ckpt = rev.grad(deep_net_checkpointed)(net_params, net_x)
diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree_util.tree_leaves(g_plain),
                                                          jax.tree_util.tree_leaves(g_ckpt)))
print(f"same gradient with checkpointing: {diff < 1e-12} (largest difference between the two: {diff:.1e})")
t_ckpt = best_times({"plain": rev.grad(deep_net, staged=False),  # both op by op (a checkpoint always is)
                     "checkpointed": rev.grad(deep_net_checkpointed, staged=False)}, 3,
                    args=(net_params, net_x))
deepest = max(tapes)
say(f"At depth {deepest} the checkpointed tape holds {times(tapes[deepest][1], tapes[deepest][0])} the plain tape's "
    f"bytes (counted). Its gradient took {times(t_ckpt['checkpointed'], t_ckpt['plain'])} the plain gradient's time "
    f"on {THIS_MACHINE}, eagerly: the recomputed forward pass is paid for, and how much it weighs depends on the "
    "machine and its load.")

# %% [markdown]
# The committed `memory` experiment (the eager engine, like the cell above) also counts the
# **peak**: the tape plus what the backward sweep holds at its worst moment. While the sweep
# is inside a segment it rebuilds that segment's tape on top of the checkpoints it kept, so
# the peak is *(checkpoints) + (one segment's tape)*: on a shallow network the checkpoints
# cost about as much as what they replace.

# %%
mem = load("memory", ["depth", "policy", "tape_bytes", "peak_bytes", "time_overhead"]) if USE_RESULTS else None
if mem is not None:
    print(f"{'depth':>5s} {'policy':40s} {'tape bytes':>12s} {'peak bytes':>12s} {'time overhead':>14s}")
    for r in mem:
        print(f"{int(r['depth']):5d} {r['policy']:40s} {int(r['tape_bytes']):12,d} {int(r['peak_bytes']):12,d} "
              f"{r['time_overhead']:14.2f}")
    print(f"measured on {machine('memory')}")
    peak = {(int(r["depth"]), r["policy"]): r["peak_bytes"] for r in mem}
    every = "reverse (checkpoint every layer)"
    mem_depths = sorted({d for d, _ in peak})
    # the shallowest depth from which on every deeper network saves
    saving = [d for d in mem_depths if all(peak[e, every] < peak[e, "reverse"] for e in mem_depths if e >= d)]
    first = min(saving) if saving else None
    shallow = mem_depths[0]
    shallow_words = more_or_fewer(peak[shallow, every], peak[shallow, "reverse"], "bytes")
    say(f"At depth {shallow}, checkpointing every layer gives a peak of {int(peak[shallow, every]):,} bytes against "
        f"{int(peak[shallow, 'reverse']):,} without ({shallow_words})."
        + (f" From depth {first} on the peak is lower with checkpointing (at depth {mem_depths[-1]}: "
           f"{int(peak[mem_depths[-1], every]):,} against {int(peak[mem_depths[-1], 'reverse']):,} bytes)."
           if first else " At no depth of this run is the peak lower with checkpointing."))
    overheads = [r["time_overhead"] for r in mem if r["policy"] != "reverse"]
    say(f"The measured time overhead of checkpointing ranged from {times(min(overheads), 1)} to "
        f"{times(max(overheads), 1)} the plain gradient's time in that run.")
    _ = show_plots("memory")

# %% [markdown]
# ### Exercise 3: predict, then run
#
# A network of depth 12 with a checkpoint at every layer. **Predict**: is its tape smaller or
# larger than without checkpoints, and by roughly what factor, given the table above? Then run.

# %%
params_12 = make_params(net_width, 12)
tape_12 = rev.tape_stats(lambda p: deep_net(p, net_x), params_12).bytes
tape_12_ckpt = rev.tape_stats(lambda p: deep_net_checkpointed(p, net_x), params_12).bytes
print(f"plain {tape_12:,} bytes, checkpointed {tape_12_ckpt:,} bytes")

# %% jupyter={"outputs_hidden": true, "source_hidden": true}
say(f"**Answer.** Smaller: the checkpointed tape holds {times(tape_12_ckpt, tape_12)} the plain one (at depth "
    f"{deepest} above: {times(tapes[deepest][1], tapes[deepest][0])}). Each layer keeps only its input and output "
    "instead of every intermediate inside it, so as the network deepens the factor settles near what one layer "
    "keeps against what it computes.")

# %% [markdown]
# ### Try it on your own function
#
# Replace `my_f` and `my_x` with a function of your own (written with `diffcompare.numpy`) and an
# input. The cell counts the operations of each gradient against f's (machine-independent) and
# times them (compiled, on this machine).

# %%
def my_f(x):
    return dnp.sum(dnp.log1p(dnp.exp(x)) * dnp.cos(x))


my_x = jnp.linspace(-2.0, 2.0, 64 if SMALL else 512)
my_grads = {m: METHODS[m].grad(my_f) for m in ["finite_diff", "forward", "reverse"]}
my_times = best_times({"f": jax.jit(my_f), **{m: jax.jit(g) for m, g in my_grads.items()}}, 5, args=(my_x,))
my_ops = operations(my_f, my_x)
print(f"n = {my_x.size}, on {THIS_MACHINE}")
for m, g in my_grads.items():
    print(f"{m:12s} counted {operations(g, my_x) / my_ops:9.1f}× f   measured {my_times[m] / my_times['f']:9.1f}× f")

# %% [markdown]
# **Summary.** Finite differences: simple, approximate, $2n$ evaluations (central). Symbolic:
# exact; at array level its derivative does not grow with $n$. Forward mode: exact, one pass
# per input: the tool for tall Jacobians. Reverse mode: exact, one backward pass per output:
# a gradient of a scalar loss for a small constant times the loss's operations, paid for in
# memory, which checkpointing trades back for time.
