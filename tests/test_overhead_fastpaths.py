"""The eager fast paths (issue 18) change no result: bitwise the same as the general path.

Fast paths: structural primitives and integer powers dispatched through ``jax.jit`` on concrete
arrays (``primitives._fast_eager``, ``primitives._power``), broadcasting checks skipped for equal
shapes, ``grad``'s seed made once per dtype and swept without ``vjp_fn``'s checks, forward mode's
one-input gradient seeded without building a unit basis. Each test computes with the fast paths and
again with them switched off (the plain ``jax.numpy`` functions) and compares bit for bit.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import _api, forward, primitives, reverse, staging, timing
from diffcompare.benchmarks import overhead

FAST = ("power", "sum", "transpose", "reshape", "broadcast_to")


@pytest.fixture(autouse=True)
def _op_by_op():
    """These fast paths are the op-by-op engine's: compare it with itself (a staged call, compiled once the
    same structure comes back, may differ from it by rounding; tests/test_staging.py compares those)."""
    with staging.disabled():
        yield


@contextlib.contextmanager
def plain_dispatch():
    """Switch the fast eager dispatch off: every primitive's impl is the plain jax.numpy function."""
    saved = {name: primitives.PRIMITIVES[name].impl for name in FAST}
    try:
        for name in FAST:
            plain = jnp.power if name == "power" else saved[name].__wrapped__
            object.__setattr__(primitives.PRIMITIVES[name], "impl", plain)  # a frozen dataclass: set it anyway
        yield
    finally:
        for name, fn in saved.items():
            object.__setattr__(primitives.PRIMITIVES[name], "impl", fn)


def _same(a, b):
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert jnp.result_type(x) == jnp.result_type(y) and jnp.shape(x) == jnp.shape(y)
        assert np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True), (x, y)


@pytest.mark.slow
@pytest.mark.parametrize("x", [jnp.asarray(1.5), jnp.asarray([0.0, -2.0, 3e200]), jnp.asarray(2.5, jnp.float32),
                               jnp.asarray([1 + 2j, -0.5j])])
def test_fast_integer_power_is_jnp_power_bit_for_bit(x):
    for y in (-3, -1, 0, 1, 2, 3, 7):
        out, ref = primitives._power(x, y), jnp.power(x, y)
        _same(out, ref)
        assert out.weak_type == ref.weak_type
    _same(primitives._power(x, 0.5), jnp.power(x, 0.5))  # a float exponent: jnp.power itself
    _same(primitives._power(jnp.asarray([2, 3]), 2), jnp.power(jnp.asarray([2, 3]), 2))  # integer base


def test_fast_structural_impls_are_jax_numpy_bit_for_bit():
    x = jnp.arange(24.0).reshape(2, 3, 4) * 0.1
    p = primitives.PRIMITIVES
    _same(p["transpose"].impl(x, axes=(2, 0, 1)), jnp.transpose(x, (2, 0, 1)))
    _same(p["reshape"].impl(x, shape=(6, 4)), jnp.reshape(x, (6, 4)))
    _same(p["broadcast_to"].impl(x[0], shape=(5, 3, 4)), jnp.broadcast_to(x[0], (5, 3, 4)))
    for axis in ((0,), (1, 2), (0, 1, 2)):
        for keepdims in (False, True):
            _same(p["sum"].impl(x, axis=axis, keepdims=keepdims), jnp.sum(x, axis=axis, keepdims=keepdims))
    _same(p["sum"].impl(jnp.asarray([1, 2, 3]), axis=(0,), keepdims=False), jnp.sum(jnp.asarray([1, 2, 3])))
    # a tracer takes the plain path: the jaxpr is jax.numpy's own (no nested jit)
    jaxpr = jax.make_jaxpr(lambda v: p["transpose"].impl(v, axes=(1, 0)))(jnp.ones((2, 3)))
    assert [e.primitive.name for e in jaxpr.eqns] == ["transpose"]


def _mlp(params, x):
    h = x
    for w, b in params:
        h = dnp.tanh(h @ w + b)
    return dnp.sum(h**2) + dnp.mean(dnp.reshape(h, (-1,))) * dnp.sum(dnp.transpose(h)[0])


def _zoo():
    rng = np.random.default_rng(0)
    params = [(jnp.asarray(rng.normal(size=(4, 4))), jnp.asarray(rng.normal(size=4))) for _ in range(2)]
    x = jnp.asarray(rng.normal(size=(3, 4)))
    return [
        ("scalar", lambda v: dnp.exp(v) / v**2, jnp.asarray(1.5)),
        ("pytree MLP", lambda ps: _mlp(ps, x), params),
        ("broadcasting", lambda v: dnp.sum(v[:, None] ** 3 * dnp.ones((3, 2)) - dnp.broadcast_to(v, (2, 3)).T),
         jnp.asarray([0.3, -1.2, 0.7])),
        ("dict", lambda d: dnp.sum(d["a"] ** 2 * d["b"]) ** 2, {"a": jnp.asarray([1.0, 2.0]), "b": jnp.asarray(0.5)}),
    ]


