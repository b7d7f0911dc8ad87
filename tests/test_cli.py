"""The command line through typer's test runner: the demo table, info, and bad input."""

import pytest
from typer.testing import CliRunner

from diffcompare.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_demo_prints_every_method_with_small_errors():
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for method in ("finite_diff (central)", "finite_diff (complex)", "finite_diff (richardson)", "jax.grad (eager)",
                   "jax.jit(jax.grad)"):
        assert method in result.output
    assert "compare eager with eager" in result.output.lower()
    assert "exp(x) / x²" in result.output and "1.5" in result.output


@pytest.mark.slow
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


@pytest.mark.slow
def test_finite_diff_benchmark_runs_small():
    result = runner.invoke(app, ["bench", "finite-diff", "--sizes", "5", "--repeat", "1"])
    assert result.exit_code == 0, result.output
    assert "finite_diff richardson" in result.output


# ---------------------------------------------------------------- one application, the conventions users know


@pytest.mark.slow
def test_version_and_python_dash_m(tmp_path):
    import subprocess
    import sys

    import diffcompare

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"diffcompare {diffcompare.__version__}"
    done = subprocess.run([sys.executable, "-m", "diffcompare", "--version"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"diffcompare {diffcompare.__version__}", done.stderr


def _bench_commands():
    from diffcompare.cli.bench import app as bench_app

    return [info.name or info.callback.__name__ for info in bench_app.registered_commands]


def test_every_benchmark_is_a_sub_command_with_its_own_help():
    names = _bench_commands()
    assert {"finite-diff", "forward", "reverse", "symbolic", "matrix-calculus", "accumulate", "overhead",
            "from-jax", "finite-diff-cache"} <= set(names)
    listing = runner.invoke(app, ["bench", "--help"]).output
    for name in names:
        assert name in listing
        result = runner.invoke(app, ["bench", name, "--help"])
        assert result.exit_code == 0, result.output
        assert f"bench {name} [OPTIONS]" in result.output and "<bool>" not in result.output
    assert "--profile" in runner.invoke(app, ["bench", "overhead", "--help"]).output
    assert "--widths" in runner.invoke(app, ["bench", "reverse", "--help"]).output


def test_flags_show_as_flags_in_help():
    help_text = runner.invoke(app, ["run", "--help"]).output
    assert "--quick" in help_text and "--resume" in help_text and "--no-progress" in help_text
    assert "<bool>" not in help_text
    assert "<str>" in help_text or "TEXT" in help_text  # options that take a value still show their type


@pytest.mark.parametrize("args, suggestion", [
    (["lst"], "list"),
    (["bench", "overheda"], "overhead"),
    (["run", "fd_stpe"], "did you mean fd_step?"),
    (["run", "matrix-calculs"], "did you mean matrix_calculus?"),
    (["demo", "--problem", "rosenbrok"], "did you mean rosenbrock?"),
])
def test_a_misspelt_name_gets_did_you_mean(args, suggestion):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and suggestion in result.output and "Traceback" not in result.output


def test_names_take_hyphens_or_underscores():
    assert runner.invoke(app, ["bench", "finite_diff", "--help"]).exit_code == 0
    assert runner.invoke(app, ["bench", "from_jax", "--help"]).exit_code == 0
    from diffcompare.experiments import get
    from diffcompare.problems import get as problem

    assert get("fd-step") is get("fd_step") and get("cost-vs-n").NAME == "cost_vs_n"
    assert problem("exp-over-square") is problem("exp_over_square")


def test_a_bad_benchmark_option_is_one_line():
    result = runner.invoke(app, ["bench", "finite-diff", "--sizes", "10,x"])
    assert result.exit_code == 2 and "error: --sizes" in result.output and len(result.output.splitlines()) == 1


def test_course_commands_come_under_the_one_cli():
    listing = runner.invoke(app, ["course", "--help"])
    assert listing.exit_code == 0
    for name in ("generate", "grade", "grade-class"):
        assert name in listing.output
        assert runner.invoke(app, ["course", name, "--help"]).exit_code == 0
    assert "--autograder" in runner.invoke(app, ["course", "grade", "--help"]).output


# ---------------------------------------------------------------- honest labels and empty columns


def test_overhead_notes_explain_every_missing_column():
    from diffcompare.benchmarks.overhead import notes

    rows = [{"problem": "p", "method": "jax eager"}, {"problem": "q", "method": "jax eager"},
            {"problem": "p", "method": "torch eager"}]
    plain = " ".join(notes(rows, profile=False))
    assert "diffcompare[compare]" in plain and "HIPS autograd" in plain and "--profile" in plain
    rows.append({"problem": "p", "method": "autograd"})
    with_all = " ".join(notes(rows, profile=True))
    assert "no like-for-like" in with_all and "in JAX" in with_all and "compare]" not in with_all


def test_the_compare_extra_names_torch_and_autograd():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    compare = project["optional-dependencies"]["compare"]
    assert any(r.startswith("torch") for r in compare) and any(r.startswith("autograd") for r in compare)
    assert {"Homepage", "Repository", "Issues"} <= set(project["urls"]) and project["authors"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"] and project["classifiers"]
    assert (Path(__file__).resolve().parents[1] / "diffcompare" / "py.typed").exists()


# ---------------------------------------------------------------- small fixes


def test_finite_difference_and_symbolic_options_are_in_the_signatures():
    import inspect

    from diffcompare import finite_diff, symbolic

    for fn, options in ((finite_diff.grad, {"scheme", "step"}), (symbolic.grad, {"simplify", "jit", "expand"})):
        params = inspect.signature(fn).parameters
        assert options <= set(params)
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert inspect.signature(finite_diff.grad).parameters["scheme"].default == "central"


@pytest.mark.slow
def test_one_precision_warning_per_check():
    import warnings

    import numpy as np

    import diffcompare
    import diffcompare.numpy as dnp
    from diffcompare.errors import PrecisionWarning

    diffcompare.enable_x64(False)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            diffcompare.check(lambda x: dnp.sum(dnp.sin(x)), np.arange(1.0, 4.0), projections=1)
    finally:
        diffcompare.enable_x64()
    precision = [w for w in caught if issubclass(w.category, PrecisionWarning)]
    assert len(precision) == 1 and "enable_x64" in str(precision[0].message)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_result_files_respect_the_umask(tmp_path, umask, mode):
    import os
    import stat

    from diffcompare.experiments.files import atomic_write

    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "data.csv", "a\n1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "data.csv").stat().st_mode) == mode


def test_the_timing_module_is_public_and_documented():
    import diffcompare
    from diffcompare import timing

    assert diffcompare.timing is timing and "best_times" in timing.__doc__
    for fn in (timing.best_times, timing.best_time, timing.timed):
        assert "Example" in fn.__doc__
    seconds = timing.best_times({"a": lambda: 1.0, "b": lambda: 2.0}, rounds=2)
    assert set(seconds) == {"a", "b"} and all(s >= 0 for s in seconds.values())


def test_dtype_names_and_unknown_names_have_one_home():
    import numpy as np

    import diffcompare
    from diffcompare.errors import DTYPES, InvalidOptionError, dtype_name, unknown_name

    assert DTYPES == ("float64", "float32")
    assert dtype_name(np.float32) == "float32" and dtype_name("float64") == "float64"
    for bad in ("float16", np.int32, "f8x"):
        with pytest.raises(InvalidOptionError, match="choose float64 or float32"):
            dtype_name(bad, "--dtype")
    with pytest.raises(InvalidOptionError, match="check: dtype"):
        diffcompare.check(lambda x: x**2, 1.0, dtype="float16")
    assert "did you mean" not in str(unknown_name("experiment", "zzz", ["fd_step", "swell"]))
    assert "did you mean fd-step?" in str(unknown_name("benchmark", "fd_stp", ["fd-step", "swell"]))


def test_check_shows_jax_eager_and_jitted_and_says_when_jit_cannot_compile():
    import jax.numpy as jnp

    import diffcompare
    import diffcompare.numpy as dnp

    def branchy(x):
        return dnp.sum(x**2) if dnp.sum(x) > 0 else dnp.sum(x**3)  # a Python branch on a value: no jax.jit

    report = diffcompare.check(branchy, jnp.arange(1.0, 4.0), methods=["reverse"], projections=0)
    jit_row = next(r for r in report.rows if r.method == "jax.jit")
    assert report.passed and jit_row.status == "reference" and jit_row.seconds is None
    assert "cannot be compiled with jax.jit" in jit_row.message and "jax.jit" in str(report)
    smooth = diffcompare.check(lambda x: dnp.sum(x**2), jnp.arange(1.0, 4.0), methods=["reverse"], projections=0)
    row = next(r for r in smooth.rows if r.method == "jax.jit")
    assert row.seconds is not None and row.relative_error < 1e-15 and "jax (eager)" in str(smooth)
