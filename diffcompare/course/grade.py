"""Grade one submission against an otter autograder, in a sandbox, with the score computed outside it.

otter's own ``otter run`` executes the hidden tests inside the student's kernel, in the
notebook's global namespace, and reads the score back from a pickle that kernel writes;
student code can rewrite all of that. Here instead:

1. the notebook's cells run in a kernel inside a throwaway sandbox (:mod:`._sandbox`: its own PID
   and network namespaces, an unprivileged uid, the installation read-only, a private tmpfs home;
   nothing of the grader, the autograder, the other submissions or the output folder in sight);
   a task that forbids ready-made derivatives gets a kernel of its own in which they were switched
   off before its cells ran (:mod:`._boot`);
2. the grader loads otter's test files itself and calls each test function with stand-ins for
   the notebook's functions (``StudentFunction``): a call runs the function in the sandbox and
   brings back plain data (JSON); references, random inputs (drawn afresh on every grading run),
   ``diffcompare.check`` and every comparison run in the grader, imported before any student code;
3. a process that dies, exits or runs out of time leaves every test not yet graded at 0; the
   sandbox is killed (every process in it) before the report is written, by the grader alone.

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

from . import _sandbox
from ._student import KernelGone, StudentFunction, StudentProcess
from .assign import cell_digest
from .testing import Mismatch, ShortcutUsed, StudentError

MAX_NOTEBOOK_BYTES = 64 * 2**20  # a larger submission is not read (graded 0)
NO_SANDBOX_WARNING = ("NOT SANDBOXED (--no-sandbox): the notebook ran as the grader's user, with the grader's files "
                      "in reach; use this only for your own solutions, never for a student's submission.")

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
    distributed: frozenset = frozenset()  # digests of the handed-out notebook's code cells

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
    return Autograder(manifest["assignment"], questions, frozenset(manifest.get("distributed_cells", ())))


@dataclasses.dataclass
class GradeReport:
    """Points per test and per task; ``to_json()``, ``to_markdown()`` (what a student reads)."""

    assignment: str
    submission: str
    questions: list[Question]
    tests: list[dict]
    cell_errors: list[dict]
    process: str  # how the notebook's process ended
    sandboxed: bool = True

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
                "total": self.total, "process": self.process, "sandboxed": self.sandboxed,
                **({} if self.sandboxed else {"warning": NO_SANDBOX_WARNING}),
                "tasks": {k: {"earned": e, "points": p, "manual": e is None} for k, (e, p) in self.by_task().items()},
                "tests": self.tests, "cell_errors": self.cell_errors}

    def to_markdown(self) -> str:
        manual = sum(q.points for q in self.questions if q.manual)
        lines = [f"# {self.assignment}: score report", ""]
        if not self.sandboxed:
            lines += [f"**{NO_SANDBOX_WARNING}**", ""]
        lines += [f"Submission: {_inline(Path(self.submission).name)}", "",
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
                lines += [f"### {t['task']}: {kind} `{t['name']}` ({t['points']:g} points)", "",
                          *_fenced(t["message"]), ""]
        if self.cell_errors:
            lines += ["", "## Cells that raised", "",
                      "Cell numbers count every cell of the notebook, markdown included, from 1.", ""]
            for c in self.cell_errors:
                lines += [f"### Notebook cell {c['cell']}", "", *_fenced(f"{c['error']}\n\n{c.get('traceback', '')}"),
                          ""]
        lines += ["", f"The notebook's process: {_escape_line(self.process)}."]
        if not self.sandboxed:
            lines += ["", f"**{NO_SANDBOX_WARNING}**"]
        return "\n".join(lines).rstrip() + "\n"

    def __str__(self) -> str:
        return self.to_markdown()

    def write(self, report) -> None:
        report = Path(report)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(self.to_json(), indent=1))
        report.with_suffix(".md").write_text(self.to_markdown())


def _fenced(text: str) -> list[str]:
    """``text`` (the student's: an exception, a value) in a code fence it cannot close: the fence is longer
    than any run of backticks or tildes in it."""
    text = str(text).rstrip()
    longest = max((len(m) for m in re.findall(r"`+|~+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", text, fence]


def _inline(text: str) -> str:
    """``text`` as inline code that no backtick in it can close, on one line."""
    text = _escape_line(text)
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks} {text} {ticks}"


def _escape_line(text: str) -> str:
    """One line of the student's text, Markdown's active characters escaped."""
    text = " ".join(str(text).split())
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~-])", r"\\\1", text)


def _test_cases(question: Question) -> list:
    from otter.test_files import test_case  # the autograder's test files are otter's exception-based format

    namespace: dict = {"__name__": f"otter_tests_{question.name}"}
    exec(compile(question.tests, f"<tests of {question.label}>", "exec"), namespace)
    return [v for v in namespace.values() if isinstance(v, test_case)]


def _run_case(case, kernels, question: Question) -> tuple[bool, str]:
    params = inspect.signature(case.test_func).parameters
    stand_ins = {name: StudentFunction(kernels, name) for name in params}
    try:
        case.test_func(**stand_ins)
    except ShortcutUsed as err:
        return False, (f"{question.label} uses {err.used} (in `{err.function}`), which this task asks you to "
                       "write yourself.")
    except Mismatch as err:
        return False, err.describe(hidden=bool(case.hidden))
    except (AssertionError, StudentError) as err:
        return False, str(err) or f"{type(err).__name__} (the test's assertion failed)"
    except KernelGone:
        raise
    except Exception as err:  # noqa: BLE001 - a value of the wrong kind makes the test's own code raise
        return False, f"the test could not use what your code returned: {type(err).__name__}: {err}"
    return True, ""


class _Kernels:
    """The submission's kernels, one per set of forbidden derivatives, each started (and its cells run) on
    first use, all with the submission's one deadline. Cell errors are those of the first kernel, less
    the cells that only reached what a guarded kernel switched off (the notebook's own demonstrations)."""

    def __init__(self, cells, log, deadline: float, notebook: Path, sandbox: bool, distributed=frozenset()):
        self.cells, self.log, self.deadline, self.notebook, self.sandbox = cells, log, deadline, notebook, sandbox
        self.distributed = distributed
        self.shortcut_cells: list[tuple[int, str]] = []  # the student's own cells that reached a tripwire
        self.guarded_used = False  # whether the test running now called a guarded kernel
        self.processes: dict = {}
        self.cell_errors: list[dict] | None = None
        self.gone: str | None = None

    def __call__(self, forbid=None, allow=()) -> StudentProcess:
        key = (tuple(sorted(forbid)), tuple(sorted(allow))) if forbid else None
        self.guarded_used |= key is not None
        if self.gone:
            raise KernelGone(self.gone)
        if key not in self.processes:
            config = {"forbid": list(key[0]), "allow": list(key[1])} if key else {}
            process = StudentProcess(self.log, self.deadline, config=config, notebook=self.notebook,
                                     sandbox=self.sandbox)
            self.processes[key] = process
            errors = []
            for number, source in self.cells:
                if _OTTER_CELL.match(source):
                    continue  # otter's own cells: public checks, no points
                try:
                    reply = process.request({"op": "cell", "source": source})
                except KernelGone as err:
                    self.gone = f"{err.reason} (while running notebook cell {number})"
                    raise KernelGone(self.gone) from None
                if "error" in reply and "shortcut" not in reply:
                    errors.append({"cell": number, "error": str(reply["error"]),
                                   "traceback": str(reply.get("traceback", ""))})
                elif "shortcut" in reply and cell_digest(source) not in self.distributed:
                    if (number, str(reply["shortcut"])) not in self.shortcut_cells:
                        self.shortcut_cells.append((number, str(reply["shortcut"])))
            if self.cell_errors is None:
                self.cell_errors = errors
        return self.processes[key]

    def stop(self):
        for process in self.processes.values():
            process.stop()


def grade(submission, autograder, report=None, log=None, timeout: float = 600, sandbox: bool = True) -> GradeReport:
    """Grade ``submission`` (an ``.ipynb``) with ``autograder`` (``NAME-autograder.zip`` or its folder).

    Arguments:
        report: where to write the JSON report (a Markdown twin goes next to it; its folder is created), or None.
        log: where the notebook's own output goes (default: next to the report, ``.log``), capped.
        timeout: seconds for the whole submission (cells and tests); what is not graded by then scores 0.
        sandbox: False runs the notebook unconfined (a teacher's own solutions only; every report says so).

    Raises :class:`~diffcompare.course._sandbox.NoSandbox` (one line: what to install) when ``sandbox`` is
    True and the machine has no bubblewrap.
    """
    import nbformat

    import diffcompare
    from diffcompare.course import _boot

    if sandbox and not _sandbox.available():
        raise _sandbox.NoSandbox(_sandbox.problem())
    _boot._preload()  # every module the grader needs, before any student code runs
    diffcompare.enable_x64()  # the course computes in float64, as every notebook's first cell does
    ag = autograder if isinstance(autograder, Autograder) else load_autograder(autograder)
    if report is not None:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
    tests = []
    try:
        if Path(submission).stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"the file is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
        nb = nbformat.read(str(submission), as_version=4)
        cells = [(i + 1, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        process_note = "ran every cell and every test"
    except Exception as err:  # noqa: BLE001 - a corrupt file is graded 0, not a crash of the whole class
        cells, process_note = None, f"never started: the notebook could not be read ({type(err).__name__}: {err})"
    if log is None and report is not None:
        log = Path(report).with_suffix(".log")
    workdir = Path(tempfile.mkdtemp(prefix="diffcompare-grade-"))
    log_file = open(log if log is not None else workdir / "notebook.log", "w", errors="replace")  # noqa: SIM115
    if not sandbox:
        log_file.write(NO_SANDBOX_WARNING + "\n")
    gone: str | None = None if cells is not None else process_note
    kernels = None
    try:
        if cells is not None:
            copy = workdir / "submission.ipynb"  # the sandbox gets this copy, never the original's folder
            shutil.copyfile(submission, copy)
            kernels = _Kernels(cells, log_file, time.monotonic() + timeout, copy, sandbox, ag.distributed)
        for q in ag.questions:
            if q.manual:
                continue
            for case in _test_cases(q):
                points = float(case.points or 0)
                entry = {"question": q.name, "task": q.label, "name": case.name or case.test_func.__name__,
                         "hidden": bool(case.hidden), "points": points}
                if gone is None:
                    kernels.guarded_used = False
                    try:
                        passed, message = _run_case(case, kernels, q)
                        if not passed and kernels.guarded_used and kernels.shortcut_cells and " uses " not in message:
                            message += "".join(
                                f"\n\n{q.label}: notebook cell {n} uses {name} while the cells run, which this task "
                                "asks you to write yourself (it is switched off while this task is graded)."
                                for n, name in kernels.shortcut_cells)
                    except KernelGone as err:
                        gone = kernels.gone or f"{err.reason} (during {q.label}'s test `{entry['name']}`)"
                        kernels.gone = gone
                if gone is not None:
                    passed, message = False, f"not graded: {gone}"
                tests.append({**entry, "passed": passed, "earned": points if passed else 0.0, "message": message})
    finally:
        if kernels is not None:
            kernels.stop()
        log_file.close()
        shutil.rmtree(workdir, ignore_errors=True)
    cell_errors = (kernels.cell_errors if kernels is not None else None) or []
    rep = GradeReport(ag.assignment, str(submission), ag.questions, tests, cell_errors, gone or process_note,
                      sandboxed=sandbox)
    if report is not None:
        rep.write(report)
    return rep
