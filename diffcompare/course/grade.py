"""Grade one submission against an otter autograder, with the score computed where the student's code cannot reach.

otter's own ``otter run`` executes the hidden tests inside the student's kernel, in the
notebook's global namespace, and reads the score back from a pickle that kernel writes;
student code can rewrite all of that. Here instead:

1. a fresh process (``_kernel``) runs the notebook's cells; its output goes to the
   student's log, never to the grader's decisions;
2. the grader loads otter's test files itself and calls each test function with
   stand-ins for the notebook's functions (``StudentFunction``): a call runs the
   function in the student's process and brings back plain data (JSON); references,
   random numbers, ``diffcompare.check`` and every comparison run in the grader,
   imported afresh;
3. a process that dies, exits or runs out of time leaves every test not yet graded at 0;
   the process group is killed before the report is written.

The grader turns JAX's float64 on (process-wide), as the course's notebooks do.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from ._student import KernelGone, StudentFunction, StudentProcess
from .shortcuts import scan_for_tampering
from .testing import ShortcutUsed, StudentError

_OTTER_CELL = re.compile(r"^\s*(# Initialize Otter|grader\.check(_all)?\(|grader\.export\()")


@dataclasses.dataclass
class Question:
    name: str
    label: str
    points: float
    manual: bool = False
    tests: str = ""  # the otter test file's source (autograded questions)


@dataclasses.dataclass
class Autograder:
    assignment: str
    questions: list[Question]

    @property
    def autograded_total(self) -> float:
        return sum(q.points for q in self.questions if not q.manual)


def load_autograder(path) -> Autograder:
    """An autograder written by :func:`diffcompare.course.generate`: ``NAME-autograder.zip`` (or its folder)."""
    path = Path(path)
    if path.is_dir():
        zips = sorted(path.glob("*-autograder.zip"))
        if len(zips) != 1:
            raise FileNotFoundError(f"{path}: expected one *-autograder.zip, found {len(zips)}")
        path = zips[0]
    manifest = json.loads(path.with_name(path.name.replace("-autograder.zip", ".tasks.json")).read_text())
    with zipfile.ZipFile(path) as zf:
        sources = {Path(n).stem: zf.read(n).decode() for n in zf.namelist() if n.startswith("tests/")}
    questions = [Question(q["name"], q["label"], float(q["points"]), q["manual"], sources.get(q["name"], ""))
                 for q in manifest["questions"]]
    return Autograder(manifest["assignment"], questions)


@dataclasses.dataclass
class GradeReport:
    """Points per test and per task; ``to_json()``, ``to_markdown()`` (what a student reads)."""

    assignment: str
    submission: str
    questions: list[Question]
    tests: list[dict]
    cell_errors: list[dict]
    process: str  # how the notebook's process ended

    @property
    def score(self) -> float:
        return sum(t["earned"] for t in self.tests)

    @property
    def total(self) -> float:
        return sum(q.points for q in self.questions if not q.manual)

    def by_task(self) -> dict[str, tuple[float | None, float]]:
        """``{label: (earned, points)}``; earned is None for a manually graded task."""
        out = {}
        for q in self.questions:
            earned = None if q.manual else sum(t["earned"] for t in self.tests if t["question"] == q.name)
            out[q.label] = (earned, q.points)
        return out

    def to_json(self) -> dict:
        return {"assignment": self.assignment, "submission": self.submission, "score": self.score,
                "total": self.total, "process": self.process,
                "tasks": {k: {"earned": e, "points": p, "manual": e is None} for k, (e, p) in self.by_task().items()},
                "tests": self.tests, "cell_errors": self.cell_errors}

    def to_markdown(self) -> str:
        manual = sum(q.points for q in self.questions if q.manual)
        lines = [f"# {self.assignment}: score report", "", f"Submission: `{Path(self.submission).name}`", "",
                 f"**Score: {self.score:g} / {self.total:g}** (autograded)"]
        if manual:
            lines[-1] += f"; {manual:g} more points for written answers, graded by hand"
        lines += ["", "| task | earned | points |", "| --- | --- | --- |"]
        lines += [f"| {k} | {'by hand' if e is None else f'{e:g}'} | {p:g} |" for k, (e, p) in self.by_task().items()]
        failed = [t for t in self.tests if not t["passed"]]
        if failed:
            lines += ["", "## What to fix", ""]
            for t in failed:
                kind = "hidden test" if t["hidden"] else "public test"
                lines += [f"### {t['task']}: {kind} `{t['name']}` ({t['points']:g} points)", "", "```text",
                          t["message"].rstrip(), "```", ""]
        if self.cell_errors:
            lines += ["", "## Cells that raised", "",
                      "Cell numbers count every cell of the notebook, markdown included, from 1.", ""]
            for c in self.cell_errors:
                lines += [f"### Notebook cell {c['cell']}: {c['error']}", "", "```text",
                          c.get("traceback", "").rstrip(), "```", ""]
        lines += ["", f"The notebook's process: {self.process}."]
        return "\n".join(lines).rstrip() + "\n"

    def __str__(self) -> str:
        return self.to_markdown()

    def write(self, report) -> None:
        report = Path(report)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(self.to_json(), indent=1))
        report.with_suffix(".md").write_text(self.to_markdown())


def _test_cases(question: Question) -> list:
    from otter.test_files import test_case  # the autograder's test files are otter's exception-based format

    namespace: dict = {"__name__": f"otter_tests_{question.name}"}
    exec(compile(question.tests, f"<tests of {question.label}>", "exec"), namespace)
    return [v for v in namespace.values() if isinstance(v, test_case)]


def _run_case(case, process: StudentProcess, question: Question, tampering: list[str]) -> tuple[bool, str]:
    params = inspect.signature(case.test_func).parameters
    stand_ins = {name: StudentFunction(process, name) for name in params}
    process.guarded = False
    try:
        case.test_func(**stand_ins)
    except ShortcutUsed as err:
        return False, (f"{question.label} uses {err.used} (in `{err.function}`), which this task asks you to "
                       "write yourself.")
    except (AssertionError, StudentError) as err:
        return False, str(err) or f"{type(err).__name__} (the test's assertion failed)"
    except KernelGone:
        raise
    except Exception as err:  # noqa: BLE001 - a value of the wrong kind makes the test's own code raise
        return False, f"the test could not use what your code returned: {type(err).__name__}: {err}"
    if tampering and process.guarded:
        return False, (f"{question.label} must be written by hand, and the notebook switches off the check for "
                       f"that (it contains {', '.join(tampering)}).")
    return True, ""


def grade(submission, autograder, report=None, log=None, timeout: float = 600) -> GradeReport:
    """Grade ``submission`` (an ``.ipynb``) with ``autograder`` (``NAME-autograder.zip`` or its folder).

    Arguments:
        report: where to write the JSON report (a Markdown twin goes next to it), or None.
        log: where the notebook's own output goes (default: next to the report, ``.log``).
        timeout: seconds for the whole submission (cells and tests); what is not graded by then scores 0.
    """
    import nbformat

    import diffcompare

    diffcompare.enable_x64()  # the course computes in float64, as every notebook's first cell does
    ag = autograder if isinstance(autograder, Autograder) else load_autograder(autograder)
    tests, cell_errors = [], []
    try:
        nb = nbformat.read(str(submission), as_version=4)
        cells = [(i + 1, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        process_note = "ran every cell and every test"
    except Exception as err:  # noqa: BLE001 - a corrupt file is graded 0, not a crash of the whole class
        cells, process_note = None, f"never started: the notebook could not be read ({type(err).__name__}: {err})"
    if log is None and report is not None:
        log = Path(report).with_suffix(".log")
    workdir = Path(tempfile.mkdtemp(prefix="diffcompare-grade-"))
    log_file = open(log, "w") if log is not None else open(workdir / "notebook.log", "w")  # noqa: SIM115
    process = None
    gone: str | None = None if cells is not None else process_note
    try:
        if cells is not None:
            process = StudentProcess(workdir, log_file, deadline=time.monotonic() + timeout)
            for number, source in cells:
                if _OTTER_CELL.match(source):
                    continue  # otter's own cells: public checks, no points
                try:
                    reply = process.request({"op": "cell", "source": source})
                except KernelGone as err:
                    gone = f"{err.reason} (while running notebook cell {number})"
                    break
                if "error" in reply:
                    cell_errors.append({"cell": number, "error": str(reply["error"]),
                                        "traceback": str(reply.get("traceback", ""))})
        tampering = scan_for_tampering([s for _, s in cells or []])
        for q in ag.questions:
            if q.manual:
                continue
            for case in _test_cases(q):
                points = float(case.points or 0)
                entry = {"question": q.name, "task": q.label, "name": case.name or case.test_func.__name__,
                         "hidden": bool(case.hidden), "points": points}
                if gone is None:
                    try:
                        passed, message = _run_case(case, process, q, tampering)
                    except KernelGone as err:
                        gone = f"{err.reason} (during {q.label}'s test `{entry['name']}`)"
                if gone is not None:
                    passed, message = False, f"not graded: {gone}"
                tests.append({**entry, "passed": passed, "earned": points if passed else 0.0, "message": message})
    finally:
        if process is not None:
            process.stop()
        log_file.close()
        shutil.rmtree(workdir, ignore_errors=True)
    rep = GradeReport(ag.assignment, str(submission), ag.questions, tests, cell_errors, gone or process_note)
    if report is not None:
        rep.write(report)
    return rep
