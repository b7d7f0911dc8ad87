"""swell: how big a symbolic derivative gets, as a tree and as a shared graph.

Expression swell, measured. For the logistic map l_{k+1} = 4 l_k (1 − l_k)
at growing depth k, and for the one-hidden-layer MLP with ℓ2 loss at growing
width, the number of operations of:

* the function (as a tree: every shared subexpression counted once per use;
  as a graph: counted once);
* its gradient by naive tree differentiation (the textbook's recursive rules,
  nothing shared: the tree swells exponentially in k), skipped once the tree
  has too many paths to walk;
* its gradient by reverse accumulation on the shared graph, before and after
  simplification (a small multiple of the function's graph: the cheap gradient);
* SymPy's ``diff`` of the same expression (``count_ops`` of the tree) and
  after its ``cse``.
"""

from __future__ import annotations

import math
import time

from matplotlib.ticker import MaxNLocator

from ..methods import METHODS
from ..problems import PROBLEMS
from . import plotting
from ._common import attempt

NAME = "swell"
TITLE = "Expression swell: symbolic derivative size against depth and width"
SUMMARY = ("symbolic derivative size (tree vs shared graph, before/after simplification) against logistic-map "
           "depth and MLP width, with SymPy")
#: SymPy only up to these sizes (its diff of the MLP is per parameter)
SYMPY_LIMIT = {"logistic_map": 10, "mlp_l2": 4}


def points(cfg):
    depths = cfg.pick((1, 2, 3), (1, 2, 3, 4, 5, 6, 7, 8, 9, 10), tuple(range(1, 15)))
    widths = cfg.pick((1, 2), (1, 2, 4, 8, 16), (1, 2, 4, 8, 16, 32, 64))
    return ([{"family": "logistic_map", "size": k} for k in depths]
            + [{"family": "mlp_l2", "size": w} for w in widths])


def _sympy_sizes(fun, args):
    import sympy as sp

    from .. import symbolic as S

    traced = S.trace(fun, *args)
    wrt = traced.wrt(range(len(args)))
    variables = [v for arr in wrt for v in arr.reshape(-1)]
    expr = S.to_sympy(traced.out_nodes[0][()])
    symbols = [sp.Symbol(v.value, real=True) for v in variables]
    start = time.perf_counter()
    derivs = [sp.diff(expr, s) for s in symbols]
    t_diff = time.perf_counter() - start
    reps, reduced = sp.cse(derivs)
    tree = sum(int(sp.count_ops(e)) for e in derivs)
    cse_ops = sum(int(sp.count_ops(r[1])) for r in reps) + sum(int(sp.count_ops(e)) for e in reduced)
    return {"sympy_tree": tree, "sympy_cse": cse_ops, "sympy_diff_s": t_diff}


def measure(point, cfg):
    S = METHODS["symbolic"]
    inst = PROBLEMS[point["family"]].make(size=point["size"], seed=cfg.seed)
    start = time.perf_counter()
    sizes, status, message = attempt(lambda: S.sizes(inst.fun, *inst.args))
    row = {"n_in": inst.input_dim, "status": status, "message": message,
           "t_sizes_s": time.perf_counter() - start}
    if status == "ok":
        for key, label in (("function", "f"), ("naive", "naive"), ("reverse", "rev"),
                           ("reverse simplified", "rev_simpl")):
            size = sizes[key]
            row[f"{label}_tree"] = size.tree if size is not None else None
            row[f"{label}_graph"] = size.graph if size is not None else None
    if point["size"] <= SYMPY_LIMIT[point["family"]]:
        extra, st, msg = attempt(lambda: _sympy_sizes(inst.fun, inst.args))
        if st == "ok":
            row.update(extra)
        else:
            row["sympy_message"] = msg
    return [row]


#: panel titles in words (the zoo's titles are formulas, such as the raw l_{k+1} of the logistic map)
TITLES = {"logistic_map": r"Logistic map $l_{k+1} = 4\,l_k\,(1 - l_k)$, $k$ steps from $l_0 = x$",
          "mlp_l2": "MLP with an ℓ2 loss: ½‖y − W₂ tanh(W₁ x)‖²"}