def _derivatives(f, arg):
    return {
        "forward.grad": forward.grad(f)(arg),
        "reverse.grad": reverse.grad(f)(arg),
        "reverse.value_and_grad": reverse.value_and_grad(f)(arg),
        "reverse.vjp": reverse.vjp(f, arg)[1](jnp.asarray(1.0)),
        "forward.jvp": forward.jvp(f, (arg,), (jax.tree_util.tree_map(jnp.ones_like, arg),)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name, _, _ in _zoo()])
def test_engines_give_the_same_bits_with_and_without_fast_dispatch(name):
    _, f, arg = next(z for z in _zoo() if z[0] == name)
    fast = _derivatives(f, arg)
    with plain_dispatch():
        plain = _derivatives(f, arg)
    for key in fast:
        _same(fast[key], plain[key])
    ref = jax.grad(f)(arg)  # and still JAX's gradient
    for g, r in zip(jax.tree_util.tree_leaves(fast["reverse.grad"]), jax.tree_util.tree_leaves(ref)):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_higher_order_and_jit_fast_matches_plain():
    # (complex inputs are refused by every method: tests/test_edges_complex.py)
    f = lambda v: dnp.sum(dnp.sin(v) ** 3 * dnp.reshape(v, (2, 1)))  # noqa: E731
    v = jnp.asarray([0.4, -1.1])

    def cases():
        return {
            "hessian fwd": forward.hessian(f)(v),
            "hessian rev": reverse.hessian(f)(v),
            "hvp": reverse.hvp(f)(v, jnp.ones(2)),
            "jit": jax.jit(reverse.grad(f))(v),
        }

    fast = cases()
    with plain_dispatch():
        plain = cases()
    for key in fast:
        _same(fast[key], plain[key])
    _same(fast["hessian rev"], jax.hessian(lambda u: jnp.sum(jnp.sin(u) ** 3 * u.reshape(2, 1)))(v))


def test_grad_seed_is_cached_per_dtype_and_equals_jnp_ones():
    for dtype in (jnp.float64, jnp.float32, jnp.complex128):
        x = jnp.zeros((), dtype)
        _same(_api.one_like(x), jnp.ones((), dtype))
        assert _api.one_like(x) is _api.one_like(x)
    _same(_api.one_like(jnp.zeros((2, 3))), jnp.ones((2, 3)))


def test_grad_seed_made_under_jit_is_not_kept():
    _api._ONES.clear()
    f = lambda v: dnp.sin(v) * v  # noqa: E731
    _same(jax.jit(reverse.grad(f))(jnp.asarray(0.5, jnp.float32)), reverse.grad(f)(jnp.asarray(0.5, jnp.float32)))
    assert all(type(one) is type(jnp.ones(())) for one in _api._ONES.values())
    _same(reverse.grad(f)(jnp.asarray(0.5, jnp.float32)), jax.grad(lambda v: jnp.sin(v) * v)(jnp.float32(0.5)))


def test_cotangent_conversion_skips_only_what_asarray_would_return_as_is():
    o = jnp.zeros(3)
    c = jnp.ones(3)
    assert _api.as_cotangent(c, o) is c
    _same(_api.as_cotangent(np.ones(3, np.float32), o), jnp.ones(3))
    weak = jnp.asarray(1.0)  # weakly typed: converted as before
    _same(_api.as_cotangent(weak, jnp.zeros(())), jnp.asarray(1.0, jnp.float64))


def test_broadcast_fast_check_still_refuses_and_reports_shapes():
    from diffcompare.errors import ShapeMismatchError

    assert dnp._broadcast("add", jnp.ones((2, 3)), 1.0) == (2, 3)
    assert dnp._broadcast("add", jnp.ones(3), jnp.ones((2, 3))) == (2, 3)
    with pytest.raises(ShapeMismatchError, match="add"):
        dnp.add(jnp.ones(2), jnp.ones(3))
    x = reverse.vjp(lambda v: v + v, jnp.ones(2))[0]
    _same(x, jnp.full(2, 2.0))


def test_back_to_back_times_each_call_right_after_one_of_its_own(monkeypatch):
    calls = []
    ticks = iter(range(100))
    monkeypatch.setattr(timing.time, "perf_counter", lambda: float(next(ticks)))
    timing.best_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=2, warmup=1,
                      back_to_back=True)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 2


@pytest.mark.slow
def test_the_benchmark_leaves_forward_out_of_large_gradients():
    small = dict(name="small", f=lambda v: dnp.sum(v), arg=jnp.ones(3), kind="grad")
    large = dict(small, name="large", arg=jnp.ones(overhead.FORWARD_MAX_INPUTS + 1))
    assert "forward" in overhead._derivatives(small)
    assert "forward" not in overhead._derivatives(large) and "reverse" in overhead._derivatives(large)
