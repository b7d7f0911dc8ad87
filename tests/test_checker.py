"""diffcompare.checker.check: every method against JAX, and a wrong gradient caught.

As autograd's tests/test_tests.py does, these tests register deliberately
wrong derivatives (a user gradient missing a factor 2, a transposed VJP, an
engine rule replaced by a wrong one, a method whose jvp is off) and assert
that the checker catches each, and only it.
"""

import json
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import jax_ref
from diffcompare.checker import (
    USER_TOLERANCE,
    CheckReport,
    GradientCheckError,
    check,
    method_tolerance,
)
from diffcompare.errors import DiffCompareError, InvalidInputError, InvalidOptionError
from diffcompare.finite_diff import SCHEME_TOLERANCE
from diffcompare.methods import METHODS

A = jnp.array([[1.0, 2.0, 0.5], [-1.0, 0.3, 2.0], [0.7, -0.4, 1.1]])  # not symmetric: Aᵀ ≠ A
W = jnp.array([[0.3, -0.2, 0.5, 0.1], [0.4, 0.2, -0.3, 0.6], [-0.5, 0.1, 0.2, 0.3]])


def scalar_fn(x):
    return dnp.sum(dnp.sin(x) * dnp.exp(0.3 * x))


def vector_fn(x):
    return dnp.tanh(W @ x) * x[:3]


def pytree_fn(params, x):
    return dnp.mean(dnp.tanh(params["w"] @ x + params["b"]) ** 2)


def two_args_fn(x, y):
    return dnp.sum(x * dnp.cos(y)) + dnp.sum(x**2 * y)


X4 = jnp.linspace(0.2, 1.4, 4)
CASES = {
    "scalar": (scalar_fn, (X4,), 0),
    "vector output": (vector_fn, (X4,), 0),
    "pytree input": (pytree_fn, ({"w": W, "b": jnp.array([0.1, -0.2, 0.3])}, X4), 0),
    "argnums tuple": (two_args_fn, (X4, jnp.array([0.5, -0.3, 0.8, 1.2])), (0, 1)),
}
# the methods that have landed (a method module still being written has no grad yet)
LANDED = [name for name, module in METHODS.items() if name != "jax" and hasattr(module, "grad")]


def rows_of(report: CheckReport, method: str) -> dict:
    return {row.quantity: row for row in report.rows if row.method == method}


@pytest.mark.slow
@pytest.mark.parametrize("method", LANDED)
@pytest.mark.parametrize("case", list(CASES))
def test_every_method_passes_on_smooth_functions(case, method):
    f, args, argnums = CASES[case]
    report = check(f, *args, argnums=argnums, methods=[method], projections=2)
    assert report.passed, str(report)
    rows = rows_of(report, method)
    full = "jacobian" if case == "vector output" else "gradient"
    assert set(rows) == {full, "jvp projection", "vjp projection"}
    for row in rows.values():
        assert row.status == "pass" and 0 <= row.relative_error <= row.tolerance
        assert row.seconds > 0
    assert {row.quantity for row in report.rows if row.status == "reference"} == set(rows)


def test_default_methods_are_every_method_but_the_reference():
    report = check(scalar_fn, X4, projections=0, methods=None)
    checked = [row.method for row in report.rows if row.status != "reference"]
    assert checked == [name for name in METHODS if name != "jax"]


def test_finite_difference_tolerance_follows_the_scheme():
    for scheme in ("richardson", "complex", "forward"):
        report = check(scalar_fn, X4, methods=["finite_diff"], options={"finite_diff": {"scheme": scheme}},
                       projections=0)
        assert report.passed, str(report)
        assert {row.tolerance for row in rows_of(report, "finite_diff").values()} == {
            SCHEME_TOLERANCE[scheme]["float64"]
        }
    assert report.rows[-1].relative_error > 1e-10  # forward differences: O(h) error, really measured
    assert method_tolerance("finite_diff", "float64", {"scheme": "richardson"}) < method_tolerance(
        "finite_diff", "float64"
    )


