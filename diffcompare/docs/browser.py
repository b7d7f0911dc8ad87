"""Open the built site in a real headless browser: Debian's ``chromium`` through ``chromium-driver``.

The site is served on 127.0.0.1 (a web worker, the search index, cannot start from
``file://``). For the landing page, a notebook page and an API page: the page loads with
no message at level SEVERE in the browser's console (a failed request, a script error),
every ``<img>`` has loaded with a natural width > 0, MathJax has typeset the page's
maths (and none of it is an error), and a screenshot is written. Then the search box finds a word, and the
palette toggle switches the page to the dark scheme (a screenshot of that too).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import socketserver
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

#: (name, path under the site, what must be on it): the pages opened
PAGES = [
    ("landing", "", "maths"),
    ("notebook", "notebooks/01_finite_differences/", "maths"),
    ("api", "api/finite_diff/#diffcompare.finite_diff.value_and_grad", ""),
]
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver",)
_MATHJAX_DONE = """
const done = arguments[arguments.length - 1];
const t0 = Date.now();
(function wait() {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise && mj.typesetPromise) {
    mj.startup.promise.then(() => done(document.querySelectorAll('mjx-container').length),
                            (e) => done(-2));
  } else if (Date.now() - t0 > 60000) {
    done(-1);
  } else {
    setTimeout(wait, 200);
  }
})();
"""
_BROKEN_IMAGES = """
return Array.from(document.images)
  .filter(img => !(img.complete && img.naturalWidth > 0))
  .map(img => (img.getAttribute('src') || '').slice(0, 120));
"""


def _which(names) -> str | None:
    for n in names:
        found = shutil.which(n)
        if found:
            return found
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(site: Path):
    """The site over HTTP on a free port of 127.0.0.1; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(site))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


@contextmanager
def chromium():
    """A headless Chromium driven by chromedriver, both Debian's (no browser is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _which(CHROMIUM), _which(DRIVER)
    if not binary or not driver:
        raise RuntimeError("headless Chromium is needed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    profile = tempfile.mkdtemp(prefix="diffcompare-docs-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    browser.set_page_load_timeout(120)
    browser.set_script_timeout(90)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _console_errors(browser) -> list[str]:
    return [e.get("message", "") for e in browser.get_log("browser") if e.get("level") == "SEVERE"]


def _open(browser, url: str, *, maths: bool) -> list[str]:
    """Load a page and wait until it is drawn; the problems seen."""
    problems = []
    browser.get(url)
    deadline = time.monotonic() + 60
    while browser.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
        time.sleep(0.2)
    if maths:
        typeset = browser.execute_async_script(_MATHJAX_DONE)
        if typeset <= 0:
            problems.append({-1: "MathJax did not start within 60 s", -2: "MathJax failed"}.get(
                typeset, "MathJax typeset no maths on the page"))
        errors = browser.execute_script("return document.querySelectorAll('mjx-merror').length")
        if errors:
            problems.append(f"MathJax could not typeset {errors} formula(s)")
    broken = browser.execute_script(_BROKEN_IMAGES)
    if broken:
        problems.append(f"{len(broken)} image(s) not drawn (naturalWidth 0): {broken[:5]}")
    return problems


def check_pages(site: Path, screenshots: Path, pages=PAGES, *, executed: bool = True, extras: bool = True) -> list[str]:
    """Open the pages in headless Chromium; the problems found (empty: all well). Writes screenshots.

    ``executed``: the notebooks were run, so the notebook page must show a figure; ``extras``: try
    the search box and the dark theme too."""
    site, screenshots = Path(site), Path(screenshots)
    screenshots.mkdir(parents=True, exist_ok=True)
    for old in screenshots.glob("*.png"):
        old.unlink()
    problems = []
    with serve(site) as base, chromium() as browser:
        for name, path, needs in pages:
            url = base + path
            found = _open(browser, url, maths=needs == "maths")
            images = browser.execute_script("return document.images.length")
            if name == "notebook" and executed and images == 0:
                found.append("the notebook page has no figure")
            browser.save_screenshot(str(screenshots / f"{name}.png"))
            if name == "notebook" and images:
                browser.execute_script("document.images[0].scrollIntoView({block: 'center'})")
                time.sleep(0.3)
                browser.save_screenshot(str(screenshots / f"{name}-figure.png"))
            found += [f"console: {m}" for m in _console_errors(browser)]
            problems += [f"{path or '/'}: {p}" for p in found]
        if extras:
            problems += [f"search: {p}" for p in _search(browser, base)]
            problems += [f"palette: {p}" for p in _dark_mode(browser, base, screenshots)]
            problems += [f"console: {m}" for m in _console_errors(browser)]
    return problems


def _search(browser, base: str, word: str = "Richardson") -> list[str]:
    """Type a word into the search box of the landing page; the search must list results."""
    from selenium.webdriver.common.by import By

    browser.get(base)
    box = browser.find_element(By.CSS_SELECTOR, "input.md-search__input")
    box.click()
    box.send_keys(word)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hits = browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
        if hits:
            return []
        time.sleep(0.3)
    return [f"no results for {word!r} within 30 s"]


def _dark_mode(browser, base: str, screenshots: Path) -> list[str]:
    """Click the palette toggle: the page must switch to the dark scheme (slate)."""
    from selenium.webdriver.common.by import By

    browser.get(base)
    before = browser.execute_script("return document.body.getAttribute('data-md-color-scheme')")
    toggles = [t for t in browser.find_elements(By.CSS_SELECTOR, "form[data-md-component='palette'] label")
               if t.is_displayed()]
    if not toggles:
        return ["no palette toggle on the page"]
    toggles[0].click()
    time.sleep(0.5)
    after = browser.execute_script("return document.body.getAttribute('data-md-color-scheme')")
    if before == after or {before, after} != {"default", "slate"}:
        return [f"the toggle did not switch the scheme ({before} -> {after})"]
    browser.save_screenshot(str(screenshots / f"landing-{after}.png"))
    return []


if __name__ == "__main__":  # pragma: no cover - a manual run: python -m diffcompare.docs.browser
    import sys

    root = Path(__file__).resolve().parents[2]
    errs = check_pages(root / "build" / "site", root / "build" / "docs-screenshots")
    print("\n".join(errs) or "ok")
    sys.exit(1 if errs else 0)
