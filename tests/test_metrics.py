"""diffcompare.metrics: errors on pytrees, norm-wise relative error, nan/inf conventions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from diffcompare.errors import DiffCompareError, ShapeMismatchError
from diffcompare.metrics import TINY, leaf_pairs, max_abs_error, max_magnitude, relative_error

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_errors_match_numpy_on_finite_arrays(data):
    shape = data.draw(shapes)
    a = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    b = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    assert max_abs_error(a, b) == np.max(np.abs(a - b))
    with np.errstate(over="ignore"):  # a reference of zeros: the relative error is inf
        expected = np.max(np.abs(a - b)) / max(np.max(np.abs(b)), TINY)
    assert relative_error(jnp.asarray(a), jnp.asarray(b)) == pytest.approx(expected, rel=1e-12, abs=0)
    assert max_abs_error(a, a) == 0.0 and relative_error(a, a) == 0.0


def test_pytrees_are_compared_leaf_by_leaf():
    a = {"w": jnp.array([[1.0, 2.0]]), "b": (jnp.array(3.0), [jnp.zeros(2)])}
    b = {"w": jnp.array([[1.0, 2.5]]), "b": (jnp.array(3.25), [jnp.array([0.0, -0.125])])}
    assert max_abs_error(a, b) == 0.5
    assert relative_error(a, b) == 0.5 / 3.25  # the largest error over the largest reference entry
    assert max_magnitude(b) == 3.25
    assert len(leaf_pairs(a, b)) == 3


def test_relative_error_is_normwise_not_elementwise():
    # an entry that is 0 in the reference and 1e-12 in the value: elementwise that is an infinite
    # relative error; norm-wise it is 1e-12 of the gradient's size
    value, reference = jnp.array([1e-12, 2.0]), jnp.array([0.0, 2.0])
    assert relative_error(value, reference) == pytest.approx(0.5e-12)
    assert max_abs_error(value, reference) == pytest.approx(1e-12)


def test_scale_replaces_the_denominator():
    assert relative_error(1.0 + 1e-9, 1.0, scale=1e3) == pytest.approx(1e-12, rel=1e-6)
    assert relative_error(1.0, 1.0, scale=0.0) == 0.0


def test_reference_exactly_zero_only_an_exact_zero_agrees():
    assert relative_error(jnp.zeros(3), jnp.zeros(3)) == 0.0
    assert relative_error(jnp.array([0.0, 1e-300, 0.0]), jnp.zeros(3)) == pytest.approx(1e-300 / TINY)
    assert relative_error(jnp.array([0.0, 1e-300, 0.0]), jnp.zeros(3)) > 1e7


@pytest.mark.parametrize(
    "value, reference, expected",
    [
        (np.nan, np.nan, 0.0),  # nan where JAX says nan (grad of norm at 0): agreement
        (np.inf, np.inf, 0.0),  # sqrt'(0) = inf in every method: agreement
        (-np.inf, -np.inf, 0.0),
        (np.nan, 1.0, np.inf),  # a nan that JAX does not give: total disagreement
        (1.0, np.nan, np.inf),
        (np.inf, -np.inf, np.inf),
        (np.inf, 1.0, np.inf),
        (1.0, np.inf, np.inf),
        (np.nan, np.inf, np.inf),
    ],
)
def test_nan_and_inf_conventions(value, reference, expected):
    a, b = jnp.array([2.0, value]), jnp.array([2.0, reference])
    assert max_abs_error(a, b) == expected
    assert relative_error(a, b) == expected


def test_infinite_reference_entries_do_not_hide_errors():
    # max|b| over finite entries only: an inf in the reference must not make every error look tiny
    a, b = jnp.array([np.inf, 1.5]), jnp.array([np.inf, 1.0])
    assert relative_error(a, b) == 0.5


def test_empty_and_scalar_leaves():
    assert max_abs_error(jnp.zeros((0, 3)), jnp.zeros((0, 3))) == 0.0
    assert max_abs_error(1.5, jnp.array(1.0)) == 0.5  # a Python float against a 0-d array
    assert max_abs_error((), ()) == 0.0


def test_float32_differences_do_not_overflow():
    big = float(np.finfo(np.float32).max)
    assert max_abs_error(jnp.array([big], jnp.float32), jnp.array([-big], jnp.float32)) == pytest.approx(2.0 * big)


def test_structure_mismatch_raises():
    with pytest.raises(ShapeMismatchError, match="structure"):
        max_abs_error({"w": jnp.ones(2)}, {"v": jnp.ones(2)})
    with pytest.raises(ShapeMismatchError, match="structure"):
        relative_error([jnp.ones(2)], (jnp.ones(2),))  # a list is not a tuple, as in JAX
    with pytest.raises(ShapeMismatchError, match="structure"):
        max_abs_error((jnp.ones(2),), jnp.ones(2))


def test_shape_mismatch_raises_and_names_the_leaf():
    with pytest.raises(ShapeMismatchError, match=r"\(3, 1\).*\['w'\].*\(3,\)") as info:
        max_abs_error({"w": jnp.ones((3, 1))}, {"w": jnp.ones(3)})
    assert isinstance(info.value, DiffCompareError) and isinstance(info.value, ValueError)
    with pytest.raises(ShapeMismatchError):
        relative_error(jnp.ones((2, 3)), jnp.ones((3, 2)).T.T)  # no broadcasting


def test_metrics_on_jax_gradients():
    # the metric says "exact" for JAX against itself and measures a known finite-difference error
    f = lambda x: jnp.sum(jnp.sin(x) ** 2)  # noqa: E731
    x = jnp.linspace(0.1, 2.0, 5)
    g = jax.grad(f)(x)
    assert relative_error(jax.grad(f)(x), g) == 0.0
    h = 1e-3
    forward_difference = jnp.array([(f(x + h * e) - f(x)) / h for e in jnp.eye(5)])
    err = relative_error(forward_difference, g)
    assert 1e-5 < err < 1e-2  # O(h) truncation, measured, not rounding
