"""The problem zoo: every function the methods are run on, written once with ``dnp``.

Each :class:`Problem` knows how to make an :class:`Instance` (the function with
its data, and a seeded input) at a size an experiment can sweep, and carries
metadata: dimensions, the primitives it uses (recorded by running it, so it
cannot go stale), whether it has kinks or value-dependent control flow, where
it comes from in the course, and its closed-form derivative where one exists.

    >>> from diffcompare.problems import PROBLEMS
    >>> inst = PROBLEMS["exp_over_square"].make()      # the course's point x = 1.5
    >>> inst.fun(*inst.args)
"""

from __future__ import annotations

from . import einsum_zoo  # noqa: F401 - registers einsum_mlp, attention, special_functions
from ._zoo import PROBLEMS
from .base import Instance, Problem, primitives_used

__all__ = ["PROBLEMS", "Instance", "Problem", "get", "names", "primitives_used"]


def get(name: str) -> Problem:
    """The problem called ``name`` (hyphens read as underscores); the error suggests the closest names."""
    from ..errors import unknown_name

    try:
        return PROBLEMS[name.replace("-", "_")]
    except KeyError:
        raise unknown_name("problem", name, PROBLEMS) from None


def names() -> list[str]:
    return list(PROBLEMS)
