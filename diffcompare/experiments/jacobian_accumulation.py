"""jacobian_accumulation: beyond pure forward and reverse mode.

(a) Chains f = f_L ∘ … ∘ f_1 of dense layers tanh(W x + b) with the widths of
``accumulate.examples.PROFILES`` (tall, wide, hourglass 100 → 1000 → 10 → 1000
→ 100, diamond): the multiply-adds the cost model predicts and the compiled
time of the full Jacobian by all-forward, all-reverse (our engines) and the
optimal bracketing (``accumulate.chain_jacobian``), with ``jax.jacfwd`` and
``jax.jacrev`` as the reference. The course predicts forward for tall chains
and reverse for wide ones; the hourglass needs both at once.

(b) Sparse Jacobians of a 1-D finite-difference PDE residual (Bratu,
tridiagonal) and a banded map (pentadiagonal) as n grows: the number of
colours (passes) stays 3 and 5 while dense ``jax.jacfwd`` needs n; the time of
the coloured Jacobian (forward, reverse, CPR finite differences) against dense
``jax.jacfwd``, and against ``sparsejac`` and ``asdex`` where they are installed.

All contenders of one point are timed in interleaved rounds, so their ratios are fair.
"""

from __future__ import annotations

import importlib.util
import math

import jax
import numpy as np

from .. import accumulate as acc
from ..accumulate import examples
from ..prose import more_or_fewer, times
from . import plotting
from ._common import attempt, fmt

NAME = "jacobian_accumulation"
TITLE = "Mixed-mode and sparse Jacobian accumulation"
SUMMARY = ("full Jacobians of layer chains by forward, reverse and the optimal bracketing; sparse Jacobians "
           "by colouring as n grows")

CHAIN_METHODS = ("forward", "reverse", "optimal", "jax fwd (jacfwd)", "jax rev (jacrev)")
SPARSE_METHODS = ("sparse forward", "sparse reverse", "sparse fd (CPR)", "jax fwd (jacfwd)", "sparsejac", "asdex")


