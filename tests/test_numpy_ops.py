"""``diffcompare.numpy`` means what ``jax.numpy`` means: regression tests for issue 17's
list (same name, different meaning; keyword arguments; wrong derivatives) and derivative
checks of every primitive added with it, in forward, reverse and symbolic mode, against JAX.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import forward, reverse, symbolic
from diffcompare.errors import DiffCompareError
from diffcompare.primitives import PRIMITIVES

from .helpers import assert_close


def _close(value, reference, what=""):
    assert_close(value, reference, 1e-9, what)

ENGINES = {"forward": forward, "reverse": reverse, "symbolic": symbolic}


def _grad(engine, f, argnums=0):
    # symbolic without jax.jit: compiling a program per test function would dominate the runtime
    return symbolic.grad(f, argnums, jit=False) if engine == "symbolic" else ENGINES[engine].grad(f, argnums)


def _second_order_agrees(f, jf, x):
    """Hessian-vector products (forward over reverse, reverse over reverse) against JAX's."""
    v = jnp.cos(jnp.arange(x.size, dtype=float)).reshape(x.shape)
    expected = jax.jvp(jax.grad(jf), (x,), (v,))[1]
    _close(forward.jvp(reverse.grad(f), (x,), (v,))[1], expected, "forward over reverse")
    _close(reverse.grad(lambda x: dnp.sum(reverse.grad(f)(x) * v))(x), expected, "reverse over reverse")
A3 = jnp.reshape(jnp.linspace(-1.0, 1.2, 60), (3, 4, 5))


def _grads_agree(f, jax_f, args, argnums=0, engines=("forward", "reverse")):
    expected = jax.grad(jax_f, argnums)(*args)
    for name in engines:
        _close(_grad(name, f, argnums)(*args), expected, f"{name} gradient")


# ---------------------------------------------------------------- same name, same meaning


def test_trace_of_a_3d_value_keeps_the_last_axis_as_jnp_trace():
    for method in (forward, reverse):
        out = method.jacobian(dnp.trace)(A3)
        assert out.shape == (5, 3, 4, 5)
        _close(out, jax.jacobian(jnp.trace)(A3))


def test_trace_takes_offset_and_axes_by_keyword():
    def f(x):
        return dnp.sum(dnp.trace(x, offset=1, axis1=1, axis2=2) ** 2)

    def jf(x):
        return jnp.sum(jnp.trace(x, offset=1, axis1=1, axis2=2) ** 2)

    _grads_agree(f, jf, (A3,))


@pytest.mark.slow
def test_dot_above_2d_contracts_like_numpy():
    a, b = A3[:, :2, :], jnp.reshape(jnp.linspace(0.1, 2.0, 30), (2, 5, 3))
    for other in (b, b[0, :, 0]):
        def f(a, b):
            return dnp.sum(dnp.sin(dnp.dot(a, b)))

        def jf(a, b):
            return jnp.sum(jnp.sin(jnp.dot(a, b)))

        _grads_agree(f, jf, (a, other), argnums=(0, 1))


def test_inner_beyond_1d():
    def f(a, b):
        return dnp.sum(dnp.inner(a, b) ** 2)

    def jf(a, b):
        return jnp.sum(jnp.inner(a, b) ** 2)

    _grads_agree(f, jf, (A3, A3[0]), argnums=(0, 1))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_and_std_take_ddof(name):
    def f(x):
        return dnp.sum(getattr(dnp, name)(x, axis=1, ddof=1, keepdims=True))

    def jf(x):
        return jnp.sum(getattr(jnp, name)(x, axis=1, ddof=1, keepdims=True))

    _grads_agree(f, jf, (A3,), engines=("forward", "reverse", "symbolic"))


def test_linspace_with_engine_value_endpoints():
    def f(a, b):
        return dnp.sum(dnp.sin(dnp.linspace(a, b, 7)))

    def jf(a, b):
        return jnp.sum(jnp.sin(jnp.linspace(a, b, 7)))

    _grads_agree(f, jf, (0.5, jnp.array([1.0, 2.0])), argnums=(0, 1), engines=("forward", "reverse", "symbolic"))
    assert dnp.linspace(0.0, 1.0, 5, endpoint=False).shape == (5,)


def test_full_and_logspace_take_engine_values():
    def f(a):
        return dnp.sum(dnp.logspace(a, 2 * a, 4, base=2.0) * dnp.full((2, 1), a))

    def jf(a):
        return jnp.sum(jnp.logspace(a, 2 * a, 4, base=2.0) * jnp.full((2, 1), a))

    _grads_agree(f, jf, (jnp.asarray(0.7),))


