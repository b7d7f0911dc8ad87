"""Notebook 05's claims and the experiments' headlines, checked against the committed quick run
(``results/``) and, at small size, against data computed here.

Notebook 05 renders every quoted number from the data beside it (``diffcompare.prose``); what is
left to check is the *direction* its words take for granted (the count of a reverse-mode
gradient stays flat in n, finite differences' and forward mode's grow, forward wins tall
Jacobians, ...) and that each headline words what its own data shows (no "1× fewer", no
gradient below f without a reason, no slope through fewer than 3 sizes).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from diffcompare.experiments import cheap_gradient, cost_vs_n, jacobian_accumulation
from diffcompare.experiments.runner import Config
from diffcompare.results import load

ROOT = Path(__file__).resolve().parents[1] / "results"


def committed(experiment, columns=()):
    rows = load(experiment, columns, root=ROOT)
    if rows is None:
        pytest.skip(f"results/{experiment} is not committed")
    return rows


def headline_of(experiment):
    return json.loads((ROOT / experiment / "meta.json").read_text())["headline"]


def series(rows, method, key, x="n"):
    return sorted((r[x], r[key]) for r in rows if r["method"] == method and r["status"] == "ok")


# ------------------------------------------------------------------ cost_vs_n, committed


def test_cost_counts_reverse_flat_fd_and_forward_grow_like_n():
    """05 'Counted': reverse (and JAX, symbolic) a constant times f at every n; FD and forward grow like n."""
    rows = committed("cost_vs_n", ["n", "method", "ops_ratio"])
    for m in ("reverse", "jax", "symbolic"):
        values = [v for _, v in series(rows, m, "ops_ratio")]
        assert len(values) >= 3, m
        assert max(values) < 1.2 * min(values) and max(values) < 5, (m, values)
    for m in ("finite_diff", "forward"):
        pts = series(rows, m, "ops_ratio")
        assert len(pts) >= 3, f"{m}: fewer than 3 sizes in the quick run"
        (n0, r0), (n1, r1) = pts[0], pts[-1]
        assert r1 / r0 > 0.5 * (n1 / n0), (m, pts)  # grows like n (at least half as fast)


def test_cost_measured_directions_in_the_quick_run():
    """The quick run's measured time: FD's and forward's ratio grow with n and end far above reverse's."""
    rows = committed("cost_vs_n", ["n", "method", "ratio"])
    largest = max(n for n, _ in series(rows, "finite_diff", "ratio"))
    at = {r["method"]: r["ratio"] for r in rows if r["n"] == largest}
    assert at["reverse"] < at["forward"] and at["reverse"] < at["finite_diff"], at
    for m in ("finite_diff", "forward"):
        pts = series(rows, m, "ratio")
        assert pts[-1][1] > 4 * pts[0][1], (m, pts)


def test_cost_headline_words_follow_the_data():
    """A gradient below f is explained; batched passes are said; slopes only through >= 3 sizes."""
    rows = committed("cost_vs_n", ["n", "method", "ratio", "ops_ratio"])
    lines = {line.split(":")[0]: line for line in headline_of("cost_vs_n")}
    for m in ("finite_diff", "forward"):
        assert "grows with n" in lines[m] and "batched" in lines[m], lines[m]
    for m in ("reverse", "jax", "symbolic"):
        assert "counted operations" in lines[m] and "independent of n" in lines[m].split(";")[0] + lines[m], lines[m]
        below = [r for r in rows if r["method"] == m and r["status"] == "ok" and r["ratio"] < 1]
        if below:
            assert "below f" in lines[m] and "although it counts" in lines[m], lines[m]
    assert all("1× fewer" not in line for line in lines.values())


# ------------------------------------------------------------------ cheap_gradient, committed


def test_cheap_gradient_counted_within_the_bound_forward_and_fd_grow():
    """05 'Counted: reverse mode ... within the course's 4–5'; forward grows with the parameters."""
    rows = committed("cheap_gradient", ["method", "n_params", "ops_ratio", "ratio"])
    rev = [v for _, v in series(rows, "reverse", "ops_ratio", x="n_params")]
    assert rev and max(rev) <= 5 and max(rev) < 1.5 * min(rev), rev
    for m in ("forward", "finite_diff"):
        pts = sorted(set(series(rows, m, "ops_ratio", x="n_params")))
        assert len(pts) >= 3, f"{m}: fewer than 3 sizes in the quick run"
        assert pts[-1][1] > 2 * pts[0][1] and pts[0][1] > 5, (m, pts)


