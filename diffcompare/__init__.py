"""diffcompare: finite differences, symbolic differentiation, forward and
reverse mode, written by hand, run on the same functions and checked against JAX.

Write a function once with ``import diffcompare.numpy as dnp``; every method in
:data:`METHODS` offers ``grad``, ``value_and_grad``, ``jvp``, ``vjp``,
``jacobian`` and ``hessian`` with JAX's calling conventions.

The package is built in layers, bottom to top: ``errors`` and ``primitives``;
``_core`` (traces, ``bind``, the abstract ``EngineValue``); ``numpy`` (``dnp``, which
also gives engine values their operators); ``custom`` and ``_api``; the engines
(``forward``, ``reverse``, ``symbolic``, ``finite_diff``, ``jax_ref``), siblings that
never import one another; what combines them (``methods``, ``mixed``, ``accumulate``,
``from_jax``); the applications. README's "Architecture: the layers" gives the full
list, and ``tests/test_layers.py`` holds the import graph to it.
"""

from __future__ import annotations

import jax as _jax

from . import custom, errors, finite_diff, jax_ref, numpy, primitives, timing
from .checker import CheckReport, check
from .from_jax import from_jax  # noqa: E402 - the function shadows its package's name, as jax.jit's does
from .methods import METHODS, available_methods
from .mixed import hvp  # also installs what needs two engines (rev.hvp, transposed user rules)

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
    "hvp",
    "jax_ref",
    "numpy",
    "primitives",
    "timing",
    "x64_enabled",
]