SERIES = (
    ("f_tree", "function, tree", "k", "--", "o"),
    ("f_graph", "function, graph", "k", "-", "o"),
    ("naive_tree", "naive tree differentiation, tree", "symbolic", "--", None),
    ("rev_tree", "reverse on the graph, as a tree", "reverse", "--", None),
    ("rev_graph", "reverse on the graph, graph", "reverse", "-", None),
    ("rev_simpl_graph", "reverse + simplify, graph", "forward", "-", None),
    ("sympy_tree", "SymPy diff, tree (count_ops)", "sympy", "--", None),
    ("sympy_cse", "SymPy diff + cse", "sympy", "-", None),
)


def plot(rows, cfg, outdir):
    with plotting.style():
        fig, axes = plotting.plt.subplots(1, 2, figsize=(11, 4.5))
        for ax, family, xlabel in zip(axes, ("logistic_map", "mlp_l2"),
                                      ("logistic map depth k", "hidden width of the MLP (inputs 8, outputs 4)")):
            sel = sorted((r for r in rows if r["family"] == family and r["status"] == "ok"), key=lambda r: r["size"])
            for key, label, style_key, ls, marker in SERIES:
                pts = [(r["size"], r[key]) for r in sel if r.get(key) not in (None, "")]
                if not pts:
                    continue
                color = "k" if style_key == "k" else plotting.color_of(style_key)
                # trees dashed with hollow markers, graphs solid with filled ones: told apart without colour
                tree = ls == "--"
                ax.plot([p for p, _ in pts], [max(v, 0.5) for _, v in pts], ls=ls, color=color,
                        marker=marker or plotting.marker_of(style_key), mfc="none" if tree else color,
                        label=label)
            ax.set(yscale="log", xlabel=xlabel, ylabel="operations (log scale)", title=TITLES[family])
            if family == "mlp_l2":
                plotting.log2_axis(ax)
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles, labels = axes[0].get_legend_handles_labels()
        axes[0].legend(handles, labels, fontsize=7.5, title="dashed, hollow: tree; solid, filled: graph",
                       title_fontsize=7.5)
        fig.suptitle("Expression swell: trees grow exponentially with depth, shared graphs stay a small multiple "
                     "of the function", fontsize=10)
        return plotting.save(fig, outdir, "swell")


def headline(rows, cfg):
    out = []
    for family in ("logistic_map", "mlp_l2"):
        sel = sorted((r for r in rows if r["family"] == family and r["status"] == "ok"), key=lambda r: r["size"])
        if not sel:
            continue
        last = sel[-1]
        naive = [r for r in sel if r.get("naive_tree") not in (None, "")]
        sym = [r for r in sel if r.get("sympy_tree") not in (None, "")]
        text = (f"{family} size {last['size']}: function graph {last['f_graph']} ops, gradient graph "
                f"{last['rev_graph']} ops ({last['rev_graph'] / max(last['f_graph'], 1):.1f}× the function), "
                f"the same as a tree {last['rev_tree']:.3g} ops")
        if naive:
            text += f"; naive tree differentiation {naive[-1]['naive_tree']:.3g} ops at size {naive[-1]['size']}"
        if sym:
            text += (f"; SymPy at size {sym[-1]['size']}: {sym[-1]['sympy_tree']:.3g} ops as a tree, "
                     f"{sym[-1]['sympy_cse']} after cse")
        out.append(text)
    if any(r["family"] == "logistic_map" for r in rows):
        sel = sorted((r for r in rows if r["family"] == "logistic_map" and r.get("rev_tree")), key=lambda r: r["size"])
        if len(sel) >= 3:
            growth = (sel[-1]["rev_tree"] / sel[-3]["rev_tree"]) ** 0.5
            out.append(f"logistic map: derivative tree grows ×{growth:.2f} per step (graph grows by a constant "
                       f"{(sel[-1]['rev_graph'] - sel[-3]['rev_graph']) / 2:.0f} ops per step)")
    return out if out else [f"no symbolic sizes ({math.nan})"]
