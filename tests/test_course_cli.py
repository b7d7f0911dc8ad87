"""The teacher's commands: one typer app, reproducible generation, a one-line refusal without a sandbox,
the report's folder created, ``--no-sandbox`` said loudly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("otter")
pytest.importorskip("jupytext")

from diffcompare.course import generate  # noqa: E402
from diffcompare.course.cli import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
A3 = ROOT / "notebooks" / "assignments" / "a3_fd_steps.py"


def _course(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "diffcompare.course", *map(str, args)], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_the_teacher_commands_are_one_typer_app():
    import typer.main

    names = {c.name for c in typer.main.get_command(app).commands.values()}
    assert names == {"generate", "grade", "grade-class"}
    assert "--no-sandbox" in _course("grade-class", "--help").stdout


def test_generate_twice_gives_the_same_bytes(tmp_path):
    first, second = generate(A3, tmp_path / "1"), generate(A3, tmp_path / "2")
    for kind in first:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind


@pytest.mark.slow
def test_without_a_sandbox_grade_refuses_in_one_line(tmp_path):
    out = _course("grade", tmp_path / "x.ipynb", "--autograder", tmp_path, env={"DIFFCOMPARE_BWRAP": ""})
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "apt-get install bubblewrap" in lines[0] and "--no-sandbox" in lines[0]


@pytest.mark.slow
def test_report_folder_is_created_and_no_sandbox_is_said_loudly(tmp_path):
    built = generate(A3, tmp_path / "build")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not a notebook")
    report = tmp_path / "missing" / "dir" / "r.json"
    out = _course("grade", broken, "--autograder", built["autograder"], "--report", report, "--no-sandbox")
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["score"] == 0 and data["sandboxed"] is False and "NOT SANDBOXED" in data["warning"]
    markdown = report.with_suffix(".md").read_text()
    assert markdown.count("NOT SANDBOXED") == 2 and "never started" in data["process"]
