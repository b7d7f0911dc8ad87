"""Checks over the built HTML: links and images resolve, the API reference is complete, notebooks have outputs.

Each check returns a list of problems (strings naming the page and what is wrong); an
empty list means the site passed. No network: a page may link to another host, but
nothing the browser loads by itself (images, scripts, styles) may come from one.
"""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: (tag, attribute) pairs that a page loads or links to
_REFS = {("a", "href"), ("img", "src"), ("script", "src"), ("link", "href"), ("source", "src"),
         ("iframe", "src"), ("video", "src"), ("audio", "src")}
#: tags whose reference the browser loads by itself (must never point to another host)
_LOADED = {"img", "script", "source", "iframe", "video", "audio"}


@dataclass
class ParsedPage:
    refs: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, attribute, value)
    ids: set[str] = field(default_factory=set)


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.page.ids.add(attrs[key])
        for attr in ("href", "src"):
            value = attrs.get(attr)
            if value is not None and (tag, attr) in _REFS:
                if tag == "link" and "stylesheet" not in (attrs.get("rel") or "") \
                        and "icon" not in (attrs.get("rel") or ""):
                    continue  # rel="canonical", "prev", "next": not loaded
                self.page.refs.append((tag, attr, value))


def parse(path: Path) -> ParsedPage:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.page


def _target(site: Path, page: Path, ref: str) -> tuple[Path, str]:
    """The file a relative or site-absolute reference points to, and its fragment."""
    parts = urlsplit(ref)
    path = unquote(parts.path)
    if path.startswith("/"):
        rel = path.lstrip("/")
    else:
        base = page.parent.relative_to(site).as_posix()
        rel = posixpath.normpath(posixpath.join(base, path)) if path else page.relative_to(site).as_posix()
    target = site / rel
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def check_site(site: Path) -> list[str]:
    """Every internal link, image, script and stylesheet of every page resolves (anchors included)."""
    site = Path(site)
    pages = sorted(site.rglob("*.html"))
    if not pages:
        return [f"{site}: no HTML pages (was the site built?)"]
    parsed: dict[Path, ParsedPage] = {}

    def get(p: Path) -> ParsedPage:
        if p not in parsed:
            parsed[p] = parse(p)
        return parsed[p]

    problems = []
    for page in pages:
        where = page.relative_to(site).as_posix()
        for tag, attr, value in get(page).refs:
            value = html.unescape(value).strip()
            scheme = urlsplit(value).scheme
            if scheme in ("data", "mailto", "javascript", "blob"):
                continue
            if scheme or value.startswith("//"):
                if tag in _LOADED or (tag == "link"):
                    problems.append(f"{where}: <{tag} {attr}={value!r}> loads from another host (the site must "
                                    "work offline)")
                continue
            if not value or value == "#":
                continue
            target, fragment = _target(site, page, value)
            if not target.is_file():
                problems.append(f"{where}: <{tag} {attr}={value!r}> points to a missing file "
                                f"({target.relative_to(site) if target.is_relative_to(site) else target})")
                continue
            if fragment and target.suffix == ".html" and fragment not in get(target).ids:
                problems.append(f"{where}: <{tag} {attr}={value!r}>: no id {fragment!r} in "
                                f"{target.relative_to(site).as_posix()}")
    return problems


# ---------------------------------------------------------------------------------------------
# API reference


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _object_block(page_html: str, ident: str) -> str | None:
    """The HTML of the mkdocstrings block whose heading has id ``ident`` (up to the next object's heading)."""
    m = re.search(rf'<h\d[^>]*\bid="{re.escape(ident)}"', page_html)
    if not m:
        return None
    rest = page_html[m.end():]
    end = re.search(r'<h\d[^>]*\bid="[\w.]+"[^>]*class="doc doc-heading"|<div class="doc doc-object', rest)
    return rest[: end.start()] if end else rest


def _plain(text: str) -> str:
    """Text without the marks Markdown may turn into markup (backticks, emphasis) or a Sphinx role."""
    text = re.sub(r":\w+:(?=`|\s)", "", text)
    return " ".join(re.sub(r"[`*_]", "", text).split())


