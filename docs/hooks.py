"""mkdocs hooks: the pages made from the repository (``diffcompare.docs.pages``) join the site.

``on_files`` runs before the plugins' (mkdocs-jupyter turns the executed notebooks into
pages), writes the generated pages into ``build/docs-generated/``, adds them to the site
and lists the notebooks and assignments in the navigation; ``on_post_build`` copies the
local MathJax (no page loads anything from another host).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

from diffcompare.docs import pages

log = logging.getLogger("mkdocs.hooks.diffcompare")


def _title(path: Path) -> str:
    return path.stem


@event_priority(100)
def on_files(files, config):
    staging = pages.generate(pages.STAGING, log=log.info)
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        rel = path.relative_to(staging).as_posix()
        if files.get_file_from_path(rel) is not None:
            raise ValueError(f"docs/{rel} and a generated page have the same path")
        files.append(File(rel, src_dir=str(staging), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    sections = {
        "Notebooks": [f"notebooks/{p.stem}.ipynb" for p in pages.notebook_sources()],
        "Assignments": ["assignments/index.md"] + [f"assignments/{p.stem}.ipynb" for p in pages.assignment_sources()],
    }
    for item in config["nav"]:
        if isinstance(item, dict):
            (title, value), = item.items()
            if title in sections:
                item[title] = sections.pop(title)
    if sections:
        raise ValueError(f"mkdocs.yml's nav has no section {sorted(sections)} for the generated pages")
    return files


#: what the pages use of MathJax 3's browser build (the combined file, the TeX extensions it may load,
#: its fonts, the menu and assistive MathML), copied from the django-static-mathjax package
MATHJAX_PARTS = ("tex-chtml.js", "input", "output", "ui", "a11y", "adaptors")


def on_post_build(config):
    import mathjax  # the django-static-mathjax package: MathJax 3.2 with nothing else

    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    target = Path(config["site_dir"]) / "assets" / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part)
        else:
            shutil.copyfile(source / part, target / part)