# ---------------------------------------------------------------- deliberately wrong derivatives


def test_gradient_missing_a_factor_two_fails():
    f = lambda x: dnp.sum(x**2 * dnp.sin(x))  # noqa: E731
    right = lambda x: 2 * x * jnp.sin(x) + x**2 * jnp.cos(x)  # noqa: E731
    wrong = lambda x: x * jnp.sin(x) + x**2 * jnp.cos(x)  # noqa: E731 - forgot the 2 of d(x²)
    assert check(f, X4, methods=[], grad=right).passed
    report = check(f, X4, methods=["finite_diff"], grad=wrong, projections=1)
    assert not report.passed
    assert [(row.method, row.status) for row in report.failures()] == [("user grad", "fail")]
    row = report.failures()[0]
    expected = float(jnp.max(jnp.abs(X4 * jnp.sin(X4))))  # exactly the missing term
    assert row.max_abs_error == pytest.approx(expected, rel=1e-12)
    assert row.relative_error == pytest.approx(expected / float(jnp.max(jnp.abs(right(X4)))), rel=1e-12)
    assert "above the tolerance" in row.message


def test_transposed_vjp_fails_and_the_right_one_passes():
    f = lambda x: dnp.sin(A @ x)  # noqa: E731
    x = jnp.array([0.1, 0.5, -0.3])
    right = lambda v, x: A.T @ (jnp.cos(A @ x) * v)  # noqa: E731
    transposed = lambda v, x: A @ (jnp.cos(A @ x) * v)  # noqa: E731 - Jᵀ written as J
    assert check(f, x, methods=[], vjp=right, projections=3).passed
    report = check(f, x, methods=[], vjp=transposed, projections=3)
    (row,) = report.failures()
    assert (row.method, row.quantity, row.status) == ("user vjp", "vjp projection", "fail")
    assert row.relative_error > 1e-2


def test_wrong_vjp_of_a_scalar_function_fails_on_gradient_and_projections():
    wrong = lambda ct, x: ct * jnp.cos(x) * jnp.exp(0.3 * x)  # noqa: E731 - only half the product rule
    report = check(scalar_fn, X4, methods=[], vjp=wrong)
    assert {(r.quantity, r.status) for r in report.failures()} == {("gradient", "fail"), ("vjp projection", "fail")}
    right = lambda ct, x: ct * (jnp.cos(x) + 0.3 * jnp.sin(x)) * jnp.exp(0.3 * x)  # noqa: E731
    assert check(scalar_fn, X4, methods=[], vjp=right).passed


def test_user_vjp_with_argnums_tuple_and_swapped_cotangents():
    x, y = CASES["argnums tuple"][1]
    right = lambda ct, x, y: (ct * (jnp.cos(y) + 2 * x * y), ct * (-x * jnp.sin(y) + x**2))  # noqa: E731
    swapped = lambda ct, x, y: right(ct, x, y)[::-1]  # noqa: E731
    grad = lambda x, y: right(1.0, x, y)  # noqa: E731
    assert check(two_args_fn, x, y, argnums=(0, 1), methods=[], vjp=right, grad=grad).passed
    report = check(two_args_fn, x, y, argnums=(0, 1), methods=[], vjp=swapped)
    assert {r.status for r in report.failures()} == {"fail"} and len(report.failures()) == 2


def test_an_engine_with_a_wrong_rule_is_caught(monkeypatch):
    if "reverse" not in LANDED:
        pytest.skip("the reverse engine has not landed")
    rules = pytest.importorskip("diffcompare.reverse.rules")
    monkeypatch.setitem(rules.RULES, "sin", (lambda g, ans, x: g * dnp.sin(x),))  # sin' = sin: wrong
    f = lambda x: dnp.sum(dnp.sin(x) * x)  # noqa: E731 - a fresh function: nothing cached
    report = check(f, X4, methods=["reverse", "finite_diff"], projections=2)
    failing = {(r.method, r.quantity) for r in report.failures()}
    assert ("reverse", "gradient") in failing and ("reverse", "vjp projection") in failing
    assert not any(method == "finite_diff" for method, _ in failing)


