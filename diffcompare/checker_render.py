"""How a :class:`~diffcompare.checker.CheckReport` looks: one rich table, as text, in a terminal and in Jupyter.

The checker decides; this module only draws. Every view is the same table with
the same columns and notes: :func:`table` (a ``rich`` renderable: ``print`` in
a terminal, ``console.print(report)``), :func:`text` (that table as plain text,
``str(report)``) and :func:`html` (Jupyter's ``_repr_html_``).
"""

from __future__ import annotations

import html as _html
import io

#: the columns, in order; the ones from "max abs err" to "1st call" are numbers (right-aligned, never wrapped)
HEADER = ("method", "quantity", "max abs err", "rel err", "tolerance", "time", "1st call", "status")
_NUMERIC = range(2, 7)
_STYLES = {"pass": "green", "fail": "bold red", "error": "bold yellow", "reference": "dim", "kink": "bold magenta"}
_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#9a6700", "reference": "#6e7781", "kink": "#8250df"}
#: what the time columns mean, under every table: a student must not read eager JAX as JAX's speed
TIMES_NOTE = ("times: the best warm call; '1st call' includes tracing and compilation. forward, reverse and the "
              "'jax (eager)' rows run eagerly (one Python call per operation), finite_diff evaluates f eagerly in "
              "one batched call, symbolic runs a derivative compiled with jax.jit; 'jax.jit' is the reference "
              "compiled with jax.jit: compare eager with eager.")


def label(method: str) -> str:
    """The method's name as shown: the eager reference says it is eager."""
    return "jax (eager)" if method == "jax" else method


def cells(row) -> tuple[str, ...]:
    return (
        label(row.method), row.quantity, _number(row.max_abs_error), _number(row.relative_error),
        _number(row.tolerance), _seconds(row.seconds), _seconds(row.first_call_seconds),
        row.status.upper() if not row.ok else row.status,
    )


def notes(report) -> list[str]:
    """One note per method and message, naming the quantities it is about; then what the times mean."""
    by_message: dict[tuple[str, str], list[str]] = {}
    for row in report.rows:
        if row.message:
            by_message.setdefault((label(row.method), row.message), []).append(row.quantity)
    return [f"{m} ({', '.join(q)}): {msg}" for (m, msg), q in by_message.items()] + [TIMES_NOTE]


def table(report):
    """The report as a ``rich`` table: the summary as its title, the notes as its caption."""
    from rich import box
    from rich.table import Table

    out = Table(title=report.summary(), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                caption="\n".join(notes(report)), caption_justify="left")
    for i, name in enumerate(HEADER):
        out.add_column(name, justify="right" if i in _NUMERIC else "left", no_wrap=True)
    for row in report.rows:
        out.add_row(*cells(row), style=_STYLES.get(row.status))
    return out


def text(report) -> str:
    """The same table as plain text (no colour, no line wider than the table needs)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=1000, color_system=None, force_terminal=False, force_jupyter=False,
                      soft_wrap=True, highlight=False)
    rendered = table(report)
    rendered.caption = None  # the notes follow as lines of their own, never wrapped to the table's width
    console.print(rendered)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    return "\n".join([line for line in lines if line] + ["notes:"] + [f"  {note}" for note in notes(report)])


def html(report) -> str:
    """The table for Jupyter, with each row's message in a last column."""
    head = "".join(f"<th>{_html.escape(h)}</th>" for h in HEADER + ("message",))
    body = []
    for row in report.rows:
        shown = [_html.escape(c) for c in cells(row)]
        shown[-1] = (f'<span style="color:{_COLOURS.get(row.status, "inherit")};font-weight:bold">'
                     f"{shown[-1]}</span>")
        shown.append(_html.escape(row.message))
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in shown) + "</tr>")
    caption = _html.escape(report.summary())
    return (f'<table class="diffcompare-check"><caption style="text-align:left">{caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            f'<tfoot><tr><td colspan="{len(HEADER) + 1}">{_html.escape(TIMES_NOTE)}</td></tr></tfoot></table>')


def _number(x: float | None) -> str:
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.2e}"


def _seconds(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"
