"""What every command shares: the console (``diffcompare._output``), one-line errors and warnings, and
flags shown as flags."""

from __future__ import annotations

from typing import NoReturn

import typer

from .._output import console


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on one line and exit (2: a usage error)."""
    from rich.markup import escape

    console().print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code=code)


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings during a command as one line each (not Python's two lines with a source path)."""
    from rich.markup import escape

    console().print(f"[yellow]warning:[/yellow] {escape(str(message))}")


def check_seed(seed: int | None) -> None:
    if seed is not None and seed < 0:
        fail(f"--seed {seed}: give a non-negative integer")


def split_ints(values: list[str] | None, option: str) -> list[int] | None:
    """``--sizes 10,100 --sizes 1000`` as ``[10, 100, 1000]``: an option given once with commas, or repeated."""
    if not values:
        return None
    out = []
    for value in values:
        for part in value.split(","):
            try:
                number = int(part)
            except ValueError:
                fail(f"{option} {value!r}: give whole numbers separated by commas (e.g. {option} 10,100)")
            if number <= 0:
                fail(f"{option} {value!r}: every number must be positive")
            out.append(number)
    return out


def _flags_show_no_type() -> None:
    """typer 0.29's help prints a type after every option, ``--quick <bool>``, as if a flag took a value; a
    flag takes none, so its type column stays empty (as click's plain help and every other tool show it)."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_flags_bare", False):  # a typer without type column, or patched already
        return

    def display_type_rich(self, ctx):
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._flags_bare = True
    TyperOption.display_type_rich = display_type_rich


_flags_show_no_type()
