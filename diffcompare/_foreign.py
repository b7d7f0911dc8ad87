"""What an engine value says when plain NumPy, ``jax.numpy`` or ``math`` meets it.

Those libraries would turn the value into a plain number or array and silently
drop its derivative. An engine value refuses instead (the refusals are among the
methods :mod:`diffcompare.numpy._methods` installs), and these helpers write the
message: which function the user called (read from the user's line of code when
the library does not say) and what to write instead.
"""

from __future__ import annotations

import linecache
import math
import os
import re
import sys

import numpy as np

from .errors import DiffCompareError, DroppedDerivativeError, ForeignFunctionError, NestingError

_CALL = re.compile(r"([A-Za-z_][\w.]*)\.(\w+)\s*\(")
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _outside(filename: str) -> bool:
    """A frame of the user's code: not JAX, NumPy or this library's engines."""
    path = os.path.abspath(filename)
    in_libraries = any(f"{os.sep}{lib}{os.sep}" in path for lib in ("jax", "jaxlib", "numpy"))
    in_package = path.startswith(_PACKAGE + os.sep) and not path.startswith(os.path.join(_PACKAGE, "problems"))
    return not (in_libraries or in_package or path.startswith("<frozen"))


def user_frame(err: BaseException | None = None):
    """The innermost frame of the user's code (in ``err``'s traceback, if given), or None."""
    if err is not None:
        frames = [tb.tb_frame for tb in _tracebacks(err.__traceback__)]
        outside = [f for f in frames if _outside(f.f_code.co_filename)]
        return outside[-1] if outside else None
    frame = sys._getframe(1)
    while frame is not None and not _outside(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def _tracebacks(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _line(frame) -> str:
    return "" if frame is None else linecache.getline(frame.f_code.co_filename, frame.f_lineno)


def called_in_user_code(module, frame=None) -> str | None:
    """``"<module>.<name>"`` for the first call ``alias.name(`` on the user's line where
    ``alias`` is ``module`` (e.g. ``jnp.sin(`` with ``jnp`` being ``jax.numpy``)."""
    frame = frame or user_frame()
    if frame is None:
        return None
    for alias, name in _CALL.findall(_line(frame)):
        head, *rest = alias.split(".")
        obj = frame.f_locals.get(head, frame.f_globals.get(head))
        for part in rest:
            obj = getattr(obj, part, None)
        if obj is module:
            return f"{module.__name__}.{name}"
    return None


def _where(frame=None) -> str:
    frame = frame or user_frame()
    if frame is None:
        return ""
    code = frame.f_code
    return f" (in '{code.co_name}' at {os.path.basename(code.co_filename)}:{frame.f_lineno}: `{_line(frame).strip()}`)"


def _conversion(frame, default: str) -> str:
    """What turned a value into a plain number on the user's line: float(), int(), ..., or math.f."""
    line = _line(frame)
    for conversion in ("float()", "int()", "complex()", ".item()"):
        if conversion.rstrip(")") in line:
            return conversion
    return called_in_user_code(math, frame) or default


def dropped(value, conversion: str) -> DroppedDerivativeError:
    """The error for ``float(x)``, ``int(x)``, ``.item()`` or ``math.f(x)`` on an engine value."""
    frame = user_frame()
    what = conversion if conversion.rstrip(")") in _line(frame) else _conversion(frame, conversion)
    name = what.split(".")[-1]
    fix = (f"use dnp.{name}(x) instead of {what}(x)" if what.startswith("math.") and _dnp_has(name)
           else "keep the value as an array (use it in dnp operations; comparisons and `if` work on it)")
    return DroppedDerivativeError(
        f"{what} on a value that the {value._trace.engine} engine is differentiating would turn it into a "
        f"plain number and silently drop its derivative{_where(frame)}; {fix}. JAX refuses this too "
        "(ConcretizationTypeError)."
    )


def foreign(engine: str, function: str, frame=None) -> ForeignFunctionError:
    """The error for ``numpy.f(x)`` or ``jax.numpy.f(x)`` on a value ``engine`` is differentiating."""
    name = function.split(".")[-1]
    if _dnp_has(name):
        reason = f"call dnp.{name} instead (import diffcompare.numpy as dnp), which every method differentiates"
    else:
        reason = (f"diffcompare.numpy has no '{name}'; write it with the operations dnp.supported() lists, "
                  "or differentiate this function with the JAX reference")
    return ForeignFunctionError(function, engine, f"the derivative would be lost{_where(frame)}; {reason}")


def jax_function_called() -> str:
    """The ``jax.numpy`` function (or ``.at[]`` update) that met an engine value, from the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("ops", "scatter.py")):
            return "jax_array.at[...] update"
        frame = frame.f_back
    import jax.numpy as jnp

    return called_in_user_code(jnp) or "a jax.numpy function"


#: the functions ``diffcompare.numpy`` offers, by name: it tells this module when it is imported
#: (:func:`offer`), so a refusal can say "call dnp.f instead" without this module importing it
_OFFERED: set[str] = set()


def offer(names) -> None:
    """Record ``names`` as functions of ``diffcompare.numpy`` (called by it, once, on import)."""
    _OFFERED.update(names)


def _dnp_has(name: str) -> bool:
    return name in _OFFERED


def nesting_error(outer: str, inner_hint: str = "") -> NestingError:
    """The error for a method applied over one that cannot carry its values (the shared detection)."""
    return NestingError(
        f"{outer} cannot differentiate through another method's values{inner_hint}: it runs on plain arrays and "
        "JAX tracers only. Methods nest like this: forward and reverse over each other and over themselves "
        "(e.g. forward.jacobian(reverse.grad(f))); symbolic, finite_diff and jax as the OUTER method of a "
        "function that itself computes only with arrays. Put the JAX reference outside, or use forward/reverse "
        "for the inner derivative."
    )


def from_jax_error(err: BaseException, name: str):
    """The library's error for one of JAX's refusals inside ``name`` (None if ``err`` is not one):
    ``float()``/``int()``/``math.*`` on a tracer, a NumPy function on a tracer, or another engine's
    value that reached JAX (TracerArrayConversionError, 'not a valid JAX type', ...)."""
    if isinstance(err, DiffCompareError):
        return None
    kind, message, frame = type(err).__name__, str(err), user_frame(err)
    if kind in ("ConcretizationTypeError", "TracerIntegerConversionError"):
        what = _conversion(frame, "float(), int(), .item() or math.*")
        return DroppedDerivativeError(
            f"{name}: {what} on a value JAX is differentiating would drop its derivative{_where(frame)}; keep the "
            f"value as an array and use dnp (JAX says: {message.splitlines()[0]})"
        )
    if kind == "TracerArrayConversionError":
        return foreign("jax", called_in_user_code(np, frame) or "numpy.<function>", frame)
    if isinstance(err, (TypeError, ValueError)) and ("not a valid JAX type" in message or "__jax_array__" in message):
        return nesting_error(name)
    return None
