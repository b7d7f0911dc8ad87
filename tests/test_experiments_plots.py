"""What the experiments' figures say agrees with how they are drawn."""

from __future__ import annotations

import numpy as np

from diffcompare.experiments import Config, get, plotting


def test_fd_step_arms_are_named_where_they_are_drawn(tmp_path, monkeypatch):
    module = get("fd_step")
    cfg = Config(scale="tiny", out=tmp_path, progress=False)
    points = [{"problem": "exp_over_square", "dtype": dtype, "scheme": "central"} for dtype in ("float64", "float32")]
    rows = [{"point": "p", **point, **row} for point in points for row in module.measure(point, cfg)]
    figures = []
    monkeypatch.setattr(plotting, "save", lambda fig, outdir, stem: figures.append(fig) or [])
    module.plot(rows, cfg, tmp_path)
    (fig,) = figures
    title = fig._suptitle.get_text()
    for ax in fig.axes:
        assert not ax.xaxis_inverted()  # h grows to the right: round-off (small h) is the left arm
    assert "round-off (left arm, small h" in title and "truncation (right arm, large h" in title
    # and the drawn error does fall then rise from left to right (the V)
    line = next(line for line in fig.axes[0].get_lines() if line.get_label().startswith("fd central"))
    h, err = line.get_xdata(), line.get_ydata()
    keep = np.isfinite(err)
    e = err[keep][h[keep].argsort()]
    assert e[0] > 100 * e.min() and e[-1] > 100 * e.min()
