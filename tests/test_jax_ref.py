"""The reference: JAX's own answers, the kink conventions every engine must match, and our errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import jax_ref
from diffcompare.errors import InvalidInputError, InvalidOptionError, NonScalarOutputError, ShapeMismatchError

# STYLE.md's table: at a non-differentiable point every engine gives what JAX gives
KINKS = [
    ("relu'(0) = 0", lambda x: dnp.relu(x), 0.0, 0.0),
    ("maximum(x, 0)'(0) = 0.5", lambda x: dnp.maximum(x, 0.0), 0.0, 0.5),
    ("minimum(x, 0)'(0) = 0.5", lambda x: dnp.minimum(x, 0.0), 0.0, 0.5),
    ("where(x > 0, x, 0)'(0) = 0", lambda x: dnp.where(x > 0, x, 0.0), 0.0, 0.0),
    ("abs'(0) = 1", lambda x: dnp.abs(x), 0.0, 1.0),
    ("sqrt'(0) = inf", lambda x: dnp.sqrt(x), 0.0, np.inf),
    ("(x**2)'(0) = 0", lambda x: x**2, 0.0, 0.0),
]


@pytest.mark.parametrize("label,f,x,expected", KINKS, ids=[k[0] for k in KINKS])
def test_kink_conventions(label, f, x, expected):
    assert float(jax_ref.grad(f)(x)) == expected


def test_ties_in_max_reductions_share_equally():
    g = jax_ref.grad(lambda x: dnp.max(x))(jnp.array([1.0, 1.0, 0.0]))
    np.testing.assert_array_equal(g, [0.5, 0.5, 0.0])


def test_grad_of_norm_at_zero_is_nan():
    assert bool(jnp.all(jnp.isnan(jax_ref.grad(lambda x: dnp.linalg.norm(x))(jnp.zeros(3)))))


def test_reference_is_jax():
    f = lambda x, y: dnp.sum(dnp.sin(x) * y)  # noqa: E731
    x, y = jnp.arange(3.0), jnp.ones(3) * 2.0
    np.testing.assert_array_equal(jax_ref.grad(f, (0, 1))(x, y)[1], jax.grad(f, (0, 1))(x, y)[1])
    np.testing.assert_array_equal(jax_ref.jacobian(lambda x: dnp.sin(x))(x), jax.jacrev(jnp.sin)(x))
    np.testing.assert_array_equal(jax_ref.jacobian(lambda x: dnp.sin(x), mode="fwd")(x), jax.jacfwd(jnp.sin)(x))
    np.testing.assert_array_equal(jax_ref.hessian(lambda x: dnp.sum(x**3))(x), jax.hessian(lambda x: jnp.sum(x**3))(x))
    out, tangent = jax_ref.jvp(lambda x: x**2, (x,), (jnp.ones(3),))
    np.testing.assert_array_equal(tangent, 2 * x)
    out, vjp_fn = jax_ref.vjp(lambda x, y: x * y, x, y)
    assert len(vjp_fn(jnp.ones(3))) == 2


def test_reference_errors():
    with pytest.raises(NonScalarOutputError):
        jax_ref.grad(lambda x: x)(jnp.ones(2))
    with pytest.raises(ShapeMismatchError):
        jax_ref.jvp(lambda x: x, (jnp.ones(2),), (jnp.ones(3),))
    with pytest.raises(ShapeMismatchError):
        jax_ref.vjp(lambda x: x, jnp.ones(2))[1](jnp.ones(3))
    with pytest.raises(InvalidInputError):
        jax_ref.grad(lambda x: x * 1.0)(3)
    with pytest.raises(InvalidOptionError):
        jax_ref.jacobian(lambda x: x, mode="sideways")
    with pytest.raises(InvalidOptionError):
        jax_ref.grad(lambda x: x, argnums=(1,))(1.0)