def test_a_method_with_a_wrong_jvp_fails_only_there(monkeypatch):
    def wrong_jvp(f, primals, tangents):
        out, tangent = jax_ref.jvp(f, primals, tangents)
        return out, jax.tree_util.tree_map(lambda t: 1.001 * t, tangent)

    broken = types.SimpleNamespace(
        NAME="broken", TITLE="broken", TOLERANCE={"float64": 1e-10, "float32": 1e-4},
        grad=jax_ref.grad, jacobian=jax_ref.jacobian, vjp=jax_ref.vjp, jvp=wrong_jvp,
    )
    monkeypatch.setitem(METHODS, "broken", broken)
    for case in ("scalar", "vector output"):
        f, args, argnums = CASES[case]
        report = check(f, *args, argnums=argnums, methods=["broken"], projections=2)
        assert [(r.quantity, r.status) for r in report.failures()] == [("jvp projection", "fail")]
        assert rows_of(report, "broken")["jvp projection"].relative_error == pytest.approx(1e-3, rel=1e-6)


# ---------------------------------------------------------------- errors become rows


def test_a_user_function_that_raises_is_an_error_row():
    def buggy_grad(x):
        raise ValueError("student bug: index out of range")

    report = check(scalar_fn, X4, methods=["finite_diff"], grad=buggy_grad, vjp=lambda ct, x: x[10] / 0)
    user = [row for row in report.rows if row.method.startswith("user")]
    assert {row.status for row in user} == {"error"}
    grad_row = rows_of(report, "user grad")["gradient"]
    assert "ValueError" in grad_row.message and "student bug" in grad_row.message
    assert isinstance(grad_row.error, ValueError)
    assert grad_row.max_abs_error is None and grad_row.relative_error is None
    assert all(row.status == "pass" for row in rows_of(report, "finite_diff").values())
    assert "student bug" in str(report)


def test_user_gradient_with_the_wrong_structure_is_an_error_row():
    params, x = CASES["pytree input"][1]
    as_list = lambda params, x: [jnp.zeros_like(params["b"]), jnp.zeros_like(params["w"])]  # noqa: E731
    (row,) = check(pytree_fn, params, x, methods=[], grad=as_list).failures()
    assert row.status == "error" and "ShapeMismatchError" in row.message and "structure" in row.message
    one_tuple = lambda ct, x: (jax_ref.grad(scalar_fn)(x) * ct,)  # noqa: E731 - jax.vjp's habit
    report = check(scalar_fn, X4, methods=[], vjp=one_tuple)
    assert {r.status for r in report.rows if r.method == "user vjp"} == {"error"}
    assert "tuple of one entry" in report.failures()[0].message


def test_a_method_that_refuses_the_function_is_an_error_row():
    f = lambda x: dnp.sum(dnp.abs(x) * x)  # noqa: E731 - abs is not complex-analytic
    report = check(f, jnp.array([0.5, -1.0, 2.0]), methods=["finite_diff"],
                   options={"finite_diff": {"scheme": "complex"}}, projections=1)
    rows = rows_of(report, "finite_diff")
    assert {row.status for row in rows.values()} == {"error"}
    assert all(isinstance(row.error, DiffCompareError) and "abs" in row.message for row in rows.values())


def test_symbolic_on_a_branch_is_an_error_row():
    if "symbolic" not in LANDED:
        pytest.skip("the symbolic engine has not landed")

    def branchy(x):
        return dnp.sum(x**2) if dnp.sum(x) > 0 else dnp.sum(-x)

    report = check(branchy, X4, methods=["symbolic", "finite_diff"], projections=1)
    assert {r.status for r in rows_of(report, "symbolic").values()} == {"error"}
    assert "ConcretizationError" in rows_of(report, "symbolic")["gradient"].message
    assert all(r.status == "pass" for r in rows_of(report, "finite_diff").values())


