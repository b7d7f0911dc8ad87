"""diffcompare.numpy: JAX itself on arrays, dispatch to engines on their values, clear errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare.numpy as dnp
from diffcompare import _core
from diffcompare.errors import InvalidOptionError, ShapeMismatchError, UnsupportedOperationError
from diffcompare.primitives import PRIMITIVES, coverage, register_engine
from diffcompare.problems import PROBLEMS
from diffcompare.problems.base import _Recorded, _RecordingTrace

X = jnp.linspace(0.2, 0.9, 6)
M = jnp.reshape(jnp.linspace(-1.0, 1.0, 6), (2, 3))

# (dnp function, jax function, arguments): dnp on JAX arrays must be jax.numpy exactly
SAME_AS_JAX = [
    (dnp.exp, jnp.exp, (X,)), (dnp.log1p, jnp.log1p, (X,)), (dnp.arctan, jnp.arctan, (X,)),
    (dnp.sigmoid, jax.nn.sigmoid, (X,)), (dnp.relu, jax.nn.relu, (M,)), (dnp.abs, jnp.abs, (M,)),
    (dnp.power, jnp.power, (X, 1.5)), (dnp.maximum, jnp.maximum, (M, 0.0)),
    (dnp.sum, jnp.sum, (M,)), (dnp.prod, jnp.prod, (X,)), (dnp.max, jnp.max, (M,)),
    (dnp.logsumexp, jax.scipy.special.logsumexp, (M,)), (dnp.softmax, jax.nn.softmax, (M,)),
    (dnp.matmul, jnp.matmul, (M, M.T)), (dnp.transpose, jnp.transpose, (M,)),
    (dnp.mean, jnp.mean, (M,)), (dnp.var, jnp.var, (X,)), (dnp.log_softmax, jax.nn.log_softmax, (M,)),
    (dnp.dot, jnp.dot, (X, X)), (dnp.outer, jnp.outer, (X, X)), (dnp.linalg.norm, jnp.linalg.norm, (X,)),
    (dnp.clip, jnp.clip, (M, -0.5, 0.5)), (dnp.square, jnp.square, (M,)),
]


@pytest.mark.parametrize("fn,jax_fn,args", SAME_AS_JAX, ids=lambda v: getattr(v, "__name__", ""))
def test_on_jax_arrays_dnp_is_jax_numpy(fn, jax_fn, args):
    np.testing.assert_allclose(fn(*args), jax_fn(*args), rtol=1e-15, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_zoo_functions_run_under_jit_grad_and_vmap(name):
    inst = PROBLEMS[name].make(seed=2)
    if inst.problem.data_dependent:
        pytest.skip("value-dependent control flow cannot be jitted, as in JAX")
    out = inst.fun(*inst.args)
    np.testing.assert_allclose(jax.jit(inst.fun)(*inst.args), out, rtol=1e-12)
    if inst.scalar_output:
        jax.jit(jax.grad(inst.fun))(*inst.args)
    batched = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), inst.args)
    np.testing.assert_allclose(jax.jit(jax.vmap(inst.fun))(*batched)[0], out, rtol=1e-12)


def record(fun, *args):
    trace = _RecordingTrace()
    wrapped = [jax.tree_util.tree_map(lambda a: _Recorded(trace, jnp.asarray(a)), arg) for arg in args]
    return fun(*wrapped), trace


def test_python_operators_on_engine_values_go_through_dnp():
    out, trace = record(lambda x: (2.0 * x + 1) / x - x**2 @ x + abs(-x)[0] + x.T.sum(), X)
    assert {"multiply", "add", "divide", "subtract", "power", "matmul", "negative", "abs", "getitem",
            "transpose", "sum"} <= trace.seen
    ref = (2.0 * X + 1) / X - X**2 @ X + abs(-X)[0] + X.T.sum()
    np.testing.assert_allclose(_core.concrete(out), ref, rtol=1e-15)


def test_numpy_and_jax_arrays_defer_to_engine_values():
    _, trace = record(lambda x: np.ones(6) + x, X)
    assert "add" in trace.seen
    out, trace = record(lambda x: jnp.ones(6) * x, X)
    assert isinstance(out, _core.EngineValue) and "multiply" in trace.seen
    out, _ = record(lambda x: np.float64(2.0) - x, X)
    assert isinstance(out, _core.EngineValue)


def test_comparisons_and_bool_use_the_concrete_value():
    def f(x):
        if dnp.sum(x) > 1.0:  # a value-dependent branch
            return dnp.where(x > 0.5, x, -x)
        return x

    out, trace = record(f, X)
    np.testing.assert_allclose(_core.concrete(out), jnp.where(X > 0.5, X, -X))
    assert "where" in trace.seen and "less" not in trace.seen


def test_lists_of_engine_values_become_arrays():
    out, trace = record(lambda x: dnp.array([x[0] * x[1], x[2], 1.0 + x[3]]), X)
    assert "stack" in trace.seen
    np.testing.assert_allclose(_core.concrete(out), [X[0] * X[1], X[2], 1.0 + X[3]])


def test_index_update_and_iteration_on_engine_values():
    out, _ = record(lambda x: x.at[1:3].add(10.0) + sum(x[i] for i in range(2)), X)
    np.testing.assert_allclose(_core.concrete(out), X.at[1:3].add(10.0) + X[0] + X[1])
    out, _ = record(lambda m: [row.sum() for row in m], M)
    assert len(out) == 2


def test_the_innermost_trace_handles_an_operation():
    outer, inner = _RecordingTrace(), _RecordingTrace()
    assert inner.level > outer.level
    a, b = _Recorded(outer, X), _Recorded(inner, X)
    assert _core.top_trace((a, b)) is inner and _core.top_trace(([a, b],)) is inner
    out = a * b
    assert out._trace is inner and "multiply" in inner.seen
    assert "multiply" in outer.seen  # the inner engine's own computation passes through the outer one
    a + 1.0
    assert "add" in outer.seen and "add" not in inner.seen


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("call,match", [
    (lambda: dnp.add(jnp.ones(3), jnp.ones(4)), "add: shapes"),
    (lambda: dnp.matmul(jnp.ones((2, 3)), jnp.ones((2, 3))), "matmul: shapes"),
    (lambda: dnp.matmul(1.0, jnp.ones(3)), "at least 1-d"),
    (lambda: dnp.reshape(jnp.ones(6), (4, 2)), "cannot reshape 6"),
    (lambda: dnp.stack([jnp.ones(2), jnp.ones(3)]), "stack: arrays have shapes"),
    (lambda: dnp.concatenate([jnp.ones((2, 2)), jnp.ones((3, 3))]), "concatenate"),
    (lambda: dnp.broadcast_to(jnp.ones(3), (2, 4)), "broadcast_to"),
    (lambda: dnp.getitem(jnp.ones(3), 5), "getitem: index"),
], ids=["add", "matmul", "matmul-scalar", "reshape", "stack", "concatenate", "broadcast", "index"])
def test_shape_errors_name_the_operation(call, match):
    with pytest.raises(ShapeMismatchError, match=match):
        call()


@pytest.mark.parametrize("call,match", [
    (lambda: dnp.sum(jnp.ones((2, 2)), axis=2), "axis 2 is out of range"),
    (lambda: dnp.reshape(jnp.ones(6), (-1, -1)), "at most one"),
    (lambda: dnp.sum(jnp.ones(2), axis="0"), "axis must be"),
    (lambda: dnp.softmax(jnp.ones(2), axis=(0, 0)), "repeated axis"),
    (lambda: dnp.transpose(jnp.ones((2, 2)), (0, 0)), "not a permutation"),
])
def test_bad_options_raise_invalid_option(call, match):
    with pytest.raises(InvalidOptionError, match=match):
        call()


def test_engine_shape_errors_are_ours_not_jax():
    with pytest.raises(ShapeMismatchError, match="matmul"):
        record(lambda x: x @ jnp.ones((4, 2)), M)
    with pytest.raises(ShapeMismatchError, match="getitem"):
        record(lambda x: x[7], X)


def test_an_engine_without_a_rule_names_the_operation():
    class Partial(_core.Trace):
        engine = "partial-engine"
        rules = {}
        unsupported = {"exp": "exp is left as an exercise"}

    class Value(_Recorded):
        pass

    value = Value(Partial(), X)
    with pytest.raises(UnsupportedOperationError, match="'exp' is not supported by the partial-engine engine: exp"):
        dnp.exp(value)
    with pytest.raises(UnsupportedOperationError, match="'sin'"):
        dnp.sin(value)


# ---------------------------------------------------------------- coverage


def test_every_engine_covers_every_primitive_or_says_why_not():
    table = coverage()
    assert set(table) == set(PRIMITIVES)
    engines = {engine for row in table.values() for engine in row}
    assert {"jax", "complex-step"} <= engines
    lines = [f"{'primitive':<14}" + "".join(f"{e:>14}" for e in sorted(engines))]
    for name, row in table.items():
        lines.append(f"{name:<14}" + "".join(f"{row[e].split(':')[0]:>14}" for e in sorted(engines)))
        for engine, status in row.items():
            assert status == "rule" or (status.startswith("unsupported: ") and len(status) > 20), (name, engine)
    print("\n".join(lines))  # the coverage table, shown with pytest -s


def test_a_rule_table_with_a_typo_is_refused():
    with pytest.raises(KeyError, match="expp"):
        register_engine("typo-engine", {"expp": None})


def test_supported_lists_primitives_composites_and_helpers():
    listed = dnp.supported()
    assert listed["primitives"] == list(PRIMITIVES)
    assert {"mean", "dot", "log_softmax", "linalg.norm"} <= set(listed["composites"])
    assert {"less", "sign", "argmax"} <= set(listed["nondifferentiable"])


# ---------------------------------------------------------------- broadcasting, property-based

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(shapes, shapes, st.sampled_from(["add", "subtract", "multiply", "maximum"]))
def test_broadcasting_matches_numpy_or_raises_ours(s1, s2, op):
    a, b = jnp.ones(s1), jnp.full(s2, 2.0)
    try:
        expected = np.broadcast_shapes(s1, s2)
    except ValueError:
        with pytest.raises(ShapeMismatchError):
            getattr(dnp, op)(a, b)
        return
    out, _ = record(lambda x: getattr(dnp, op)(x, b), a)
    assert out.shape == expected
    np.testing.assert_allclose(_core.concrete(out), getattr(jnp, op)(a, b))


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple), st.data())
def test_reductions_match_jax_on_any_axis(shape, data):
    x = jnp.asarray(np.random.default_rng(len(shape)).normal(size=shape))
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdims = data.draw(st.booleans())
    for fn, ref in [(dnp.sum, jnp.sum), (dnp.max, jnp.max), (dnp.mean, jnp.mean),
                    (dnp.logsumexp, jax.scipy.special.logsumexp)]:
        out, _ = record(lambda v, fn=fn: fn(v, axis=axis, keepdims=keepdims), x)
        np.testing.assert_allclose(_core.concrete(out), ref(x, axis=axis, keepdims=keepdims), rtol=1e-12)
