"""The pages of the site that are made from the repository at build time.

Written into a staging folder (``build/docs-generated/`` by default) that the mkdocs
hook (``docs/hooks.py``) adds to the site beside the hand-written pages of ``docs/``:

* ``notebooks/NN_name.ipynb``: the seven teaching notebooks, from their jupytext
  sources, executed top to bottom at full size (``DIFFCOMPARE_NOTEBOOK_SIZE`` unset) with
  matplotlib's inline backend (:data:`INLINE`), so every figure is an output of its cell;
  a cell that raises stops the build;
* ``assignments/NAME.ipynb``: each assignment as students get it, written by
  ``diffcompare.course``'s generator (otter assign): solutions replaced by ``...``, no
  hidden tests, no model answers; ``assignments/download/NAME.ipynb`` is the same file to
  download;
* ``results/``: the committed experiment runs (plots, ``data.csv``, ``meta.json``) and
  ``results/index.md``, the gallery made from ``results/README.md``;
* ``errors.md``: the README's table of errors and the class hierarchy of
  ``diffcompare.errors``;
* ``teachers.md``: the teachers' section of ``notebooks/README.md``;
* ``api/NAME.md``: one reference page per public module (:data:`API_PAGES`), rendered by
  mkdocstrings from the docstrings, listing every public name the module has when the
  site is built (its ``__all__``, or what it defines), so a module that becomes a
  package, or a function added later, is documented without editing a page.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ASSIGNMENTS = NOTEBOOKS / "assignments"
RESULTS = ROOT / "results"
README = ROOT / "README.md"
STAGING = ROOT / "build" / "docs-generated"
#: executed notebooks kept between builds, keyed on everything that can change their outputs
CACHE = ROOT / "build" / "docs-cache"
KERNEL = "diffcompare-docs"
#: the environment switch for a quick build: "0" renders the notebooks without running them
EXECUTE_ENV = "DIFFCOMPARE_DOCS_EXECUTE"
#: a folder of notebooks another step already ran at full size (the notebook tests, in CI): used when
#: their code is the sources' code and they ran without error, so the build need not run them again
EXECUTED_ENV = "DIFFCOMPARE_DOCS_EXECUTED"
RESULT_SUFFIXES = {".png", ".svg", ".csv", ".json"}
#: the kernel's matplotlib backend: Jupyter's inline one (headless, it draws with Agg), whatever the
#: caller's MPLBACKEND says; with MPLBACKEND=Agg a kernel would draw its figures and show none of them
INLINE = "module://matplotlib_inline.backend_inline"


def notebook_sources() -> list[Path]:
    """The teaching notebooks' jupytext sources, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def assignment_sources() -> list[Path]:
    return sorted(ASSIGNMENTS.glob("a[0-9]*.py"))


def execute_requested() -> bool:
    return os.environ.get(EXECUTE_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


# ---------------------------------------------------------------------------------------------
# notebooks


@contextmanager
def _kernel_environment() -> Iterator[None]:
    """A kernelspec running this interpreter with the checkout first on the path, at full size, figures inline."""
    keys = ("JUPYTER_PATH", "PYTHONPATH", "DIFFCOMPARE_NOTEBOOK_SIZE", "MPLBACKEND")
    saved = {k: os.environ.get(k) for k in keys}
    with tempfile.TemporaryDirectory(prefix="diffcompare-docs-kernel-") as base:
        spec = Path(base) / "kernels" / KERNEL
        spec.mkdir(parents=True)
        spec.joinpath("kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "diffcompare docs", "language": "python",
        }))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [base, saved["JUPYTER_PATH"]]))
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved["PYTHONPATH"]]))
        os.environ.pop("DIFFCOMPARE_NOTEBOOK_SIZE", None)  # full size
        os.environ["MPLBACKEND"] = INLINE
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _inputs_digest(source: Path) -> str:
    """A digest of everything an executed notebook's outputs depend on in the checkout:
    its source, the library (less this package), the committed results and the interpreter."""
    h = hashlib.sha256()
    h.update(sys.version.encode())
    h.update(INLINE.encode())
    site_code = Path(__file__).parent  # this package makes pages; the notebooks never import it
    files = [source, *sorted((ROOT / "diffcompare").rglob("*.py")), *sorted(RESULTS.rglob("*"))]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts and not path.is_relative_to(site_code):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


