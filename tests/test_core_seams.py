"""The seams between the engines: one registry, one lookup of rules, one user-primitive object."""

import jax
import jax.numpy as jnp
import pytest

import diffcompare.forward as fwd
import diffcompare.numpy as dnp
import diffcompare.reverse as rev
from diffcompare import _api, custom, jax_ref, primitives
from diffcompare._core import Trace
from diffcompare.errors import InvalidOptionError, UnsupportedOperationError

from .helpers import assert_close


def test_a_trace_with_rules_registers_itself_and_refuses_by_name():
    class HalfTrace(Trace, register=True):
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

    class Toy(Trace):  # outside the library: not in the coverage table unless it asks
        engine = "toy-engine"
        rules = {}

    assert "toy-engine" not in primitives.coverage()["exp"]


@custom.custom_jvp
def twice_slope(x):
    return x * 1.0  # the rule says 2: a deliberately different derivative shows which rule ran


twice_slope.defjvp(lambda p, t: (twice_slope(p[0]), 2.0 * t[0]))


@custom.custom_vjp
def thrice_slope(x, y):
    return x * y


thrice_slope.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (3.0 * g * res[1], None))


@pytest.mark.slow
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


# ---------------------------------------------------------------- the shared preamble and layout


@pytest.mark.slow
def test_keyword_arguments_reach_f_in_every_derivative():
    def f(x, y, scale=1.0):
        return dnp.sum(dnp.sin(x) * y) * scale

    x, y = jnp.array([0.2, -0.7]), jnp.array([1.5, 2.0])
    for m in (fwd, rev, jax_ref):
        assert_close(m.grad(f, (0, 1))(x, y, scale=3.0), jax.grad(f, (0, 1))(x, y, scale=3.0), 1e-12, m.NAME)
        assert_close(m.hessian(f)(x, y, scale=3.0), jax.hessian(f)(x, y, scale=3.0), 1e-12, m.NAME)
    assert_close(rev.hvp(f)(x, y, x, scale=3.0), jax.hessian(f)(x, y, scale=3.0) @ x, 1e-12)


def test_one_jacobian_layout_for_arrays_and_engine_values():
    jac = jnp.arange(12.0).reshape(3, 4)
    out, inp = {"a": jnp.zeros(1), "b": jnp.zeros(2)}, (jnp.zeros(()), jnp.zeros((3,)))
    laid = _api.layout_jacobian(jac, out, inp)
    assert laid["b"][1].shape == (2, 3) and float(laid["a"][0][0]) == 0.0 and float(laid["b"][1][1, 2]) == 11.0
    # the same layout on an engine's value (a Jacobian being differentiated again)
    doubled = fwd.jvp(lambda j: _api.layout_jacobian(j, out, inp)["b"][1], (jac,), (jac,))[1]
    assert_close(doubled, laid["b"][1], 0.0)
    assert not hasattr(_api, "unflatten_jacobian")  # one layout helper, one name


@pytest.mark.slow
def test_reverse_hessian_of_a_vector_valued_function_is_m_by_n_by_n():
    f = lambda x: dnp.sin(x) * x[0]  # noqa: E731
    x = jnp.array([0.3, -1.1])
    assert_close(rev.hessian(f)(x), jax.hessian(f)(x), 1e-12)


def test_zero_size_inputs_give_empty_jacobians_as_in_jax():
    f = lambda x: dnp.prod(x, axis=1)  # noqa: E731
    x = jnp.ones((3, 0, 5))
    for m in (fwd, rev, jax_ref):
        assert m.jacobian(f)(x).shape == jax.jacobian(lambda x: jnp.prod(x, axis=1))(x).shape == (3, 5, 3, 0, 5)
    assert fwd.vjp(lambda x: 2.0 * x, jnp.zeros(0))[1](jnp.zeros(0))[0].shape == (0,)


# ---------------------------------------------------------------- forward mode in chunks


@pytest.mark.slow
def test_forward_mode_pushes_tangents_in_chunks_with_the_same_result():
    f = lambda x: dnp.sum(dnp.tanh(x) ** 2) + x[0] * x[-1]  # noqa: E731
    x = jnp.linspace(-1.0, 1.0, 5)
    whole = fwd.grad(f, chunk_size=5)(x)
    for mode in ("vector", "batched"):
        assert_close(fwd.grad(f, mode=mode, chunk_size=2)(x), whole, 1e-15, mode)
    assert_close(fwd.hessian(f, chunk_size=3)(x), jax.hessian(f)(x), 1e-12)
    with fwd.counting() as counts:
        fwd.grad(f, chunk_size=2)(x)
    assert (counts.passes, counts.directions) == (3, 5)  # 5 directions in chunks of 2, 2, 1


def test_the_default_chunk_keeps_the_tangent_basis_small():
    assert fwd.default_chunk_size(100, 8) == 100  # a small basis: one pass
    chunk = fwd.default_chunk_size(100_000, 8)
    assert 1 <= chunk and chunk * 100_000 * 8 <= fwd.api.CHUNK_BYTES
    with pytest.raises(InvalidOptionError, match="chunk_size"):
        fwd.grad(lambda x: dnp.sum(x), chunk_size=0)(jnp.ones(3))


def test_one_input_takes_one_plain_pass():
    with fwd.counting() as counts:
        assert float(fwd.grad(lambda x: dnp.exp(x) / x**2)(1.5)) == pytest.approx(float(jax.grad(
            lambda x: jnp.exp(x) / x**2)(1.5)), rel=1e-14)
    assert (counts.passes, counts.directions) == (1, 1)


def test_an_abandoned_vmap_attempt_does_not_count_as_a_pass():
    def outer(y):  # inside reverse mode f closes over a tape node: jax.vmap cannot carry it, forward falls back
        with fwd.counting() as counts:
            g = fwd.grad(lambda x: dnp.sum(x * y))(jnp.ones(2))
        assert (counts.passes, counts.directions) == (1, 2)
        return dnp.sum(g)

    assert_close(rev.grad(outer)(jnp.array([1.0, 2.0])), jnp.ones(2), 0.0)
