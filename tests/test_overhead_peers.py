"""The overhead bench's peers compute the derivative ours do, and its table reports them (issue 28).

A ratio to a peer only means something if the peer does the same work: these tests check HIPS
autograd's and PyTorch's calls against our gradient on the bench's quick problems, and that the
table has a ratio to every peer and the first two calls of a staged derivative.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from diffcompare import reverse
from diffcompare.benchmarks import overhead


def _ours(problem):
    kind = reverse.grad if problem["kind"] == "grad" else reverse.jacobian
    return kind(problem["f"], staged=False)(problem["arg"])


def _flat(tree):
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=float)) for leaf in jax.tree_util.tree_leaves(tree)])


@pytest.mark.slow
@pytest.mark.parametrize("peer", ["autograd", "torch"])
def test_each_peer_computes_our_derivative(peer):
    pytest.importorskip(peer)
    make = overhead._autograd_derivative if peer == "autograd" else overhead._torch_derivative
    checked = 0
    for problem in overhead.problems(quick=True):
        call = make(problem)
        if call is None:
            continue
        got, ours = call(), _ours(problem)
        if peer == "torch":  # a tensor: x.grad for the scalar, the first weight's gradient for the MLP
            got = got.detach().numpy()
            ours = ours[0][0] if "mlp" in problem else ours
        np.testing.assert_allclose(_flat(got), _flat(ours), rtol=1e-10)
        checked += 1
    assert checked >= 2


def test_the_table_has_a_ratio_to_every_peer_and_the_first_calls():
    rows = [
        dict(problem="p", method="reverse", ms=0.5, primitives=5, us_per_primitive=100.0, first_ms=90.0,
             second_ms=3.0),
        dict(problem="p", method="jax eager", ms=2.0, primitives=5, us_per_primitive=400.0),
        dict(problem="p", method="autograd", ms=1.0, primitives=5, us_per_primitive=200.0),
        dict(problem="p", method="torch eager", ms=0.25, primitives=5, us_per_primitive=50.0),
    ]
    from rich.console import Console

    console = Console(width=220, record=True)
    console.print(overhead.table(rows))
    text = console.export_text()
    reverse_line = next(line for line in text.splitlines() if "reverse" in line)
    for cell in ("0.25×", "0.50×", "2.00×", "3.0", "90.0"):  # vs jax eager, autograd, torch; 1st and 2nd call
        assert cell in reverse_line, (cell, reverse_line)


def test_first_calls_time_a_compiling_call_then_a_compiled_one():
    from diffcompare import staging

    problem = overhead.problems(quick=True)[0]
    before = dict(staging.COUNTS)
    first, second = overhead.first_calls(lambda: overhead._derivatives(problem)["reverse"])
    assert first > 0 and second > 0
    assert staging.COUNTS["compiled"] == before["compiled"] + 1 and staging.COUNTS["staged"] == before["staged"] + 2
    assert first > second