class NotebookFailed(RuntimeError):
    """A notebook raised while it ran for the site."""


def _failed_claim_marker() -> str | None:
    """What a notebook prints when a claim it checks does not hold (``diffcompare.prose.FAILS``), if it has one."""
    from .. import prose

    return getattr(prose, "FAILS", None)


def _error_outputs(nb) -> list[str]:
    """The cells that raised, and the claims that did not hold: the page must not show either."""
    marker = _failed_claim_marker()
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            text = o.get("text", "") + "".join(v for k, v in o.get("data", {}).items()
                                                if k.startswith("text/") and isinstance(v, str))
            if marker and marker in text:
                line = next(x for x in text.splitlines() if marker in x)
                out.append(f"cell {i}: {line.strip()}")
    return out


def read_notebook(source: Path):
    """The notebook of a jupytext source, with a Python kernelspec."""
    import jupytext

    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def execute_notebook(source: Path, target: Path, *, timeout: int = 1800, reuse: bool = True, log=print) -> bool:
    """Run ``source`` at full size and write the executed notebook to ``target``.

    An executed copy is reused only when the digest of its inputs (the source, every file
    of the library and of ``results/``) is unchanged. Returns whether it ran.
    Raises :class:`NotebookFailed` naming the cells that raised.
    """
    import time

    import nbclient
    import nbformat

    digest = _inputs_digest(source)
    cached = CACHE / f"{source.stem}.{digest[:20]}.ipynb"
    if reuse and cached.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)
        log(f"docs: {source.name}: executed copy reused (inputs unchanged)")
        return False
    nb = read_notebook(source)
    start = time.perf_counter()
    with _kernel_environment():
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, allow_errors=False,
                                         resources={"metadata": {"path": str(source.parent)}})
        try:
            client.execute()
        except nbclient.exceptions.CellExecutionError:
            pass  # the cell's error output says what went wrong; the cells after it did not run
    errors = _error_outputs(nb)
    if errors:
        failed = ROOT / "build" / "docs-failed" / f"{source.stem}.ipynb"
        failed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, failed)
        raise NotebookFailed(f"{source.name} raised while it ran for the site: " + "; ".join(errors)
                             + f" (the executed notebook: {failed.relative_to(ROOT)})")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"{source.stem}.*.ipynb"):
        old.unlink()
    shutil.copyfile(target, cached)
    log(f"docs: {source.name}: executed at full size in {time.perf_counter() - start:.0f} s")
    return True


def draws(source: Path) -> bool:
    """Whether a notebook's code makes figures (matplotlib, or the library's drawings)."""
    return bool(re.search(r"\bplt\.|matplotlib|\bdrawing\b|\.plot\(", source.read_text()))


