"""Turn a master assignment (otter-assign format, kept as a jupytext script) into its three versions.

``otter assign`` does the work: the student notebook (solutions replaced by ``...``,
hidden tests and model answers removed, public tests runnable with
``grader.check("task1_1")``), the instructor notebook (solutions, and the rubric of
manually graded questions) and the autograder zip (otter's test files, hidden ones
included). This module adds what otter does not write: a stable file name for the zip
and ``NAME.tasks.json``, the tasks with their labels, points and whether they are graded
by hand (the gradebook's columns).

Generation is reproducible: the same master gives byte-identical notebooks and zip on every run
(cell ids derived from each cell's position and content, zip entries sorted with a fixed date and
mode), so a teacher can commit what it writes and see only real changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry

_QUESTION_NAME = re.compile(r"^task(\d+)_(\d+)(?:_(\w+))?$")


def task_label(name: str) -> str:
    """``task1_2`` -> ``Task 1.2``; ``task3_4_written`` -> ``Task 3.4 (written)``."""
    m = _QUESTION_NAME.match(name)
    if not m:
        return name
    return f"Task {m.group(1)}.{m.group(2)}" + (f" ({m.group(3).replace('_', ' ')})" if m.group(3) else "")


def read_master(path):
    """The master as a notebook (``.py`` percent format through jupytext, or ``.ipynb``), with a kernelspec."""
    import jupytext

    nb = jupytext.read(Path(path))
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def questions(nb) -> list[dict]:
    """The questions of a master: ``name``, ``label``, ``points``, ``manual``, in order."""
    import yaml

    out = []
    for cell in nb.cells:
        source = cell.source.lstrip()
        if cell.cell_type == "raw" and re.match(r"#\s*BEGIN\s+QUESTION", source, re.IGNORECASE):
            config = yaml.safe_load(source.split("\n", 1)[1]) or {}
            name = config["name"]
            out.append({"name": name, "label": task_label(name), "points": config.get("points", 0),
                        "manual": bool(config.get("manual", False))})
    return out


def generate(master, out="build") -> dict[str, Path]:
    """Write ``student/NAME.ipynb``, ``instructor/NAME.ipynb``, ``autograder/NAME-autograder.zip`` and
    ``autograder/NAME.tasks.json`` under ``out``."""
    import nbformat
    from otter.assign import main as otter_assign

    master = Path(master)
    name = master.stem
    nb = read_master(master)
    out = Path(out)
    paths = {"student": out / "student" / f"{name}.ipynb", "instructor": out / "instructor" / f"{name}.ipynb",
             "autograder": out / "autograder" / f"{name}-autograder.zip",
             "tasks": out / "autograder" / f"{name}.tasks.json"}
    with tempfile.TemporaryDirectory(prefix="otter-assign-") as tmp:
        source = Path(tmp) / f"{name}.ipynb"
        nbformat.write(nb, source)
        with contextlib.redirect_stdout(io.StringIO()):  # otter prints its summary table
            otter_assign(str(source), str(Path(tmp) / "dist"), no_pdfs=True, no_run_tests=True)
        dist = Path(tmp) / "dist"
        zips = list((dist / "autograder").glob("*.zip"))
        if len(zips) != 1:
            raise RuntimeError(f"otter assign wrote {len(zips)} autograder zips for {master}")
        for p in paths.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        _write_stable_notebook(dist / "student" / f"{name}.ipynb", paths["student"])
        _write_stable_notebook(dist / "autograder" / f"{name}.ipynb", paths["instructor"])
        _write_stable_zip(zips[0], paths["autograder"])
    manifest = {"assignment": name, "questions": questions(nb),
                "distributed_cells": distributed_cells(paths["student"])}
    paths["tasks"].write_text(json.dumps(manifest, indent=1) + "\n")
    return paths


def cell_digest(source: str) -> str:
    return hashlib.sha256(source.strip().encode()).hexdigest()[:16]


def distributed_cells(notebook) -> list[str]:
    """Digests of the code cells of the notebook handed out: the grader tells the student's own cells from them."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    return sorted({cell_digest(c.source) for c in nb.cells if c.cell_type == "code"})


def _write_stable_notebook(source: Path, target: Path) -> None:
    """``source`` with each cell's id a hash of its position, type and source (otter draws random ones)."""
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    for i, cell in enumerate(nb.cells):
        digest = hashlib.sha256(f"{i}\0{cell.cell_type}\0{cell.source}".encode()).hexdigest()
        cell["id"] = digest[:16]
    target.write_text(nbformat.writes(nb) + "\n")


def _write_stable_zip(source: Path, target: Path) -> None:
    """``source``'s entries, sorted, with a fixed date and mode (and the notebooks inside made stable too)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in sorted(zin.namelist()):
            data = zin.read(name)
            if name.endswith(".ipynb"):
                with tempfile.TemporaryDirectory() as tmp:
                    (Path(tmp) / "in.ipynb").write_bytes(data)
                    _write_stable_notebook(Path(tmp) / "in.ipynb", Path(tmp) / "out.ipynb")
                    data = (Path(tmp) / "out.ipynb").read_bytes()
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = (0o755 if name.endswith("run_autograder") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)
