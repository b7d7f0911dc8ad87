"""The seams between the engines: one registry, one lookup of rules, one user-primitive object."""

import jax
import jax.numpy as jnp
import pytest

import diffcompare.forward as fwd
import diffcompare.numpy as dnp
import diffcompare.reverse as rev
from diffcompare import custom, primitives
from diffcompare._core import Trace
from diffcompare.errors import InvalidOptionError, UnsupportedOperationError

from .helpers import assert_close


def test_a_trace_with_rules_registers_itself_and_refuses_by_name():
    class HalfTrace(Trace):
        engine = "half-engine"
        rules = {"exp": lambda trace, x: x}
        unsupported = {"log": "this engine has no logarithm"}

    assert primitives.coverage()["log"]["half-engine"] == "unsupported: this engine has no logarithm"
    trace = HalfTrace()
    assert trace.rule_for(primitives.PRIMITIVES["exp"]) is HalfTrace.rules["exp"]
    with pytest.raises(UnsupportedOperationError, match="'log' is not supported by the half-engine engine: this"):
        trace.rule_for(primitives.PRIMITIVES["log"])
    with pytest.raises(UnsupportedOperationError, match="'sin'.*half-engine engine's table"):
        trace.process(primitives.PRIMITIVES["sin"], (1.0,), {})
    primitives._ENGINES.pop("half-engine")


@custom.custom_jvp
def twice_slope(x):
    return x * 1.0  # the rule says 2: a deliberately different derivative shows which rule ran


twice_slope.defjvp(lambda p, t: (twice_slope(p[0]), 2.0 * t[0]))


@custom.custom_vjp
def thrice_slope(x, y):
    return x * y


thrice_slope.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (3.0 * g * res[1], None))


def test_one_user_primitive_serves_every_engine():
    x = jnp.array([0.5, -1.0])
    for jac in (fwd.jacobian, rev.jacobian, jax.jacfwd, jax.jacrev):
        assert_close(jac(twice_slope)(x), 2.0 * jnp.eye(2), 0.0, jac.__name__)  # reverse transposes the JVP rule
    a, b = jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0])
    g = lambda x, y: dnp.sum(thrice_slope(x, y))  # noqa: E731
    for grad in (fwd.grad, rev.grad, jax.grad):
        assert_close(grad(g)(a, b), 3.0 * b, 0.0, grad.__name__)  # forward transposes the VJP rule
    assert rev.custom_vjp is fwd.custom_jvp is custom.custom_jvp
    assert fwd.UserPrimitive is custom.UserPrimitive and fwd.USER_PRIMITIVES["thrice_slope"] is thrice_slope


def test_a_user_primitive_without_a_rule_says_what_to_give():
    bare = custom.custom_jvp(lambda x: x, name="bare")
    with pytest.raises(InvalidOptionError, match=r"'bare' has no derivative rule.*defjvp.*defvjp"):
        bare(1.0)


def test_a_rule_that_cannot_be_transposed_names_the_missing_rule():
    opaque = custom.custom_jvp(lambda x: x, name="opaque")
    opaque.defjvp(lambda p, t: (p[0], jnp.asarray(t[0]) * 2.0))  # jnp on a tape node: not transposable
    with pytest.raises(UnsupportedOperationError, match=r"'opaque'.*only a JVP rule.*opaque.defvjp"):
        rev.grad(lambda x: opaque(x))(1.0)