def figures(nb) -> int:
    """How many figures (PNG or SVG outputs) an executed notebook shows."""
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if o.get("output_type") in ("display_data", "execute_result")
               and ("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})))


def take_executed(source: Path, folder: Path, target: Path, log=print) -> bool:
    """Use ``folder/NAME.ipynb`` for ``source`` if it is that notebook run at full size: the same code,
    every code cell executed, no error and no failed claim, its figures shown. Returns whether it was taken."""
    import nbformat

    path = Path(folder) / f"{source.stem}.ipynb"
    if not path.is_file():
        return False
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    wanted = [c.source for c in read_notebook(source).cells if c.cell_type == "code"]
    why = ("its code is not the source's" if [c.source for c in code] != wanted
           else "not every cell ran" if any(c.get("execution_count") is None for c in code if c.source.strip())
           else "it shows errors" if _error_outputs(nb)
           else "it shows no figure (run with matplotlib's inline backend)" if draws(source) and not figures(nb)
           else "")
    if why:
        log(f"docs: {path} not used ({why}); running {source.name}")
        return False
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    log(f"docs: {source.name}: the run in {path} used")
    return True


def write_notebooks(staging: Path, *, execute: bool, log=print) -> list[Path]:
    """The teaching notebooks as pages: executed (``execute``) or as written (a quick build)."""
    import nbformat

    executed = os.environ.get(EXECUTED_ENV)
    pages, failures = [], []
    for source in notebook_sources():
        target = staging / "notebooks" / f"{source.stem}.ipynb"
        if execute and executed and take_executed(source, Path(executed), target, log=log):
            pass
        elif execute:
            try:
                execute_notebook(source, target, log=log)
            except NotebookFailed as e:  # run the others too: one build names every notebook that fails
                failures.append(str(e))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(read_notebook(source), target)
        pages.append(target)
    if failures:
        raise NotebookFailed("\n".join(failures))
    return pages


# ---------------------------------------------------------------------------------------------
# assignments


def write_assignments(staging: Path) -> list[Path]:
    """Each assignment's student version (otter assign through ``diffcompare.course``)."""
    import nbformat

    from ..course.assign import generate

    pages = []
    with tempfile.TemporaryDirectory(prefix="diffcompare-docs-assign-") as tmp:
        for master in assignment_sources():
            student = generate(master, tmp)["student"]
            nb = nbformat.read(student, as_version=4)
            name = master.stem
            download = staging / "assignments" / "download" / f"{name}.ipynb"
            download.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(student, download)
            note = nbformat.v4.new_markdown_cell(
                f"*The student version, as `python -m diffcompare.course generate` writes it: "
                f"[download {name}.ipynb](../download/{name}.ipynb), open it in Jupyter "
                f"(`pip install -e '.[course]'`), fill in each `...`, and run `grader.check(...)` "
                f"for a task's public test.*")
            nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, note)
            page = staging / "assignments" / f"{name}.ipynb"
            nbformat.write(nb, page)
            pages.append(page)
    return pages


def student_leaks(nb) -> list[str]:
    """What a student notebook must not contain: solutions' and hidden tests' markers (otter keeps an
    HTML comment ``<!-- BEGIN QUESTION -->`` around hand-graded questions, which is no leak)."""
    text = "\n".join(c.source for c in nb.cells)
    markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN TESTS", "BEGIN HIDDEN", "# HIDDEN", "hidden: true")
    return [m for m in markers if m.lower() in text.lower()]


# ---------------------------------------------------------------------------------------------
# results gallery

_SECTION = re.compile(r"^## \[(?P<name>[\w.-]+)\]\((?P=name)/\)(?P<rest>.*)$")


def write_results(staging: Path) -> Path:
    """Copy the committed runs and write ``results/index.md``, the gallery.

    The text is ``results/README.md`` (each experiment's headlines, tables and plots), with
    each heading's link to the run's folder replaced by links to its data and provenance.
    """
    out = staging / "results"
    experiments = []
    for folder in sorted(p for p in RESULTS.iterdir() if p.is_dir() and not p.name.startswith(".")):
        experiments.append(folder.name)
        for f in folder.iterdir():
            if f.is_file() and f.suffix in RESULT_SUFFIXES:
                (out / folder.name).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, out / folder.name / f.name)
    lines = []
    seen = set()
    for line in (RESULTS / "README.md").read_text().splitlines():
        m = _SECTION.match(line)
        if m:
            name = m.group("name")
            seen.add(name)
            links = [f"[data.csv]({name}/data.csv)" for _ in [0] if (RESULTS / name / "data.csv").exists()]
            links += [f"[meta.json]({name}/meta.json)" for _ in [0] if (RESULTS / name / "meta.json").exists()]
            lines.append(f"## {name}{m.group('rest')}")
            lines.append("")
            lines.append("Data: " + " · ".join(links) + "." if links else "")
            continue
        if line.startswith("# "):
            line = "# Results gallery"
        lines.append(line)
    missing = [e for e in experiments if e not in seen]
    if missing:
        lines += ["", "## Runs not in the index", ""]
        lines += [f"- {e}: [data.csv]({e}/data.csv) · [meta.json]({e}/meta.json)" for e in missing]
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.md"
    page.write_text("\n".join(lines) + "\n")
    return page


