"""Grade a submitted notebook against an assignment's hidden tests; write a score report."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from .assign import Assignment, load_master


@dataclasses.dataclass
class GradeReport:
    """Points per test and per task. ``score``/``total``; ``to_markdown()``; ``to_json()``."""

    assignment: str
    submission: str
    results: list[dict]
    cell_errors: list[dict]

    @property
    def score(self) -> float:
        return sum(r["earned"] for r in self.results)

    @property
    def total(self) -> float:
        return sum(r["points"] for r in self.results)

    def by_task(self) -> dict[str, tuple[float, float]]:
        tasks: dict[str, list[float]] = {}
        for r in self.results:
            t = tasks.setdefault(r["task"], [0.0, 0.0])
            t[0] += r["earned"]
            t[1] += r["points"]
        return {k: (v[0], v[1]) for k, v in tasks.items()}

    def to_json(self) -> dict:
        return {"assignment": self.assignment, "submission": self.submission, "score": self.score,
                "total": self.total, "tasks": {k: {"earned": e, "points": p} for k, (e, p) in self.by_task().items()},
                "tests": self.results, "cell_errors": self.cell_errors}

    def to_markdown(self) -> str:
        lines = [f"# Score report: {self.assignment}", "", f"Submission: `{self.submission}`", "",
                 f"**Score: {self.score:g} / {self.total:g}**", "", "| task | earned | points |", "| --- | --- | --- |"]
        lines += [f"| {k} | {e:g} | {p:g} |" for k, (e, p) in self.by_task().items()]
        lines += ["", "| test | result | message |", "| --- | --- | --- |"]
        for r in self.results:
            msg = (r["message"] or "").replace("|", "\\|").replace("\n", " ")[:200]
            lines.append(f"| {r['name']} | {'pass' if r['passed'] else 'FAIL'} | {msg} |")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def _load_tests(tests) -> tuple[str, list[dict]]:
    if isinstance(tests, Assignment):
        return tests.name, [dataclasses.asdict(t) for t in tests.tests]
    path = Path(tests)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        return data["assignment"], data["tests"]
    a = load_master(path)  # a master: its hidden tests
    return a.name, [dataclasses.asdict(t) for t in a.tests]


def grade(submission, tests, report=None, timeout: float = 600) -> GradeReport:
    """Run ``submission`` (an ``.ipynb``) and the hidden ``tests`` (autograder JSON or the master) in a fresh process.

    Arguments:
        submission: the student's notebook.
        tests: ``NAME.tests.json`` written by :func:`diffcompare.course.generate`, or the master itself.
        report: where to write the JSON report (a Markdown twin is written next to it), or None.
    """
    name, test_list = _load_tests(tests)
    nb = nbformat.read(str(submission), as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    payload = json.dumps({"cells": cells, "tests": test_list})
    # the grading process imports the same diffcompare as this one, whatever its working directory
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=path)
    cwd = Path(submission).resolve().parent
    try:
        proc = subprocess.run([sys.executable, "-m", "diffcompare.course._runner"], input=payload, text=True,
                              capture_output=True, timeout=timeout, env=env, cwd=cwd)
        marker = "@@DIFFCOMPARE-RESULTS@@"
        out = proc.stdout.rsplit(marker, 1)
        if len(out) != 2:
            raise RuntimeError(f"the grading process died (exit {proc.returncode}): {proc.stderr[-2000:]}")
        data = json.loads(out[1])
    except (subprocess.TimeoutExpired, RuntimeError) as err:
        data = {"tests": [{"passed": False, "message": f"grader: {err}"} for _ in test_list], "cell_errors": []}
    results = []
    for t, r in zip(test_list, data["tests"]):
        results.append({"name": t["name"], "task": t["task"], "points": t["points"], "passed": r["passed"],
                        "earned": t["points"] if r["passed"] else 0.0, "message": r["message"]})
    rep = GradeReport(name, str(submission), results, data["cell_errors"])
    if report is not None:
        report = Path(report)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(rep.to_json(), indent=1))
        report.with_suffix(".md").write_text(rep.to_markdown())
    return rep