def test_cheap_gradient_headline_explains_ratios_below_one():
    rows = committed("cheap_gradient", ["method", "ratio"])
    lines = {line.split(":")[0]: line for line in headline_of("cheap_gradient")}
    for m, line in lines.items():
        below = [r for r in rows if r["method"] == m and r["status"] == "ok" and r["ratio"] < 1]
        if below:
            assert "below the loss" in line, line
        assert "1× fewer" not in line


# ------------------------------------------------------------------ other committed claims of 05


def test_jacobian_shape_tallest_forward_widest_reverse():
    """05: forward mode faster on the tallest Jacobian, reverse mode on the widest (the notebook's check)."""
    rows = committed("jacobian_shape", ["n", "m", "method", "t_jac_s"])
    t = {(r["n"], r["m"], r["method"]): r["t_jac_s"] for r in rows}
    shapes = sorted({(n, m) for n, m, _ in t}, key=lambda s: s[0] / s[1])
    tall, wide = shapes[0], shapes[-1]
    assert t[(*tall, "forward")] < t[(*tall, "reverse")]
    assert t[(*wide, "reverse")] < t[(*wide, "forward")]


def test_memory_shallow_checkpoints_cost_about_what_they_replace_and_tape_grows():
    """05: 'on a shallow network the checkpoints cost about as much as what they replace'; the plain
    tape grows with depth (course 002: O(W) memory)."""
    rows = committed("memory", ["depth", "policy", "tape_bytes", "peak_bytes"])
    peak = {(int(r["depth"]), r["policy"]): r["peak_bytes"] for r in rows}
    tape = {(int(r["depth"]), r["policy"]): r["tape_bytes"] for r in rows}
    depths = sorted({d for d, _ in peak})
    shallow, deep = depths[0], depths[-1]
    every = "reverse (checkpoint every layer)"
    assert peak[shallow, every] > 0.8 * peak[shallow, "reverse"]
    assert peak[deep, every] < peak[deep, "reverse"]  # the notebook's "From depth d on" needs a saving somewhere
    assert tape[deep, "reverse"] > 0.5 * (deep / shallow) * tape[shallow, "reverse"]


def test_jacobian_accumulation_headline_never_says_one_times_fewer():
    lines = headline_of("jacobian_accumulation")
    assert lines and all("1× fewer" not in line and "1× more" not in line for line in lines)
    rows = committed("jacobian_accumulation", ["part", "case", "method", "multiply_adds"])
    for case in {r["case"] for r in rows if r["part"] == "chain"}:
        cost = {r["method"]: r["multiply_adds"] for r in rows if r["case"] == case and r["part"] == "chain"}
        line = next(x for x in lines if x.startswith(case))
        if cost["optimal"] < min(cost["forward"], cost["reverse"]):
            assert "fewer multiply-adds" in line, line
        else:
            assert "pure" in line and "fewer" not in line, line


# ------------------------------------------------------------------ small size, computed here


@pytest.fixture(scope="module")
def tiny_cost_rows():
    cfg = Config(scale="tiny", out=Path("unused"), progress=False)
    rows = []
    for point in cost_vs_n.points(cfg):
        for row in cost_vs_n.measure(dict(point), cfg):
            rows.append({**point, **row})
    return rows


