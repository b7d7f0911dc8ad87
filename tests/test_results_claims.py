"""The sentences the notebooks and READMEs say about the committed results still hold.

The notebooks quote directions ("forward is faster for tall Jacobians", "checkpointing
lowers the peak from depth 8 on"); a regenerated result that contradicts one of them must
fail here, not silently change a notebook's story. Each test reads results/<experiment>/
through diffcompare.results, as the notebooks do, and skips when the result is absent.
"""

from pathlib import Path

import numpy as np
import pytest

from diffcompare.results import load

ROOT = Path(__file__).resolve().parents[1] / "results"


def rows_of(experiment, columns):
    rows = load(experiment, columns, root=ROOT)
    if rows is None:
        pytest.skip(f"results/{experiment} is not committed")
    return rows


def test_jacobian_shape_forward_wins_tall_reverse_wins_wide():
    """05: 'forward mode wins when n < m (tall), reverse mode when n > m (wide)'."""
    rows = rows_of("jacobian_shape", ["n", "m", "method", "t_jac_s"])
    t = {(r["n"], r["m"], r["method"]): r["t_jac_s"] for r in rows}
    shapes = {(n, m) for n, m, _ in t}
    checked = 0
    for n, m in shapes:
        for fwd, rev in (("forward", "reverse"), ("jax fwd (jacfwd)", "jax rev (jacrev)")):
            if (n, m, fwd) not in t or (n, m, rev) not in t:
                continue
            if 4 * n <= m:
                assert t[n, m, fwd] < t[n, m, rev], (n, m, fwd)
                checked += 1
            if 4 * m <= n:
                assert t[n, m, rev] < t[n, m, fwd], (n, m, rev)
                checked += 1
    assert checked >= 4


def test_cost_of_a_gradient_reverse_constant_forward_and_fd_linear():
    """05: FD and forward grow like n, reverse stays a few passes, at the largest n committed."""
    rows = rows_of("cost_vs_n", ["n", "method", "ratio"])
    largest = max(r["n"] for r in rows)
    ratio = {r["method"]: r["ratio"] for r in rows if r["n"] == largest}
    assert ratio["reverse"] < ratio["forward"] < ratio["finite_diff"]
    assert ratio["reverse"] < 5  # "no more than 4-5 forward passes"


def test_cheap_gradient_ratio_stays_small():
    """05/README: time(gradient)/time(f) for compiled reverse mode stays a small constant."""
    rows = rows_of("cheap_gradient", ["method", "ratio"])
    compiled = [r["ratio"] for r in rows if r["method"] == "reverse"]
    assert compiled and max(compiled) < 5


def test_checkpointing_peak_memory_direction():
    """05: the peak is higher with checkpointing at depth 2, lower from depth 8 on."""
    rows = rows_of("memory", ["depth", "policy", "peak_bytes"])
    peak = {(int(r["depth"]), r["policy"]): r["peak_bytes"] for r in rows}
    depths = sorted({d for d, _ in peak})
    for d in depths:
        plain, every = peak[d, "reverse"], peak[d, "reverse (checkpoint every layer)"]
        if d <= 2:
            assert every > plain
        if d >= 8:
            assert every < plain
    quoted = {(2, "reverse"): 229392, (2, "reverse (checkpoint every layer)"): 262160,
              (8, "reverse"): 819216, (8, "reverse (checkpoint every layer)"): 458768}
    for key, value in quoted.items():  # the numbers notebook 05 quotes
        if key in peak:
            assert int(peak[key]) == value, key


def test_swell_tree_grows_faster_than_the_graph():
    """02: the naive derivative tree swells (exponentially) while reverse on the graph stays linear."""
    rows = rows_of("swell", ["family", "size", "naive_tree", "rev_graph"])
    logistic = sorted((r for r in rows if r["family"] == "logistic_map" and np.isfinite(r["naive_tree"])),
                      key=lambda r: r["size"])
    assert len(logistic) >= 3
    trees = [r["naive_tree"] for r in logistic]
    graphs = [r["rev_graph"] for r in logistic]
    assert all(b > 2 * a for a, b in zip(trees[1:], trees[2:]))  # more than doubles per step
    steps = np.diff(graphs)
    assert steps.max() <= 2 * steps.min()  # linear: about the same increment per step


