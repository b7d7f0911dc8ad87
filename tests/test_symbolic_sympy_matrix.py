"""The array level against SymPy's matrix calculus (MatrixSymbol derivatives), and JAX."""

import math

import jax
import numpy as np
import pytest

from diffcompare import numpy as dnp
from diffcompare import symbolic as S
from diffcompare.experiments.matrix_calculus import least_squares, logistic_regression, mlp_loss, quadratic_form
from diffcompare.symbolic import sympy_matrix as SM

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
RNG = np.random.default_rng(7)
x3, A3, X43, b4 = RNG.normal(size=3), RNG.normal(size=(3, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=4)


@pytest.mark.parametrize("kind", ["grad", "hessian"])
@pytest.mark.parametrize("f, args", [(quadratic_form, (x3, A3)), (least_squares, (x3, X43, b4))])
def test_sympy_agrees_on_quadratics(f, args, kind):
    check = SM.cross_check(f, *args, kind=kind)
    assert check.status == "ok", check.status
    assert check.max_abs_difference <= 1e-10
    assert check.sympy and check.ours


def test_sympy_prints_the_course_formulas():
    assert SM.cross_check(quadratic_form, x3, A3, kind="hessian").sympy == "A + A.T"
    assert "A.T*(A*x - b)" in SM.cross_check(least_squares, x3, X43, b4).sympy


@pytest.mark.parametrize("argnums", [0, 1])
def test_sympy_agrees_on_the_mlp_gradient(argnums):
    args = (RNG.normal(size=(5, 3)), RNG.normal(size=(2, 5)), x3, RNG.normal(size=2))
    check = SM.cross_check(mlp_loss, *args, argnums=argnums)
    assert check.status == "ok", check.status
    assert check.max_abs_difference <= 1e-10


def test_what_sympy_cannot_is_reported_not_raised():
    y = (RNG.normal(size=4) > 0).astype(float)
    assert SM.cross_check(logistic_regression, x3, X43, y).status == "ok"  # the gradient it has
    check = SM.cross_check(logistic_regression, x3, X43, y, kind="hessian")
    assert check.status.startswith("SymPy cannot: a second derivative"), check.status
    assert math.isnan(check.max_abs_difference) and check.sympy == ""
    assert "X" in check.ours  # our own Hessian is still there


def _unseen_sin(x, B):
    return dnp.sum(dnp.sin(B @ x))


def _unseen_layer(W, x):
    return dnp.sum(dnp.tanh(W @ x)) + 2.0 * (x @ x)


def _unseen_trace_form(W, C):
    return dnp.sum(W * (C @ W))


@pytest.mark.slow
@pytest.mark.parametrize("f, args, argnums", [
    (_unseen_sin, (x3, X43), 0),
    (_unseen_layer, (RNG.normal(size=(4, 3)), x3), 0),
    (_unseen_layer, (RNG.normal(size=(4, 3)), x3), 1),
    (_unseen_trace_form, (RNG.normal(size=(3, 2)), A3), 0),
])
def test_sympy_values_match_ours_and_jax_on_unseen_functions(f, args, argnums):
    check = SM.cross_check(f, *args, argnums=argnums)
    assert check.status == "ok", check.status
    assert check.max_abs_difference <= 1e-10
    ours = S.grad(f, argnums, expand="array")(*args)
    np.testing.assert_allclose(ours, jax.grad(f, argnums)(*args), rtol=1e-10, atol=1e-12)


def test_an_operation_without_a_matrix_form_is_named():
    check = SM.cross_check(lambda x: dnp.sum(dnp.maximum(x, 0.0) * x), x3)
    assert check.status == "SymPy cannot: the operation 'maximum'"
    assert math.isnan(check.max_abs_difference)


def test_a_squared_error_written_with_a_power():
    def squared_error(W, x, y):
        return 0.5 * dnp.sum((W @ x - y) ** 2)

    args = (RNG.normal(size=(4, 3)), x3, b4)
    for argnums in (0, 1):
        check = SM.cross_check(squared_error, *args, argnums=argnums)
        assert check.status == "ok", check.status
        assert check.max_abs_difference <= 1e-10


def test_an_argument_f_does_not_use_has_a_zero_derivative():
    check = SM.cross_check(lambda W, x: dnp.sum(dnp.exp(x)), RNG.normal(size=(2, 3)), x3)
    assert check.status == "ok" and check.max_abs_difference == 0.0


@pytest.mark.parametrize("f", [lambda x, W: dnp.sum(x / (1.0 + x * x)), lambda x, W: dnp.sum((W @ x) ** 3),
                               lambda x, W: dnp.sum(dnp.sqrt(1.0 + dnp.exp(W @ x)))])
def test_cross_check_agrees_or_says_what_sympy_cannot(f):
    check = SM.cross_check(f, x3, RNG.normal(size=(4, 3)))
    assert (check.status == "ok" and check.max_abs_difference <= 1e-10) or (
        check.status.startswith("SymPy cannot: ") and math.isnan(check.max_abs_difference))
