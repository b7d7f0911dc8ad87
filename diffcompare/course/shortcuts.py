"""Run a student's function with every ready-made derivative forbidden.

A task that asks for a rule written by hand declares what its answer must not use
(``hand_written`` in :mod:`diffcompare.course.testing`). While the student's
function runs, the code of every forbidden function is swapped for a tripwire:
reaching it (however the student bound it: ``jax.vjp``, ``from jax import vjp``,
an alias, a call from a helper) raises :class:`Shortcut` naming it, and the guard
remembers the name even if the student's code swallows the exception.

Code that puts the original code back (``fn.__code__ = saved``) is caught by the
source scan in the grader (:data:`TAMPERING`).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect

# every ready-made derivative: JAX's transformations and each of diffcompare's engines
_JAX = ["grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev", "jacobian", "hessian", "linearize",
        "linear_transpose"]
_ENGINE = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacfwd", "jacrev", "hessian", "hvp", "gradient",
           "differentiate", "diff", "backward"]
_DIFFCOMPARE_MODULES = ["diffcompare.forward", "diffcompare.reverse", "diffcompare.symbolic",
                        "diffcompare.finite_diff", "diffcompare.jax_ref"]
#: where each engine starts a derivative, whatever entry point (or closure made before the guard) led there:
#: ``{function: (what the report calls it, the entry points whose allowance also allows it)}``
_INTERNALS = {
    "jax._src.interpreters.ad.JVPTrace.__init__": ("JAX's automatic differentiation", "jax."),
    "jax._src.interpreters.ad.LinearizeTrace.__init__": ("JAX's automatic differentiation", "jax."),
    "diffcompare.forward.ForwardTrace.__init__": ("diffcompare's forward-mode engine", "diffcompare.forward."),
    "diffcompare.reverse.ReverseTrace.__init__": ("diffcompare's reverse-mode engine", "diffcompare.reverse."),
    "diffcompare.symbolic.SymbolicTrace.__init__": ("diffcompare's symbolic engine", "diffcompare.symbolic."),
}

ALL_DERIVATIVES: tuple[str, ...] = (
    *(f"jax.{n}" for n in _JAX),
    *(f"{m}.{n}" for m in _DIFFCOMPARE_MODULES for n in _ENGINE),
    "diffcompare.check",
)

#: source text that switches the guard off; a submission containing it gets no points for guarded tasks
TAMPERING = ("__code__", "diffcompare.course", "_getframe", "setprofile", "settrace", "sys.monitoring")


class Shortcut(BaseException):  # noqa: N818 - a BaseException so `except Exception` in student code cannot hide it
    """The student's function reached a forbidden derivative; ``.name`` says which."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _resolve(dotted: str):
    """The object a dotted name refers to (longest importable module prefix, then attributes), or None."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj
    return None


def _function_of(obj):
    """The plain Python function that runs when ``obj`` is called (decorators unwrapped), or None."""
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    try:
        obj = inspect.unwrap(obj)
    except ValueError:
        return None
    return obj if inspect.isfunction(obj) else None


def forbidden_functions(names=ALL_DERIVATIVES, allow=()) -> dict:
    """Map every importable function in ``names`` (minus those in ``allow``) to its public name, and the
    engines' own starting points (a derivative reached through a closure made earlier) to the engine's name;
    allowing one of an engine's entry points allows its starting point."""
    allowed = {id(f) for f in map(_function_of, map(_resolve, allow)) if f is not None}
    found = {}
    for name in names:
        fn = _function_of(_resolve(name))
        if fn is not None and id(fn) not in allowed:
            found.setdefault(fn, name)
    for internal, (label, prefix) in _INTERNALS.items():
        if any(n.startswith(prefix) for n in names) and not any(a.startswith(prefix) for a in allow):
            fn = _function_of(_resolve(internal))
            if fn is not None:
                found.setdefault(fn, label)
    return found


#: names reached inside the current guard (kept even when the student's code catches the exception)
_reached: list[str] = []


def _tripwire(fn, name: str):
    """A code object that records ``name`` and raises :class:`Shortcut`, with ``fn``'s number of free variables
    (so it can stand in ``fn.__code__``; it runs with ``fn``'s globals, hence the import by name)."""
    free = fn.__code__.co_freevars
    lines = ["def _outer():"] + [f"    {v} = None" for v in free] + ["    def _tripwire(*args, **kwargs):"]
    if free:
        lines.append(f"        ({', '.join(free)},)")
    lines += ["        _m = __import__('diffcompare.course.shortcuts', fromlist=['Shortcut'])",
              f"        _m._reached.append({name!r})", f"        raise _m.Shortcut({name!r})", "    return _tripwire"]
    namespace: dict = {}
    exec("\n".join(lines), namespace)
    return namespace["_outer"]().__code__


@contextlib.contextmanager
def guard(functions: dict):
    """Within the block, calling any function of ``functions`` (from anywhere) raises :class:`Shortcut`.

    Each function's code is swapped for a tripwire and put back afterwards, so how the student reached the
    function (an alias, ``from jax import vjp``, a helper) does not matter, and nothing else slows down.
    Yields the list of names reached.
    """
    saved = {fn: fn.__code__ for fn in functions}
    _reached.clear()
    try:
        for fn, name in functions.items():
            fn.__code__ = _tripwire(fn, name)
        yield _reached
    finally:
        for fn, code in saved.items():
            fn.__code__ = code


def scan_for_tampering(sources) -> list[str]:
    """The words of :data:`TAMPERING` that occur in the student's code cells."""
    text = "\n".join(sources)
    return [w for w in TAMPERING if w in text]
