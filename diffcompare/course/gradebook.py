"""Grade a folder of submissions into a gradebook: one row per student, one column per task, the total.

Each submission is graded from its own copy in its own sandbox (see :mod:`diffcompare.course.grade`),
at most ``jobs`` at a time (default: the number of cores); one that hangs is killed at its
``timeout`` with everything it started, and one that crashes scores 0 for what was not graded,
without holding up the others. The sandbox sees neither the submissions folder nor the output
folder, so one student's notebook can change no other student's grade or files; the reports,
logs and the gradebook are written by the grader alone, after each sandbox is gone.
"""

from __future__ import annotations

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .grade import grade, load_autograder


def find_submissions(folder) -> dict[str, Path]:
    """``{student: notebook}``: ``folder/alice.ipynb``, or the one notebook in ``folder/alice/``."""
    folder = Path(folder)
    found = {p.stem: p for p in sorted(folder.glob("*.ipynb"))}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        notebooks = sorted(sub.glob("*.ipynb"))
        if len(notebooks) == 1:
            found.setdefault(sub.name, notebooks[0])
    return found


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (a student's name comes from a file name)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def grade_class(folder, autograder, out, *, timeout: float = 600, jobs: int | None = None,
                sandbox: bool = True) -> Path:
    """Grade every submission in ``folder``; write ``out/gradebook.csv`` and ``out/STUDENT.{json,md,log}``.

    Returns the gradebook's path.
    """
    from . import _sandbox

    if sandbox and not _sandbox.available():
        raise _sandbox.NoSandbox(_sandbox.problem())
    ag = load_autograder(autograder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    submissions = find_submissions(folder)
    jobs = max(1, jobs or os.cpu_count() or 1)

    def one(item):
        student, path = item
        try:
            return student, grade(path, ag, report=out / f"{student}.json", timeout=timeout, sandbox=sandbox)
        except Exception as err:  # noqa: BLE001 - a grader failure costs one row its points, not the class
            (out / f"{student}.md").write_text(f"# {ag.assignment}: not graded\n\n{type(err).__name__}: {err}\n")
            return student, None

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = dict(pool.map(one, submissions.items()))
    labels = [q.label for q in ag.questions]
    path = out / "gradebook.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *labels, "total", "out_of", "process", "report"])
        for student in sorted(results):
            rep = results[student]
            if rep is None:
                writer.writerow([_cell(student), *[0 for _ in labels], 0, ag.autograded_total, "not graded", ""])
                continue
            tasks = rep.by_task()
            cells = ["" if tasks[label][0] is None else f"{tasks[label][0]:g}" for label in labels]
            writer.writerow([_cell(student), *cells, f"{rep.score:g}", f"{rep.total:g}", _cell(rep.process),
                             f"{student}.md"])
    return path