def _scaled(dims, cfg):
    return tuple(max(2, d // cfg.pick(10, 1, 1)) for d in dims)


def sizes(cfg):
    return cfg.pick((20, 50, 100), (1000, 3000, 10000), (100, 1000, 3000, 10000, 30000))


def points(cfg):
    profiles = cfg.pick(("hourglass",), tuple(examples.PROFILES), tuple(examples.PROFILES))
    problems = cfg.pick(tuple(examples.SPARSE_PROBLEMS)[:1], tuple(examples.SPARSE_PROBLEMS),
                        tuple(examples.SPARSE_PROBLEMS))
    chain = [{"part": "chain", "case": name, "n": 0} for name in profiles]
    sparse = [{"part": "sparse", "case": name, "n": n} for name in problems for n in sizes(cfg)]
    return chain + sparse


def _installed(name):
    return importlib.util.find_spec(name) is not None


def _chain_rows(case, cfg):
    dims = _scaled(examples.PROFILES[case], cfg)
    layers, x = examples.dense_chain(dims, cfg.seed, cfg.dtype)
    f = examples.compose(layers)
    fns = {m: jax.jit(acc.chain_jacobian(layers, m)) for m in ("forward", "reverse", "optimal")}
    fns["jax fwd (jacfwd)"] = jax.jit(jax.jacfwd(f))
    fns["jax rev (jacrev)"] = jax.jit(jax.jacrev(f))
    ref = np.asarray(fns["jax fwd (jacfwd)"](x))
    times = examples.race(fns, x, rounds=cfg.pick(3, 15, 50), budget_s=cfg.pick(0.5, 1.0, 20))
    plan = acc.plan_chain(dims)
    predicted = {"forward": acc.pure_cost(dims, "forward"), "reverse": acc.pure_cost(dims, "reverse"),
                 "optimal": plan.cost}
    predicted["jax fwd (jacfwd)"], predicted["jax rev (jacrev)"] = predicted["forward"], predicted["reverse"]
    rows = []
    for m, fn in fns.items():
        err = float(np.max(np.abs(np.asarray(fn(x)) - ref)) / max(np.max(np.abs(ref)), 1e-300))
        rows.append({"method": m, "dims": "→".join(map(str, dims)), "multiply_adds": predicted[m], "t_s": times[m],
                     "plan": plan.text() if m == "optimal" else "", "colours": math.nan, "rel_error": err,
                     "status": "ok", "message": ""})
    return rows


def _sparse_contenders(f, x, cfg):
    """method -> (compiled callable returning a dense-able result, colours or None)."""
    fns = {}
    pattern = acc.pattern(f, x)  # detected once, from the reverse engine's tape
    for mode, label in zip(acc.sparsity.MODES, SPARSE_METHODS):
        sj = acc.sparse_jacobian(f, x, mode, pattern_matrix=pattern)
        fns[label] = (jax.jit(sj), sj.n_colours)
    if x.size <= cfg.pick(200, 10000, 10000):
        fns["jax fwd (jacfwd)"] = (jax.jit(jax.jacfwd(f)), x.size)
    peers = cfg.scale == "full" or (cfg.scale == "quick" and x.size == max(sizes(cfg)))  # optional; not in tests
    if peers and _installed("sparsejac"):
        import sparsejac
        from jax.experimental import sparse as jsparse

        fns["sparsejac"] = (jax.jit(sparsejac.jacfwd(f, jsparse.BCOO.from_scipy_sparse(pattern.astype(float)))), None)
    if peers and _installed("asdex"):
        import asdex

        fns["asdex"] = (jax.jit(asdex.jacobian(f, x, mode="fwd")), None)
    return fns


def _sparse_rows(case, n, cfg):
    f = examples.SPARSE_PROBLEMS[case]
    x = jax.numpy.asarray(np.random.default_rng(cfg.seed).uniform(-1, 1, n), cfg.dtype)
    fns = _sparse_contenders(f, x, cfg)
    # the dense Jacobian (n² numbers) is timed on its own: interleaved, its memory traffic would slow the others
    sparse = {m: fn for m, (fn, _) in fns.items() if m != "jax fwd (jacfwd)"}
    dense = {m: fn for m, (fn, _) in fns.items() if m == "jax fwd (jacfwd)"}
    times = {**examples.race(sparse, x, rounds=cfg.pick(3, 50, 100), budget_s=cfg.pick(0.3, 0.5, 20)),
             **examples.race(dense, x, rounds=cfg.pick(3, 15, 30), budget_s=cfg.pick(0.3, 0.5, 20))}
    # the reference: dense jax.jacfwd where it was run, else (the largest n) our forward-mode result
    ref = acc.to_scipy(fns["jax fwd (jacfwd)" if dense else "sparse forward"][0](x))
    scale = abs(ref).max()
    rows = []
    for m, (fn, colours) in fns.items():
        value, status, message = attempt(lambda fn=fn: acc.to_scipy(fn(x)))
        err = float(abs(value - ref).max() / scale) if status == "ok" else math.nan
        rows.append({"method": m, "dims": f"{n}→{n}", "multiply_adds": math.nan, "t_s": times[m], "plan": "",
                     "colours": colours if colours is not None else math.nan, "rel_error": err,
                     "status": status, "message": message})
    return rows


def measure(point, cfg):
    if point["part"] == "chain":
        return _chain_rows(point["case"], cfg)
    return _sparse_rows(point["case"], point["n"], cfg)


def _chain_label(m):
    return {"optimal": "optimal bracketing"}.get(m, m)


def plot(rows, cfg, outdir):
    with plotting.style():
        fig, (ax1, ax2, ax3) = plotting.plt.subplots(1, 3, figsize=(16, 4.6))
        chain = [r for r in rows if r["part"] == "chain"]
        cases = list(dict.fromkeys(r["case"] for r in chain))
        width = 0.8 / len(CHAIN_METHODS)
        for k, m in enumerate(CHAIN_METHODS):
            sel = {r["case"]: r for r in chain if r["method"] == m}
            xs = [i + (k - len(CHAIN_METHODS) / 2 + 0.5) * width for i in range(len(cases))]
            style = m if m in plotting.STYLE else "jax"
            ax1.bar(xs, [1e3 * sel[c]["t_s"] for c in cases], width, label=_chain_label(m),
                    color=plotting.color_of(style) if m != "optimal" else "#ff7f0e")
            if m in ("forward", "reverse", "optimal"):
                ax2.bar(xs, [sel[c]["multiply_adds"] for c in cases], width, label=_chain_label(m),
                        color=plotting.color_of(m) if m != "optimal" else "#ff7f0e")
        for ax, ylabel, title in ((ax1, "time of the full Jacobian (ms, compiled)", "Measured"),
                                  (ax2, "predicted multiply-adds", "Cost model")):
            ax.set_xticks(range(len(cases)))
            ax.set_xticklabels([_tick(c, next(r["dims"] for r in chain if r["case"] == c)) for c in cases],
                               fontsize=7)
            ax.set(yscale="log", ylabel=ylabel, title=f"{title}: chains of dense layers")
            ax.legend(fontsize=8)
        sparse = [r for r in rows if r["part"] == "sparse" and r["status"] == "ok"]
        peer = {"sparsejac": {"marker": "X", "markersize": 9}, "asdex": {"marker": "P", "markersize": 9}}
        methods_seen, cases_seen = {}, {}
        for case, ls in zip(examples.SPARSE_PROBLEMS, ("-", "--")):
            for m in SPARSE_METHODS:
                sel = sorted((r for r in sparse if r["case"] == case and r["method"] == m), key=lambda r: r["n"])
                if sel:
                    (handle,) = plotting.line(ax3, [r["n"] for r in sel], [1e3 * r["t_s"] for r in sel], m,
                                              style_label=_sparse_style(m), ls=ls, **peer.get(m, {}))
                    methods_seen.setdefault(m, handle)
                    colours = sel[-1]["colours"]
                    cases_seen.setdefault(case, (ls, int(colours) if colours == colours else None))
        ax3.set(xscale="log", yscale="log", xlabel="n (inputs = outputs)", ylabel="time of the Jacobian (ms)",
                title="Sparse Jacobians: a few passes instead of n")
        # two short legends instead of one entry per (problem, method): colour = method, line style = problem
        first = ax3.legend(methods_seen.values(), methods_seen.keys(), fontsize=8, loc="upper left",
                           title="method", title_fontsize=8)
        ax3.add_artist(first)
        case_handles = [plotting.plt.Line2D([], [], color="k", ls=ls) for ls, _ in cases_seen.values()]
        case_labels = [f"{c.split()[0]} ({k} colours)" if k else c.split()[0] for c, (_, k) in cases_seen.items()]
        ax3.legend(case_handles, case_labels, fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.6),
                   title="problem", title_fontsize=8)
        return plotting.save(fig, outdir, NAME)


def _tick(case, dims):
    """``hourglass`` over its widths on two lines (a long chain of widths would run into its neighbours)."""
    widths = str(dims).split("→")
    half = (len(widths) + 1) // 2
    return f"{case}\n{'→'.join(widths[:half])}→\n{'→'.join(widths[half:])}"


def _sparse_style(m):
    return {"sparse forward": "forward", "sparse reverse": "reverse", "sparse fd (CPR)": "finite_diff"}.get(m, m)


def _factor(a, b):
    """'3.1×' a time against another; 'as long as' when within 5%."""
    return "as long as" if abs(a - b) <= 0.05 * max(a, b) else times(a, b)


def _times(rows, **match):
    return {r["method"]: r["t_s"] for r in rows if all(r.get(k) == v for k, v in match.items())}


def headline(rows, cfg):
    out = []
    for case in examples.PROFILES:
        sel = [r for r in rows if r["part"] == "chain" and r["case"] == case]
        if not sel:
            continue
        cost = {r["method"]: r["multiply_adds"] for r in sel}
        t = _times(rows, part="chain", case=case)
        plan = next(r["plan"] for r in sel if r["method"] == "optimal")
        better = min(("forward", "reverse"), key=lambda m: cost[m])
        if cost["optimal"] < cost[better]:
            verdict = (f"optimal {plan} needs {more_or_fewer(cost['optimal'], cost[better], 'multiply-adds')} "
                       f"than the better pure mode ({better})")
        else:
            verdict = f"the optimal bracketing {plan} is pure {better} mode itself ({cost[better]:,.0f} multiply-adds)"
        timing = "; ".join(f"{m} took {_factor(t[m], t['optimal'])} the optimal bracketing's time"
                           for m in ("forward", "reverse", "jax fwd (jacfwd)", "jax rev (jacrev)"))
        out.append(f"{case} ({sel[0]['dims']}): {verdict}; measured (compiled): {timing}")
    for case in examples.SPARSE_PROBLEMS:
        sel = [r for r in rows if r["part"] == "sparse" and r["case"] == case and r["status"] == "ok"]
        if not sel:
            continue
        n = max(r["n"] for r in sel)
        t = _times(sel, n=n)
        colours = next(r["colours"] for r in sel if r["n"] == n and r["method"] == "sparse forward")
        line = (f"{case} at n = {n}: {int(colours)} colours ({int(colours)} passes instead of {n}); "
                f"sparse forward {fmt(1e3 * t['sparse forward'])} ms")
        for other in ("jax fwd (jacfwd)", "sparsejac", "asdex"):
            if other in t:
                line += f"; {other} took {_factor(t[other], t['sparse forward'])} that"
        out.append(line)
    return out
