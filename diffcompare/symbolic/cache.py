"""The one cache of compiled derivatives, for both levels (array expressions and scalar expansions), and
the one rule for when a compiled program goes through ``jax.jit``.

A key holds everything a program computes (the structure of the traced expressions, the kind of
derivative, the options), never the state ``f`` reads: ``f`` is traced at every call, so a changed
global or closure gives another key or new constant inputs, never a stale program.
"""

from __future__ import annotations

from collections.abc import Callable

#: with ``jit=None``, programs of up to this many steps (vectorised steps of a scalar expansion, or
#: operations of an array expression) are compiled with ``jax.jit``; longer ones run eagerly (XLA takes
#: seconds to compile thousands of steps, eager JAX runs them in milliseconds with its per-operation
#: kernels already compiled)
JIT_MAX_STEPS = 300
_MAX_ENTRIES = 512
_CACHE: dict = {}
_STATS = {"compiled": 0}


def use_jit(steps: int, jit: bool | None) -> bool:
    """Whether a program of ``steps`` steps is compiled with ``jax.jit`` (``jit=None``: by its size)."""
    return steps <= JIT_MAX_STEPS if jit is None else bool(jit)


def remember(key, build: Callable):
    """The compiled program for ``key``: cached, or ``build()`` now (then kept)."""
    hit = _CACHE.get(key)
    if hit is None:
        hit = build()
        _STATS["compiled"] += 1
        if len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def clear() -> None:
    """Forget every compiled derivative."""
    _CACHE.clear()


def info() -> dict:
    """``{"entries": programs cached now, "compiled": programs built since import}``."""
    return {"entries": len(_CACHE), "compiled": _STATS["compiled"]}
