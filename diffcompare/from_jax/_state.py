"""What a function reads besides its arguments, as a cache key: caches never change answers.

A traced jaxpr bakes in every global, closure cell and default the function
read while it was traced (JAX turns them into constants). So the cache of
traced programs is keyed by :func:`state_key` as well: a summary of those
values, taken afresh on every call. A reassigned global or closure variable, a
mutated list, dict or attribute, a NumPy array changed in place, a different
helper function: each changes the key, and the function is traced again.

Values are summarised by what can change: numbers and strings by value, NumPy
arrays by their bytes, JAX arrays (immutable) by identity (the cache entry
keeps them alive, so an identity is never reused), containers, pytrees
(equinox modules) and objects' attributes by their contents, functions by
their code and what *they* read, recursively. Modules and classes count by name.
"""

from __future__ import annotations

import functools
import types

import jax
import numpy as np

_MAX_DEPTH = 8
_SCALARS = (bool, int, float, complex, str, bytes, type(None))


class _Summary:
    def __init__(self):
        self.parts: list = []
        self.pins: list = []  # objects whose id is in the key: kept alive with the cache entry
        self.seen: set[int] = set()

    def by_id(self, tag, obj):
        self.pins.append(obj)
        self.parts.append((tag, id(obj)))

    def value(self, v, depth: int) -> None:
        if isinstance(v, _SCALARS) or isinstance(v, np.generic):
            self.parts.append((type(v).__name__, v))
        elif isinstance(v, jax.Array):  # tracers too
            self.by_id("jax", v)
        elif isinstance(v, np.ndarray):
            self.parts.append(("numpy", v.shape, v.dtype.str, hash(v.tobytes())))
        elif isinstance(v, (types.ModuleType, type)):
            self.parts.append(("named", getattr(v, "__module__", ""), v.__name__))
        elif depth >= _MAX_DEPTH or id(v) in self.seen:
            self.by_id("deep", v)
        else:
            self.seen.add(id(v))
            self._composite(v, depth + 1)

    def _composite(self, v, depth: int) -> None:
        if isinstance(v, (list, tuple)):
            self.parts.append((type(v).__name__, len(v)))
            for item in v:
                self.value(item, depth)
        elif isinstance(v, dict):
            self.parts.append(("dict", len(v)))
            for k, item in v.items():
                self.value(k, depth)
                self.value(item, depth)
        elif isinstance(v, types.FunctionType):
            self.function(v, depth)
        elif isinstance(v, functools.partial):
            self.parts.append("partial")
            for item in (v.func, v.args, v.keywords):
                self.value(item, depth)
        elif isinstance(v, types.MethodType):
            self.value(v.__self__, depth)
            self.value(v.__func__, depth)
        else:
            self._object(v, depth)

    def _object(self, v, depth: int) -> None:
        wrapped = getattr(v, "__wrapped__", None)  # jax.jit(f), functools.wraps, our FromJax
        if wrapped is not None and wrapped is not v:
            self.by_id("wrapper", v)
            self.value(wrapped, depth)
            return
        leaves, treedef = jax.tree_util.tree_flatten(v)
        if not (len(leaves) == 1 and leaves[0] is v):  # a registered pytree (an equinox module, ...)
            self.parts.append(("tree", treedef))
            for leaf in leaves:
                self.value(leaf, depth)
            return
        self.by_id("object", v)
        attrs = getattr(v, "__dict__", None)
        if isinstance(attrs, dict):
            self.value(attrs, depth)

    def function(self, fn: types.FunctionType, depth: int) -> None:
        code = fn.__code__
        self.parts.append(code)
        for item in (fn.__defaults__, fn.__kwdefaults__):
            if item:
                self.value(item, depth)
        for cell in fn.__closure__ or ():
            try:
                self.value(cell.cell_contents, depth)
            except ValueError:  # an empty cell (a name assigned later)
                self.parts.append("empty cell")
        scope = fn.__globals__
        for name in _global_names(code):
            if name in scope:
                self.parts.append(name)
                self.value(scope[name], depth)


@functools.lru_cache(maxsize=1024)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """Names a code object (and the lambdas, comprehensions and functions inside it) may read as globals."""
    names, stack = [], [code]
    while stack:
        c = stack.pop()
        names.extend(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return tuple(dict.fromkeys(names))


def state_key(fn) -> tuple[tuple, list]:
    """``(key, pins)``: a hashable summary of what ``fn`` reads besides its arguments, and the
    objects whose identity the key holds (keep them alive as long as the key)."""
    summary = _Summary()
    summary.value(fn, 0)
    return tuple(summary.parts), summary.pins
