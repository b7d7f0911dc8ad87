"""Values on the wire between the grader and the notebook's process: JSON only, never pickle.

The grader decodes what the student's process sends with :func:`decode` (plain data:
numbers, strings, tuples, lists, dicts and NumPy arrays), so nothing the student's
code returns can run code in the grader.
"""

from __future__ import annotations

import numpy as np


class Shipped:
    """A function given by its source, defined afresh wherever it runs (the grader or the student's process).

    Hidden tests pass reference implementations and test functions to the student's code this way, so
    the student's process builds them from a fresh import rather than from the notebook's namespace.
    """

    def __init__(self, source: str, name: str):
        self.source, self.name = source, name
        self._fn = None

    def __call__(self, *args, **kwargs):
        if self._fn is None:
            namespace: dict = {"__name__": f"reference_{self.name}"}
            exec(compile(self.source, f"<reference {self.name}>", "exec"), namespace)
            self._fn = namespace[self.name]
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return self.name


class Watched:
    """A function the grader evaluates itself when the student's code calls it (:mod:`._kernel` gets a proxy
    that asks the grader over the pipe), so the grader counts the forward-mode passes through it."""

    def __init__(self, function: Shipped):
        self.function, self.name = function, function.name

    def __repr__(self) -> str:
        return self.name


class StudentRef:
    """Stands for the notebook's own ``name`` when passed as an argument (decoded in the student's process)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


def encode(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, tuple | list):
        return {"__tuple__" if isinstance(value, tuple) else "__list__": [encode(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, Shipped):
        return {"__ship__": value.source, "name": value.name}
    if isinstance(value, StudentRef):
        return {"__student__": value.name}
    if isinstance(value, Watched):
        return {"__watched__": value.name}
    if hasattr(value, "__array__") or isinstance(value, np.generic):
        try:
            arr = np.asarray(value)
        except Exception as err:  # noqa: BLE001 - e.g. an engine value that refuses to become an array
            return {"__object__": type(value).__name__, "repr": f"{value!r} ({err})"[:2000]}
        if arr.dtype.kind in "biuf":
            return {"__array__": arr.tolist(), "dtype": str(arr.dtype), "shape": list(arr.shape)}
        if arr.dtype.kind == "c":
            return {"__carray__": [arr.real.tolist(), arr.imag.tolist()], "dtype": str(arr.dtype),
                    "shape": list(arr.shape)}
    return {"__object__": type(value).__name__, "repr": repr(value)[:2000]}


class Opaque:
    """A value the student's code returned that is not plain data (shown by its type and repr)."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def decode(data, *, resolve=None, as_array=np.asarray):
    """Plain data back from :func:`encode`. ``resolve(tag, payload)`` builds shipped and student functions."""
    if not isinstance(data, dict):
        return data
    rec = lambda v: decode(v, resolve=resolve, as_array=as_array)  # noqa: E731
    if "__tuple__" in data:
        return tuple(rec(v) for v in data["__tuple__"])
    if "__list__" in data:
        return [rec(v) for v in data["__list__"]]
    if "__dict__" in data:
        return {k: rec(v) for k, v in data["__dict__"].items()}
    if "__complex__" in data:
        return complex(*data["__complex__"])
    if "__array__" in data:
        if np.dtype(str(data["dtype"])).kind not in "biuf":  # only numbers travel as arrays
            return Opaque("array", f"dtype {data['dtype']}")
        return as_array(np.asarray(data["__array__"], dtype=data["dtype"]).reshape(data["shape"]))
    if "__carray__" in data:
        re, im = (np.asarray(p, dtype=float) for p in data["__carray__"])
        return as_array((re + 1j * im).astype(data["dtype"]).reshape(data["shape"]))
    if "__ship__" in data or "__student__" in data or "__watched__" in data:
        if resolve is None:
            raise ValueError("a function cannot come back from the student's process")
        return resolve(data)
    if "__object__" in data:
        return Opaque(str(data["__object__"]), str(data.get("repr", "")))
    raise ValueError(f"unknown value on the wire: {sorted(data)}")
