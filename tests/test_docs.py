"""The documentation site's parts: generated pages, and checks that catch what they are for.

The full build (notebooks executed at full size, then every check) is a CI step
(``python -m diffcompare.docs build`` in ``.ci/run``), not a test: it takes minutes.
Here each check is shown to fail on a site that has the fault it looks for.
"""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import pytest

from diffcompare.docs import linkcheck, pages

ROOT = Path(__file__).resolve().parents[1]


def _site(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    site = tmp_path / "site"
    for rel, content in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return site


# a 1×1 PNG
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6a5"
                    "6e0000000049454e44ae426082")


def test_linkcheck_passes_a_sound_site(tmp_path):
    site = _site(tmp_path, {
        "index.html": '<a href="page/">p</a><a href="page/#part">part</a><img src="img/a.png">'
                      '<script src="js/x.js?v=1"></script><a href="https://example.org/">out</a>'
                      '<link rel="canonical" href="https://example.org/"><a href="#top" id="top">top</a>',
        "page/index.html": '<h2 id="part">Part</h2><a href="../">home</a><img src="../img/a.png">',
        "img/a.png": PNG, "js/x.js": "",
    })
    assert linkcheck.check_site(site) == []


@pytest.mark.parametrize("html, fault", [
    ('<a href="missing/">x</a>', "missing file"),
    ('<img src="img/none.png">', "missing file"),
    ('<a href="page/#nowhere">x</a>', "no id 'nowhere'"),
    ('<script src="https://cdn.example.org/mathjax.js"></script>', "another host"),
    ('<img src="//cdn.example.org/a.png">', "another host"),
    ('<link rel="stylesheet" href="https://fonts.example.org/css">', "another host"),
    ('<link rel="stylesheet" href="css/none.css">', "missing file"),
])
def test_linkcheck_finds_each_fault(tmp_path, html, fault):
    site = _site(tmp_path, {"index.html": html, "page/index.html": '<h2 id="part">Part</h2>'})
    problems = linkcheck.check_site(site)
    assert len(problems) == 1 and fault in problems[0], problems


def test_linkcheck_refuses_an_empty_site(tmp_path):
    assert linkcheck.check_site(tmp_path) != []


@pytest.fixture
def fake_module(monkeypatch):
    mod = types.ModuleType("docs_fake_module")

    def grad(f, argnums=0, *, scheme="central", step=None):
        """A function returning the gradient by finite differences."""

    def shown(x):
        """Shown with its docstring."""

    grad.__module__ = shown.__module__ = mod.__name__
    mod.grad, mod.shown, mod.__all__ = grad, shown, ["grad", "shown"]
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(pages, "API_PAGES", [("fake", mod.__name__, "a fake module")])
    return mod


def _api_page(blocks: str) -> dict[str, str]:
    return {"api/fake/index.html": f"<html><body>{blocks}</body></html>"}


def _block(ident: str, signature: str, doc: str) -> str:
    return (f'<div class="doc doc-object doc-function"><h2 id="{ident}" class="doc doc-heading">'
            f'<code>{ident.rpartition(".")[2]}</code></h2><div class="doc-signature highlight"><pre>{signature}</pre>'
            f'</div><div class="doc doc-contents"><p>{doc}</p></div></div>')


def test_check_api_passes_a_complete_reference(tmp_path, fake_module):
    site = _site(tmp_path, _api_page(
        _block("docs_fake_module.grad", "grad(f, argnums=0, *, scheme='central', step=None)",
               "A function returning the gradient by finite differences.")
        + _block("docs_fake_module.shown", "shown(x)", "Shown with its <code>docstring</code>.")))
    assert linkcheck.check_api(site) == []


def test_check_api_finds_a_missing_function_option_and_docstring(tmp_path, fake_module):
    site = _site(tmp_path, _api_page(
        _block("docs_fake_module.grad", "grad(f, argnums=0, **options)",  # the options hidden
               "Something else entirely, not its docstring.")))
    problems = "\n".join(linkcheck.check_api(site))
    assert "docs_fake_module.shown is not documented" in problems
    assert "lacks ['scheme', 'step']" in problems
    assert "docs_fake_module.grad's docstring" in problems


def test_check_api_refuses_options_hidden_in_a_methods_signature(tmp_path, fake_module, monkeypatch):
    def grad(f, argnums=0, **options):
        """A function returning the gradient by finite differences."""

    fake_module.grad = grad
    site = _site(tmp_path, _api_page(
        _block("docs_fake_module.grad", "grad(f, argnums=0, **options)", "A function returning the gradient by "
               "finite differences.") + _block("docs_fake_module.shown", "shown(x)", "Shown with its docstring.")))
    assert linkcheck.check_api(site) == []  # not a method module: allowed
    monkeypatch.setattr(linkcheck, "METHOD_MODULES", {"docs_fake_module"})
    assert linkcheck.check_api(site) == ["api/fake: docs_fake_module.grad takes **options: its options must be "
                                         "named in its signature, where the reference shows them"]


