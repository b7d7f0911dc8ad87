"""Static and traced graphs side by side: JAX's jaxpr of a function beside the reverse engine's tape of it.

The jaxpr is the *static* program (what ``jax.jit`` compiles, traced once at
the shapes); the tape is the *traced* graph the reverse engine recorded while
from_jax evaluated that jaxpr at concrete numbers (one node per ``dnp``
primitive, loops unrolled, the branch taken). For the course's "static vs
traced graphs" in a notebook: ``print(side_by_side(f, x))``.
"""

from __future__ import annotations

import itertools

from ._wrapper import FromJax, from_jax


def side_by_side(f, *args, argnums=0, width: int = 72) -> str:
    """JAX's jaxpr of ``f`` at ``args`` (left) and the reverse tape recorded through from_jax (right).

    Arguments:
        f: a JAX function (or a :class:`FromJax`); args: where to trace and record it.
        argnums: the arguments the tape records as inputs; width: the left column's width.
    Returns:
        The two listings as one text, column by column.
    """
    from ..reverse.graph import record

    wrapped = f if isinstance(f, FromJax) else from_jax(f)
    left = ["JAX's jaxpr (static: traced once, at the shapes)", ""] + str(wrapped.make_jaxpr(*args)).splitlines()
    right = ["the reverse engine's tape (traced: recorded at these numbers)", ""]
    right += record(wrapped, *args, argnums=argnums).table().splitlines()
    rows = itertools.zip_longest(left, right, fillvalue="")
    return "\n".join(f"{a[:width - 1]:<{width}}| {b}".rstrip() for a, b in rows)