# ---------------------------------------------------------------------------------------------
# errors


def readme_section(title: str, readme: Path = README) -> str:
    """The section of a README whose ``## `` heading starts with ``title``, without its heading."""
    text = readme.read_text()
    m = re.search(rf"^## {re.escape(title)}[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        raise LookupError(f"{readme.relative_to(ROOT)} has no section '## {title}...'")
    return m.group(1).strip()


def write_errors(staging: Path) -> Path:
    """The README's table of errors, and the hierarchy read from ``diffcompare.errors``."""
    import inspect

    from .. import errors

    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if c.__module__ == errors.__name__ and issubclass(c, Exception | Warning)]
    table = readme_section("Errors and their fixes")
    rows = ["| class | derives from | what it says |", "| --- | --- | --- |"]
    for cls in sorted(classes, key=lambda c: (len(c.__mro__), c.__name__)):
        bases = ", ".join(f"`{b.__name__}`" for b in cls.__bases__)
        doc = " ".join((inspect.getdoc(cls) or "").split("\n\n")[0].split())
        rows.append(f"| [`{cls.__name__}`][diffcompare.errors.{cls.__name__}] | {bases} | {doc} |")
    page = staging / "errors.md"
    page.write_text("\n".join([
        "# Errors and their fixes", "", table, "",
        "## The classes", "",
        "Read from `diffcompare.errors` when the site is built; the "
        "[API reference](api/errors.md) has each class in full.", "", *rows, "",
    ]))
    return page


# ---------------------------------------------------------------------------------------------
# teachers

SANDBOX_NOTE = """!!! warning "Grading needs bubblewrap"
    Every submission is graded in a throwaway **bubblewrap** sandbox (`bwrap`, the sandbox
    Flatpak uses), with no view of the hidden tests, the other submissions, the output folder
    or the grader. Bubblewrap must be installed on the grading machine (Debian/Ubuntu:
    `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`); without it the
    grader refuses to grade, and `--no-sandbox` is only for checking your own solutions."""


def write_teachers(staging: Path) -> Path:
    """``teachers.md``: the teachers' section of ``notebooks/README.md`` (generate, grade one, grade a
    class, the sandbox), under a note that grading needs bubblewrap."""
    body = readme_section("For teachers", NOTEBOOKS / "README.md")
    body = body.replace("](assignments/)", "](assignments/index.md)")
    page = staging / "teachers.md"
    page.write_text("\n\n".join([
        "# For teachers", SANDBOX_NOTE,
        "The [assignment pages](assignments/index.md) of this site are the student versions that "
        "`python -m diffcompare.course generate` writes.", body]) + "\n")
    return page


# ---------------------------------------------------------------------------------------------
# API reference

#: (page, public import path, what it is): the modules the reference documents, in order
API_PAGES = [
    ("diffcompare", "diffcompare", "The package: the methods by name, float64, the checker and `from_jax`."),
    ("numpy", "diffcompare.numpy", "The function language (`import diffcompare.numpy as dnp`): on JAX arrays it is "
     "`jax.numpy`; on an engine's values it hands each operation to that engine."),
    ("finite_diff", "diffcompare.finite_diff", "Finite differences: perturb the inputs, take difference quotients."),
    ("symbolic", "diffcompare.symbolic", "Symbolic differentiation: expression graphs, rules, simplification, "
     "compilation; matrix calculus at the array level."),
    ("forward", "diffcompare.forward", "Forward mode: dual numbers (primal, tangent) through every operation."),
    ("reverse", "diffcompare.reverse", "Reverse mode: a tape recorded on the forward pass, one backward sweep."),
    ("check", "diffcompare.checker", "`diffcompare.check`: every method (and your own gradient) against JAX."),
    ("from_jax", "diffcompare.from_jax", "Plain JAX code meets every method: `from_jax(f)`."),
    ("accumulate", "diffcompare.accumulate", "Jacobian accumulation beyond pure forward and reverse: bracketing, "
     "vertex elimination, sparse Jacobians by colouring."),
    ("custom", "diffcompare.custom", "User primitives with a hand-written JVP and/or VJP rule."),
    ("errors", "diffcompare.errors", "Every error the library raises on purpose, and the precision warning."),
]