# ---------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def mixed_report():
    wrong = lambda x: 2 * jnp.cos(x)  # noqa: E731
    return check(scalar_fn, X4, methods=["finite_diff"], grad=wrong, projections=2)


def test_report_prints_as_a_table(mixed_report):
    text = str(mixed_report)
    assert "finite_diff" in text and "user grad" in text and "jax" in text
    assert "pass" in text and "FAIL" in text and "FAILED" in text.splitlines()[0]
    lines = text.splitlines()
    header = lines[1]
    assert [h in header for h in ("method", "quantity", "max abs err", "rel err", "tolerance", "time", "status")]
    assert set(lines[2]) == {"─"}  # one table style (rich's), here in plain text
    table = lines[3:lines.index("notes:")]
    assert len(table) == len(mixed_report.rows)
    assert len({line.index("gradient" if "gradient" in line else "projection") for line in table}) <= 2  # aligned
    assert [line.split()[0] for line in table][:2] == ["jax", "jax.jit"]  # eager reference, then compiled
    assert "eager" in lines[3] and "compare eager with eager" in text


def test_report_is_plain_data(mixed_report):
    records = mixed_report.to_records()
    assert len(records) == len(mixed_report.rows)
    assert json.loads(json.dumps(records, allow_nan=False)) == records
    assert set(records[0]) == {"method", "quantity", "max_abs_error", "relative_error", "tolerance",
                               "seconds", "status", "message", "first_call_seconds"}
    assert {r["status"] for r in records} == {"reference", "pass", "fail"}


def test_report_renders_in_jupyter_and_rich(mixed_report):
    page = mixed_report._repr_html_()
    assert page.startswith("<table") and page.endswith("</table>")
    assert page.count("<tr>") == len(mixed_report.rows) + 2 and "<td>user grad</td>" in page  # + head, times note
    assert "<td>jax (eager)</td>" in page and "<td>jax.jit</td>" in page
    assert "&lt;" not in page or "<lambda>" not in page  # escaped
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(mixed_report)
    rendered = console.export_text()
    assert "finite_diff" in rendered and "FAIL" in rendered and "above the tolerance" in rendered


def test_raise_if_failed(mixed_report):
    with pytest.raises(GradientCheckError, match="user grad") as info:
        mixed_report.raise_if_failed()
    assert isinstance(info.value, AssertionError) and isinstance(info.value, DiffCompareError)
    good = check(scalar_fn, X4, methods=[], grad=jax_ref.grad(scalar_fn))
    assert good.raise_if_failed() is good and good.failures() == []


def test_same_seed_same_report_and_the_seed_matters():
    def errors(report):
        return [(r.method, r.quantity, r.max_abs_error, r.relative_error) for r in report.rows]

    a = check(vector_fn, X4, methods=["finite_diff"], projections=2, seed=3)
    b = check(vector_fn, X4, methods=["finite_diff"], projections=2, seed=3)
    c = check(vector_fn, X4, methods=["finite_diff"], projections=2, seed=4)
    assert errors(a) == errors(b)
    assert rows_of(a, "finite_diff")["jvp projection"].max_abs_error != rows_of(c, "finite_diff")[
        "jvp projection"].max_abs_error


@pytest.mark.slow
def test_float32_uses_float32_tolerances():
    report = check(scalar_fn, X4, methods=["finite_diff"], grad=jax_ref.grad(scalar_fn), dtype="float32",
                   projections=1)
    assert report.dtype == "float32" and report.passed, str(report)
    assert rows_of(report, "finite_diff")["gradient"].tolerance == SCHEME_TOLERANCE["central"]["float32"]
    assert rows_of(report, "user grad")["gradient"].tolerance == USER_TOLERANCE["float32"]
    assert rows_of(report, "finite_diff")["gradient"].relative_error > 1e-9  # really computed in float32


