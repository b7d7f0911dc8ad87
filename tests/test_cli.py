"""The command line through typer's test runner: the demo table, info, and bad input."""

import pytest
from typer.testing import CliRunner

from diffcompare.cli import app

runner = CliRunner()


def test_demo_prints_every_method_with_small_errors():
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for method in ("finite_diff (central)", "finite_diff (complex)", "finite_diff (richardson)", "jax.grad (eager)",
                   "jax.jit(jax.grad)"):
        assert method in result.output
    assert "compare eager with eager" in result.output.lower()
    assert "exp(x) / x²" in result.output and "1.5" in result.output


def test_demo_rows_agree_with_the_closed_form():
    from diffcompare import demo

    rows = {row["method"]: row for row in demo.rows()}
    assert rows["finite_diff (central)"]["rel_error"] < 1e-9
    assert rows["finite_diff (complex)"]["rel_error"] < 1e-15
    assert rows["jax.grad (eager)"]["rel_error"] < 1e-15 and rows["jax.jit(jax.grad)"]["rel_error"] < 1e-15
    assert rows["jax.grad (eager)"]["runs"] == "eager" and rows["jax.jit(jax.grad)"]["runs"].startswith("compiled")


def test_info_and_problems():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0 and "float64: on" in result.output and "finite_diff" in result.output
    result = runner.invoke(app, ["problems"])
    assert result.exit_code == 0 and "rosenbrock" in result.output and "control flow" in result.output


@pytest.mark.parametrize("args,message", [
    (["demo", "--dtype", "float16"], "unknown dtype"),
    (["demo", "--problem", "nope"], "unknown problem 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_finite_diff_benchmark_runs_small():
    result = runner.invoke(app, ["bench", "finite-diff", "--sizes", "5", "--repeat", "1"])
    assert result.exit_code == 0, result.output
    assert "finite_diff richardson" in result.output
