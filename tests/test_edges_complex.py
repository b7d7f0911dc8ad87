"""Complex numbers at the edges (issue 26): every method refuses them clearly, none gives a wrong number.

diffcompare's methods differentiate real functions of real inputs. JAX differentiates complex inputs with
its own conventions (``jax.grad`` of a real f at z gives conj(∂f/∂x + i ∂f/∂y)); rather than get them
partly right, every method refuses a complex input, tangent or cotangent, ``holomorphic=True``, and (the
forward and reverse engines, symbolic too) a complex value made inside ``f``. Finite differences evaluate
``f`` as a black box, so a real function with complex intermediates is differentiated as JAX does it: the
tests compare those numbers with JAX's. The JAX reference alone, being JAX, keeps JAX's conventions.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import METHODS, check, from_jax, hvp, jax_ref, reverse
from diffcompare.errors import InvalidInputError, InvalidOptionError, UnsupportedOperationError

OURS = ["finite_diff", "symbolic", "forward", "reverse"]
ENGINES = ["forward", "reverse"]  # the op-by-op engines: they refuse the operation that made a complex value

finite = st.floats(-3.0, 3.0, allow_nan=False).filter(lambda v: abs(v) > 0.05)
complex_points = st.builds(complex, finite, finite)


def sq_modulus(z):
    return dnp.real(z * dnp.conj(z))


# (name, call(method, z)): every entry point, with the complex number as its input
ENTRY_POINTS = [
    ("grad", lambda m, z: m.grad(sq_modulus)(z)),
    ("value_and_grad", lambda m, z: m.value_and_grad(sq_modulus)(z)),
    ("jacobian", lambda m, z: m.jacobian(lambda w: w * 2.0)(z)),
    ("hessian", lambda m, z: m.hessian(sq_modulus)(z)),
    ("jvp", lambda m, z: m.jvp(sq_modulus, (z,), (1.0 + 0j,))),
    ("vjp", lambda m, z: m.vjp(sq_modulus, z)),
    ("grad by argnums", lambda m, z: m.grad(lambda a, b: sq_modulus(a * b), argnums=1)(1.0, z)),
    ("from_jax", lambda m, z: m.grad(from_jax(lambda w: jnp.real(w * jnp.conj(w))))(z)),
]


@settings(max_examples=8)
@given(z=complex_points)
def test_a_complex_input_is_refused_by_every_method_where_jax_gives_a_number(z):
    ref = jax.grad(lambda w: jnp.real(w * jnp.conj(w)))(z)  # JAX's convention: 2 conj(z)
    np.testing.assert_allclose(ref, 2 * np.conj(z), rtol=1e-12)
    np.testing.assert_allclose(jax_ref.grad(sq_modulus)(z), ref, rtol=1e-12)  # the reference is JAX
    for name in OURS:
        for entry, call in ENTRY_POINTS:
            with pytest.raises(InvalidInputError, match="is complex") as err:
                call(METHODS[name], z)
            assert "real inputs only" in str(err.value), (name, entry)
    with pytest.raises(InvalidInputError, match="is complex"):
        hvp(sq_modulus)(z, 1.0 + 0j)
    with pytest.raises(InvalidInputError, match="is complex"):
        reverse.grad(reverse.checkpoint(sq_modulus))(z)
    with pytest.raises(InvalidInputError, match="is complex"):
        check(sq_modulus, z)


@pytest.mark.parametrize("staged", [True, False])
@pytest.mark.parametrize("name", ENGINES)
def test_staged_and_op_by_op_engines_refuse_a_complex_input(name, staged):
    for fn in (METHODS[name].grad, METHODS[name].jacobian):
        with pytest.raises(InvalidInputError, match="is complex"):
            fn(sq_modulus, staged=staged)(3.0 + 4.0j)


@settings(max_examples=10)
@given(data=st.data())
def test_one_complex_leaf_among_real_ones_is_named(data):
    keys = ["w", "b", "scale"]
    complex_key = data.draw(st.sampled_from(keys))
    z = data.draw(complex_points)
    params = {k: (jnp.asarray(z) if k == complex_key else jnp.ones(2) * 0.5) for k in keys}

    def loss(p):
        return dnp.sum(dnp.real(p["w"] * p["b"] * p["scale"]))

    jax.grad(lambda p: jnp.sum(jnp.real(p["w"] * p["b"] * p["scale"])))(params)  # JAX takes it
    for name in OURS:
        m = METHODS[name]
        for call in (lambda m=m: m.grad(loss)(params), lambda m=m: m.vjp(loss, params),
                     lambda m=m: m.jvp(loss, (params,), (params,))):
            with pytest.raises(InvalidInputError, match=rf"is complex \(leaf (\[0\])?\['{complex_key}'\]\)"):
                call()


@pytest.mark.parametrize("name", OURS)
def test_a_complex_tangent_or_cotangent_of_real_values_is_refused_as_jax_refuses(name):
    m = METHODS[name]
    with pytest.raises(TypeError):  # JAX: "primal and tangent arguments to jax.jvp do not match"
        jax.jvp(jnp.sin, (1.0,), (1.0j,))
    with pytest.raises(InvalidInputError, match="tangent is complex"):
        m.jvp(dnp.sin, (1.0,), (1.0j,))
    with pytest.raises(InvalidInputError, match="tangent is complex"):
        m.jvp(lambda a, b: a * b, (1.0, 2.0), (0.5, 1.0j))
    _, pull = m.vjp(dnp.sin, jnp.ones(2))
    with pytest.raises(InvalidInputError, match="cotangent .* is complex"):
        pull(jnp.asarray([1.0, 1.0j]))
    with pytest.raises(InvalidInputError, match="vector v is complex"):
        hvp(lambda x: dnp.sum(x**3))(jnp.ones(2), jnp.asarray([1.0, 1.0j]))


@pytest.mark.parametrize("transformation", ["grad", "value_and_grad", "jacobian", "hessian"])
@pytest.mark.parametrize("name", OURS)
def test_holomorphic_is_refused_with_the_reason(name, transformation):
    with pytest.raises(InvalidOptionError, match="holomorphic differentiation is not supported by diffcompare"):
        getattr(METHODS[name], transformation)(dnp.sin, holomorphic=True)
    getattr(METHODS[name], transformation)(dnp.sin, holomorphic=False)  # the default, accepted


@settings(max_examples=6)
@given(z=complex_points)
def test_the_reference_passes_holomorphic_to_jax(z):
    np.testing.assert_allclose(jax_ref.grad(dnp.sin, holomorphic=True)(z), jnp.cos(z), rtol=1e-12)
    np.testing.assert_allclose(jax_ref.jacobian(dnp.sin, holomorphic=True)(jnp.asarray([z])),
                               jax.jacrev(jnp.sin, holomorphic=True)(jnp.asarray([z])), rtol=1e-12)


# ---------------------------------------------------------------- complex values made inside f

# real in, real out, complex in between: jax.grad differentiates them. Each is written once for
# ``np_`` = dnp (ours) or jnp (JAX's)
INTERMEDIATES = {
    "exp(ix)": lambda np_, x: np_.real(np_.exp(1j * x) * x),
    "abs": lambda np_, x: np_.abs(x + 1j * x**2),
    "conj": lambda np_, x: np_.real((x + 2j) * np_.conj(1j * x + 3.0)),
    "imag": lambda np_, x: np_.imag(np_.sin(x * (1 + 2j))),
    "cast": lambda np_, x: np_.abs(np_.asarray(x).astype(jnp.complex128) * 1j) ** 2,
}


@pytest.mark.slow
@settings(max_examples=10)
@given(x=finite)
@pytest.mark.parametrize("case", INTERMEDIATES)
def test_complex_intermediates_finite_differences_match_jax(case, x):
    ours, theirs = functools.partial(INTERMEDIATES[case], dnp), functools.partial(INTERMEDIATES[case], jnp)
    np.testing.assert_allclose(METHODS["finite_diff"].grad(ours)(x), jax.grad(theirs)(x), rtol=1e-6, atol=1e-8)
    v = jnp.asarray([x, 0.5 * x])
    np.testing.assert_allclose(METHODS["finite_diff"].jacobian(lambda u: ours(u))(v),
                               jax.jacfwd(lambda u: theirs(u))(v), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", INTERMEDIATES)
@pytest.mark.parametrize("name", ENGINES)
def test_complex_intermediates_are_refused_by_the_engines_naming_the_operation(name, case):
    ours = functools.partial(INTERMEDIATES[case], dnp)
    m = METHODS[name]
    x = jnp.asarray([0.3, 0.7])
    summed = lambda u: dnp.sum(ours(u))  # noqa: E731
    calls = {
        "grad": lambda: m.grad(summed)(x),
        "grad op by op": lambda: m.grad(summed, staged=False)(x),
        "jacobian": lambda: m.jacobian(ours)(x),
        "hessian": lambda: m.hessian(summed)(x),
        "jvp": lambda: m.jvp(ours, (x,), (jnp.ones(2),)),
        "vjp": lambda: m.vjp(ours, x)[1](jnp.ones(2)),
        "jit": lambda: jax.jit(m.grad(summed))(x),
    }
    for label, call in calls.items():
        with pytest.raises(UnsupportedOperationError, match=f"not supported by the {name} engine: it made a "
                                                            "complex value") as err:
            call()
        assert err.value.operation in ("multiply", "add", "astype"), label  # 1j * x, x + 2j, a cast


def test_complex_intermediates_through_hvp_checkpoint_from_jax_and_symbolic_are_refused():
    x = jnp.asarray([0.3, 0.7])
    f = lambda u: dnp.sum(dnp.real(dnp.exp(1j * u)))  # noqa: E731
    with pytest.raises(UnsupportedOperationError, match="complex value"):
        hvp(f)(x, jnp.ones(2))
    with pytest.raises(UnsupportedOperationError, match="complex value"):
        reverse.grad(lambda u: reverse.checkpoint(f)(u))(x)
    wrapped = from_jax(lambda u: jnp.sum(jnp.real(jnp.exp(1j * u))))
    for name in ENGINES:
        with pytest.raises(UnsupportedOperationError, match="complex value"):
            METHODS[name].grad(wrapped)(x)
    with pytest.raises(UnsupportedOperationError, match="complex"):
        METHODS["symbolic"].grad(f)(x)
    np.testing.assert_allclose(METHODS["finite_diff"].grad(wrapped)(x), -jnp.sin(x), rtol=1e-7)


# ---------------------------------------------------------------- complex outputs


@pytest.mark.parametrize("name", OURS)
def test_a_complex_output_is_refused_where_jax_grad_refuses(name):
    f = lambda x: dnp.exp(1j * x) * x  # noqa: E731
    with pytest.raises(TypeError, match="real-valued outputs"):
        jax.grad(lambda x: jnp.exp(1j * x) * x)(0.5)
    with pytest.raises((InvalidInputError, UnsupportedOperationError), match="complex"):
        METHODS[name].grad(f)(0.5)
    with pytest.raises((InvalidInputError, UnsupportedOperationError), match="complex"):
        METHODS[name].value_and_grad(lambda x: x * (1.0 + 2.0j))(0.5)


def test_finite_differences_of_a_complex_output_follow_jax_forward_mode():
    f, jf = (lambda x: dnp.exp(1j * x) * x), (lambda x: jnp.exp(1j * x) * x)
    x, v = jnp.asarray([0.3, 0.7]), jnp.asarray([1.0, -0.5])
    fd = METHODS["finite_diff"]
    np.testing.assert_allclose(fd.jacobian(f)(x), jax.jacfwd(jf)(x), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fd.jvp(f, (x,), (v,))[1], jax.jvp(jf, (x,), (v,))[1], rtol=1e-7, atol=1e-9)
    ct = jnp.asarray([1.0 + 2.0j, 3.0 - 1.0j])  # a complex cotangent of a complex output: JAX's real part
    np.testing.assert_allclose(fd.vjp(f, x)[1](ct)[0], jax.vjp(jf, x)[1](ct)[0], rtol=1e-7, atol=1e-9)
