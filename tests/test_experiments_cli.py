"""The experiment commands through typer's test runner: list, run, check, info, and bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from diffcompare.cli import app
from diffcompare.experiments import REGISTRY
from diffcompare.experiments.runner import gpu_available

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_names_every_experiment():
    result = invoke("list")
    assert result.exit_code == 0
    for name in REGISTRY:
        assert name in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == len(REGISTRY)


def test_run_writes_results_and_index(tmp_path):
    result = invoke("run", "memory", "--scale", "tiny", "--no-progress", "--out", str(tmp_path), "--seed", "3")
    assert result.exit_code == 0, result.output
    for name in ("memory",):
        meta = json.loads((tmp_path / name / "meta.json").read_text())
        assert meta["config"]["seed"] == 3 and meta["config"]["scale"] == "tiny"
        assert (tmp_path / name / ".complete").exists()
    index = (tmp_path / "README.md").read_text()
    assert "memory" in index and "fd_step" not in index
    again = invoke("run", "memory", "--scale", "tiny", "--no-progress", "--out", str(tmp_path), "--seed", "3",
                   "--resume")
    assert again.exit_code == 0 and "already complete" in again.output


@pytest.mark.parametrize("args, message", [
    (("run", "nope"), "unknown experiment 'nope'"),
    (("run", "swell", "--dtype", "float16"), "unknown dtype"),
    (("run", "swell", "--device", "tpu"), "unknown device"),
    (("check", "no_such_module_xyz:f", "--at", "1.0"), "cannot import"),
    (("check", "math", "--at", "1.0"), "MODULE:FUNCTION"),
    (("check", "math:nothing_here", "--at", "1.0"), "no function"),
    (("check", "math:exp", "--at", "one"), "not a number"),
])
def test_bad_input_is_one_line_and_non_zero(args, message):
    result = invoke(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3


@pytest.mark.skipif(gpu_available(), reason="there is a GPU here")
def test_device_gpu_without_gpu():
    result = invoke("run", "swell", "--device", "gpu")
    assert result.exit_code == 2 and "no GPU" in result.output and "Traceback" not in result.output


def test_check_user_function(tmp_path, monkeypatch):
    (tmp_path / "userfun.py").write_text(
        "import diffcompare.numpy as dnp\n\n"
        "def f(x):\n    return dnp.sum(dnp.exp(x) / x**2)\n\n"
        "def g(x, y):\n    return x * dnp.sin(y)\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "userfun:f", "--at", "[1.5, 2.0]")
    assert result.exit_code == 0, result.output
    for name in ("finite_diff", "forward", "reverse"):
        assert name in result.output
    by_path = invoke("check", str(tmp_path / "userfun.py") + ":g", "--at", "0.5", "--at", "1.0", "--argnums", "0,1")
    assert by_path.exit_code == 0, by_path.output


def test_check_reports_a_failing_method_with_exit_1(tmp_path, monkeypatch):
    # a function whose argument is not floating point cannot be checked: a one-line error, not a traceback
    (tmp_path / "bad.py").write_text("def f(x):\n    raise ValueError('boom')\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "bad:f", "--at", "1.0")
    assert result.exit_code != 0 and "boom" in result.output and "Traceback" not in result.output


def test_info_says_float64_and_gpu():
    result = invoke("info")
    assert result.exit_code == 0
    assert "float64: on" in result.output and "GPU:" in result.output


def test_help_lists_the_commands():
    result = invoke("--help")
    for command in ("run", "list", "check", "info", "demo"):
        assert command in result.output
