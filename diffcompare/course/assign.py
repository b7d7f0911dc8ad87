"""Read a master assignment and write its student, instructor and autograder versions."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import nbformat

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_TASK = re.compile(r"^#+\s*Task\s+(\d+\.\d+)", re.MULTILINE)
_HIDDEN = re.compile(r"^#\s*HIDDEN TEST\s+Task\s+(\d+\.\d+)\s*\((\d+(?:\.\d+)?)\s*points?\)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class HiddenTest:
    task: str
    points: float
    code: str
    name: str


@dataclasses.dataclass
class Assignment:
    """A parsed master: its notebook and hidden tests."""

    name: str
    notebook: nbformat.NotebookNode
    tests: list[HiddenTest]

    @property
    def total(self) -> float:
        return sum(t.points for t in self.tests)

    def tasks(self) -> list[str]:
        return sorted({t.task for t in self.tests}, key=lambda s: tuple(int(p) for p in s.split(".")))


def load_master(path) -> Assignment:
    """Parse a master assignment (``.py`` percent format via jupytext, or ``.ipynb``)."""
    path = Path(path)
    if path.suffix == ".py":
        import jupytext

        nb = jupytext.read(path)
    else:
        nb = nbformat.read(path, as_version=4)
    tests, counts = [], {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        m = _HIDDEN.match(cell.source.lstrip())
        if m:
            task = m.group(1)
            counts[task] = counts.get(task, 0) + 1
            tests.append(HiddenTest(task, float(m.group(2)), cell.source, f"Task {task} test {counts[task]}"))
    if not tests:
        raise ValueError(f"{path}: no '# HIDDEN TEST Task N.M (k points)' cells found")
    return Assignment(path.stem, nb, tests)


def strip_solutions(source: str, task: str | None = None) -> str:
    """Replace every BEGIN/END SOLUTION block with ``raise NotImplementedError("Task N.M")``."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise ValueError("nested '# BEGIN SOLUTION'")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            label = stripped[len(BEGIN):].strip() or (f"Task {task}" if task else "solution")
            out.append(f'{indent}raise NotImplementedError("{label}")  # your code here')
        elif stripped.startswith(END):
            if not inside:
                raise ValueError("'# END SOLUTION' without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("'# BEGIN SOLUTION' without END")
    return "\n".join(out)


def _clean(cell):
    cell = nbformat.from_dict(dict(cell))
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _version(a: Assignment, student: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata=dict(a.notebook.metadata))
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    task = None
    for cell in a.notebook.cells:
        if cell.cell_type == "markdown":
            m = _TASK.search(cell.source)
            task = m.group(1) if m else task
        hidden = cell.cell_type == "code" and _HIDDEN.match(cell.source.lstrip())
        if hidden and student:
            continue
        cell = _clean(cell)
        if student and cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, task)
        nb.cells.append(cell)
    return nb


def generate(master, out="build") -> dict[str, Path]:
    """Write ``student/NAME.ipynb``, ``instructor/NAME.ipynb`` and ``autograder/NAME.tests.json`` under ``out``."""
    a = load_master(master)
    out = Path(out)
    paths = {
        "student": out / "student" / f"{a.name}.ipynb",
        "instructor": out / "instructor" / f"{a.name}.ipynb",
        "autograder": out / "autograder" / f"{a.name}.tests.json",
    }
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(_version(a, student=True), paths["student"])
    nbformat.write(_version(a, student=False), paths["instructor"])
    data = {"assignment": a.name, "total": a.total, "tests": [dataclasses.asdict(t) for t in a.tests]}
    tmp = paths["autograder"].with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(paths["autograder"])
    return paths
