"""Telling a plain JAX function from one written with ``diffcompare.numpy`` (for ``diffcompare check module:f``).

A function is JAX code when it is ``jax.jit``-ed, an equinox module, or
reads ``jax`` / ``jax.numpy`` / ``jax.nn`` / ``jax.lax`` / ``jax.scipy``
(directly or through the helper functions it calls) and never
``diffcompare.numpy``: such code computes with ``jax.numpy`` on its inputs,
which refuses engine values, so it is given to the methods through
:func:`~diffcompare.from_jax.from_jax`.
"""

from __future__ import annotations

import functools
import types

from ._wrapper import FromJax, from_jax

_MAX_DEPTH = 4


@functools.lru_cache(maxsize=1024)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """Names a code object (and the lambdas, comprehensions and functions inside it) may read as globals."""
    names, stack = [], [code]
    while stack:
        c = stack.pop()
        names.extend(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return tuple(dict.fromkeys(names))


def _modules(fn, depth: int, seen: set) -> set[str]:
    """Names of the modules ``fn`` reads (through globals, closures and helper functions)."""
    if id(fn) in seen or depth > _MAX_DEPTH:
        return set()
    seen.add(id(fn))
    if isinstance(fn, types.ModuleType):
        return {fn.__name__}
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is not None and not isinstance(fn, types.FunctionType):
        return _modules(wrapped, depth + 1, seen)
    if isinstance(fn, types.MethodType):
        return _modules(fn.__func__, depth + 1, seen)
    func = getattr(fn, "func", None)  # functools.partial
    if func is not None and not isinstance(fn, types.FunctionType):
        return _modules(func, depth + 1, seen)
    if not isinstance(fn, types.FunctionType):
        module = type(fn).__module__ or ""
        return {module} if module.split(".")[0] in ("jax", "equinox", "flax") else set()
    found = set()
    values = [fn.__globals__[n] for n in _global_names(fn.__code__) if n in fn.__globals__]
    values += [c.cell_contents for c in fn.__closure__ or () if _filled(c)]
    for value in values:
        if isinstance(value, types.ModuleType):
            found.add(value.__name__)
        elif callable(value):
            found |= _modules(value, depth + 1, seen)
    return found


def _filled(cell) -> bool:
    try:
        return cell.cell_contents is not cell  # always True when the cell is filled
    except ValueError:
        return False


def is_jax_function(f) -> bool:
    """Whether ``f`` is plain JAX code (reads ``jax`` and not ``diffcompare.numpy``), so that
    the methods need :func:`from_jax` to differentiate it."""
    if isinstance(f, FromJax):
        return False
    modules = _modules(f, 0, set())
    uses_dnp = "diffcompare.numpy" in modules
    uses_jax = any(m == "jax" or m.startswith(("jax.", "equinox", "flax")) for m in modules)
    return uses_jax and not uses_dnp


def auto_wrap(f):
    """``(function, detected)``: ``from_jax(f)`` and True for a plain JAX function, else ``f`` and False."""
    if is_jax_function(f):
        return from_jax(f), True
    return f, False
