"""Every experiment's figure, drawn from its tiny run: no two pieces of text overlap.

Titles, the figure's suptitle, axis labels, tick labels, legends and free text are
measured with matplotlib's ``get_window_extent`` on the rendered figure; two boxes
that intersect (by more than a pixel) are two strings a reader cannot read apart,
such as two panel titles running into one another.
"""

from __future__ import annotations

import itertools

import pytest
from matplotlib.legend import Legend

from diffcompare.experiments import plotting
from diffcompare.experiments.registry import get, names
from diffcompare.experiments.runner import Config, run_experiment

#: pixels two boxes may share (antialiasing, a descender touching the next line)
SLACK = 1.0


def text_boxes(fig):
    """(description, bounding box) of every visible, non-empty text of ``fig`` and of every legend."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = []

    def add(what, artist):
        if artist is None or not artist.get_visible():
            return
        if hasattr(artist, "get_text") and not artist.get_text().strip():
            return
        found.append((what, artist.get_window_extent(renderer)))

    if fig._suptitle is not None:
        add("suptitle", fig._suptitle)
    for text in fig.texts:
        if text is fig._suptitle:
            continue
        add(f"figure text {text.get_text()!r}", text)
    for i, ax in enumerate(fig.axes):
        for loc, title in (("title", ax.title), ("left title", ax._left_title), ("right title", ax._right_title)):
            add(f"axes {i} {loc} {title.get_text()!r}", title)
        add(f"axes {i} xlabel", ax.xaxis.label)
        add(f"axes {i} ylabel", ax.yaxis.label)
        for axis_name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            for tick in axis._update_ticks():  # the ticks drawn: inside the view limits
                for label in (tick.label1, tick.label2):
                    add(f"axes {i} {axis_name} tick {label.get_text()!r}", label)
        for text in ax.texts:
            add(f"axes {i} text {text.get_text()!r}", text)
        legends = [child for child in ax.get_children() if isinstance(child, Legend)]
        for k, legend in enumerate(legends):
            if legend.get_visible():
                found.append((f"axes {i} legend {k}", legend.get_window_extent(renderer)))
    return found


def overlaps(fig):
    """Pairs of text boxes of ``fig`` that intersect by more than SLACK pixels in both directions."""
    out = []
    for (a, box_a), (b, box_b) in itertools.combinations(text_boxes(fig), 2):
        dx = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        dy = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if dx > SLACK and dy > SLACK:
            out.append(f"{a} and {b}")
    return out


def test_the_checker_sees_two_titles_run_together():
    """The check itself: two long panel titles side by side overlap, and are reported."""
    fig, (ax1, ax2) = plotting.plt.subplots(1, 2, figsize=(6, 3))
    ax1.set_title("a very long title that runs well past the edge of its own panel")
    ax2.set_title("and a second one just as long, running into the first")
    found = overlaps(fig)
    plotting.plt.close(fig)
    assert any("title" in pair for pair in found), found


@pytest.mark.slow
@pytest.mark.parametrize("name", names())
def test_no_text_overlaps_in_any_figure(name, tmp_path, monkeypatch):
    figures = []

    def keep(fig, outdir, stem):
        figures.append((stem, fig))
        return [f"{stem}.png"]

    monkeypatch.setattr(plotting, "save", keep)
    run_experiment(get(name), Config(scale="tiny", out=tmp_path, progress=False))
    assert figures, f"{name} drew no figure"
    problems = {}
    for stem, fig in figures:
        found = overlaps(fig)
        if found:
            problems[stem] = found
        plotting.plt.close(fig)
    assert not problems, f"{name}: overlapping text: {problems}"
