"""The public helpers the notebooks use instead of internals: prose.claim, SymArray.expression,
Traced.expression/variables, linearize's names, and elimination figures whose labels do not overlap."""

import itertools

import matplotlib
import pytest

matplotlib.use("Agg")

import diffcompare.numpy as dnp  # noqa: E402
from diffcompare import accumulate as acc  # noqa: E402
from diffcompare import symbolic as S  # noqa: E402
from diffcompare.errors import ShapeMismatchError  # noqa: E402
from diffcompare.prose import FAILS, HOLDS, claim  # noqa: E402


def test_claim_says_what_it_found_and_never_raises(capsys):
    assert claim(1 < 2, "one is less than two", found="1, 2") is None
    assert capsys.readouterr().out == f"{HOLDS} one is less than two (found: 1, 2)\n"
    claim(3 < 2, "three is less than two", found="3, 2", why="it is not")
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{FAILS}: three is less than two", "  found: 3, 2", "  expected because: it is not"]


def test_symarray_and_traced_expression_accessors():
    x, y = S.symbols("x y")
    e = 1 + x + dnp.exp(dnp.sin(x * y))
    assert S.to_string(e.expression) == "1 + x + exp(sin(x*y))"
    assert S.to_string(S.diff(e, y).expression) == "exp(sin(x*y))*cos(x*y)*x"
    traced = S.trace(lambda a, b: a * dnp.sin(b), 0.5, 0.25)
    assert [v.value for v in traced.variables] == ["a", "b"]
    assert S.to_string(traced.expression) == "a*sin(b)"
    with pytest.raises(ShapeMismatchError, match="shape"):
        _ = S.trace(lambda v: v * 2.0, dnp.asarray([1.0, 2.0])).outputs.expression
    with pytest.raises(ShapeMismatchError):
        _ = S.trace(lambda v: dnp.sum(v), dnp.asarray([1.0, 2.0])).variables


def test_linearize_names_inputs_and_outputs():
    args = (2.0, 3.0, 0.4, 1.3)
    default = acc.linearize(acc.lighthouse, *args)
    named = acc.linearize(acc.lighthouse, *args, names=("ν", "γ", "ω", "t"), output_names=("y1", "y2"))
    assert [default.labels[v] for v in default.inputs] == ["x0", "x1", "x2", "x3"]
    assert [named.labels[v] for v in named.inputs] == ["ν", "γ", "ω", "t"]
    assert [named.labels[v].split()[0] for v in named.outputs] == ["y1", "y2"]
    assert named.edges == default.edges  # names change labels only
    assert acc.eliminate(named, "markowitz").multiplications == acc.eliminate(default, "markowitz").multiplications


def _overlap(a, b):
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5


@pytest.mark.parametrize("rule", ["forward", "reverse", "markowitz"])
def test_elimination_figure_has_no_overlapping_text(rule):
    graph = acc.linearize(acc.lighthouse, 2.0, 3.0, 0.4, 1.3, names=("ν", "γ", "ω", "t"), output_names=("y1", "y2"))
    fig = acc.draw_elimination(acc.eliminate(graph, rule))
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
        clashes = [(ax.texts[i].get_text(), ax.texts[j].get_text())
                   for i, j in itertools.combinations(range(len(boxes)), 2) if _overlap(boxes[i], boxes[j])]
        assert not clashes, (ax.get_title(), clashes)
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes]
    assert not any(_overlap(a, b) for a, b in itertools.combinations(titles, 2))
    matplotlib.pyplot.close(fig)


@pytest.mark.slow
def test_importing_the_experiments_keeps_a_notebooks_backend():
    """Notebook 01 imports fd_step for its sweep; that must not switch the kernel's inline backend to Agg
    (its plots would silently stop showing). Outside a kernel the experiments still draw headless."""
    import subprocess
    import sys

    code = ("import sys, types; {fake}import matplotlib; matplotlib.use('svg'); "
            "import diffcompare.experiments.fd_step; print(matplotlib.get_backend())")
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    in_kernel = subprocess.run([sys.executable, "-c", code.format(fake="sys.modules['ipykernel'] = "
                                                                       "types.ModuleType('ipykernel'); ")],
                               capture_output=True, text=True, env=env, check=True)
    headless = subprocess.run([sys.executable, "-c", code.format(fake="")], capture_output=True, text=True,
                              env=env, check=True)
    assert in_kernel.stdout.strip().lower() == "svg"
    assert headless.stdout.strip().lower() == "agg"