def test_reverse_power_rule_keeps_the_exponents_derivative_of_the_first_derivative():
    # d/dy (y x**(y-1)) at y = 0 is 1/x: a mask on y == 0 would make it 0 (issue 17)
    expected = jax.jacobian(jax.grad(jnp.power, 0), 1)(4.0, 0.0)
    _close(reverse.jacobian(reverse.grad(dnp.power, 0), 1)(4.0, 0.0), expected)
    _close(forward.jacobian(reverse.grad(dnp.power, 0), 1)(4.0, 0.0), expected)
    assert float(expected) == 0.25


@pytest.mark.slow
@pytest.mark.parametrize("method", [forward, reverse], ids=["forward", "reverse"])
def test_logsumexp_and_softmax_derivatives_at_large_magnitudes(method):
    # exp(x - logsumexp(x)) rounds to 1 at 1e16: the rules use the shifted softmax (issue 10 item 3)
    assert method.grad(dnp.logsumexp)(jnp.array([1e16, 1e16])).tolist() == [0.5, 0.5]
    g32 = method.grad(dnp.logsumexp)(jnp.full(4, 1e6, jnp.float32))
    assert g32.dtype == jnp.float32 and np.allclose(g32, 0.25, rtol=1e-6, atol=0)
    x = jnp.array([1e16, 1e16, -1e16])
    _close(method.jacobian(dnp.softmax)(x), jax.jacobian(jax.nn.softmax)(x))


@pytest.mark.slow
def test_index_updates_on_engine_values():
    x = jnp.array([3.0, 1.0, 2.0, 1.0])
    for op in ("set", "multiply", "min", "max"):
        def f(x, y, op=op):
            return dnp.sum(getattr(x.at[1:3], op)(y) ** 2)

        def jf(x, y, op=op):
            return jnp.sum(getattr(x.at[1:3], op)(y) ** 2)

        _grads_agree(f, jf, (x, 1.5), argnums=(0, 1))


def test_index_set_with_a_repeated_index_is_refused():
    with pytest.raises(DiffCompareError, match="index_set"):
        reverse.grad(lambda x: dnp.sum(x.at[jnp.array([0, 0])].set(1.0)))(jnp.ones(3))


# ---------------------------------------------------------------- every new primitive against JAX
# Each test builds ONE function that uses every case (each case on its own slice of the input),
# so one Hessian per engine checks them all: compiling a program per case would take minutes.

_DOMAIN = jnp.array([-0.6, 0.1, 0.5])
# primitive -> (JAX function, how to map the points above into its domain)
UNARY = {
    "arcsin": (jnp.arcsin, None), "arccos": (jnp.arccos, None), "arcsinh": (jnp.arcsinh, None),
    "arccosh": (jnp.arccosh, lambda x: 2.0 + x), "arctanh": (jnp.arctanh, None),
    "rsqrt": (jax.lax.rsqrt, lambda x: 1.0 + x), "cbrt": (jnp.cbrt, None), "exp2": (jnp.exp2, None),
    "erf": (jax.scipy.special.erf, None), "erfc": (jax.scipy.special.erfc, None),
    "erfinv": (jax.scipy.special.erfinv, None), "sinc": (jnp.sinc, lambda x: 2.0 * x), "real": (jnp.real, None),
    "imag": (jnp.imag, None), "conj": (jnp.conj, None), "stop_gradient": (jax.lax.stop_gradient, None),
}
BINARY = {"arctan2": jnp.arctan2, "logaddexp": jnp.logaddexp, "logaddexp2": jnp.logaddexp2}


def _every_unary(xp, fns):
    def f(x):
        total = 0.0
        for k, (name, (_, to_domain)) in enumerate(UNARY.items()):
            xk = x[3 * k : 3 * k + 3]
            xk = xk if to_domain is None else to_domain(xk)
            total = total + xp.sum(fns[name](xk) * xk * (k + 1))
        return total

    return f


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_new_unary_primitives_first_and_second_derivatives(engine):
    f = _every_unary(dnp, {name: getattr(dnp, name) for name in UNARY})
    jf = _every_unary(jnp, {name: fn for name, (fn, _) in UNARY.items()})
    x = jnp.tile(_DOMAIN, len(UNARY))
    _close(_grad(engine, f)(x), jax.grad(jf)(x), f"{engine} gradient")
    if engine == "forward":
        _second_order_agrees(f, jf, x)


def test_sinc_derivative_at_zero_is_jaxs():
    for engine in ENGINES:
        assert float(_grad(engine, dnp.sinc)(0.0)) == float(jax.grad(jnp.sinc)(0.0)) == 0.0