def _words(docstring: str, n: int = 6) -> str:
    return " ".join(_plain(docstring.strip().split("\n\n")[0]).split()[:n])


#: the method modules, whose six functions must name every option they take (no ``**options``)
METHOD_MODULES = {"diffcompare.finite_diff", "diffcompare.symbolic", "diffcompare.forward", "diffcompare.reverse"}
METHOD_FUNCTIONS = {"grad", "value_and_grad", "jvp", "vjp", "jacobian", "hessian"}


def check_api(site: Path) -> list[str]:
    """Every public function of every module of the reference is on its page, with its signature
    (every parameter named) and its docstring; a method's functions name their options."""
    import importlib
    import inspect

    from .pages import API_PAGES, public_functions, reference_id

    problems = []
    for page, module_name, _ in API_PAGES:
        path = Path(site) / "api" / page / "index.html"
        if not path.is_file():
            problems.append(f"api/{page}: page missing")
            continue
        text = path.read_text(encoding="utf-8")
        module = importlib.import_module(module_name)
        for name in public_functions(module_name):
            ident = reference_id(module_name, name)
            block = _object_block(text, ident)
            if block is None:
                problems.append(f"api/{page}: {ident} is not documented")
                continue
            sig = re.search(r'<div class="doc-signature[^"]*"[^>]*>(.*?)</div>', block, re.S)
            if not sig:
                problems.append(f"api/{page}: {ident} has no signature")
                continue
            sig_text = _text(sig.group(1))
            obj = getattr(module, name)
            try:
                params = inspect.signature(inspect.unwrap(obj)).parameters
            except (TypeError, ValueError):
                params = {}
            hidden = [p.name for p in params.values() if p.kind is p.VAR_KEYWORD]
            if hidden and module_name in METHOD_MODULES and name in METHOD_FUNCTIONS:
                problems.append(f"api/{page}: {ident} takes **{hidden[0]}: its options must be named in its "
                                "signature, where the reference shows them")
            missing = [p for p in params if p not in sig_text]
            if missing:
                problems.append(f"api/{page}: the signature of {ident} shown as {sig_text!r} lacks {missing}")
            doc = inspect.getdoc(obj)
            if doc and _words(doc) and "".join(_words(doc).split()) not in "".join(_plain(_text(block)).split()):
                problems.append(f"api/{page}: {ident}'s docstring ({_words(doc)!r}...) is not shown")
    return problems


# ---------------------------------------------------------------------------------------------
# notebooks


def check_notebooks(site: Path, staging: Path | None = None) -> list[str]:
    """Every notebook page was executed and shows every output and figure of its notebook."""
    import nbformat

    from .pages import STAGING, draws, figures, notebook_sources

    staging = staging or STAGING
    problems = []
    for source in notebook_sources():
        name = source.stem
        nb_path = staging / "notebooks" / f"{name}.ipynb"
        page = Path(site) / "notebooks" / name / "index.html"
        if not nb_path.is_file() or not page.is_file():
            problems.append(f"notebooks/{name}: page or executed notebook missing")
            continue
        nb = nbformat.read(nb_path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        unrun = [i for i, c in enumerate(code) if c.get("execution_count") is None]
        if unrun:
            problems.append(f"notebooks/{name}: {len(unrun)} of {len(code)} code cells were not executed")
        images = figures(nb)
        outputs = sum(1 for c in code if c.get("outputs"))
        body = page.read_text(encoding="utf-8")
        shown_images = len(re.findall(r'<img[^>]+src="data:image/png', body)) + body.count("<svg")
        if outputs == 0:
            problems.append(f"notebooks/{name}: no outputs")
        if images == 0 and draws(source):
            problems.append(f"notebooks/{name}: it draws with matplotlib but shows no figure (was a non-inline "
                            "MPLBACKEND in force?)")
        if shown_images < images:
            problems.append(f"notebooks/{name}: the page shows {shown_images} of the notebook's {images} figures")
        output_areas = body.count("jp-OutputArea-output")
        if output_areas < outputs:
            problems.append(f"notebooks/{name}: the page shows {output_areas} output areas for {outputs} cells "
                            "with outputs")
    return problems
