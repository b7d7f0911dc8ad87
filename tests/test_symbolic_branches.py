"""Symbolic differentiation through input-dependent conditions: dnp.where as piecewise nodes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare
import diffcompare.numpy as dnp
from diffcompare import symbolic as S
from diffcompare.errors import ConcretizationError
from diffcompare.problems import PROBLEMS

POINTS = jnp.array([-1.5, -0.0, 0.0, 0.5, 1.0, 2.5])  # kinks and ties included


@pytest.mark.slow
@pytest.mark.parametrize("f", [
    lambda x: dnp.sum(dnp.where(x > 0.5, 2.0 * x - 0.5, x * x)),
    lambda x: dnp.sum(dnp.where(x >= 0.0, x, 0.1 * x)),
    lambda x: dnp.sum(dnp.where(x < 1.0, dnp.sin(x), dnp.cos(x))),
    lambda x: dnp.sum(dnp.where(x <= 0.0, 0.0, x**3)),
    lambda x: dnp.sum(dnp.where(x == 1.0, 3.0 * x, x) + dnp.where(x != 0.5, x**2, 0.0)),
    lambda x: dnp.sum(dnp.where(x * x > 1.0, dnp.exp(-x), x)),
])
def test_where_with_input_dependent_condition_matches_jax(f):
    assert np.allclose(S.grad(f)(POINTS), jax.grad(f)(POINTS), rtol=1e-12, atol=0)
    assert np.allclose(S.hessian(f)(POINTS), jax.hessian(f)(POINTS), rtol=1e-12, atol=1e-300)


@pytest.mark.slow
def test_all_ops_has_a_symbolic_gradient():
    inst = PROBLEMS["all_ops"].make()
    report = diffcompare.check(inst.fun, *inst.args, argnums=inst.argnums, methods=["symbolic"])
    assert report.passed, str(report)


def test_piecewise_node_prints_as_cases_and_converts_to_sympy_piecewise():
    import sympy

    (expr,) = S.trace(lambda v: dnp.where(v > 1.0, 2.0 * v, v * v), 0.0).out_nodes[0].reshape(-1)
    assert S.to_string(expr) == "where([v > 1], 2*v, v*v)"
    latex = S.to_latex(expr)
    assert latex.startswith(r"\begin{cases}") and r"\text{otherwise}" in latex
    sym = S.to_sympy(expr)
    assert isinstance(sym, sympy.Piecewise)
    v = sympy.Symbol("v", real=True)
    assert float(sym.subs(v, 3.0)) == 6.0 and float(sym.subs(v, 0.5)) == 0.25
    back = S.from_sympy(sym)
    assert float(S.evaluate([back], {"v": 3.0})[0]) == 6.0


def test_python_if_on_a_symbolic_value_suggests_where():
    def f(x):
        if x > 1.0:
            return 2.0 * x
        return x * x

    with pytest.raises(ConcretizationError, match="dnp.where"):
        S.grad(f)(0.5)


def test_loop_count_from_the_value_still_refuses():
    inst = PROBLEMS["branchy"].make()
    with pytest.raises(ConcretizationError, match="while"):
        S.grad(inst.fun, argnums=inst.argnums)(*inst.args)
