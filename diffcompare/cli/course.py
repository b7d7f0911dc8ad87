"""``diffcompare course generate|grade|grade-class``: the teacher's commands under the one CLI.

The course package brings its own typer app (``diffcompare.course.cli.app``)
where it has one; otherwise this module offers the same three commands over the
course package's functions (``python -m diffcompare.course`` stays an alias).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

fallback = typer.Typer(no_args_is_help=True, help="The teacher's commands: generate, grade, grade-class.")
_AUTOGRADER = "NAME-autograder.zip (or the folder holding it)"

@fallback.command()
def generate(
    masters: Annotated[list[Path], typer.Argument(help="master assignments (.py percent format or .ipynb)")],
    out: Annotated[Path, typer.Option(help="output folder")] = Path("build"),
) -> None:
    """Write the student and instructor notebooks and the autograder (otter)."""
    from ..course.assign import generate as generate_one

    for master in masters:
        for kind, path in generate_one(str(master), str(out)).items():
            print(f"{kind:10s} {path}")

@fallback.command()
def grade(
    submission: Annotated[Path, typer.Argument(help="the submitted .ipynb")],
    autograder: Annotated[Path, typer.Option(help=_AUTOGRADER)],
    report: Annotated[Path | None, typer.Option(help="JSON report path (default: SUBMISSION.report.json)")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="seconds for the whole submission")] = 600,
) -> None:
    """Grade one submitted notebook into a JSON and Markdown report and a log."""
    from ..course.grade import grade as grade_one

    report = report or Path(str(submission).removesuffix(".ipynb") + ".report.json")
    rep = grade_one(str(submission), str(autograder), report=str(report), timeout=timeout)
    print(rep.to_markdown())
    print(f"report: {report} (and {report.with_suffix('.md')}, log {report.with_suffix('.log')})")

@fallback.command("grade-class")
def grade_class(
    folder: Annotated[Path, typer.Argument(help="folder of STUDENT.ipynb (or STUDENT/NOTEBOOK.ipynb)")],
    autograder: Annotated[Path, typer.Option(help=_AUTOGRADER)],
    out: Annotated[Path, typer.Option(help="folder for gradebook.csv and each student's report and log")] = Path(
        "grades"),
    timeout: Annotated[float, typer.Option(min=1, help="seconds per submission")] = 600,
    jobs: Annotated[int | None, typer.Option(min=1, help="submissions graded at once (default: cores)")] = None,
) -> None:
    """Grade a folder of submissions into gradebook.csv and reports."""
    from ..course.gradebook import grade_class as grade_all

    path = grade_all(str(folder), str(autograder), str(out), timeout=timeout, jobs=jobs)
    print(path.read_text())
    print(f"gradebook: {path}")


if importlib.util.find_spec("diffcompare.course.cli") is not None:
    from ..course.cli import app
else:
    app = fallback
