"""One look for every figure: the packaged style, and one colour and marker per method.

``STYLE`` is the only place a method's colour and marker are chosen; every
experiment draws through :func:`line` / :func:`marker_of` / :func:`color_of`,
so "reverse" is the same red triangle in every plot. Figures are saved as PNG
and SVG, each written atomically, with no timestamps (same data, same files).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # headless files; in a notebook, keep its inline backend (plots still show)
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .files import atomic_write  # noqa: E402

STYLE_FILE = Path(__file__).resolve().parents[1] / "style.mplstyle"

#: label -> (colour, marker): methods, finite-difference schemes, and the variants experiments show
STYLE: dict[str, tuple[str, str]] = {
    "finite_diff": ("#7f7f7f", "s"),
    "symbolic": ("#9467bd", "D"),
    "forward": ("#1f77b4", "o"),
    "reverse": ("#d62728", "^"),
    "jax": ("#2ca02c", "x"),
    # finite-difference schemes (fd_step, precision)
    "fd forward": ("#bcbd22", "v"),
    "fd backward": ("#dbdb8d", "<"),
    "fd central": ("#7f7f7f", "s"),
    "fd central4": ("#17becf", "P"),
    "fd complex": ("#e377c2", "*"),
    "fd richardson": ("#8c564b", "h"),
    # variants
    "reverse (eager)": ("#ff9896", "^"),
    "reverse (checkpoint every layer)": ("#ff7f0e", "v"),
    "reverse (checkpoint √depth segments)": ("#8c564b", "<"),
    "jax fwd (jacfwd)": ("#98df8a", "+"),
    "jax rev (jacrev)": ("#2ca02c", "x"),
    "sympy": ("#17becf", "P"),
}
_FALLBACK = ("#333333", ".")


def style():
    """A context manager applying the packaged style."""
    return plt.style.context(str(STYLE_FILE))


def color_of(label: str) -> str:
    return STYLE.get(label, _FALLBACK)[0]


def marker_of(label: str) -> str:
    return STYLE.get(label, _FALLBACK)[1]


def line(ax, x, y, label: str, style_label: str | None = None, **kwargs):
    """Plot ``y`` against ``x`` in ``label``'s colour and marker."""
    key = style_label or label
    kwargs.setdefault("color", color_of(key))
    kwargs.setdefault("marker", marker_of(key))
    return ax.plot(x, y, label=label, **kwargs)


def log2_axis(ax, axis: str = "x"):
    """A base-2 log axis labelled with plain numbers (widths, depths: 16, 64, 256)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    getattr(ax, f"set_{axis}scale")("log", base=2)
    target = getattr(ax, f"{axis}axis")
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 16, not 16.0; 0.5 stays 0.5
    target.set_minor_formatter(NullFormatter())


def compact(x: float) -> str:
    """A tick label: 0.0625, 16, 288, 1.1k, 263k, 1.2M."""
    x = float(x)
    if abs(x) >= 1e6:
        return f"{x / 1e6:.3g}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.3g}k"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.2g}k"
    return f"{x:.4g}"


def data_ticks(ax, values, axis: str = "x"):
    """Ticks on a log axis exactly at ``values`` (the sizes measured), labelled compactly, no minor labels.

    Matplotlib labels the minor ticks of a log axis spanning less than a decade (3×10⁻¹, 4×10⁻¹, ...),
    and those run into each other; the sizes themselves are what a reader wants to read off.
    """
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ticks = sorted({float(v) for v in values if v and v > 0})
    target = getattr(ax, f"{axis}axis")
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(plt.FuncFormatter(lambda v, _: compact(v)))
    target.set_minor_locator(NullLocator())
    target.set_minor_formatter(NullFormatter())


def save(fig, outdir: Path, stem: str) -> list[str]:
    """Save ``fig`` as ``stem.png`` and ``stem.svg`` (atomically); returns the file names."""
    names = []
    for ext, metadata in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, metadata=metadata)
        atomic_write(Path(outdir) / f"{stem}.{ext}", buf.getvalue())
        names.append(f"{stem}.{ext}")
    with contextlib.suppress(Exception):
        plt.close(fig)
    return names
