"""Staged eager derivatives (issue 28) give the op-by-op answer, and are never stale.

Each test runs a method staged (one compiled program per recording structure, compiled on
its first call) and again with ``staged=False`` (every primitive op by
op, the teaching path) and compares: to rounding (XLA may fuse the same operations), and the
staged path must really have run (``staging.COUNTS``) where the function allows it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import custom, forward, reverse, staging
from diffcompare.problems import PROBLEMS
from diffcompare.reverse.memory import checkpoint


def _close(a, b, rtol=1e-12):
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert jnp.shape(x) == jnp.shape(y) and jnp.result_type(x) == jnp.result_type(y), (x, y)
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=1e-300, equal_nan=True)


class Counted:
    """How many calls ran staged and how many programs were compiled inside the block."""

    def __enter__(self):
        self.start = dict(staging.COUNTS)
        return self

    def __exit__(self, *exc):
        self.staged = staging.COUNTS["staged"] - self.start["staged"]
        self.compiled = staging.COUNTS["compiled"] - self.start["compiled"]
        self.fallback = staging.COUNTS["fallback"] - self.start["fallback"]


METHODS = {
    "reverse.value_and_grad": lambda f, argnums, **kw: reverse.value_and_grad(f, argnums, **kw),
    "forward.value_and_grad": lambda f, argnums, **kw: forward.value_and_grad(f, argnums, **kw),
}


def _scalar_instances():
    for name, problem in PROBLEMS.items():
        inst = problem.make(seed=None if problem.default_size is None else 0)
        if inst.scalar_output:
            yield pytest.param(inst, id=name)


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("inst", list(_scalar_instances()))
def test_the_zoo_staged_is_the_op_by_op_answer(inst, method):
    make = METHODS[method]
    with Counted() as n:
        staged = make(inst.fun, inst.argnums)(*inst.args)
    plain = make(inst.fun, inst.argnums, staged=False)(*inst.args)
    _close(staged, plain)
    if inst.problem.data_dependent:
        assert n.staged == 0 and n.fallback == 1  # a branch on a value: op by op
    else:
        assert n.staged == 1


def _vector_instances():
    for name in ("tall_map", "wide_map", "polar_map", "logistic_map", "attention"):
        problem = PROBLEMS[name]
        inst = problem.make(seed=None if problem.default_size is None else 0)
        if not inst.scalar_output:
            yield pytest.param(inst, id=name)


@pytest.mark.slow
@pytest.mark.parametrize("inst", list(_vector_instances()))
def test_jacobians_and_jvps_staged_are_the_op_by_op_answer(inst):
    tangents = jax.tree_util.tree_map(lambda a: jnp.linspace(-1.0, 1.0, a.size).reshape(a.shape), inst.args)
    cases = {
        "reverse.jacobian": lambda **kw: reverse.jacobian(inst.fun, inst.argnums, **kw)(*inst.args),
        "forward.jacobian": lambda **kw: forward.jacobian(inst.fun, inst.argnums, **kw)(*inst.args),
        "forward.jvp": lambda **kw: forward.jvp(inst.fun, inst.args, tangents, **kw),
    }
    for name, run in cases.items():
        with Counted() as n:
            staged = run()
        _close(staged, run(staged=False))
        assert n.staged == 1, name


def _mlp(params, x):
    h = x
    for w, b in params:
        h = dnp.tanh(h @ w + b)
    return dnp.sum(h**2)


def _mlp_args(width=8, depth=3, seed=0):
    rng = np.random.default_rng(seed)
    params = [(jnp.asarray(rng.normal(size=(width, width))), jnp.asarray(rng.normal(size=width)))
              for _ in range(depth)]
    return params, jnp.asarray(rng.normal(size=(5, width)))


@pytest.mark.slow
def test_pytrees_argnums_and_keywords():
    params, x = _mlp_args()

    def f(p, data, scale=1.0):
        return scale * _mlp(p["layers"], data) + dnp.sum(p["extra"] ** 3)

    p = {"layers": params, "extra": jnp.asarray([0.5, -1.5])}
    for method in (reverse, forward):
        for argnums in (0, (0, 1), (1,)):
            with Counted() as n:
                got = method.value_and_grad(f, argnums)(p, x, scale=2.5)
            _close(got, method.value_and_grad(f, argnums, staged=False)(p, x, scale=2.5))
            _close(got, jax.value_and_grad(f, argnums)(p, x, scale=2.5), rtol=1e-10)
            assert n.staged == 1


@pytest.mark.slow
def test_python_floats_numpy_arrays_and_float32():
    f = lambda x, y: dnp.sum(dnp.sin(x) * y) / 3.0  # noqa: E731
    for x, y in ((1.5, 2.0), (np.asarray([0.1, 0.2]), np.asarray(3.0)),
                 (jnp.asarray([0.1, 0.2], jnp.float32), jnp.asarray(2.0, jnp.float32))):
        for method in (reverse, forward):
            with Counted() as n:
                got = method.grad(f, (0, 1))(x, y)
            _close(got, method.grad(f, (0, 1), staged=False)(x, y))
            assert n.staged == 1


# ---------------------------------------------------------------- never stale


def test_changed_closures_globals_attributes_and_defaults_are_read_at_every_call():
    for method in (reverse, forward):
        a = 2.0
        g = method.grad(lambda x: a * x**2)  # noqa: B023 - reads a at the call, on purpose
        assert float(g(1.0)) == 4.0
        a = 3.0
        assert float(g(1.0)) == 6.0

        class Model:
            c = jnp.asarray(1.0)

            def energy(self, x):
                return self.c * dnp.sin(x)

        model = Model()
        assert float(method.grad(model.energy)(0.0)) == 1.0
        model.c = jnp.asarray(4.0)
        assert float(method.grad(model.energy)(0.0)) == 4.0

        def f(x, k=2.0):
            return k * x**3

        assert float(method.grad(f)(1.0)) == 6.0
        f.__defaults__ = (5.0,)
        assert float(method.grad(f)(1.0)) == 15.0


def test_a_mutated_batch_a_changed_int_and_a_changed_shape_give_fresh_answers():
    rng = np.random.default_rng(1)
    batch = {"x": jnp.asarray(rng.normal(size=(4, 2)))}
    power = [2]
    loss = lambda w: dnp.mean((batch["x"] @ w) ** power[0])  # noqa: E731
    ref = lambda w: jnp.mean((batch["x"] @ w) ** power[0])  # noqa: E731
    w = jnp.asarray([0.3, -0.2])
    for method in (reverse, forward):
        g = method.grad(loss)
        for step in range(4):
            batch["x"] = jnp.asarray(rng.normal(size=(4 + step % 2, 2)))  # new values, and a new shape
            power[0] = 2 + step // 2  # a Python int: part of the structure
            _close(g(w), jax.grad(ref)(w), rtol=1e-12)


def test_two_functions_of_one_structure_share_a_program_with_their_own_constants():
    for method in (reverse, forward):
        c1, c2 = jnp.asarray([1.0, 2.0]), jnp.asarray([-3.0, 0.5])
        f1 = lambda x: dnp.sum(dnp.exp(x * c1))  # noqa: E731, B023
        f2 = lambda x: dnp.sum(dnp.exp(x * c2))  # noqa: E731, B023
        x = jnp.asarray([0.1, 0.2])
        method.grad(f1)(x)
        with Counted() as n:
            got = method.grad(f2)(x)
        assert n.compiled == 0 and n.staged == 1
        _close(got, c2 * jnp.exp(x * c2))


@pytest.mark.slow
def test_index_parameters_that_compare_equal_but_mean_different_things():
    x = jnp.asarray([[1.0, 2.0], [3.0, 4.0]])
    for method in (reverse, forward):
        for index in (1, True, (slice(None), 1), (slice(None), True), (np.asarray([1, 0]),), (np.asarray([0, 0]),)):
            f = lambda v, i=index: dnp.sum(v[i] ** 2)  # noqa: E731
            _close(method.grad(f)(x), jax.grad(lambda v, i=index: jnp.sum(v[i] ** 2))(x))


# ---------------------------------------------------------------- where f needs values: op by op


def test_a_branch_on_a_value_runs_op_by_op_and_follows_the_state():
    threshold = [1.0]
    f = lambda x: x**2 if x > threshold[0] else 3.0 * x  # noqa: E731
    for method in (reverse, forward):
        g = method.grad(f)
        for t, want in ((1.0, 4.0), (5.0, 3.0), (1.0, 4.0)):
            threshold[0] = t
            with Counted() as n:
                assert float(g(2.0)) == want
            assert n.staged == 0 and n.fallback == 1


def test_a_function_that_swallows_exceptions_still_gets_the_op_by_op_answer():
    def f(x):
        try:
            big = bool(x > 0.0)
        except Exception:  # noqa: BLE001 - what a careless user writes
            big = False
        return x**3 if big else -x

    for method in (reverse, forward):
        with Counted() as n:
            assert float(method.grad(f)(2.0)) == 12.0
        assert n.staged == 0


def test_int_and_loops_on_values_run_op_by_op():
    f = lambda x: dnp.sum(x[: int(x[0])] ** 2)  # noqa: E731
    x = jnp.asarray([2.0, 1.0, 5.0])
    for method in (reverse, forward):
        _close(method.grad(f)(x), jnp.asarray([4.0, 2.0, 0.0]))


def test_checkpoint_and_user_rules_run_op_by_op_with_their_own_rules():
    @custom.custom_jvp
    def clipped(x):
        return dnp.sin(x)

    @clipped.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return dnp.sin(x), 7.0 * t  # deliberately not cos(x): the rule must be applied

    f = lambda x: dnp.sum(clipped(x))  # noqa: E731
    x = jnp.asarray([0.1, 0.2])
    for method in (reverse, forward):
        with Counted() as n:
            _close(method.grad(f)(x), jnp.asarray([7.0, 7.0]))
        assert n.staged == 0
    layer = checkpoint(lambda w, h: dnp.tanh(h @ w))
    g = lambda w: dnp.sum(layer(w, layer(w, jnp.ones((2, 3)))))  # noqa: E731
    w = jnp.asarray(np.random.default_rng(0).normal(size=(3, 3)))
    with Counted() as n:
        _close(reverse.grad(g)(w), jax.grad(g)(w), rtol=1e-12)
    assert n.staged == 0


def test_errors_are_the_op_by_op_errors():
    from diffcompare.errors import DiffCompareError

    for method in (reverse, forward):
        for bad in (lambda x: float(x) * x, lambda x: dnp.sum(np.sin(x)), lambda x: x * jnp.ones(3)):
            with pytest.raises(DiffCompareError) as staged_err:
                method.grad(bad)(jnp.asarray(2.0))
            with pytest.raises(DiffCompareError) as plain_err:
                method.grad(bad, staged=False)(jnp.asarray(2.0))
            assert type(staged_err.value) is type(plain_err.value)
            assert str(staged_err.value) == str(plain_err.value)
        with pytest.raises(DiffCompareError, match="scalar"):
            method.grad(lambda x: x * 2.0)(jnp.ones(3))


# ---------------------------------------------------------------- nesting and JAX's transformations


@pytest.mark.slow
def test_hessians_nesting_and_jax_transformations_around_our_derivatives():
    f = lambda x: dnp.sum(dnp.sin(x) * x**2)  # noqa: E731
    ref = lambda x: jnp.sum(jnp.sin(x) * x**2)  # noqa: E731
    x = jnp.asarray([0.3, -0.7, 1.1])
    v = jnp.asarray([1.0, 0.5, -2.0])
    for method in (reverse, forward):
        with Counted() as n:
            _close(method.hessian(f)(x), jax.hessian(ref)(x), rtol=1e-12)
        assert n.staged == 1  # the outer Jacobian is staged, the inner one runs on its abstract values
    _close(reverse.hvp(f)(x, v), jax.hessian(ref)(x) @ v, rtol=1e-12)
    # grad of grad: the outer call is staged, the inner engine runs on its abstract values
    gg = lambda y: dnp.sum(reverse.grad(f)(y) ** 2)  # noqa: E731
    with Counted() as n:
        got = reverse.grad(gg)(x)
    assert n.staged == 1
    _close(got, jax.grad(lambda y: jnp.sum(jax.grad(ref)(y) ** 2))(x), rtol=1e-12)
    _close(forward.grad(gg)(x), got, rtol=1e-12)
    for method in (reverse, forward):
        with Counted() as n:
            _close(jax.jit(method.grad(f))(x), jax.grad(ref)(x), rtol=1e-12)
            _close(jax.vmap(method.grad(f))(jnp.stack([x, v])), jax.vmap(jax.grad(ref))(jnp.stack([x, v])),
                   rtol=1e-12)
        assert n.staged == 0  # tracers: the engine is traced op by op, as before


def test_jvp_of_a_staged_grad_and_a_tape_printout_are_op_by_op():
    f = lambda x: dnp.sum(dnp.exp(x) / x**2)  # noqa: E731
    x = jnp.asarray([1.5, 2.0])
    out, t = forward.jvp(reverse.grad(f), (x,), (jnp.ones(2),))
    _, t_ref = jax.jvp(jax.grad(lambda y: jnp.sum(jnp.exp(y) / y**2)), (x,), (jnp.ones(2),))
    _close(t, t_ref, rtol=1e-12)


def test_a_recording_too_long_to_compile_runs_op_by_op(monkeypatch):
    monkeypatch.setattr(staging, "MAX_OPS", 10)

    def f(x):
        for _ in range(20):
            x = dnp.sin(x)
        return dnp.sum(x)

    x = jnp.asarray([0.5, 1.0])
    for method in (reverse, forward):
        with Counted() as n:
            _close(method.grad(f)(x), method.grad(f, staged=False)(x))
        assert n.staged == 0 and n.fallback == 1


def test_staged_false_and_disabled_compile_nothing():
    f = lambda x: dnp.sum(dnp.cos(x) ** 3)  # noqa: E731
    x = jnp.asarray([0.1, 0.4])
    for method in (reverse, forward):
        with Counted() as n:
            method.grad(f, staged=False)(x)
            with staging.disabled():
                method.grad(f)(x)
        assert n.staged == 0 and n.compiled == 0


def test_compiling_can_wait_for_a_structure_s_second_call(monkeypatch):
    monkeypatch.setattr(staging, "COMPILE_AFTER", 1)
    f = lambda x: dnp.sum(dnp.arctan(x) * 1.25)  # noqa: E731
    x = jnp.asarray([0.1, 0.4, 0.9])
    for method in (reverse, forward):
        with Counted() as first:
            a = method.grad(f)(x)
        with Counted() as second:
            b = method.grad(f)(x)
        assert (first.staged, first.compiled) == (0, 0) and (second.staged, second.compiled) == (1, 1)
        _close(a, b)


def test_the_abstract_recording_runs_no_jax_operation_per_primitive(monkeypatch):
    params, x = _mlp_args(width=4, depth=6)
    g = reverse.grad(_mlp)
    g(params, x)  # compiles
    calls = []
    saved = {name: prim.impl for name, prim in staging.PRIMITIVES.items()}

    def spy(name, impl):
        def run(*args, **kw):
            calls.append(name)
            return impl(*args, **kw)

        return run

    try:
        for name, prim in staging.PRIMITIVES.items():
            object.__setattr__(prim, "impl", spy(name, saved[name]))  # a frozen dataclass: set it anyway
        with Counted() as n:
            g(params, x)
    finally:
        for name, prim in staging.PRIMITIVES.items():
            object.__setattr__(prim, "impl", saved[name])
    assert n.staged == 1 and calls == []