def _every_binary(xp, fns):
    def f(x, y):
        return sum(xp.sum(fns[name](x[k], y[k]) ** 2) for k, name in enumerate(BINARY))

    return f


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_new_binary_primitives_derivatives_broadcasting(engine):
    x = jnp.reshape(jnp.linspace(-1.2, 2.0, 3 * len(BINARY)), (len(BINARY), 1, 3))
    y = jnp.reshape(jnp.linspace(0.5, -0.7, 2 * len(BINARY)), (len(BINARY), 2, 1))
    f = _every_binary(dnp, {name: getattr(dnp, name) for name in BINARY})
    jf = _every_binary(jnp, BINARY)
    _close(_grad(engine, f, (0, 1))(x, y), jax.grad(jf, (0, 1))(x, y))
    if engine == "forward":
        _second_order_agrees(lambda y: f(x, y), lambda y: jf(x, y), y)


def test_logaddexp_derivative_at_infinity_is_jaxs():
    args = (jnp.array([jnp.inf, 1.0]), jnp.array([jnp.inf, -jnp.inf]))
    expected = jax.grad(lambda a, b: jnp.sum(jnp.logaddexp(a, b)), (0, 1))(*args)
    for method in (forward, reverse):
        _close(method.grad(lambda a, b: dnp.sum(dnp.logaddexp(a, b)), (0, 1))(*args), expected)


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ij->", [(2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("i,i->", [(3,), (3,)]), ("ij,k->ijk", [(2, 3), (2,)]),
    ("...ij,...jk", [(2, 2, 3), (3, 2)]), ("ijk,ik->j", [(2, 3, 2), (2, 2)]), ("iji->j", [(2, 3, 2)]),
]


def _every_einsum(xp):
    sizes = [int(np.prod(s)) for _, shapes in EINSUMS for s in shapes]
    cuts = np.cumsum([0] + sizes)

    def f(v):
        total, k = 0.0, 0
        for spec, shapes in EINSUMS:
            operands = []
            for s in shapes:
                operands.append(xp.reshape(v[cuts[k] : cuts[k + 1]], s))
                k += 1
            total = total + xp.sum(xp.sin(xp.einsum(spec, *operands)))
        return total

    return f, int(cuts[-1])


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_einsum_derivatives(engine):
    (f, n), (jf, _) = _every_einsum(dnp), _every_einsum(jnp)
    v = jnp.sin(jnp.arange(n, dtype=float))
    _close(_grad(engine, f)(v), jax.grad(jf)(v), engine)
    if engine == "forward":
        _second_order_agrees(f, jf, v)


def test_einsum_in_batched_mode_matches_jacfwd():
    a, b = A3[0], A3[1, :, :2]
    jac = forward.jacobian(lambda a, b: dnp.einsum("ij,ik->jk", a, b), (0, 1), mode="batched")(a, b)
    _close(jac, jax.jacfwd(lambda a, b: jnp.einsum("ij,ik->jk", a, b), (0, 1))(a, b))


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_cumsum_derivatives(engine):
    def f(x, xp=dnp):
        return sum(xp.sum(xp.sin(xp.cumsum(x, axis=axis))) * (k + 1) for k, axis in enumerate([None, 0, -1]))

    x = A3[0, :2]
    _close(_grad(engine, f)(x), jax.grad(lambda x: f(x, jnp))(x))
    if engine == "forward":
        _second_order_agrees(f, lambda x: f(x, jnp), x)


def test_astype_casts_the_derivative_too():
    x = jnp.array([1.0, 2.0])
    assert reverse.grad(lambda x: dnp.sum(dnp.astype(x, jnp.float32)))(x).dtype == jnp.float64
    for method in (forward, reverse):
        g = method.grad(lambda x: dnp.sum(dnp.astype(x, jnp.float32) ** 2))(x)
        assert g.tolist() == [2.0, 4.0]
        assert method.grad(lambda x: dnp.sum(x * x.astype(jnp.int32)))(x).tolist() == [1.0, 2.0]


def test_every_primitive_is_named_in_this_module_or_older_tests():
    # a new primitive must come with a derivative check against JAX here (or in test_forward_rules)
    older = {"negative", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh",
             "arctan", "sigmoid", "abs", "relu", "add", "subtract", "multiply", "divide", "power", "maximum",
             "minimum", "where", "sum", "prod", "max", "min", "logsumexp", "softmax", "matmul", "transpose",
             "reshape", "broadcast_to", "stack", "concatenate", "getitem", "index_add"}
    checked = older | set(UNARY) | set(BINARY) | {"einsum", "cumsum", "astype"}
    assert set(PRIMITIVES) <= checked, sorted(set(PRIMITIVES) - checked)
