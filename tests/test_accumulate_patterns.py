"""A sparse Jacobian's pattern, found at one x, used at another (issue 26): never a silent wrong number.

The pattern is detected once; a Python ``if`` on values, state read by ``f``, or a probed derivative that
vanished can make the Jacobian's structure differ where the callable is used. Each call checks the pattern
with one extra pass (see ``diffcompare.accumulate.sparsity``): the result equals ``jax.jacrev`` where the
pattern holds, and a ``SparsityPatternError`` (NaN under ``jax.jit``) says so where it does not.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.accumulate as acc
import diffcompare.numpy as dnp
from diffcompare.errors import SparsityPatternError

MODES = acc.sparsity.MODES
TOL = {"forward": 1e-12, "reverse": 1e-12, "finite_diff": 1e-7}


def next_neighbour(x):
    return dnp.concatenate([x[1:], x[:1]])


def previous_neighbour(x):
    return dnp.concatenate([x[-1:], x[:-1]])


def branching(x):
    """Two structures that do not contain each other: x_i x_{i+1} where x_0 > 0, x_i x_{i-1} elsewhere."""
    if x[0] > 0:
        return x * next_neighbour(x) + dnp.sin(x)
    return x * previous_neighbour(x) + dnp.sin(x)


def diagonal_or_banded(x):
    """A diagonal Jacobian where x_0 > 0, a banded one (containing it) elsewhere."""
    if x[0] > 0:
        return dnp.sin(x)
    return dnp.sin(x) * next_neighbour(x) * previous_neighbour(x)


POSITIVE = jnp.asarray([0.5, -0.3, 0.8, 0.2, -0.7, 0.4])
POINTS = [POSITIVE, -POSITIVE, POSITIVE * 2.0, jnp.asarray([-0.1, 0.3, 0.9, -0.2, 0.6, 0.1]),
          jnp.asarray([1e-3, 0.3, 0.9, -0.2, 0.6, 0.1])]


def branch(x) -> bool:
    return bool(x[0] > 0)


def assert_matches_jacrev(sj, f, x, mode):
    np.testing.assert_allclose(np.asarray(sj(x).todense()), jax.jacrev(f)(x), atol=TOL[mode], rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("detect", ["graph", "probe"])
@pytest.mark.parametrize("mode", MODES)
def test_a_pattern_reused_where_the_branch_flips_is_refused_never_wrong(mode, detect):
    for f in (branching, diagonal_or_banded):
        for x in POINTS:  # detected where it is used: always right
            assert_matches_jacrev(acc.sparse_jacobian(f, x, mode, detect=detect), f, x, mode)
        for x0 in (POSITIVE, -POSITIVE):
            sj = acc.sparse_jacobian(f, x0, mode, detect=detect)
            for x in POINTS:
                same_structure = branch(x) == branch(x0) or (f is diagonal_or_banded and not branch(x0))
                if same_structure:  # the same branch, or one whose pattern the detected one contains
                    assert_matches_jacrev(sj, f, x, mode)
                else:
                    with pytest.raises(SparsityPatternError, match="does not hold at this x"):
                        sj(x)


@pytest.mark.parametrize("mode", MODES)
def test_a_user_pattern_that_is_wrong_at_x_is_refused(mode):
    x = POSITIVE
    tridiagonal = lambda u: dnp.sin(u) * next_neighbour(u) * previous_neighbour(u)  # noqa: E731
    for wrong in (np.eye(6), np.eye(6) + np.eye(6, k=1)):  # a band too narrow
        sj = acc.sparse_jacobian(tridiagonal, x, mode, pattern_matrix=wrong)
        with pytest.raises(SparsityPatternError, match="pattern_matrix"):
            sj(x)
    # right on one branch, wrong on the other: the branch taken at x decides
    first_branch = acc.pattern(branching, POSITIVE)
    sj = acc.sparse_jacobian(branching, x, mode, pattern_matrix=first_branch)
    assert_matches_jacrev(sj, branching, POSITIVE, mode)
    with pytest.raises(SparsityPatternError):
        sj(-POSITIVE)
    # the union of both branches' patterns holds everywhere
    union = first_branch + acc.pattern(branching, -POSITIVE)
    sj = acc.sparse_jacobian(branching, x, mode, pattern_matrix=union)
    for point in POINTS:
        assert_matches_jacrev(sj, branching, point, mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_probed_derivative_that_vanished_is_refused_eagerly_and_nan_under_jit(mode):
    f = lambda x: dnp.maximum(x[1:] * x[:-1], 0.0) + x[1:]  # noqa: E731 - relu: 0 where the product is < 0
    x0 = jnp.asarray([1.0, 2.0, 3.0, -4.0])
    sj = acc.sparse_jacobian(f, x0, mode, detect="probe")
    np.testing.assert_allclose(jax.jit(sj)(x0).todense(), jax.jacrev(f)(x0), atol=1e-12, rtol=0)
    x = jnp.asarray([-1.0, 2.0, -3.0, -4.0])  # now row 2 depends on x_2 as well
    with pytest.raises(SparsityPatternError):
        sj(x)
    assert np.isnan(np.asarray(jax.jit(sj)(x).data)).all()  # nothing can be raised under jit: all NaN


def test_state_that_changes_between_calls_is_caught():
    shift = {"ahead": True}

    def f(x):
        return x * (next_neighbour(x) if shift["ahead"] else previous_neighbour(x))

    sj = acc.sparse_jacobian(f, POSITIVE)
    assert_matches_jacrev(sj, f, POSITIVE, "forward")
    shift["ahead"] = False
    with pytest.raises(SparsityPatternError):
        sj(POSITIVE)


def test_probing_holds_at_x_even_when_the_nearby_point_takes_the_other_branch():
    x = jnp.asarray([-0.05, 0.3, 0.9, -0.2, 0.6, 0.1])  # the random nearby point has x_0 > 0
    truth = np.asarray(jax.jacrev(branching)(x)) != 0
    assert (acc.pattern(branching, x, detect="probe").toarray() >= truth).all()
    for mode in MODES:
        assert_matches_jacrev(acc.sparse_jacobian(branching, x, mode, detect="probe"), branching, x, mode)


def test_the_check_costs_one_pass_and_leaves_the_compressed_jacobian_alone():
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, 30))
    f = lambda u: dnp.sin(u) * next_neighbour(u)  # noqa: E731
    sj = acc.sparse_jacobian(f, x)
    assert sj.compressed(x).shape == (30, sj.n_colours)
    assert sj._passes(x, check=True).shape == (sj.n_colours + 1, 30)
