"""Read the committed experiment results (``results/<experiment>/``) from notebooks and tests.

The experiments write ``data.csv``, ``meta.json`` and plots (see
:mod:`diffcompare.experiments`); notebooks quote those numbers, and tests check
that the sentences quoting them still hold. Both read them through here.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path


def results_dir(start: Path | str | None = None) -> Path | None:
    """The ``results/`` folder of the checkout: next to ``start`` (default: the current folder) or above it."""
    here = Path(start or Path.cwd()).resolve()
    for folder in [here, *here.parents][:4]:
        if (folder / "results").is_dir():
            return folder / "results"
    package_root = Path(__file__).resolve().parents[1] / "results"  # an editable install's checkout
    return package_root if package_root.is_dir() else None


def _number(text: str):
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def load(experiment: str, columns=(), ok_only: bool = True, root: Path | str | None = None) -> list[dict] | None:
    """The rows of ``results/<experiment>/data.csv`` with numbers as floats, or None.

    None when the folder or file is missing, has no rows, lacks one of
    ``columns``, or the environment asks notebooks to compute instead
    (``DIFFCOMPARE_NOTEBOOK_RESULTS=compute``). Rows whose ``status`` is not
    "ok" are dropped unless ``ok_only=False``.
    """
    if root is None and os.environ.get("DIFFCOMPARE_NOTEBOOK_RESULTS", "auto") == "compute":
        return None
    folder = Path(root) if root is not None else results_dir()
    if folder is None:
        return None
    try:
        with open(folder / experiment / "data.csv", newline="") as fh:
            rows = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    except OSError:
        return None
    if not rows or not set(columns) <= set(rows[0]):
        return None
    return [r for r in rows if r.get("status", "ok") == "ok"] if ok_only else rows


def show_plots(experiment: str, width: float = 10.0, root: Path | str | None = None) -> list[Path]:
    """Display the experiment's committed PNG plots at a readable size; returns their paths.

    The title is the plot's own; the file name goes in a small caption.
    """
    import matplotlib.pyplot as plt

    folder = Path(root) if root is not None else results_dir()
    if folder is None or os.environ.get("DIFFCOMPARE_NOTEBOOK_RESULTS", "auto") == "compute":
        return []
    shown = []
    for png in sorted((folder / experiment).glob("*.png")):
        image = plt.imread(png)
        height = width * image.shape[0] / image.shape[1]
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0, 0.03, 1, 0.97))
        ax.imshow(image)
        ax.set_axis_off()
        fig.text(0.01, 0.0, f"results/{experiment}/{png.name}", fontsize=7, color="0.5")
        plt.show()
        shown.append(png)
    return shown