def test_tolerance_override():
    strict = check(scalar_fn, X4, methods=["finite_diff"], tolerance=1e-15, projections=1)
    assert {r.status for r in rows_of(strict, "finite_diff").values()} == {"fail"}  # differences are not exact
    loose = check(scalar_fn, X4, methods=[], grad=lambda x: 1.01 * jax_ref.grad(scalar_fn)(x),
                  tolerance={"user grad": 0.02})
    assert loose.passed and rows_of(loose, "user grad")["gradient"].tolerance == 0.02


def test_projections_zero_checks_the_full_derivative_only():
    report = check(vector_fn, X4, methods=["finite_diff"], projections=0)
    assert [(r.method, r.quantity) for r in report.rows] == [("jax", "jacobian"), ("jax.jit", "jacobian"),
                                                               ("finite_diff", "jacobian")]


@pytest.mark.slow
def test_closed_form_derivatives_of_the_problem_zoo_pass_as_user_gradients():
    from diffcompare.problems import PROBLEMS

    checked = 0
    for name, problem in PROBLEMS.items():
        inst = problem.make(size=min(problem.sizes) if problem.sizes else None)
        if inst.derivative is None or not inst.scalar_output:
            continue
        argnums = inst.argnums if len(inst.argnums) > 1 else inst.argnums[0]
        report = check(inst.fun, *inst.args, argnums=argnums, methods=[], grad=inst.derivative, projections=0)
        assert report.passed, f"{name}\n{report}"
        checked += 1
    assert checked >= 3


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"methods": ["finite_diff", "backprop"]}, "unknown method 'backprop'"),
        ({"argnums": 1}, "argnums"),
        ({"argnums": "x"}, "argnums"),
        ({"argnums": ()}, "argnums"),
        ({"options": {"symbolic_diff": {}}, "methods": ["finite_diff"]}, "symbolic_diff"),
        ({"options": {"finite_diff": "richardson"}}, "options must map"),
        ({"projections": -1}, "projections"),
        ({"dtype": "int32"}, "dtype"),
        ({"tolerance": -1.0}, "tolerance"),
        ({"tolerance": {"nobody": 1e-3}}, "nobody"),
        ({"methods": []}, "nothing to check"),
        ({"grad": 3.0}, "grad= must be a function"),
    ],
)
def test_bad_input_raises_the_library_error(kwargs, match):
    with pytest.raises(InvalidOptionError, match=match):
        check(scalar_fn, X4, **kwargs)


def test_grad_for_a_vector_function_and_integer_inputs_are_refused():
    with pytest.raises(InvalidOptionError, match="vjp= instead"):
        check(vector_fn, X4, methods=[], grad=lambda x: x)
    with pytest.raises(InvalidInputError, match="floating-point"):
        check(scalar_fn, jnp.arange(4), methods=["finite_diff"])


def test_method_tolerance_uses_a_modules_tolerance_function(monkeypatch):
    module = types.SimpleNamespace(TOLERANCE={"float64": 1.0, "float32": 1.0},
                                   tolerance=lambda dtype, **options: 1e-3 if options.get("fine") else 1e-2)
    monkeypatch.setitem(METHODS, "custom", module)
    assert method_tolerance("custom", "float64") == 1e-2
    assert method_tolerance("custom", "float64", {"fine": True}) == 1e-3
    assert np.isclose(method_tolerance("finite_diff", "float32"), SCHEME_TOLERANCE["central"]["float32"])


def test_time_column_is_warm_and_first_call_is_kept_apart():
    """Students read cost from the time column: compilation (the first call) must not count."""
    import time as _time

    from diffcompare import checker

    calls = []

    def compute():
        calls.append(1)
        if len(calls) == 1:
            _time.sleep(0.3)  # stands for tracing and compilation
        return jnp.ones(3)

    out, seconds = checker._timed(compute)
    assert len(calls) >= 2
    assert seconds.first_s >= 0.3 > seconds.best_s
    row = checker._row("forward", "gradient", 1e-10, seconds, [0.0], [0.0])
    assert row.first_call_seconds >= 0.3 > row.seconds
    assert "1st call" in str(checker.CheckReport([row]))