def test_finite_difference_best_steps_at_or_below_theory():
    """01/README: the best step sits near (at or below) eps^(1/(p+1)); central beats forward."""
    rows = rows_of("fd_step", ["problem", "dtype", "scheme", "h", "rel_error"])
    for dtype in ("float64", "float32"):
        best = {}
        for scheme in ("forward", "central"):
            errs = [(r["rel_error"], r["h"]) for r in rows
                    if r["problem"] == "exp_over_square" and r["dtype"] == dtype and r["scheme"] == scheme
                    and np.isfinite(r["rel_error"]) and r["rel_error"] > 0]
            if errs:
                best[scheme] = min(errs)
        if len(best) == 2:
            assert best["central"][0] < best["forward"][0]  # higher order, smaller best error


def test_accuracy_exact_methods_are_exact():
    """05: symbolic, forward and reverse agree with JAX to rounding; finite differences to ~1e-8."""
    rows = rows_of("accuracy", ["method", "dtype", "rel_error", "kinks"])
    for r in rows:
        if r["dtype"] != "float64" or str(r.get("kinks")) == "True":
            continue
        if r["method"] in ("symbolic", "forward", "reverse"):
            assert r["rel_error"] < 1e-12, r


# ------------------------------------------------------------------ the notebooks' own claims, at both sizes
# Each notebook renders its sentences from the numbers it computes (diffcompare.prose) and checks its
# claims with prose.claim; these tests repeat the claims whose direction a sentence states, with the
# parameters of the small and the full version, so that a change in the library that flips one fails here.

SIZES = ["small", "full"]


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_01_default_step_is_within_the_error_model(size):
    """01: 'the default step's error stays under the model's bound, which is within 3x of its minimum'
    (not against the grid's lowest point, which can be a lucky dip); the V's arms have slopes +p and -1."""
    import jax
    import jax.numpy as jnp

    import diffcompare.numpy as dnp
    from diffcompare import finite_diff as fd

    def f(x):
        return dnp.exp(x) / x**2

    x0 = 1.5
    derivs = [f]
    for _ in range(5):
        derivs.append(jax.grad(derivs[-1]))
    size_ = [abs(float(d(x0))) for d in derivs]
    exact = float(derivs[1](x0))
    model = {"forward": (1 / 2, 1.0), "central": (1 / 6, 1.0), "central4": (1 / 30, 1.5)}
    fine = np.logspace(-14, 0, 3000)
    for scheme, (c_t, c_r) in model.items():
        p = fd.order(scheme)
        for dtype in (jnp.float64, jnp.float32):
            eps = float(jnp.finfo(dtype).eps)

            def bound(h, c_t=c_t, c_r=c_r, p=p, eps=eps):
                return (c_t * h**p * size_[p + 1] + c_r * eps * size_[0] / h) / abs(exact)

            h_default = fd.default_step(scheme, dtype) * x0
            err = abs(float(fd.grad(f, scheme=scheme)(jnp.asarray(x0, dtype))) - exact) / abs(exact)
            assert err <= 2 * bound(h_default), (scheme, dtype)
            assert bound(h_default) <= 3 * bound(fine).min(), (scheme, dtype)
    hs = np.logspace(-13 if size == "small" else -15, 0, 14 if size == "small" else 31)
    for scheme in model:
        e = np.array([abs(float(fd.grad(f, scheme=scheme, step=float(h))(x0)) - exact) / abs(exact) for h in hs])
        h_star = fd.default_step(scheme, jnp.float64)
        right, left = (hs > 10 * h_star) & (e > 1e-13), (hs < h_star / 30) & (e > 0)
        assert abs(np.polyfit(np.log10(hs[right]), np.log10(e[right]), 1)[0] - fd.order(scheme)) < 0.5
        assert abs(np.polyfit(np.log10(hs[left]), np.log10(e[left]), 1)[0] + 1) < 0.5


