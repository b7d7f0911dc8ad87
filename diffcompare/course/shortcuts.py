"""Ready-made derivatives, and the tripwires that stand in for them where a task forbids them.

A task that asks for a rule written by hand declares what its answer must not use
(``hand_written`` in :mod:`diffcompare.course.testing`). The code of every forbidden function
is swapped for a tripwire: reaching it (however the student bound it: ``jax.vjp``,
``from jax import vjp``, an alias, a call from a helper, a ``jax.jit`` of it) raises
:class:`Shortcut` naming it.

Two uses: the student's own notebook (public checks) arms them for one call (:func:`guard`,
put back afterwards); the grader's sandbox arms them for good before the kernel starts
(:func:`arm`, in :mod:`diffcompare.course._boot`), with the original code dropped, so nothing
a cell does can get it back.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import warnings

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
    "diffcompare.finite_diff.differences.derivatives": ("diffcompare's finite differences", "diffcompare.finite_diff."),
    "diffcompare.finite_diff.differences.jacobian_flat": ("diffcompare's finite differences",
                                                          "diffcompare.finite_diff."),
    "diffcompare.finite_diff.differences.jvp_flat": ("diffcompare's finite differences", "diffcompare.finite_diff."),
    "diffcompare.finite_diff.richardson.richardson": ("diffcompare's finite differences", "diffcompare.finite_diff."),
    "diffcompare.finite_diff.complex_step.evaluate": ("diffcompare's finite differences", "diffcompare.finite_diff."),
}

ALL_DERIVATIVES: tuple[str, ...] = (
    *(f"jax.{n}" for n in _JAX),
    "jax._src.interpreters.ad.backward_pass",  # transposition itself (what linear_transpose and vjp run)
    "jax._src.interpreters.ad.backward_pass3",
    *(f"{m}.{n}" for m in _DIFFCOMPARE_MODULES for n in _ENGINE),
    "diffcompare.check",
)

#: packages that are ready-made derivatives as a whole: absent from a guarded sandbox (imports refused)
ABSENT_PACKAGES = ("sympy", "torch", "functorch", "numdifftools", "autograd", "tensorflow", "jax.experimental.jet",
                   "jax.experimental.jax2tf", "mpmath", "findiff")
#: forbidden only when the student's code calls it, not when JAX's own code does (``jnp.linalg.solve`` and
#: ``inv`` transpose JAX's own linear functions through it)
GATED = ("jax.linear_transpose", "jax._src.interpreters.ad.backward_pass", "jax._src.interpreters.ad.backward_pass3")


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
    """A code object that records ``name`` and raises :class:`Shortcut`, with ``fn``'s free variables (so it can
    stand in ``fn.__code__``). The exception class and the record are baked into its constants, not looked up
    by name, so a notebook that rebinds ``__import__`` or this module's names cannot make it return."""
    free = fn.__code__.co_freevars
    lines = ["def _outer():"] + [f"    {v} = None" for v in free] + ["    def _tripwire(*args, **kwargs):"]
    if free:
        lines.append(f"        ({', '.join(free)},)")
    lines += ["        '@reached'.append('@name')", "        raise '@shortcut'('@name')", "    return _tripwire"]
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # "'str' object is not callable": swapped below
        exec("\n".join(lines), namespace)
    code = namespace["_outer"]().__code__
    swap = {"@reached": _reached, "@shortcut": Shortcut, "@name": name}
    return code.replace(co_consts=tuple(swap.get(c, c) if isinstance(c, str) else c for c in code.co_consts))


@contextlib.contextmanager
def guard(functions: dict):
    """Within the block, calling any function of ``functions`` (from anywhere) raises :class:`Shortcut`.

    Each function's code is swapped for a tripwire and put back afterwards, so how the student reached the
    function (an alias, ``from jax import vjp``, a helper) does not matter, and nothing else slows down.
    Yields the list of names reached.
    """
    functions = {fn: name for fn, name in functions.items() if name not in GATED}  # JAX's linalg uses them
    saved = {fn: fn.__code__ for fn in functions}
    _reached.clear()
    try:
        for fn, name in functions.items():
            fn.__code__ = _tripwire(fn, name)
        yield _reached
    finally:
        for fn, code in saved.items():
            fn.__code__ = code


def arm(functions: dict) -> None:
    """For good: every function of ``functions`` raises :class:`Shortcut` when called (the sandbox's boot)."""
    for fn, name in functions.items():
        fn.__code__ = _tripwire(fn, name)
