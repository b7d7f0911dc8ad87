"""Array-level symbolic differentiation: nodes with shapes, derivatives as matrix expressions whose
size does not grow with n, Hessians as A + Aᵀ, readable formulas, and the fallback to scalar expansion."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import symbolic as S
from diffcompare.errors import ConcretizationError, InvalidOptionError, NonScalarOutputError, UnsupportedOperationError
from diffcompare.primitives import PRIMITIVES
from diffcompare.symbolic import array as AL
from diffcompare.symbolic import array as M
from diffcompare.symbolic.bench import logistic_loss, matrix_calculus, quadratic_form

from .helpers import assert_close

RNG = np.random.default_rng(0)
A = jnp.asarray(RNG.normal(size=(4, 4)))
X = jnp.asarray(RNG.normal(size=(6, 4)))
Y = jnp.asarray(RNG.choice([0.0, 1.0], size=6))
W1, W2 = jnp.asarray(RNG.normal(size=(3, 4))), jnp.asarray(RNG.normal(size=(2, 3)))
x = jnp.asarray(RNG.normal(size=4))
t = jnp.asarray(RNG.normal(size=2))

FUNCTIONS = {
    "quadratic form": (quadratic_form, (x, A), 0),
    "logistic regression": (logistic_loss, (x, X, Y), 0),
    "mlp delta equations": (lambda W1, W2: 0.5 * dnp.sum((W2 @ dnp.tanh(W1 @ x) - t) ** 2), (W1, W2), (0, 1)),
    "broadcasting and reductions": (lambda M_: dnp.sum(dnp.exp(M_ - dnp.sum(M_, axis=0, keepdims=True)) / M_.T.sum(
        axis=0)), (X.T @ X + 5.0,), 0),
    "where, maximum, relu, abs": (lambda v: dnp.sum(dnp.where(jnp.arange(4) > 1, dnp.relu(v) * v, dnp.abs(v))
                                                    + dnp.maximum(v, 0.1) * dnp.minimum(v, -0.2)), (x,), 0),
    "reshape and broadcast_to": (lambda v: dnp.sum(dnp.broadcast_to(dnp.reshape(v, (2, 2)), (3, 2, 2)) ** 3),
                                 (x,), 0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_array_level_gradients_match_jax(name):
    f, args, argnums = FUNCTIONS[name]
    value, grad = S.value_and_grad(f, argnums, expand="array")(*args)
    ref_value, ref_grad = jax.value_and_grad(f, argnums)(*args)
    assert_close(value, ref_value, 1e-12, name)
    assert_close(grad, ref_grad, 1e-12, name)


@pytest.mark.slow
def test_array_level_hessians_match_jax_and_are_matrix_formulas():
    assert_close(S.hessian(quadratic_form, expand="array")(x, A), jax.hessian(quadratic_form)(x, A), 1e-12)
    assert_close(S.hessian(logistic_loss, expand="array")(x, X, Y), jax.hessian(logistic_loss)(x, X, Y), 1e-12)
    assert AL.to_text(M.hessian_expression(quadratic_form, x, A)) == "A + Aᵀ"
    assert AL.to_latex(M.hessian_expression(quadratic_form, x, A)) == r"A + A^\top"


def mlp_loss(W1, W2, x, y):
    return 0.5 * dnp.sum((W2 @ dnp.tanh(W1 @ x) - y) ** 2)


def test_the_course_formulas_print_as_the_course_writes_them():
    assert AL.to_text(M.vjp_expression(lambda W, x: W @ x, W1, x)) == "u xᵀ"
    assert AL.to_latex(M.vjp_expression(lambda W, x: W @ x, W1, x)) == r"u x^\top"
    assert M.gradient_formulas(mlp_loss, W1, W2, x, t, argnums=(0, 1)) == [
        "δ₂ = W2 tanh(W1 x) - y",
        "∂L/∂W1 = (W2ᵀ δ₂ ⊙ tanh′(W1 x)) xᵀ",
        "∂L/∂W2 = δ₂ tanh(W1 x)ᵀ",
    ]
    assert M.gradient_formulas(mlp_loss, W1, W2, x, t, argnums=(0, 1), latex=True) == [
        r"\delta_{2} = W_{2} \tanh\left(W_{1} x\right) - y",
        r"\frac{\partial L}{\partial W_{1}} = "
        r"\left(W_{2}^\top \delta_{2} \odot \tanh'\left(W_{1} x\right)\right) x^\top",
        r"\frac{\partial L}{\partial W_{2}} = \delta_{2} \tanh\left(W_{1} x\right)^\top",
    ]
    # without names, each formula on its own
    assert AL.to_text(M.gradient_expression(mlp_loss, W1, W2, x, t, argnums=1)) == "(W2 tanh(W1 x) - y) tanh(W1 x)ᵀ"
    assert M.hessian_formulas(logistic_loss, x, X, Y) == ["σ = sigmoid(X w)", "H = Xᵀ diag(σ ⊙ (1 - σ)) X"]
    assert M.hessian_formulas(logistic_loss, x, X, Y, latex=True) == [
        r"\sigma = \sigma\left(X w\right)",
        r"H = X^\top \operatorname{diag}\left(\sigma \odot \left(1 - \sigma\right)\right) X",
    ]
    assert M.gradient_formulas(logistic_loss, x, X, Y) == ["∂L/∂w = Xᵀ (sigmoid(X w) - y)"]


def test_expression_size_does_not_grow_with_n():
    sizes = [AL.size([M.hessian_expression(logistic_loss, jnp.ones(n), jnp.ones((2 * n, n)), jnp.ones(2 * n))])
             for n in (3, 30, 300)]
    assert sizes[0] == sizes[1] == sizes[2]
    assert AL.size([M.gradient_expression(lambda v: dnp.sum(v**2), jnp.ones(20_000))]) <= 4


def test_array_level_is_the_default_where_it_applies_and_scalar_expansion_otherwise():
    before = S.cache_info()["compiled"]
    f = lambda v: dnp.sum(v**2)  # noqa: E731
    assert_close(S.grad(f)(x), 2 * x, 1e-15)
    assert_close(S.grad(f, expand="scalar")(x), 2 * x, 1e-15)
    assert S.cache_info()["compiled"] == before + 2  # one program per expansion
    g = lambda v: dnp.prod(v) * dnp.max(v)  # noqa: E731 - no array rule for prod/max: scalar expansion
    assert_close(S.grad(g)(x), jax.grad(g)(x), 1e-12)
    with pytest.raises(UnsupportedOperationError, match="expand='scalar'|scalar-expanded"):
        S.grad(g, expand="array")(x)
    with pytest.raises(InvalidOptionError):
        S.grad(f, expand="matrix")
    with pytest.raises(NonScalarOutputError):
        S.grad(lambda v: v * 2.0, expand="array")(x)
    # integer arguments, pytrees and vector-argument tuples keep the scalar path
    assert_close(S.grad(lambda p: dnp.sum(p["a"] ** 2))({"a": x}), {"a": 2 * x}, 1e-15)


def test_a_global_array_changed_between_calls_is_read_now():
    global DATA
    loss = lambda w: dnp.sum((DATA @ w) ** 2)  # noqa: E731
    grad = S.grad(loss, expand="array")
    for scale in (1.0, 3.0):
        DATA = X * scale
        assert_close(grad(x), jax.grad(loss)(x), 1e-12, f"scale {scale}")


DATA = X


def test_branches_follow_jax_at_the_kinks_and_print_as_cases():
    for fun, point in ((dnp.relu, 0.0), (dnp.abs, 0.0), (lambda v: dnp.maximum(v, 0.0), 0.0),
                       (lambda v: dnp.minimum(v, 0.0), 0.0)):
        v = jnp.array([point, 1.0])
        total = lambda a, fun=fun: dnp.sum(fun(a))  # noqa: E731
        assert_close(S.grad(total, expand="array")(v), jax.grad(total)(v), 1e-15)
    expr = M.gradient_expression(lambda v: dnp.sum(dnp.where(jnp.array([True, False]), v**2, v)), jnp.ones(2))
    assert r"\begin{cases}" in AL.to_latex(expr)


def test_a_value_dependent_if_suggests_dnp_where():
    def f(v):
        return dnp.sum(v) if dnp.sum(v) > 0 else -dnp.sum(v)

    with pytest.raises(ConcretizationError, match="dnp.where"):
        S.grad(f, expand="array")(x)


@pytest.mark.slow
def test_the_benchmark_runs_and_agrees_with_jax():
    rows = matrix_calculus(n=20, m=30, d=10, n_grad=100, rounds=1)
    assert len(rows) == 3
    assert all(row["max abs diff"] < 1e-10 for row in rows)


SCALE = 2.0


def test_the_cache_follows_changed_state_and_reuses_programs_for_new_data():
    global SCALE, DATA
    loss = lambda w: SCALE * dnp.sum((DATA @ w) ** 2)  # noqa: E731
    hess = S.hessian(loss, expand="array")
    compiled = []
    try:
        for scale, data in ((2.0, X), (2.0, 3.0 * X), (5.0, X)):
            SCALE, DATA = scale, data
            before = S.cache_info()["compiled"]
            assert_close(hess(x), jax.hessian(loss)(x), 1e-12, f"scale {scale}")
            compiled.append(S.cache_info()["compiled"] - before)
        assert compiled[1:] == [0, 1]  # new data reuses the program; a changed scalar is another expression
    finally:
        SCALE, DATA = 2.0, X


def test_the_benchmark_prints_the_course_formulas():
    from diffcompare.symbolic.bench import formulas

    lines = formulas()
    for expected in ("H(xᵀAx): A + Aᵀ", "VJP of W x: u xᵀ", "H = Xᵀ diag(σ ⊙ (1 - σ)) X", "δ₂ = W2 tanh(W1 x) - y",
                     "∂L/∂W1 = (W2ᵀ δ₂ ⊙ tanh′(W1 x)) xᵀ", "∂L/∂W2 = δ₂ tanh(W1 x)ᵀ", r"H(xᵀAx): A + A^\top"):
        assert expected in lines


_ELEMENTWISE = [name for name, p in PRIMITIVES.items() if p.derivative is not None]


@pytest.mark.slow
@pytest.mark.parametrize("name", _ELEMENTWISE)
def test_every_declared_primitive_stays_an_array_expression(name):
    """Each elementwise primitive's array-level VJP comes from its declaration (issue 25): gradient and
    Hessian at expand="array" (no scalar fallback) agree with JAX."""
    prim = PRIMITIVES[name]
    shift = 1.5 if name == "arccosh" else 0.0
    if prim.kind == "unary":
        def f(x):
            return dnp.sum(getattr(dnp, name)(x + shift) * x)
    else:
        def f(x):
            return dnp.sum(getattr(dnp, name)(x, x[::-1] * 0.5 + 0.1) * x)
    x = jnp.linspace(0.2, 0.8, 5)
    g_ref, h_ref = jax.grad(f)(x), jax.hessian(f)(x)
    np.testing.assert_allclose(S.grad(f, expand="array")(x), g_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(S.hessian(f, expand="array")(x), h_ref, rtol=1e-10, atol=1e-10)
    out, _ = AL.trace(f, ["x"], [x])
    assert name in {n.op for n in AL.topological([out])}


def test_the_array_hessian_of_a_linear_function_is_a_zero_matrix():
    # its Hessian-vector product never reaches the vector: batching it still gives n columns
    x = jnp.linspace(0.2, 0.8, 3)
    np.testing.assert_array_equal(S.hessian(lambda x: dnp.sum(2.0 * x), expand="array")(x), np.zeros((3, 3)))
