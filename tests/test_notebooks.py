"""Every teaching notebook runs top to bottom (small size), and its .ipynb matches its .py source."""

from __future__ import annotations

import json
import os
import sys
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
    os.environ["DIFFCOMPARE_NOTEBOOK_SIZE"] = "small"
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


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs(source, kernel_env):
    nb = _execute(source.with_suffix(".ipynb"))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


@pytest.mark.slow
def test_comparing_methods_runs_without_committed_results(kernel_env):
    """Notebook 05 computes small versions itself when results/ has nothing (a fresh checkout, a partial run)."""
    nb = _execute(NOTEBOOKS / "05_comparing_methods.ipynb", DIFFCOMPARE_NOTEBOOK_RESULTS="compute")
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "loaded results" not in text and "same gradient with checkpointing: True" in text