def test_griffe_extension_splits_an_entry_naming_several_parameters():
    import importlib.util

    spec = importlib.util.spec_from_file_location("griffe_extensions", ROOT / "docs" / "griffe_extensions.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    text = "Sum.\n\nArguments:\n    f, step: as value_and_grad\n        (step=None: chosen).\n    x: one.\nReturns:\n" \
           "    a, b: not arguments.\n"
    assert ext.split_entries(text) == ("Sum.\n\nArguments:\n    f: as value_and_grad\n        (step=None: chosen).\n"
                                       "    step: as value_and_grad\n        (step=None: chosen).\n    x: one.\n"
                                       "Returns:\n    a, b: not arguments.")


def test_public_names_follow_the_modules():
    import diffcompare.finite_diff as fd
    import diffcompare.numpy as dnp

    names = pages.public_names("diffcompare.numpy")
    assert {"sin", "exp", "sum", "where", "logsumexp", "softmax", "relu"} <= set(names)
    assert all(callable(getattr(dnp, n)) for n in pages.public_functions("diffcompare.numpy"))
    assert set(pages.public_functions("diffcompare.finite_diff")) >= {
        "grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian"}
    assert "errors" not in pages.public_names("diffcompare")  # a module: it has its own page
    assert fd.grad.__name__ == "grad"
    # a function that shares its name with a submodule is documented where it is defined
    assert pages.shadowed("diffcompare.symbolic", "simplify")
    assert pages.reference_id("diffcompare.symbolic", "simplify").endswith(".simplify")
    assert pages.reference_id("diffcompare.symbolic", "simplify") != "diffcompare.symbolic.simplify"
    assert pages.reference_id("diffcompare.finite_diff", "grad") == "diffcompare.finite_diff.grad"


def test_api_pages_list_every_public_name(tmp_path):
    written = pages.write_api(tmp_path)
    assert written[0].name == "index.md"
    for page, module, _ in pages.API_PAGES:
        text = (tmp_path / "api" / f"{page}.md").read_text()
        assert f"::: {module}" in text
        for name in pages.public_names(module):
            assert f"- {name}\n" in text or f"::: {pages.reference_id(module, name)}\n" in text, (module, name)
        assert f"({page}.md)" in written[0].read_text()


def test_results_gallery_links_every_run(tmp_path):
    page = pages.write_results(tmp_path)
    text = page.read_text()
    runs = [p.name for p in (ROOT / "results").iterdir() if p.is_dir() and (p / "meta.json").exists()]
    assert runs
    for run in runs:
        assert f"[data.csv]({run}/data.csv)" in text and f"[meta.json]({run}/meta.json)" in text, run
        assert (tmp_path / "results" / run / "meta.json").is_file()
    for target in __import__("re").findall(r"\]\(([^)#]+)\)", text):  # every link and image resolves
        assert (page.parent / target).is_file(), target
    assert "](fd_step/)" not in text  # folder links (no page there) are replaced


def test_errors_page_has_the_table_and_every_class(tmp_path):
    import inspect

    from diffcompare import errors

    text = pages.write_errors(tmp_path).read_text()
    assert "| `ConcretizationError` |" in text  # the README's table of fixes
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if cls.__module__ == errors.__name__:
            assert f"[`{name}`][diffcompare.errors.{name}]" in text, name


def test_a_failed_cell_or_claim_fails_the_page():
    import nbformat

    nb = nbformat.v4.new_notebook()
    ok = nbformat.v4.new_code_cell("1")
    ok.outputs = [nbformat.v4.new_output("stream", text="fine\n")]
    raised = nbformat.v4.new_code_cell("1/0")
    raised.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                             traceback=[])]
    nb.cells = [ok, raised]
    assert pages._error_outputs(nb) == ["cell 1: ZeroDivisionError: division by zero"]
    marker = pages._failed_claim_marker()
    if marker:
        nb.cells = [ok, nbformat.v4.new_code_cell("claim(...)")]
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", text=f"{marker}: the slope is 2\n")]
        assert len(pages._error_outputs(nb)) == 1