@pytest.mark.slow
def test_small_cost_counts_and_headline(tiny_cost_rows):
    """At small size, computed here: the counted ratios take the directions notebook 05 states."""
    rows = tiny_cost_rows
    for m in ("reverse", "jax", "symbolic"):
        values = [v for _, v in series(rows, m, "ops_ratio")]
        assert len(values) >= 3 and max(values) < 1.2 * min(values), (m, values)
    for m in ("finite_diff", "forward"):
        pts = series(rows, m, "ops_ratio")
        assert len(pts) >= 3 and pts[-1][1] / pts[0][1] > 0.5 * pts[-1][0] / pts[0][0], (m, pts)
    lines = {line.split(":")[0]: line for line in cost_vs_n.headline(rows, None)}
    assert "grows with n" in lines["finite_diff"] and "grows with n" in lines["forward"]
    assert "independent of n" in lines["reverse"]


def test_no_slope_through_two_points():
    rows = [{"n": n, "method": "reverse", "status": "ok", "ratio": 2.0, "ops_ratio": 3.0, "passes": 2,
             "t_f_s": 1e-3, "t_call_s": 1e-5} for n in (8, 16)]
    slopes = cost_vs_n.fits(rows)["reverse"]
    assert all(math.isnan(s) for s in slopes)
    assert "fewer than 3 sizes" in cost_vs_n.headline(rows, None)[0]


def test_a_gradient_below_f_is_explained_by_its_own_numbers():
    """Overhead-dominated f: the headline says so; work-dominated: it names the two rates."""
    base = {"method": "reverse", "status": "ok", "ops_ratio": 3.0, "passes": 2, "ops_f": 1e6, "ops_grad": 3e6}
    small = [dict(base, n=n, ratio=0.8, t_f_s=2e-5, t_grad_s=1.6e-5, t_call_s=1e-5) for n in (8, 16, 32)]
    line = cost_vs_n.headline(small, None)[0]
    assert "below f" in line and "fixed cost of a compiled call" in line
    big = [dict(base, n=n, ratio=0.8, t_f_s=1e-2, t_grad_s=8e-3, t_call_s=1e-5) for n in (8, 16, 32)]
    line = cost_vs_n.headline(big, None)[0]
    assert "below f" in line and "operations/µs" in line


def test_cheap_gradient_headline_below_one_on_made_up_rows():
    rows = [{"method": "reverse", "sweep": "width", "n_params": n, "regime": "compiled", "status": "ok",
             "ratio": r, "ops_ratio": 2.6, "ops_f": 1e3, "ops_grad": 2.6e3, "t_f_s": 2e-5, "t_grad_s": r * 2e-5,
             "t_call_s": 1e-5} for n, r in ((80, 0.7), (288, 1.5), (1088, 2.5))]
    line = cheap_gradient.headline(rows, None)[0]
    assert "below the loss (0.7×)" in line and "fixed cost of a compiled call" in line
    assert "flat in n" in line.split(";")[0]


def test_jacobian_accumulation_headline_when_a_pure_mode_is_optimal():
    rows = []
    for m, cost in (("forward", 100.0), ("reverse", 1000.0), ("optimal", 100.0)):
        rows.append({"part": "chain", "case": "tall", "method": m, "multiply_adds": cost, "t_s": 1e-3,
                     "plan": "(J2 J1)" if m == "optimal" else "", "dims": "10→100"})
    for m in ("jax fwd (jacfwd)", "jax rev (jacrev)"):
        rows.append({"part": "chain", "case": "tall", "method": m, "multiply_adds": 0.0, "t_s": 2e-3, "plan": "",
                     "dims": "10→100"})
    line = jacobian_accumulation.headline(rows, None)[0]
    assert "is pure forward mode itself" in line and "fewer" not in line
    rows[2]["multiply_adds"] = 10.0
    line = jacobian_accumulation.headline(rows, None)[0]
    assert "10× fewer multiply-adds than the better pure mode (forward)" in line


def test_prose_check_says_what_it_found(capsys):
    """The notebooks' replacement for a bare assert: it reports the claim, the verdict and the numbers."""
    from diffcompare.prose import check

    assert check("reverse is cheaper", True, "2.6× against 300×") is True
    assert check("forward is cheaper", False, "300× against 2.6×") is False
    out = capsys.readouterr().out
    assert "✔ reverse is cheaper (found: 2.6× against 300×)" in out
    assert "✘ does not hold here: forward is cheaper" in out and "found: 300× against 2.6×" in out
