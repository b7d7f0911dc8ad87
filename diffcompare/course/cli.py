# ruff: noqa: B008 - typer reads its options from the defaults
"""The teacher's three commands as one typer application: ``generate``, ``grade``, ``grade-class``.

``python -m diffcompare.course ...`` runs it; the project's ``diffcompare`` command mounts it as
``diffcompare course ...``.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Course assignments: generate them with otter, grade submissions in a sandbox.",
                  no_args_is_help=True, add_completion=False)

_AUTOGRADER = typer.Option(..., "--autograder", help="NAME-autograder.zip (or the folder holding it)")
_NO_SANDBOX = typer.Option(False, "--no-sandbox", help="run the notebook unconfined: only for your own solutions "
                           "(every report says so)")


@app.command()
def generate(masters: list[Path] = typer.Argument(..., help="master assignments (.py percent format or .ipynb)"),
             out: Path = typer.Option(Path("build"), "--out", help="output folder")) -> None:
    """Write the student and instructor notebooks and the autograder (otter), the same bytes on every run."""
    from .assign import generate as generate_one

    for master in masters:
        for kind, path in generate_one(master, out).items():
            typer.echo(f"{kind:10s} {path}")


def _refuse_without_sandbox(no_sandbox: bool) -> None:
    from . import _sandbox

    if not no_sandbox and not _sandbox.available():
        typer.echo(f"refusing to grade: {_sandbox.problem()}", err=True)
        raise typer.Exit(2)


@app.command()
def grade(submission: Path = typer.Argument(..., help="the submitted .ipynb"),
          autograder: Path = _AUTOGRADER,
          report: Path | None = typer.Option(None, "--report", help="JSON report (default: SUBMISSION.report.json)"),
          timeout: float = typer.Option(600, "--timeout", help="seconds for the whole submission"),
          no_sandbox: bool = _NO_SANDBOX) -> None:
    """Grade one submitted notebook into a JSON and a Markdown report and a log."""
    from .grade import NO_SANDBOX_WARNING
    from .grade import grade as grade_one

    _refuse_without_sandbox(no_sandbox)
    if no_sandbox:
        typer.echo(NO_SANDBOX_WARNING, err=True)
    report = report or Path(str(submission).removesuffix(".ipynb") + ".report.json")
    rep = grade_one(submission, autograder, report=report, timeout=timeout, sandbox=not no_sandbox)
    typer.echo(rep.to_markdown())
    typer.echo(f"report: {report} (and {report.with_suffix('.md')}, log {report.with_suffix('.log')})")


@app.command("grade-class")
def grade_class(folder: Path = typer.Argument(..., help="folder of STUDENT.ipynb (or STUDENT/NOTEBOOK.ipynb)"),
                autograder: Path = _AUTOGRADER,
                out: Path = typer.Option(Path("grades"), "--out", help="folder for gradebook.csv and the reports"),
                timeout: float = typer.Option(600, "--timeout", help="seconds per submission"),
                jobs: int | None = typer.Option(None, "--jobs", help="submissions graded at once (default: cores)"),
                no_sandbox: bool = _NO_SANDBOX) -> None:
    """Grade a folder of submissions, each in its own sandbox, into gradebook.csv and one report each."""
    from .grade import NO_SANDBOX_WARNING
    from .gradebook import grade_class as grade_all

    _refuse_without_sandbox(no_sandbox)
    if no_sandbox:
        typer.echo(NO_SANDBOX_WARNING, err=True)
    path = grade_all(folder, autograder, out, timeout=timeout, jobs=jobs, sandbox=not no_sandbox)
    typer.echo(path.read_text())
    typer.echo(f"gradebook: {path}")