def test_student_assignments_have_no_answers_or_hidden_tests(tmp_path):
    pytest.importorskip("otter")
    import re

    import nbformat

    written = pages.write_assignments(tmp_path)
    assert [p.stem for p in written] == [p.stem for p in pages.assignment_sources()]
    for path, master in zip(written, pages.assignment_sources()):
        nb = nbformat.read(path, as_version=4)
        assert pages.student_leaks(nb) == [], path.name
        assert (tmp_path / "assignments" / "download" / path.name).is_file()
        student = "\n".join(c.source for c in nb.cells)
        source = master.read_text()
        answers = [line.strip() for block in re.findall(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", source, re.S)
                   for line in block.splitlines() if len(line.strip()) > 12]
        hidden = re.findall(r"hidden: true\n\"\"\" # END TEST CONFIG\ndef (\w+)", source)
        assert answers and hidden, master.name  # the masters hold both
        assert [a for a in answers if a in student] == [], path.name
        assert [h for h in hidden if h in student] == [], path.name
    # the check itself sees what a master holds
    import jupytext

    master = jupytext.read(pages.assignment_sources()[0])
    assert pages.student_leaks(master)


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="needs Debian's chromium and chromium-driver")
def test_browser_check_sees_a_broken_image_and_a_console_error(tmp_path):
    pytest.importorskip("selenium")
    from diffcompare.docs import browser

    site = _site(tmp_path, {
        "index.html": '<html><body><img src="a.png"><script>console.error("boom")</script></body></html>',
        "good/index.html": '<html><body><img src="../a.png"></body></html>',
        "bad/index.html": '<html><body><img src="../gone.png"></body></html>',
        "a.png": PNG,
    })
    shots = tmp_path / "shots"
    problems = browser.check_pages(site, shots, pages=[("landing", "", ""), ("good", "good/", ""),
                                                        ("bad", "bad/", "")], extras=False)
    text = "\n".join(problems)
    assert "boom" in text
    assert "bad/: 1 image(s) not drawn" in text
    assert not any(p.startswith("good/") for p in problems), problems
    assert {p.name for p in shots.glob("*.png")} == {"landing.png", "good.png", "bad.png"}


def test_a_run_from_elsewhere_is_used_only_when_it_is_this_notebook_run_cleanly(tmp_path):
    import nbformat

    source = pages.notebook_sources()[0]
    assert pages.draws(source)
    ran = pages.read_notebook(source)
    for i, cell in enumerate(c for c in ran.cells if c.cell_type == "code"):
        cell.execution_count = i + 1
    folder, target = tmp_path / "ran", tmp_path / "out" / "nb.ipynb"
    folder.mkdir()
    path = folder / f"{source.stem}.ipynb"
    logged = []
    nbformat.write(ran, path)  # run with MPLBACKEND=Agg: no figure
    assert not pages.take_executed(source, folder, target, log=logged.append)
    assert "shows no figure" in logged.pop()
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    next(c for c in ran.cells if c.cell_type == "code").outputs = [figure]
    nbformat.write(ran, path)
    assert pages.take_executed(source, folder, target, log=logged.append) and target.is_file()

    code = [c for c in ran.cells if c.cell_type == "code"]
    code[-1].execution_count = None
    nbformat.write(ran, path)
    assert not pages.take_executed(source, folder, target, log=logged.append)
    code[-1].execution_count = 99
    code[-1].outputs = [nbformat.v4.new_output("error", ename="E", evalue="x", traceback=[])]
    nbformat.write(ran, path)
    assert not pages.take_executed(source, folder, target, log=logged.append)
    code[-1].outputs = []
    code[-1].source += "\n# edited since"
    nbformat.write(ran, path)
    assert not pages.take_executed(source, folder, target, log=logged.append)
    assert [m.rpartition("(")[2] for m in logged[1:]] == [
        "not every cell ran); running " + source.name, "it shows errors); running " + source.name,
        "its code is not the source's); running " + source.name]
    assert not pages.take_executed(source, tmp_path / "nowhere", target)


def test_check_notebooks_wants_every_output_and_a_figure_from_a_notebook_that_draws(tmp_path, monkeypatch):
    import nbformat

    source = tmp_path / "01_plot.py"
    source.write_text("# %%\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n")
    monkeypatch.setattr(pages, "notebook_sources", lambda: [source])
    staging, site = tmp_path / "staging", tmp_path / "site"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plt.plot([1, 2])", execution_count=1)
    nb.cells = [cell]
    (staging / "notebooks").mkdir(parents=True)
    page = site / "notebooks" / "01_plot" / "index.html"
    page.parent.mkdir(parents=True)

    def run(outputs, html):
        cell.outputs = outputs
        nbformat.write(nb, staging / "notebooks" / "01_plot.ipynb")
        page.write_text(html)
        return linkcheck.check_notebooks(site, staging)

    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    shown = '<div class="jp-OutputArea-output"><img src="data:image/png;base64,iVBORw0KGgo="></div>'
    assert run([figure], shown) == []
    assert "shows 0 of the notebook's 1 figures" in run([figure], "<p>no output</p>")[0]
    text = nbformat.v4.new_output("stream", text="[<matplotlib.lines.Line2D>]\n")
    assert "draws with matplotlib but shows no figure" in "\n".join(
        run([text], '<div class="jp-OutputArea-output">text</div>'))
    cell.execution_count = None
    assert "were not executed" in run([figure], shown)[0]


def test_teachers_page_is_the_readme_section_with_the_sandbox_note(tmp_path):
    text = pages.write_teachers(tmp_path).read_text()
    assert text.startswith("# For teachers\n") and "bubblewrap" in text
    for command in ("course generate", "course grade ", "course grade-class"):
        assert command in text, command
    assert "](assignments/)" not in text  # a folder link, rewritten to the assignments page
