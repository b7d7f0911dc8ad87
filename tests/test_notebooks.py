"""Every teaching notebook runs top to bottom at both sizes, and its .ipynb matches its .py source.

A notebook's checks print '✔ ...' or '✘ does not hold here: ...' (``diffcompare.prose.claim``) instead of
stopping at a bare ``assert``; a '✘' in any output fails the run here. The full size is what a student
gets by default (``DIFFCOMPARE_NOTEBOOK_SIZE`` unset); the small size is the quick version.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupytext = pytest.importorskip("jupytext")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
KERNEL = "diffcompare-test"
# the notebooks held to the student-view rules below (05 is reworked separately; add it when it follows them)
STUDENT_VIEW = [p for p in SOURCES if p.stem[:2] in {"01", "02", "03", "04", "06", "07"}]
FAILED_CLAIM = "✘ does not hold here"  # diffcompare.prose.FAILS
SECONDS_PER_NOTEBOOK = 600  # 10-30 s each on a quiet 2-core machine, up to ~150 s on a heavily loaded one


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A kernelspec that runs this interpreter (works in a fresh venv without `ipykernel install`)."""
    base = tmp_path_factory.mktemp("jupyter")
    spec = base / "kernels" / KERNEL
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "diffcompare tests", "language": "python",
    }))
    old = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYTHONPATH", "DIFFCOMPARE_NOTEBOOK_SIZE", "MPLBACKEND")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(base), old["JUPYTER_PATH"]]))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), old["PYTHONPATH"]]))
    os.environ.pop("DIFFCOMPARE_NOTEBOOK_SIZE", None)  # each test sets the size it runs
    os.environ["MPLBACKEND"] = "Agg"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _execute(path: Path, **env):
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name=KERNEL,
                                         resources={"metadata": {"path": str(NOTEBOOKS)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def test_there_are_seven_notebooks():
    assert [p.stem[:2] for p in SOURCES] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_ipynb_is_paired_and_stripped(source):
    ipynb = source.with_suffix(".ipynb")
    assert ipynb.exists(), f"run `jupytext --to ipynb {source.name}` in notebooks/"
    stored = nbformat.read(ipynb, as_version=4)
    text = jupytext.read(source)
    code = [c.source for c in text.cells if c.cell_type == "code"]
    assert [c.source for c in stored.cells if c.cell_type == "code"] == code, f"{ipynb.name} is stale: re-run jupytext"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in stored.cells
               if c.cell_type == "code"), f"{ipynb.name} has outputs: strip them"
    first = code[0]
    assert "diffcompare.enable_x64()" in first and "DIFFCOMPARE_NOTEBOOK_SIZE" in first


def _texts(nb) -> str:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            out.append(o.get("text", ""))
            out += [v for k, v in o.get("data", {}).items() if k.startswith("text/") and isinstance(v, str)]
    return "\n".join(out)


def _run_and_check(source, size, record_property):
    env = {"DIFFCOMPARE_NOTEBOOK_SIZE": size} if size == "small" else {}
    start = time.perf_counter()
    nb = _execute(source.with_suffix(".ipynb"), **env)
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 1))
    print(f"{source.stem} at {size} size: {seconds:.1f} s")
    errors = [f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors, errors
    text = _texts(nb)
    failed = [line for line in text.splitlines() if FAILED_CLAIM in line]
    assert not failed, f"{source.stem} ({size}): a claim the notebook checks does not hold: {failed}"
    assert str(ROOT) not in text, f"{source.stem} ({size}) shows an absolute path of this checkout"
    assert seconds < SECONDS_PER_NOTEBOOK, f"{source.stem} took {seconds:.0f} s at {size} size"


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_small(source, kernel_env, record_property):
    _run_and_check(source, "small", record_property)


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_full(source, kernel_env, record_property):
    """What a student runs: the default size, top to bottom."""
    _run_and_check(source, "full", record_property)


INTERNALS = [r"\.nodes\[\(\)\]", r"\._zoo\b", r"\.owns\(", r"weak_type", r"\.out_nodes\b"]


@pytest.mark.parametrize("source", STUDENT_VIEW, ids=lambda p: p.stem)
def test_student_view(source):
    """No bare assert, no library internals, exercises with collapsed answers, one 'try it' cell."""
    nb = jupytext.read(source)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    asserts = [line for src in code for line in src.splitlines() if re.match(r"\s*assert\b", line)]
    assert not asserts, f"{source.name}: use diffcompare.prose.claim, which says what it found: {asserts}"
    internals = [pat for pat in INTERNALS if any(re.search(pat, src) for src in code)]
    assert not internals, f"{source.name} shows library internals: {internals}"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert markdown.count("**Predict, then run.**") >= 2, source.name
    assert "**Try it on your own function.**" in markdown, source.name
    hidden = [i for i, c in enumerate(nb.cells) if c.metadata.get("jupyter", {}).get("source_hidden")]
    assert len(hidden) >= 2, f"{source.name}: the answers go in collapsed cells"
    for i in hidden:  # each answer follows a cell that runs the prediction
        assert nb.cells[i - 1].cell_type == "code", (source.name, i)
    stored = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert sum(bool(c.metadata.get("jupyter", {}).get("source_hidden")) for c in stored.cells) == len(hidden), \
        f"{source.name}: the .ipynb lost the collapsed answers (jupytext.toml keeps jupyter and tags metadata)"


@pytest.mark.parametrize("source", STUDENT_VIEW, ids=lambda p: p.stem)
def test_sections_do_not_rebind_names(source):
    """A name assigned at top level in two sections means two things: re-running one section breaks the other."""
    nb = jupytext.read(source)
    allowed = {"fig", "ax", "axes", "report", "name", "e", "s", "k", "n", "v", "t", "_", "pullback", "err",
               "machine", "size", "mode", "dtype", "plan", "before", "after", "expr", "label", "r", "c", "q", "h"}
    owner, section = {}, 0
    clashes = []
    for c in nb.cells:
        if c.cell_type == "markdown" and re.search(r"^#{1,2} ", c.source, re.M):
            section += 1
        if c.cell_type != "code":
            continue
        for m in re.finditer(r"^([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*=(?!=)", c.source, re.M):
            for var in (v.strip() for v in m.group(1).split(",")):
                if var in allowed or var.isupper():
                    continue
                if var in owner and owner[var] != section:
                    clashes.append(var)
                owner.setdefault(var, section)
    assert not clashes, f"{source.name}: top-level names reassigned in another section: {sorted(set(clashes))}"


@pytest.mark.slow
def test_comparing_methods_runs_without_committed_results(kernel_env):
    """Notebook 05 computes small versions itself when results/ has nothing (a fresh checkout, a partial run)."""
    nb = _execute(NOTEBOOKS / "05_comparing_methods.ipynb", DIFFCOMPARE_NOTEBOOK_RESULTS="compute",
                  DIFFCOMPARE_NOTEBOOK_SIZE="small")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "loaded results" not in text and "same gradient with checkpointing: True" in text
