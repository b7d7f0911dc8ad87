"""Every assignment generates its versions; the instructor version gets full marks, the student version
zero (without crashing the grader), a half-done submission partial marks; the command line works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("jupytext")

from diffcompare.course import assign, generate, grade, load_master  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MASTERS = sorted((ROOT / "notebooks" / "assignments").glob("a[0-9]_*.py"))


def test_at_least_three_assignments_with_points_per_task():
    assert len(MASTERS) >= 3
    for master in MASTERS:
        a = load_master(master)
        assert len(a.tasks()) >= 3 and a.total > 0
        assert all(t.points > 0 for t in a.tests)
    assert any("diffcompare.check" in t.code for m in MASTERS for t in load_master(m).tests)


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_student_version_has_no_solutions_or_hidden_tests(master, tmp_path):
    paths = generate(master, tmp_path)
    student = paths["student"].read_text()
    instructor = paths["instructor"].read_text()
    assert "BEGIN SOLUTION" not in student and "HIDDEN TEST" not in student
    assert 'NotImplementedError(\\"Task ' in student
    assert "HIDDEN TEST" in instructor
    tests = json.loads(paths["autograder"].read_text())
    assert tests["total"] == load_master(master).total
    for p in (paths["student"], paths["instructor"]):
        nb = nbformat.read(p, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def _half_done(master, out: Path) -> tuple[Path, set[str]]:
    """The instructor version with the solutions of every task but the first replaced by stubs."""
    a = load_master(master)
    keep = a.tasks()[0]
    nb = assign._version(a, student=True)  # hidden tests removed
    full = assign._version(a, student=False)
    full_code = [c for c in full.cells if not (c.cell_type == "code" and assign._HIDDEN.match(c.source.lstrip()))]
    task = None
    for cell, original in zip(nb.cells, full_code):
        if cell.cell_type == "markdown":
            m = assign._TASK.search(cell.source)
            task = m.group(1) if m else task
        elif task == keep:
            cell.source = original.source  # this task's solution stays
    nbformat.write(nb, out)
    return out, {keep}


@pytest.mark.slow
@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.stem)
def test_grading(master, tmp_path):
    paths = generate(master, tmp_path / "build")
    total = load_master(master).total

    full = grade(paths["instructor"], paths["autograder"], report=tmp_path / "instructor.json")
    assert full.score == full.total == total, full.to_markdown()
    assert json.loads((tmp_path / "instructor.json").read_text())["score"] == total
    assert (tmp_path / "instructor.md").read_text().startswith("# Score report")

    zero = grade(paths["student"], paths["autograder"], report=tmp_path / "student.json")
    assert zero.score == 0 and zero.total == total, zero.to_markdown()
    assert all("NotImplementedError" in r["message"] or "Error" in r["message"] for r in zero.results)

    half_path, kept = _half_done(master, tmp_path / "half.ipynb")
    half = grade(half_path, paths["autograder"])
    expected = sum(p for t, (_, p) in half.by_task().items() if t in kept)
    assert 0 < half.score < total and half.score == expected, half.to_markdown()


@pytest.mark.slow
def test_command_line_and_a_crashing_submission(tmp_path):
    master = MASTERS[0]
    run = [sys.executable, "-m", "diffcompare.course"]
    env_cwd = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 300}
    out = subprocess.run(run + ["generate", str(master), "--out", str(tmp_path)], **env_cwd)
    assert out.returncode == 0, out.stderr
    tests = tmp_path / "autograder" / f"{master.stem}.tests.json"
    # a submission that exits, loops on a syntax error and never defines anything: graded 0, report written
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\nsys.exit(3)"), nbformat.v4.new_code_cell("def broken(:\n")]
    bad = tmp_path / "bad.ipynb"
    nbformat.write(nb, bad)
    out = subprocess.run(run + ["grade", str(bad), "--tests", str(tests), "--report", str(tmp_path / "r.json")],
                         **env_cwd)
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["score"] == 0 and report["total"] == load_master(master).total
    assert len(report["cell_errors"]) == 2
