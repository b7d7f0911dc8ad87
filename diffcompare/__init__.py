"""diffcompare: finite differences, symbolic differentiation, forward and
reverse mode, written by hand, run on the same functions and checked against JAX.

Write a function once with ``import diffcompare.numpy as dnp``; every method in
:data:`METHODS` offers ``grad``, ``value_and_grad``, ``jvp``, ``vjp``,
``jacobian`` and ``hessian`` with JAX's calling conventions.

Layers, from the bottom up (each imports only the ones below it):

1. ``errors``; ``primitives`` (the one list of primitives and the coverage table).
2. ``_core``: the ``Trace`` base (an engine with ``rules`` registers itself; ``rule_for``
   looks a rule up or refuses by name) and ``EngineValue`` (operators call ``dnp``;
   ``float()``, NumPy and ``jax.numpy`` refuse, see ``_foreign``).
3. ``numpy`` (``dnp``): primitives bound to the innermost engine, composites built from them.
4. ``custom``: user primitives with a JVP and/or a VJP rule, for every engine and JAX.
   ``_api``: what every method's wrapper shares (argument selection and checks, keyword
   arguments passed to ``f``, one Jacobian layout, ``plain_arrays_only`` for JAX-only methods).
5. The engines, each a trace, its values and one rule table: ``forward`` (dual numbers),
   ``reverse`` (a tape and one sweep), ``symbolic`` (expressions), ``finite_diff``; and
   ``jax_ref``. ``methods.METHODS`` lists the five.
6. Applications: ``checker``, ``problems``, ``experiments``, ``benchmarks``, ``cli``, ``demo``.

To add a primitive: its entry in ``primitives.py``, its ``dnp`` function in ``numpy.py``, a
rule in ``forward/rules.py``, ``reverse/rules.py`` and the symbolic tables; the coverage
test names every engine that misses it.
"""

from __future__ import annotations

import jax as _jax

from . import custom, errors, finite_diff, jax_ref, numpy, primitives, timing
from .checker import CheckReport, check
from .from_jax import from_jax  # noqa: E402 - the function shadows its package's name, as jax.jit's does
from .methods import METHODS, available_methods

__version__ = "0.1.0"


def enable_x64(enabled: bool = True) -> None:
    """Turn JAX's float64 mode on (the library's default precision) or off."""
    _jax.config.update("jax_enable_x64", bool(enabled))


def x64_enabled() -> bool:
    """Whether JAX computes in float64."""
    return bool(_jax.config.jax_enable_x64)


__all__ = [
    "METHODS",
    "CheckReport",
    "check",
    "custom",
    "available_methods",
    "enable_x64",
    "errors",
    "finite_diff",
    "from_jax",
    "jax_ref",
    "numpy",
    "primitives",
    "timing",
    "x64_enabled",
]