API_INTRO = """# API reference

Generated from the docstrings when the site is built (mkdocstrings), one page per public
module, each listing every public function and class the module has with its real
signature. Every method module offers the same six functions with JAX's names and calling
conventions: `grad`, `value_and_grad`, `jvp`, `vjp`, `jacobian`, `hessian`; options that
belong to one method (finite differences' `scheme` and `step`, symbolic's `expand`,
forward mode's `chunk_size`) are keyword arguments. The [errors page](../errors.md) has
every error with its fix."""


def public_names(module_name: str) -> list[str]:
    """The public names of a module: its ``__all__`` (less submodules), or the functions and classes it defines."""
    import importlib
    import inspect

    module = importlib.import_module(module_name)  # the package diffcompare.from_jax, not the function
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(obj) or inspect.isclass(obj))
                 and getattr(obj, "__module__", "").startswith(module_name)]
    return [n for n in names if not inspect.ismodule(getattr(module, n, None))]


def public_functions(module_name: str) -> list[str]:
    """The public names that are functions (the reference must show each one's signature)."""
    import importlib
    import inspect

    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    return [n for n in public_names(module_name) if inspect.isfunction(getattr(module, n, None))]


def shadowed(module_name: str, name: str) -> bool:
    """Whether a public name is also a submodule (``diffcompare.symbolic.simplify`` the function and the
    module): the reference path then means the module, so the function is documented where it is defined."""
    import importlib.util

    try:
        return importlib.util.find_spec(f"{module_name}.{name}") is not None
    except (ImportError, ValueError):
        return False


def reference_id(module_name: str, name: str) -> str:
    """The anchor under which the reference documents a public name."""
    import importlib

    if not shadowed(module_name, name):
        return f"{module_name}.{name}"
    obj = getattr(importlib.import_module(module_name), name)
    return f"{obj.__module__}.{obj.__qualname__}"


def write_api(staging: Path) -> list[Path]:
    out = staging / "api"
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for page, module, _ in API_PAGES:
        names = public_names(module)
        direct = [n for n in names if not shadowed(module, n)]
        members = "\n".join(f"        - {n}" for n in direct) if direct else "        []"
        text = (f"# `{module}`\n\n::: {module}\n    options:\n      show_root_heading: false\n"
                f"      members:\n{members}\n")
        for n in names:
            if n not in direct:  # a function that shares its name with a submodule
                text += (f"\n::: {reference_id(module, n)}\n    options:\n      heading_level: 3\n"
                         f"      show_root_full_path: true\n")
        path = out / f"{page}.md"
        path.write_text(text)
        pages.append(path)
    rows = "\n".join(f"| [{page}]({page}.md) | `{module}` | {about} |" for page, module, about in API_PAGES)
    index = out / "index.md"
    index.write_text(f"{API_INTRO}\n\n| page | module | what it is |\n| --- | --- | --- |\n{rows}\n")
    return [index, *pages]


# ---------------------------------------------------------------------------------------------


def generate(staging: Path = STAGING, *, execute: bool | None = None, log=print) -> Path:
    """Write every generated page into ``staging`` (emptied first) and return it."""
    execute = execute_requested() if execute is None else execute
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    write_results(staging)
    write_errors(staging)
    write_teachers(staging)
    write_api(staging)
    write_assignments(staging)
    write_notebooks(staging, execute=execute, log=log)
    if not execute:
        log(f"docs: notebooks rendered WITHOUT their outputs ({EXECUTE_ENV}=0): a quick build, not the site")
    return staging
