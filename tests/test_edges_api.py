"""API-level edges (issue 26): ``has_aux`` in every method, values that leak out of a finished
derivative, ``check`` on a bool or integer output, and ``check`` at a kink."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import diffcompare as dc
import diffcompare.numpy as dnp
from diffcompare import METHODS, forward, from_jax, kinks, reverse, staging, symbolic
from diffcompare._core import EngineValue
from diffcompare.checker import GradientCheckError
from diffcompare.cli import app
from diffcompare.errors import DiffCompareError, InvalidOutputError, LeakedValueError

X = jnp.array([0.3, -1.2, 2.0])


def assert_plain_like(ours, ref):
    """``ours`` has ``ref``'s structure, no engine value inside, numbers as JAX arrays equal to ``ref``'s."""
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(ref)
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(ref)):
        assert not isinstance(a, EngineValue)
        if isinstance(b, str):
            assert a == b
            continue
        assert isinstance(a, jax.Array), type(a)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-9)


def assert_close(ours, ref, rtol=1e-6):
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(ref)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-7)


def loss_and_stats(x, w):
    """A loss with what a training loop wants to see beside it: an array, a count, a label."""
    y = dnp.tanh(x * w)
    return dnp.sum(y ** 2), {"y": y, "first": x[0], "steps": 3, "label": "tanh"}


def jnp_loss_and_stats(x, w):
    y = jnp.tanh(x * w)
    return jnp.sum(y ** 2), {"y": y, "first": x[0], "steps": 3, "label": "tanh"}


def vector_and_aux(x):
    return dnp.sin(x) * x, dnp.cos(x)


def jnp_vector_and_aux(x):
    return jnp.sin(x) * x, jnp.cos(x)


# every method with the options that reach another path (staged or op by op)
VARIANTS = [("finite_diff", {}), ("symbolic", {}), ("forward", {}), ("forward", {"staged": False}),
            ("reverse", {}), ("reverse", {"staged": False}), ("jax", {})]
IDS = [name + ("-op-by-op" if opts else "") for name, opts in VARIANTS]


def tolerance(name):
    return 1e-6 if name == "finite_diff" else 1e-10


# ---------------------------------------------------------------- has_aux


@pytest.mark.parametrize("name, opts", VARIANTS, ids=IDS)
def test_grad_and_value_and_grad_with_aux_match_jax(name, opts):
    m = METHODS[name]
    gradient, aux = m.grad(loss_and_stats, has_aux=True, **opts)(X, 0.7)
    ref_gradient, ref_aux = jax.grad(jnp_loss_and_stats, has_aux=True)(X, 0.7)
    assert_close(gradient, ref_gradient, tolerance(name))
    assert_plain_like(aux, ref_aux)
    # argnums as a tuple: the gradient is a tuple, the aux is untouched
    (value, aux), grads = m.value_and_grad(loss_and_stats, argnums=(0, 1), has_aux=True, **opts)(X, 0.7)
    (ref_value, ref_aux), ref_grads = jax.value_and_grad(jnp_loss_and_stats, argnums=(0, 1), has_aux=True)(X, 0.7)
    assert isinstance(grads, tuple) and len(grads) == 2
    assert_close(value, ref_value)
    assert_close(grads, ref_grads, tolerance(name))
    assert_plain_like(aux, ref_aux)


@pytest.mark.parametrize("name, opts", VARIANTS, ids=IDS)
def test_jacobian_jvp_vjp_with_aux_match_jax(name, opts):
    m = METHODS[name]
    jac_opts = {} if name == "jax" else opts
    jac, aux = m.jacobian(vector_and_aux, has_aux=True, **jac_opts)(X)
    ref_jac, ref_aux = jax.jacfwd(jnp_vector_and_aux, has_aux=True)(X)
    assert_close(jac, ref_jac, tolerance(name))
    assert_plain_like(aux, ref_aux)
    v = jnp.array([1.0, 0.5, -2.0])
    jvp_opts = {k: o for k, o in opts.items() if name == "forward"}  # reverse.jvp has no staged option
    out, tangent, aux = m.jvp(vector_and_aux, (X,), (v,), has_aux=True, **jvp_opts)
    ref_out, ref_tangent, ref_aux = jax.jvp(jnp_vector_and_aux, (X,), (v,), has_aux=True)
    assert_close((out, tangent), (ref_out, ref_tangent), tolerance(name))
    assert_plain_like(aux, ref_aux)
    out, vjp_fn, aux = m.vjp(vector_and_aux, X, has_aux=True)
    ref_out, ref_vjp_fn, ref_aux = jax.vjp(jnp_vector_and_aux, X, has_aux=True)
    assert_close(vjp_fn(v), ref_vjp_fn(v), tolerance(name))
    assert_plain_like(aux, ref_aux)


@pytest.mark.parametrize("name", ["forward", "reverse"])
def test_aux_of_arrays_runs_in_the_staged_program_with_the_same_answer(name):
    def f(x):  # an aux of arrays and numbers: the recording holds it, the compiled program returns it
        y = dnp.tanh(x)
        return dnp.sum(y ** 2), (y, 3, 2.5)

    staged_before = staging.COUNTS["staged"]
    gradient, aux = METHODS[name].grad(f, has_aux=True)(X)
    assert staging.COUNTS["staged"] == staged_before + 1, staging.LAST_FALLBACK[0]
    op_gradient, op_aux = METHODS[name].grad(f, has_aux=True, staged=False)(X)
    assert_close(gradient, op_gradient, 1e-12)
    assert_plain_like(aux, op_aux)
    assert_plain_like(aux, jax.grad(lambda x: (jnp.sum(jnp.tanh(x) ** 2), (jnp.tanh(x), 3, 2.5)), has_aux=True)(X)[1])


@pytest.mark.parametrize("name", ["finite_diff", "symbolic", "forward", "reverse", "jax"])
def test_hessian_with_aux(name):
    def f(x):
        return dnp.sum(x ** 3), x[1]

    hess, aux = METHODS[name].hessian(f, has_aux=True)(X)
    atol = 1e-4 if name == "finite_diff" else 1e-12
    np.testing.assert_allclose(np.asarray(hess), np.diag(6 * np.asarray(X)), atol=atol)
    assert_plain_like(aux, X[1])


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("returned, said", [
    (lambda x: x ** 2, "one array of shape ()"),
    (lambda x: (x ** 2, x, x), "a tuple of 3 entries"),
], ids=["no pair", "a triple"])
def test_has_aux_without_a_pair_names_the_method_and_what_to_return(name, returned, said):
    with pytest.raises(InvalidOutputError, match=rf"{name}\.grad: has_aux=True, so the function must return a pair "
                                                  rf"\(output, aux\).*it returned {said}"):
        METHODS[name].grad(returned, has_aux=True)(1.5)
    with pytest.raises(InvalidOutputError, match="must return a pair"):
        METHODS[name].vjp(returned, 1.5, has_aux=True)


def test_has_aux_shows_in_every_signature_and_docstring():
    import inspect

    for name, m in METHODS.items():
        for fn in ("grad", "value_and_grad", "jacobian", "hessian", "jvp", "vjp"):
            assert "has_aux" in inspect.signature(getattr(m, fn)).parameters, (name, fn)
    for fn in (forward.grad, reverse.value_and_grad, symbolic.grad, dc.finite_diff.value_and_grad):
        assert "has_aux" in fn.__doc__


def test_nested_aux_keeps_the_outer_derivative_as_jax_does():
    # the inner aux x·y still carries y's perturbation: d/dy (2y) = 2
    def outer(y):
        return reverse.grad(lambda x: (x * y, x * y), has_aux=True)(2.0)[1]

    assert float(forward.grad(outer)(3.0)) == float(jax.grad(
        lambda y: jax.grad(lambda x: (x * y, x * y), has_aux=True)(2.0)[1])(3.0)) == 2.0
    assert float(reverse.grad(lambda y: forward.grad(lambda x: (x * y, x * y), has_aux=True)(2.0)[1])(3.0)) == 2.0


def test_hvp_and_from_jax_take_aux():
    hv, aux = dc.hvp(lambda x: (dnp.sum(x ** 3), x * 2), has_aux=True)(X, jnp.ones(3))
    np.testing.assert_allclose(np.asarray(hv), 6 * np.asarray(X))
    assert_plain_like(aux, 2 * X)
    def jax_code(x, w):  # from_jax traces to a jaxpr: the aux holds arrays only
        loss, stats = jnp_loss_and_stats(x, w)
        return loss, {"y": stats["y"], "first": stats["first"]}

    wrapped = from_jax(jax_code)
    for name in ("forward", "reverse", "symbolic"):
        gradient, aux = METHODS[name].grad(wrapped, has_aux=True)(X, 0.7)
        ref_gradient, ref_aux = jax.grad(jax_code, has_aux=True)(X, 0.7)
        assert_close(gradient, ref_gradient)
        assert_plain_like(aux, ref_aux)


@settings(max_examples=25)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=4), st.floats(-2, 2))
def test_aux_is_the_value_f_computed_at_the_point(xs, w):
    x = jnp.asarray(xs)
    for name in ("forward", "reverse"):
        (value, aux), gradient = METHODS[name].value_and_grad(loss_and_stats, has_aux=True)(x, w)
        (ref_value, ref_aux), ref_gradient = jax.value_and_grad(jnp_loss_and_stats, has_aux=True)(x, w)
        assert_plain_like(aux, ref_aux)
        assert_close((value, gradient), (ref_value, ref_gradient), 1e-9)


# ---------------------------------------------------------------- leaked values


def leak_from(method, **opts):
    kept = []

    def f(x):
        kept.append(x * 1.0)
        return x * 2

    method.grad(f, **opts)(1.0)
    return kept[0]


LEAKERS = [(forward, {}), (forward, {"staged": False}), (reverse, {}), (reverse, {"staged": False}), (symbolic, {})]
LEAK_IDS = ["forward", "forward-op-by-op", "reverse", "reverse-op-by-op", "symbolic"]
USES = {
    "float": float,
    "bool": lambda v: bool(v > 0),
    "plus a number": lambda v: v + 1.0,
    "np.asarray": np.asarray,
    "jnp.sin": jnp.sin,
    "dnp.sin": dnp.sin,
    "jnp array times it": lambda v: jnp.ones(2) * v,
}


@pytest.mark.parametrize("method, opts", LEAKERS, ids=LEAK_IDS)
@pytest.mark.parametrize("use", list(USES))
def test_a_leaked_value_is_refused_naming_the_finished_derivative(method, opts, use):
    leaked = leak_from(method, **opts)
    repr(leaked)  # printing is fine
    with pytest.raises(LeakedValueError, match=rf"a value of {method.NAME}\.(value_and_)?grad of 'f' .*after that "
                                               r"derivative had finished.*has_aux"):
        USES[use](leaked)


@pytest.mark.parametrize("method, opts", LEAKERS, ids=LEAK_IDS)
@pytest.mark.parametrize("later", list(METHODS))
def test_a_leaked_value_used_or_returned_in_a_later_derivative_is_refused(method, opts, later):
    # before: reverse.grad(lambda y: y * leaked)(2.0) returned Abstract(#3, ...), a silent wrong result
    leaked = leak_from(method, **opts)
    with pytest.raises(LeakedValueError, match=method.NAME):
        METHODS[later].grad(lambda y: y * leaked)(2.0)
    with pytest.raises(LeakedValueError, match=method.NAME):
        METHODS[later].grad(lambda y: leaked)(2.0)


@pytest.mark.parametrize("outer", [forward, reverse])
@pytest.mark.parametrize("inner", [forward, reverse])
def test_a_value_leaked_from_an_inner_derivative_is_refused_in_the_outer_one(outer, inner):
    kept = []

    def g(y):
        def h(x):
            kept.append(x * y)
            return x * y

        return inner.grad(h)(2.0) * kept[-1]

    with pytest.raises(LeakedValueError, match=rf"{inner.NAME}\.grad of 'h'"):
        outer.grad(g)(3.0)
    # what is allowed: the outer value inside the inner derivative, and the inner result outside it
    assert float(outer.grad(lambda y: inner.grad(lambda x: x * y * y)(2.0))(3.0)) == 6.0


@pytest.mark.parametrize("entry", ["forward.jvp", "reverse.vjp", "reverse.jvp", "symbolic.vjp"])
def test_jvp_and_vjp_values_leak_too(entry):
    kept = []

    def f(x):
        kept.append(x)
        return x * 2

    module, fn = entry.split(".")
    if fn == "jvp":
        getattr(METHODS[module], fn)(f, (1.0,), (1.0,))
    else:
        out, vjp_fn = getattr(METHODS[module], fn)(f, 1.0)
        assert float(vjp_fn(1.0)[0]) == 2.0  # the pullback still works after the recording has finished
    with pytest.raises(LeakedValueError, match=rf"{entry} of 'f'"):
        kept[0] * 2


def test_a_derivative_running_in_another_thread_does_not_finish_this_threads_values():
    import threading

    from diffcompare._core import Scope
    from diffcompare.reverse import ReverseTrace

    entered, release = threading.Event(), threading.Event()

    def other_thread():
        with Scope("reverse.grad", lambda x: x):
            entered.set()
            release.wait(30)

    thread = threading.Thread(target=other_thread)
    thread.start()
    entered.wait(30)
    mine = ReverseTrace()  # made here while the other thread's derivative runs
    release.set()
    thread.join()
    assert mine.done is None
    assert isinstance(dnp.sin(mine.input(jnp.asarray(0.0))), EngineValue)  # still usable


def test_a_finished_trace_is_freed_at_once_not_by_the_garbage_collector():
    # forward mode's trace holds no cycle of its own (a reverse tape does: node -> trace -> tape -> node)
    method = forward
    import gc
    import weakref

    traces = []

    def f(x):
        traces.append(weakref.ref(x._trace))  # a weak reference keeps nothing alive
        return dnp.sum(dnp.sin(x))

    gc.collect()
    gc.disable()
    try:
        method.grad(f, staged=False)(X)
        assert traces and traces[0]() is None  # no reference cycle through its scope holds the tape
    finally:
        gc.enable()


def test_leaked_value_error_is_a_diffcompare_error_and_aux_is_the_way_out():
    leaked = leak_from(reverse)
    with pytest.raises(DiffCompareError):
        leaked + 1
    gradient, kept = reverse.grad(lambda x: (x * 2, x * 1.0), has_aux=True)(1.0)
    assert float(kept + 1) == 2.0 and float(gradient) == 2.0


# ---------------------------------------------------------------- check: outputs that cannot be differentiated


@pytest.mark.parametrize("fun", [lambda x: x > 0, lambda x: dnp.sum(x > 0), lambda x: (x > 0, x)],
                         ids=["bool", "int", "bool-in-a-tuple"])
def test_check_refuses_a_bool_or_int_output_in_its_own_words(fun):
    with pytest.raises(InvalidOutputError) as info:
        dc.check(fun, jnp.ones(2))
    message = str(info.value)
    assert message.startswith("check: f returned") and "floating-point output" in message
    assert "jax." not in message.split(";")[0]


def _write_module(tmp_path):
    (tmp_path / "edge_fns.py").write_text(
        "import diffcompare.numpy as dnp\n"
        "def positive(x):\n    return x > 0\n"
        "def broken(x):\n    return undefined_name * x\n"
        "def kinked(x):\n    return dnp.abs(x)\n"
    )
    return str(tmp_path / "edge_fns.py")


def test_cli_check_says_the_output_is_at_fault_with_exit_2(tmp_path):
    path = _write_module(tmp_path)
    result = CliRunner().invoke(app, ["check", f"{path}:positive", "--at", "1.0"])
    assert result.exit_code == 2, result.output
    assert "the output of" in result.output and "check: f returned a value of dtype bool" in result.output
    assert "Traceback" not in result.output
    # the user's own bug is theirs, with the line; a fault inside diffcompare is not blamed on the function
    result = CliRunner().invoke(app, ["check", f"{path}:broken", "--at", "1.0"])
    assert result.exit_code == 2
    assert "failed at the given point (in 'broken', edge_fns.py:5): NameError" in result.output


def test_cli_check_does_not_blame_the_function_for_a_fault_of_diffcompare(tmp_path, monkeypatch):
    path = _write_module(tmp_path)
    monkeypatch.setattr("diffcompare.checker.check", json.loads)  # raises TypeError inside library code
    result = CliRunner().invoke(app, ["check", f"{path}:kinked", "--at", "1.0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "error inside diffcompare, not in your function" in result.output
    assert "failed at the given point" not in result.output


# ---------------------------------------------------------------- check at a kink


def fd_rows(report):
    return [row for row in report.rows if row.method == "finite_diff"]


@pytest.mark.parametrize("fun, x, left, right, where", [
    (lambda x: dnp.abs(x), 0.0, -1, 1, "args[0]"),
    (lambda x: dnp.relu(x), 0.0, 0, 1, "args[0]"),
    (lambda x: dnp.sum(dnp.abs(x) + x ** 2), jnp.array([1.5, 0.0, -0.5]), -1, 1, "args[0][1]"),
    (lambda x: 3.0 * dnp.abs(x - 1.0) + x, jnp.array(1.0), -2, 4, "args[0]"),
], ids=["abs", "relu", "abs-in-a-sum", "shifted-asymmetric"])
def test_check_at_a_kink_says_so_and_is_neither_pass_nor_a_finite_difference_failure(fun, x, left, right, where):
    report = dc.check(fun, x)
    assert {row.status for row in fd_rows(report)} == {"kink"}
    assert all(row.status in ("pass", "reference") for row in report.rows if row.method != "finite_diff")
    assert not report.passed and report.failures() == [] and len(report.kinks()) == 3
    message = fd_rows(report)[0].message
    assert f"kink here along {where}" in message and f"left slope {left:g}, right slope {right:g}" in message
    assert "not an engine error" in message
    assert "KINK" in report.summary() and "KINK" in str(report)
    with pytest.raises(GradientCheckError, match="not differentiable at this point"):
        report.raise_if_failed()


def test_ties_split_by_maximum_agree_with_finite_differences_and_are_no_kink():
    # JAX's maximum(x, 0)'(0) = 0.5 is the average central differences give: nothing to explain
    assert dc.check(lambda x: dnp.maximum(x, 0.0), 0.0).passed


def test_a_smooth_function_that_fails_finite_differences_is_not_called_a_kink():
    report = dc.check(lambda x: dnp.exp(3 * x), jnp.array([0.3, 1.0]), tolerance={"finite_diff": 1e-15})
    assert {row.status for row in fd_rows(report)} == {"fail"}
    assert not any("kink" in row.message for row in report.rows)
    assert report.kinks() == [] and "KINK" not in report.summary()


def test_cli_check_at_a_kink_exits_1_and_shows_the_note(tmp_path):
    path = _write_module(tmp_path)
    result = CliRunner().invoke(app, ["check", f"{path}:kinked", "--at", "0.0"])
    assert result.exit_code == 1, result.output
    assert "KINK" in result.output and "left slope -1, right slope 1" in result.output


@settings(max_examples=40)
@given(st.floats(0.1, 3), st.floats(-3, 3), st.floats(-2, 2), st.floats(-5, 5),
       st.sampled_from([np.float64, np.float32]))
def test_find_kink_gives_the_one_sided_slopes(a, b, c, curvature, dtype):
    def f(x):  # a|x - c| + b x + curvature (x - c)²: slopes b - a and b + a at c
        x = np.asarray(x, dtype)
        return a * np.abs(x - dtype(c)) + b * x + curvature * (x - dtype(c)) ** 2

    eps = float(np.finfo(dtype).eps)
    kink = kinks.find_kink(f, np.array([c]), np.ones(1), eps)
    assert kink is not None
    np.testing.assert_allclose([kink.left[0], kink.right[0]], [b - a, b + a], atol=1e3 * np.sqrt(eps))


@settings(max_examples=40)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 4), st.sampled_from([0.0, 1e6]),
       st.sampled_from([np.float64, np.float32]))
def test_find_kink_never_calls_a_smooth_function_kinked(x0, b, k, offset, dtype):
    def f(x):
        x = np.asarray(x, dtype)
        return offset + np.exp(k * x) + b * x ** 3 + np.sin(5 * x)

    assert kinks.find_kink(f, np.array([x0]), np.ones(1), float(np.finfo(dtype).eps)) is None


@pytest.mark.parametrize("method", ["finite_diff", "symbolic", "forward", "reverse"])
def test_a_float0_cotangent_of_a_bool_output_is_zeros_as_in_jax(method):
    # jax.vjp's cotangent of a bool or integer output is float0: nothing flows back through it
    x = jnp.array([0.5, -1.5, 2.0])
    ours_out, ours_vjp = METHODS[method].vjp(lambda v: (dnp.sum(v * v), v > 0), x)
    ref_out, ref_vjp = jax.vjp(lambda v: (jnp.sum(v * v), v > 0), x)
    cotangent = (jnp.asarray(1.0), np.zeros(3, jax.dtypes.float0))
    np.testing.assert_allclose(ours_vjp(cotangent)[0], ref_vjp(cotangent)[0], rtol=1e-6)
    np.testing.assert_array_equal(ours_out[1], ref_out[1])


@pytest.mark.parametrize("method", ["finite_diff", "forward", "reverse"])
def test_the_tangent_of_an_integer_output_is_float0_as_in_jax(method):
    x = jnp.array([0.5, -1.5, 2.0])
    fun = lambda v: (v * 2.0, dnp.argmax(v), v > 0)  # noqa: E731
    out, tangent = METHODS[method].jvp(fun, (x,), (jnp.ones(3),))
    ref_out, ref_tangent = jax.jvp(lambda v: (v * 2.0, jnp.argmax(v), v > 0), (x,), (jnp.ones(3),))
    np.testing.assert_allclose(tangent[0], ref_tangent[0])
    for ours, ref in zip(tangent[1:], ref_tangent[1:]):
        assert ours.dtype == ref.dtype == jax.dtypes.float0 and ours.shape == ref.shape
    np.testing.assert_array_equal(out[1], ref_out[1])
