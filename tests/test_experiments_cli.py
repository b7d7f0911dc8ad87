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


@pytest.mark.slow
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
    (("check", ":exp", "--at", "1.0"), "MODULE:FUNCTION"),
    (("check", "math:", "--at", "1.0"), "MODULE:FUNCTION"),
    (("check", "math:exp", "--at", "1e999"), "finite"),
    (("check", "math:exp", "--at", "[]"), "empty"),
    (("check", "math:exp", "--at", "True"), "not a number"),
    (("check", "math:exp", "--at", "[" * 5000 + "]" * 5000), "not a number"),
    (("check", "math:exp", "--at", "[1, 2]", "--argnums", "0,0"), "at most once"),
    (("check", "math:exp", "--at", "1.0", "--seed", "-1"), "non-negative"),
    (("demo", "--seed", "-1"), "non-negative"),
    (("run", "swell", "--seed", "-1"), "non-negative"),
    (("run", "swell", "--out", "/proc/no/such"), "cannot write results there"),
])
def test_bad_input_is_one_line_and_non_zero(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3


def _one_line_exit_2(result, message):
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 2


def test_out_is_an_existing_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    _one_line_exit_2(invoke("run", "swell", "--scale", "tiny", "--out", str(tmp_path / "afile")), "not a folder")
    _one_line_exit_2(invoke("run", "swell", "--scale", "tiny", "--out", str(tmp_path / "afile" / "sub")),
                     "cannot write results there")


def test_out_is_read_only(tmp_path, monkeypatch):
    from diffcompare.experiments import runner

    def refuse(path, data):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(runner, "atomic_write", refuse)  # what a read-only folder does, even for root
    _one_line_exit_2(invoke("run", "swell", "--scale", "tiny", "--out", str(tmp_path)), "Permission denied")


def test_out_failing_half_way_is_one_line(tmp_path, monkeypatch):
    from diffcompare.experiments import runner

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "run_experiment", full)
    _one_line_exit_2(invoke("run", "swell", "--scale", "tiny", "--out", str(tmp_path)), "No space left")


@pytest.mark.slow
def test_damaged_state_is_a_one_line_warning_and_the_run_finishes(tmp_path):
    assert invoke("run", "swell", "--scale", "tiny", "--out", str(tmp_path), "--no-progress").exit_code == 0
    (tmp_path / "swell" / "meta.json").write_bytes(b"\x00garbage")
    result = invoke("run", "swell", "--scale", "tiny", "--out", str(tmp_path), "--resume", "--no-progress")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "meta.json is unreadable" in warned[0] and "Traceback" not in result.output
    assert json.loads((tmp_path / "swell" / "meta.json").read_text())["rows"] > 0


@pytest.mark.skipif(gpu_available(), reason="there is a GPU here")
def test_device_gpu_without_gpu():
    result = invoke("run", "swell", "--device", "gpu")
    assert result.exit_code == 2 and "no GPU" in result.output and "Traceback" not in result.output


@pytest.mark.slow
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