@pytest.mark.parametrize("size", SIZES)
def test_02_swell_tree_grows_faster_than_the_graph(size):
    """02: the naive derivative tree of the logistic map more than doubles per step; the reverse graph grows
    by the same number of nodes each step."""
    from diffcompare import symbolic as S

    def logistic_map(z, steps):
        for _ in range(steps):
            z = 4 * z * (1 - z)
        return z

    steps = [1, 2, 3, 4, 5, 6] + ([] if size == "small" else [8])
    rows = [(k, S.sizes(lambda z, k=k: logistic_map(z, k), 0.3)) for k in steps]
    trees = [(k, sz["naive"].tree) for k, sz in rows]
    graphs = [(k, sz["reverse"].graph) for k, sz in rows]
    assert all(b[1] > 2 ** (b[0] - a[0]) * a[1] for a, b in zip(trees[1:], trees[2:]))
    increments = {(b[1] - a[1]) // (b[0] - a[0]) for a, b in zip(graphs[1:], graphs[2:])}
    assert len(increments) == 1


def test_04_and_07_hourglass_one_cost_model():
    """04 and 07 (and the notebooks README): the hourglass's pure modes cost 22,000,000 multiply-adds, the
    mixed plan 2,300,000, 9.6x fewer; the plan splits at the waist, reverse for (J2 J1), forward for (J4 J3)."""
    from diffcompare import accumulate as acc

    dims = (100, 1000, 10, 1000, 100)
    plan = acc.plan_chain(dims)
    assert acc.pure_cost(dims, "forward") == acc.pure_cost(dims, "reverse") == 22_000_000
    assert plan.cost == 2_300_000 and plan.text() == "(J4 J3)·(J2 J1)"
    assert plan.modes() == {"(J2 J1)": "reverse", "(J4 J3)": "forward"}
    assert f"{22_000_000 / plan.cost:.1f}" == "9.6"
    # a scalar loss makes reverse optimal, one input makes forward optimal (04's table)
    assert acc.plan_chain((100, 100, 100, 100, 1)).cost == acc.pure_cost((100, 100, 100, 100, 1), "reverse")
    assert acc.plan_chain((1, 100, 100, 100, 100)).cost == acc.pure_cost((1, 100, 100, 100, 100), "forward")


@pytest.mark.slow
@pytest.mark.parametrize("n", [100_000, 1_000_000])  # 04's quick and full size
def test_04_checkpoint_keeps_less_and_evaluates_once_more(n):
    """04: checkpointing g keeps fewer tape bytes (about a third less) and evaluates g once more."""
    import jax.numpy as jnp

    import diffcompare.numpy as dnp
    from diffcompare import reverse as rev

    calls = {"n": 0}

    def g_segment(x):
        calls["n"] += 1
        u = x**2
        return u + dnp.exp(u)

    def f(x, segment):
        g = segment(x)
        return dnp.sum(dnp.sqrt(g) + dnp.cos(g))

    xs = jnp.linspace(-1.0, 1.0, n)
    kept, evaluations = [], []
    for segment in (g_segment, rev.checkpoint(g_segment)):
        calls["n"] = 0
        rev.grad(lambda x, segment=segment: f(x, segment))(xs)
        evaluations.append(calls["n"])
        kept.append(rev.tape_stats(lambda x, segment=segment: f(x, segment), xs).bytes)
    assert evaluations == [1, 2] and kept[1] < kept[0]
    assert 0.25 < 1 - kept[1] / kept[0] < 0.4


@pytest.mark.slow
def test_06_hvp_costs_the_same_at_every_n_the_hessian_n_passes():
    """06: an HVP evaluates the same number of primitives at every n (one pass); the Hessian takes n passes
    (the small version counts n = 4, 16, 64, the full one adds 128)."""
    sizes = [4, 16, 64, 128]
    import jax.numpy as jnp

    import diffcompare.numpy as dnp
    from diffcompare import forward as fwd
    from diffcompare import reverse as rev

    def rosenbrock(x):
        return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    primitives = set()
    for n in sizes:
        x, v = jnp.linspace(-1.0, 1.5, n), jnp.ones(n)
        with fwd.counting() as c_hvp:
            rev.hvp(rosenbrock)(x, v)
        with fwd.counting() as c_hess:
            fwd.jacobian(rev.grad(rosenbrock), mode="passes")(x)
        primitives.add(c_hvp.primitives)
        assert c_hvp.passes == 1 and c_hess.passes == n and c_hess.primitives == n * c_hvp.primitives
    assert len(primitives) == 1


@pytest.mark.parametrize("n_big", [2000, 10_000])
def test_07_lighthouse_counts_and_colours(n_big):
    """07: forward 16, reverse 16, Markowitz 12, the best of 120 orders 11; 3 colours for a tridiagonal
    Jacobian at the notebook's size."""
    import jax.numpy as jnp

    from diffcompare import accumulate as acc
    from diffcompare.accumulate import examples

    graph = acc.linearize(acc.lighthouse, 2.0, 3.0, 0.4, 1.3)
    counts = {order: acc.eliminate(graph, order).multiplications for order in acc.ORDERS}
    assert counts == {"forward": 16, "reverse": 16, "markowitz": 12}
    assert counts["markowitz"] < min(counts["forward"], counts["reverse"])
    u = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, n_big))
    assert acc.sparse_jacobian(examples.bratu_residual, u).n_colours == 3
