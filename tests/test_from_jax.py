"""from_jax: plain JAX functions meet every method, checked against JAX itself."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare
from diffcompare import METHODS, from_jax
from diffcompare import reverse as rev
from diffcompare.errors import ConcretizationError, DiffCompareError
from diffcompare.from_jax import UnsupportedJaxPrimitiveError, auto_wrap, is_jax_function

from . import _from_jax_cases as cases
from .helpers import assert_close

AD_TOL, FD_TOL, SYMBOLIC_TOL = 1e-10, 1e-5, 1e-10


def _argnums(args):
    return tuple(range(len(args)))


def _check_method(method, value, reference, what):
    tol = {"forward": AD_TOL, "reverse": AD_TOL, "finite_diff": FD_TOL, "symbolic": SYMBOLIC_TOL}[method]
    assert_close(value, reference, tol, f"{what} by {method}")


def _run_or_refuse(method, compute, reference, what):
    """Symbolic may refuse (a DiffCompareError); every method that answers must be right."""
    try:
        value = compute()
    except DiffCompareError:
        if method == "symbolic":
            return
        raise
    _check_method(method, value, reference, what)


# Forward and reverse run under jax.jit here: one compilation per case instead of one per operation
# (the program is the same one the engines run eagerly; eager runs are tested below).
JIT_CASES = [n for n in cases.CASES if n not in ("custom_rules", "control_flow")]


def _reference(name, f, args):
    # JAX differentiates dynamic-bound loops forward only
    return (jax.jacfwd if name == "control_flow" else jax.grad)(f, argnums=_argnums(args))(*args)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse"])
@pytest.mark.parametrize("name", JIT_CASES)
def test_gradient_matches_jax_under_jit(name, method):
    f, args = cases.CASES[name]
    grad = jax.jit(METHODS[method].grad(from_jax(f), argnums=_argnums(args)))
    _check_method(method, grad(*args), _reference(name, f, args), name)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse", "finite_diff", "symbolic"])
@pytest.mark.parametrize("name", ["control_flow", "rnn", "pytree_params"])
def test_gradient_matches_jax_eagerly(name, method):
    f, args = cases.CASES[name]
    compute = lambda: METHODS[method].grad(from_jax(f), argnums=_argnums(args))(*args)  # noqa: E731
    _run_or_refuse(method, compute, _reference(name, f, args), name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in JIT_CASES if n not in ("rnn", "pytree_params")])
def test_symbolic_agrees_or_refuses(name):
    f, args = cases.CASES[name]
    compute = lambda: METHODS["symbolic"].grad(from_jax(f), argnums=_argnums(args))(*args)  # noqa: E731
    _run_or_refuse("symbolic", compute, _reference(name, f, args), name)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse", "finite_diff", "symbolic"])
def test_jvp_vjp_and_jacobian_of_a_pytree_valued_function(method):
    f, x = cases.vector_valued, cases.X
    m = METHODS[method]
    u = jnp.linspace(-1.0, 1.0, x.size)
    out_ref, tangent_ref = jax.jvp(f, (x,), (u,))
    out, vjp_ref = jax.vjp(f, x)
    cotangent = jax.tree_util.tree_map(lambda o: jnp.cos(jnp.arange(o.size).reshape(o.shape) + 0.0), out)
    _run_or_refuse(method, lambda: m.jvp(from_jax(f), (x,), (u,)), (out_ref, tangent_ref), "jvp")
    _run_or_refuse(method, lambda: m.vjp(from_jax(f), x)[1](cotangent), vjp_ref(cotangent), "vjp")
    _run_or_refuse(method, lambda: m.jacobian(from_jax(f))(x), jax.jacobian(f)(x), "jacobian")


@pytest.mark.parametrize("method", ["forward", "reverse"])
def test_stop_gradient_is_respected(method):
    assert_close(METHODS[method].grad(from_jax(cases.stopped))(cases.X), jax.grad(cases.stopped)(cases.X), AD_TOL)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse", "symbolic"])
def test_hessian_matches_jax(method):
    def f(x):
        return jnp.sum(jnp.tanh(x) * jnp.roll(x, 1) ** 2) + jnp.prod(jnp.sin(x[:3]))

    x = cases.X[:4]
    hessian = METHODS[method].hessian(from_jax(f))
    if method == "forward":
        hessian = jax.jit(hessian)  # forward over forward, compiled once rather than operation by operation
    assert_close(hessian(x), jax.hessian(f)(x), 1e-9, "hessian")


# ---------------------------------------------------------------- custom derivatives and kinks


def test_custom_jvp_rule_is_used_by_forward_and_reverse():
    f = lambda x: jnp.sum(cases._twisted(x, x[::-1]))  # noqa: E731 - its rule is deliberately not the true derivative
    reference = jax.grad(f)(cases.X)
    for method in ("forward", "reverse"):
        assert_close(METHODS[method].grad(from_jax(f))(cases.X), reference, AD_TOL, method)
    # the jvp and the Jacobian (forward's vector mode, reverse's rows) use it too
    assert_close(METHODS["forward"].jacobian(from_jax(f))(cases.X), reference, AD_TOL)


def test_custom_vjp_rule_is_used_by_reverse_and_the_primal_elsewhere():
    f = lambda x: jnp.sum(cases._clip_grad(x) * x)  # noqa: E731 - bwd doubles the true derivative
    x = cases.X
    assert_close(rev.grad(from_jax(f))(x), jax.grad(f)(x), AD_TOL)
    for method in ("forward", "symbolic"):  # they cannot apply a VJP rule (JAX refuses forward mode too)
        with pytest.raises(DiffCompareError, match="custom_vjp function '_clip_grad'.*reverse mode"):
            METHODS[method].grad(from_jax(f))(x)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forward", "reverse", "symbolic"])
def test_jax_nn_kinks_and_large_magnitudes_follow_jax(method):
    m = METHODS[method]
    at_zero = jnp.array([0.0, -1.0, 2.0])
    for fn in (jax.nn.relu, jax.nn.softplus, jax.nn.relu6):
        f = lambda x, fn=fn: jnp.sum(fn(x))  # noqa: E731
        try:
            value = m.grad(from_jax(f))(at_zero)
        except DiffCompareError:
            assert method == "symbolic"
            continue
        assert_close(value, jax.grad(f)(at_zero), AD_TOL, f"{fn.__name__} at 0")
    big = jnp.array([1e16, 1e16, -3.0])
    large = [jax.nn.logsumexp, lambda x: jnp.sum(jax.nn.softplus(x * 1e-12))]
    if method != "symbolic":  # JAX's own logaddexp rule rounds to [1, 1] here; forward and reverse apply it too
        large.append(lambda x: jnp.logaddexp(x[0], x[1]) + x[2])
    for f in large:
        _run_or_refuse(method, lambda f=f: m.grad(from_jax(f))(big), jax.grad(f)(big), "large magnitudes")


# ---------------------------------------------------------------- control flow


@pytest.mark.slow
def test_symbolic_follows_fixed_loops_and_refuses_input_dependent_branches():
    def loops(x):
        y = jax.lax.fori_loop(0, 3, lambda i, v: jnp.sin(v) * (i + 1.0), x)
        return jnp.sum(jax.lax.scan(lambda c, xi: (c * xi, c), 1.0, y)[0])

    assert_close(METHODS["symbolic"].grad(from_jax(loops))(cases.X), jax.grad(loops)(cases.X), SYMBOLIC_TOL)

    def branch(x):
        return jax.lax.cond(jnp.sum(x) > 1.0, jnp.sum, jnp.prod, x)

    with pytest.raises(ConcretizationError, match=r"test_from_jax\.py:\d+ \(in .*branch\)"):
        METHODS["symbolic"].grad(from_jax(branch))(cases.X)
    for method in ("forward", "reverse"):  # they follow the branch taken
        assert_close(METHODS[method].grad(from_jax(branch))(cases.X), jax.grad(branch)(cases.X), AD_TOL)


def test_branch_under_jit_is_refused_clearly():
    f = from_jax(lambda x: jax.lax.cond(x[0] > 0, jnp.sum, jnp.prod, x))
    with pytest.raises(ConcretizationError, match="outside jax.jit"):
        jax.jit(rev.grad(f))(cases.X)


def test_python_control_flow_on_an_input_is_refused_with_advice():
    def f(x):
        return jnp.sum(x) if jnp.sum(x) > 0 else jnp.prod(x)  # JAX cannot trace this (jax.jit refuses it too)

    with pytest.raises(ConcretizationError, match="jax.lax.cond"):
        rev.grad(from_jax(f))(cases.X)


def test_python_control_flow_in_dnp_code_still_runs_on_engine_values():
    import diffcompare.numpy as dnp

    def f(x):
        return dnp.sum(dnp.sin(x)) if dnp.sum(x) > 0 else dnp.sum(x**2)

    assert_close(rev.grad(from_jax(f))(cases.X), jnp.cos(cases.X), AD_TOL)


# ---------------------------------------------------------------- refusals name the primitive and the line


def test_unsupported_primitive_names_itself_and_the_users_line():
    def pooled(x):
        return jnp.sum(jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (2,), (1,), "VALID"))  # max-pool

    for method in ("forward", "reverse", "symbolic"):
        where = r"reduce_window_max.*test_from_jax\.py:\d+ \(in .*pooled\)"
        with pytest.raises(UnsupportedJaxPrimitiveError, match=where):
            METHODS[method].grad(from_jax(pooled))(cases.X)
    # on plain arrays JAX computes it (finite differences, the reference)
    assert_close(METHODS["finite_diff"].grad(from_jax(pooled))(cases.X), jax.grad(pooled)(cases.X), FD_TOL)


def test_debug_print_shows_values_and_keys_are_plain_arguments(capsys):
    def f(x, key):
        jax.debug.print("first {}", x[0])
        return jnp.sum((x + jax.random.normal(key, x.shape)) ** 2)

    key = jax.random.PRNGKey(3)
    assert_close(rev.grad(from_jax(f))(cases.X, key), jax.grad(f)(cases.X, key), AD_TOL)
    assert "first 0.64" in capsys.readouterr().out


def test_unsupported_primitive_on_constants_only_is_fine():
    def f(x):
        window = jnp.sum(jax.lax.reduce_window(jnp.arange(4.0), 0.0, jax.lax.add, (2,), (1,), "VALID"))
        return window * jnp.sum(x**2)  # reduce_window never meets a differentiated value

    assert_close(rev.grad(from_jax(f))(cases.X), jax.grad(f)(cases.X), AD_TOL)


def test_narrowing_cast_of_a_differentiated_value_is_refused():
    f = from_jax(lambda x: jnp.sum(x.astype(jnp.float32) ** 2))
    with pytest.raises(DiffCompareError, match="(?s)narrowing float64 to float32.*test_from_jax"):
        rev.grad(f)(cases.X)


# ---------------------------------------------------------------- caches never change answers

SCALE = 2.0
OFFSETS = [1.0, 2.0]


def _reads_globals(x):
    return jnp.sum(SCALE * x**2) + OFFSETS[0]


class _Config:
    power = 2


CONFIG = _Config()


def _reads_attribute(x):
    return jnp.sum(x ** CONFIG.power)


@pytest.mark.parametrize("method", ["forward", "reverse", "symbolic"])
def test_changed_global_closure_or_array_is_never_served_stale(method):
    global SCALE
    grad = METHODS[method].grad
    x = jnp.array([1.0, 2.0])
    f = from_jax(_reads_globals)
    assert_close(grad(f)(x), 4.0 * x, AD_TOL)
    SCALE = 3.0
    try:
        assert_close(grad(f)(x), 6.0 * x, AD_TOL, "after the global changed")
    finally:
        SCALE = 2.0
    weights = np.array([1.0, 1.0])  # mutated in place below
    a = 2.0
    g = from_jax(lambda x: jnp.sum(a * weights * x**2))
    assert_close(grad(g)(x), 4.0 * x, AD_TOL)
    a = 5.0
    assert_close(grad(g)(x), 10.0 * x, AD_TOL, "after the closure changed")
    weights[1] = 0.0
    assert_close(grad(g)(x), jnp.array([10.0, 0.0]) * x, AD_TOL, "after the array changed in place")
    h = from_jax(_reads_attribute)
    assert_close(grad(h)(x), 2.0 * x, AD_TOL)
    CONFIG.power = 3
    try:
        assert_close(grad(h)(x), 3.0 * x**2, AD_TOL, "after the attribute changed")
    finally:
        CONFIG.power = 2


def test_traced_afresh_at_every_call(monkeypatch):
    """Never stale by construction: no cache keyed on the state f reads (no such key is complete)."""
    from diffcompare.from_jax import FromJax

    traced, trace_at = [], FromJax.trace_at
    def counting(self, leaves, treedef):
        traced.append(1)
        return trace_at(self, leaves, treedef)

    monkeypatch.setattr(FromJax, "trace_at", counting)
    g = rev.grad(from_jax(lambda x: jnp.sum(jnp.sin(x))))
    for _ in range(3):
        g(jnp.ones(3))
    assert len(traced) == 3


@dataclasses.dataclass(slots=True)
class _Slotted:
    scale: float


_SLOTTED = _Slotted(2.0)
_DEEP = {"a": [[[[[[[[[[{"scale": 2.0}]]]]]]]]]]}


def _deep_scale():
    return _DEEP["a"][0][0][0][0][0][0][0][0][0][0]["scale"]


@pytest.mark.parametrize("method", ["finite_diff", "forward", "reverse", "symbolic"])
@pytest.mark.parametrize("kind", ["slots", "deep", "method_of_module"])
def test_state_of_any_shape_is_read_afresh(method, kind):
    """A __slots__ attribute, a global nested past any depth limit, a bound method's object: each change
    is seen by every method (JAX's own gradient of the function as it is now is the reference)."""
    x = jnp.array([1.0, 2.0])

    class Module:
        def __init__(self):
            self.w = jnp.array([2.0, 2.0])

        def __call__(self, x):
            return jnp.sum(self.w * x**2)

    module = Module()
    fun = {"slots": lambda x: _SLOTTED.scale * jnp.sum(x**2),
           "deep": lambda x: _deep_scale() * jnp.sum(x**2),
           "method_of_module": module.__call__}[kind]

    def change(value):
        _SLOTTED.scale = value
        _DEEP["a"][0][0][0][0][0][0][0][0][0][0]["scale"] = value
        module.w = jnp.array([value, value])

    f = from_jax(fun)
    try:
        for value in (2.0, 5.0, 2.0, 7.0):
            change(value)
            assert_close(METHODS[method].grad(f)(x), jax.grad(fun)(x), 1e-6, f"{kind} = {value}")
    finally:
        change(2.0)


# ---------------------------------------------------------------- the program, plain arrays, jit, detection


def test_jaxpr_shows_the_traced_program():
    f = from_jax(cases.jitted_helpers)
    with pytest.raises(DiffCompareError, match="call the function once"):
        print(f.jaxpr)
    rev.grad(f)(cases.X)
    text = str(f.jaxpr)
    assert "sin" in text and "jit" in text and "f64[6]" in text
    assert str(f.make_jaxpr(jnp.ones(2))).count("f64[2]") >= 1


def test_side_by_side_shows_the_jaxpr_and_the_tape():
    from diffcompare.from_jax import side_by_side

    text = side_by_side(lambda x: jnp.sum(jax.nn.relu(jnp.sin(x) * x[::-1])), jnp.arange(3.0))
    assert "custom_jvp_call" in text and "rev[dimensions=(0,)]" in text  # JAX's program
    assert "relu" in text and "getitem" in text and "multiply" in text  # our primitives on the tape


def test_plain_arrays_jit_and_the_complex_step():
    f = from_jax(cases.pytree_params)
    assert_close(f(cases.PARAMS, cases.M), cases.pytree_params(cases.PARAMS, cases.M), 0.0)  # f itself runs
    smooth = from_jax(lambda x: jnp.sum(jnp.exp(x) * jnp.sin(x) / (1.0 + x**2)))
    assert_close(METHODS["finite_diff"].grad(smooth, scheme="complex")(cases.X),
                 jax.grad(smooth.fun)(cases.X), 1e-12)


@pytest.mark.slow
def test_check_passes_for_a_jax_function():
    def layer(params, x):
        return jnp.sum(jax.nn.sigmoid(x @ params["W"] + params["b"]) ** 2)

    params = {"W": cases.M[:2, :3], "b": cases.V[:3]}
    report = diffcompare.check(from_jax(layer), params, cases.M[:, :2])
    bad = [r for r in report.failures() if r.method != "symbolic"]
    assert not bad, str(report)


def test_table_covers_what_plain_jax_code_emits():
    from diffcompare.from_jax import table

    wanted = """add sub mul div neg exp log log1p expm1 sin cos tan tanh logistic sqrt rsqrt integer_pow pow abs sign
        max min eq ne lt le gt ge select_n dot_general reduce_sum reduce_max reduce_min argmax broadcast_in_dim
        reshape transpose squeeze concatenate slice dynamic_slice dynamic_update_slice gather scatter-add scatter
        convert_element_type stop_gradient jit closed_call custom_jvp_call custom_vjp_call cond while scan
        conv_general_dilated cumsum sort""".split()
    assert not set(wanted) - set(table.supported())
    assert table.is_nondifferentiable("argmax") and not table.is_nondifferentiable("mul")


def test_detects_jax_functions():
    import diffcompare.numpy as dnp

    assert is_jax_function(cases.indexing)
    assert is_jax_function(cases._jitted_helper)
    assert not is_jax_function(lambda x: dnp.sum(dnp.sin(x)))
    assert not is_jax_function(from_jax(cases.indexing))
    wrapped, detected = auto_wrap(cases.rnn)
    assert detected and wrapped.fun is cases.rnn
    assert auto_wrap(dnp.sin) == (dnp.sin, False)


def test_benchmark_runs_and_reports_both_ratios(capsys):
    from diffcompare.from_jax import bench

    (row,) = bench.main(widths=[8], depth=2, rounds=1)
    assert row["eager_ratio"] > 0 and row["jit_ratio"] > 0
    assert "eager: from_jax/dnp" in capsys.readouterr().out
