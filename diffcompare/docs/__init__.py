"""The documentation site: ``python -m diffcompare.docs build|serve|check``.

``build`` runs ``mkdocs build --strict`` (the hook in ``docs/hooks.py`` executes the seven
notebooks at full size, writes the assignments' student versions, the results gallery,
the errors page and the API pages) and then checks the built site: every internal link
and image resolves (:mod:`.linkcheck`), the API reference shows every public function
with its signature, and headless Chromium opens the landing page, a notebook and an API
page with no console error and every image drawn, writing screenshots
(:mod:`.browser`). ``serve`` runs ``mkdocs serve``. Needs the ``docs`` extra
(``pip install -e '.[docs]'``); the browser check needs Debian's ``chromium`` and
``chromium-driver``.

``app`` is a typer application, so the project's command line can mount it
(``app.add_typer(docs.app, name="docs")``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from .pages import EXECUTE_ENV, ROOT

SITE = ROOT / "build" / "site"
SCREENSHOTS = ROOT / "build" / "docs-screenshots"

app = typer.Typer(help="Build, serve and check the documentation site.", no_args_is_help=True,
                  add_completion=False)


def _mkdocs(*args: str, execute: bool) -> int:
    env = dict(os.environ)
    env[EXECUTE_ENV] = "1" if execute else "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("DIFFCOMPARE_NOTEBOOK_SIZE", None)  # the site shows the notebooks at full size
    env["MPLBACKEND"] = "Agg"  # mkdocs itself draws nothing; the notebooks' kernels draw inline (pages.INLINE)
    return subprocess.call([sys.executable, "-m", "mkdocs", *args, "-f", str(ROOT / "mkdocs.yml")], cwd=ROOT, env=env)


@app.command()
def build(
    execute: bool = typer.Option(True, help="run the notebooks at full size (--no-execute: a quick build "
                                            "without their outputs, for editing pages)"),
    check: bool = typer.Option(True, help="check links, images and the API reference, and open pages in Chromium"),
    browser: bool = typer.Option(True, help="with --check: open pages in headless Chromium and take screenshots"),
) -> None:
    """Build the site into build/site with `mkdocs build --strict` (a warning fails it), then check it."""
    start = time.perf_counter()
    rc = _mkdocs("build", "--strict", execute=execute)
    if rc:
        raise typer.Exit(rc)
    typer.echo(f"docs: built {SITE} in {time.perf_counter() - start:.0f} s")
    if check:
        _check(SITE, browser=browser, notebooks_executed=execute)


@app.command()
def serve(
    execute: bool = typer.Option(True, help="run the notebooks (executed copies are reused while their inputs "
                                            "are unchanged)"),
    dev_addr: str = typer.Option("127.0.0.1:8000", help="address to serve on"),
) -> None:
    """Serve the site at http://127.0.0.1:8000/ and rebuild it when a page changes (`mkdocs serve`)."""
    raise typer.Exit(_mkdocs("serve", "--dev-addr", dev_addr, execute=execute))


@app.command("check")
def check_cmd(
    site: Annotated[Path, typer.Argument(help="the built site")] = SITE,
    browser: bool = typer.Option(True, help="open pages in headless Chromium and take screenshots"),
) -> None:
    """Check an already built site: links, images, the API reference, and (--browser) Chromium."""
    _check(site, browser=browser, notebooks_executed=True)


def _check(site: Path, *, browser: bool, notebooks_executed: bool) -> None:
    from . import linkcheck

    problems = linkcheck.check_site(site)
    problems += linkcheck.check_api(site)
    if notebooks_executed:
        problems += linkcheck.check_notebooks(site)
    for p in problems:
        typer.echo(f"docs check: {p}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"docs: every internal link and image of {site} resolves; the API reference lists every public "
               "function with its signature" + ("; every notebook page has outputs and figures"
                                                if notebooks_executed else ""))
    if browser:
        from . import browser as chrome

        failures = chrome.check_pages(site, SCREENSHOTS, executed=notebooks_executed)
        for p in failures:
            typer.echo(f"docs browser: {p}", err=True)
        if failures:
            raise typer.Exit(1)
        typer.echo(f"docs: Chromium opened the pages with no console error and every image drawn; "
                   f"screenshots in {SCREENSHOTS}")


def main() -> None:
    app()
