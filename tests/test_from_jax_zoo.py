"""The problem zoo through from_jax: traced to jaxprs (zoo functions on JAX arrays are plain JAX code)
and evaluated with dnp, every method gives what it gives on the dnp function itself."""

from __future__ import annotations

import jax
import pytest

from diffcompare import METHODS, from_jax
from diffcompare.errors import DiffCompareError
from diffcompare.problems import PROBLEMS

from .helpers import argnums_of, assert_close

pytestmark = pytest.mark.slow  # every method on every zoo problem, eager and jitted


def _instance(name):
    problem = PROBLEMS[name]
    return problem.make(size=min(problem.sizes) if problem.sizes else None)


def _derivative(method, fun, inst, jit: bool):
    m = METHODS[method]
    d = (m.grad if inst.scalar_output else m.jacobian)(fun, argnums=argnums_of(inst))
    return (jax.jit(d) if jit else d)(*inst.args)


@pytest.mark.parametrize("method", ["forward", "reverse", "symbolic"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_zoo_through_from_jax_matches_the_dnp_path(name, method):
    inst = _instance(name)
    # forward and reverse under jax.jit (one compilation per problem), except where Python control flow
    # on the input needs concrete values; symbolic compiles its own program
    jit = method != "symbolic" and not inst.problem.data_dependent
    try:
        expected = _derivative(method, inst.fun, inst, jit)
    except DiffCompareError as err:
        with pytest.raises(type(err)):
            _derivative(method, from_jax(inst.fun), inst, jit)
        return
    if (name, method) in SYMBOLIC_REFUSES_JAX_FORM:
        # dnp's own primitive is piecewise or exact for symbolic; JAX's lowering is not: symbolic refuses it
        with pytest.raises(DiffCompareError, match=SYMBOLIC_REFUSES_JAX_FORM[name, method]):
            _derivative(method, from_jax(inst.fun), inst, jit)
        return
    assert_close(_derivative(method, from_jax(inst.fun), inst, jit), expected, 1e-12, f"{name} by {method}")


#: (problem, method) -> the JAX primitive named in the refusal: JAX lowers logsumexp with is_finite on a
#: stop_gradient shift, cbrt to a primitive whose symbolic form needs a concrete sign, and sinc to a custom_jvp
#: (whichever of the two the trace meets first)
SYMBOLIC_REFUSES_JAX_FORM = {("all_ops", "symbolic"): "is_finite",
                             ("special_functions", "symbolic"): "cbrt|_sinc_maclaurin"}


def test_traced_zoo_function_is_a_jaxpr_of_the_dnp_code():
    f = from_jax(_instance("mlp_softmax_xent").fun)
    text = str(f.make_jaxpr(*_instance("mlp_softmax_xent").args))
    assert "dot_general" in text and "tanh" in text and "reduce_max" in text


def test_finite_differences_call_the_function_itself():
    inst = _instance("rosenbrock")
    assert_close(_derivative("finite_diff", from_jax(inst.fun), inst, False),
                 _derivative("finite_diff", inst.fun, inst, False), 0.0)
