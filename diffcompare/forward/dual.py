"""The dual number and the forward trace: the heart of forward mode.

A :class:`Dual` is a pair (primal, tangent): the value ``a`` and the
directional derivative ``ȧ`` that travels with it. Every primitive maps input
pairs to an output pair with its JVP rule (``rules.py``): ``(a, ȧ) · (b, ḃ) =
(ab, ȧb + aḃ)``. One sweep through ``f`` gives ``f(x)`` and ``J·v``: one
Jacobian column per pass, or ``k`` columns at once in *vector mode*, where the
tangent carries a leading axis of length ``k`` (``trace.batch == (k,)``).

Each run of forward mode is one :class:`ForwardTrace` with its own level
(``diffcompare._core``): values of older traces and plain arrays are constants
to it. That tag is what keeps nested forward passes apart (no perturbation
confusion): ``d/dx [x · d/dy (x + y)] = 1``. Rules compute with
``diffcompare.numpy``, so a primal or tangent may itself be another engine's
value (an outer dual, a reverse-mode tape node) and is differentiated in turn.

Constants have a *symbolic zero* tangent (``None`` in the rules), so they
cost nothing; :meth:`ForwardTrace.split` hands it out.
"""

from __future__ import annotations

import contextlib
from typing import Any

import jax.numpy as jnp

from .. import numpy as dnp
from .._core import EngineValue, Trace, refuse_complex_value
from .custom import apply_jvp_rule
from .rules import RULES, UNSUPPORTED

#: objects told ``count(passes, directions, primitives)`` for every pass and primitive (teaching.counting)
LISTENERS: list = []


def _tell(passes: int = 0, directions: int = 0, primitives: int = 0) -> None:
    for listener in LISTENERS:
        listener.count(passes, directions, primitives)


class _Held:
    def __init__(self):
        self.counts = [0, 0, 0]

    def count(self, *counts):
        self.counts = [a + b for a, b in zip(self.counts, counts)]


@contextlib.contextmanager
def counted_if_kept():
    """Tell the listeners what the block did only if it succeeds: a pass that is attempted and
    abandoned (forward mode's ``jax.vmap`` attempt, before it falls back) does not count."""
    if not LISTENERS:
        yield
        return
    listeners, held = LISTENERS[:], _Held()
    LISTENERS[:] = [held]
    try:
        yield
    finally:
        LISTENERS[:] = listeners
    _tell(*held.counts)


class ForwardTrace(Trace):
    """One forward sweep. ``batch`` is ``()`` (one tangent) or ``(k,)`` (vector mode).

    Attributes:
        batch: the tangent's leading batch shape.
        recorder: an object with ``record(prim, operands, params, out)`` (the
            teaching sweep table), or None.
        directions: how many tangent directions the pass carries, for the
            counters (default: ``batch[0]``, or 1).
    """

    engine = "forward"
    rules = RULES
    unsupported = UNSUPPORTED

    def __init__(self, batch: tuple[int, ...] = (), recorder=None, directions: int | None = None):
        super().__init__()
        self.batch = tuple(batch)
        self.recorder = recorder
        if directions is None:  # a pass run under jax.vmap says how many it carries
            directions = self.batch[0] if self.batch else 1
        _tell(passes=1, directions=directions)

    def process(self, prim, operands, params):
        out = super().process(prim, operands, params)
        self._note(prim.name, operands, params, out)
        return out

    def process_user_primitive(self, prim, args):
        """A user-defined primitive (:mod:`diffcompare.custom`) applies its JVP rule."""
        out = apply_jvp_rule(self, prim, args)
        self._note(prim.name, args, {}, out)
        return out

    def _note(self, name, operands, params, out):
        if isinstance(out, Dual):
            refuse_complex_value(self.engine, name, out.primal)
        _tell(primitives=1)
        if self.recorder is not None:
            self.recorder.record(name, operands, params, out)

    # the two things every rule needs
    def split(self, value) -> tuple[Any, Any]:
        """(primal, tangent) of an operand; a constant's tangent is None (a symbolic zero)."""
        if isinstance(value, Dual) and value._trace is self:
            return value.primal, value.tangent
        return value, None

    def dual(self, primal, tangent) -> Dual:
        return Dual(self, primal, tangent)

    def concrete(self, value: Dual):
        return value.primal

    def zeros(self, primal):
        """A materialised zero tangent for ``primal`` (where a rule needs an array)."""
        return jnp.zeros(self.batch + dnp.shape(primal), _dtype(primal))


class Dual(EngineValue):
    """A dual number (primal, tangent) of one forward trace.

    ``tangent`` has shape ``trace.batch + primal.shape``. Python operators and
    every ``dnp`` function work on it.
    """

    __slots__ = ("primal", "tangent")

    def __init__(self, trace: ForwardTrace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def shape(self):
        return dnp.shape(self.primal)

    @property
    def dtype(self):
        return _dtype(self.primal)

    def __repr__(self) -> str:
        return f"Dual(primal={self.primal!r}, tangent={self.tangent!r}, level={self._trace.level})"


def _dtype(x):
    return x.dtype if isinstance(x, EngineValue) else jnp.result_type(x)

