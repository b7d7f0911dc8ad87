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
