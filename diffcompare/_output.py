"""The one console the commands, benchmarks and the demo print to.

In a terminal it takes the terminal's width. Off a terminal (a log file, a
pipe) lines are never wrapped (no break inside a number) and tables get room
for their natural width (no column squeezed, nothing cut with "…").
"""

from __future__ import annotations

import sys

from rich.console import Console

#: the width tables may take when stdout is not a terminal: wide enough that none is squeezed
OFF_TERMINAL_WIDTH = 400


def console() -> Console:
    """A console on the current stdout (see the module's docstring)."""
    terminal = sys.stdout.isatty()
    return Console(width=None if terminal else OFF_TERMINAL_WIDTH, soft_wrap=True, highlight=False)
