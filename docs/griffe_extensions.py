"""A griffe extension for the API reference: docstrings as Python sees them, in Google style.

* A function made by a factory and decorated (``dnp.tril``, ``dnp.deg2rad``) has its
  docstring on the decorated function only, where griffe's inspector (which unwraps)
  does not look: it is taken from the object Python imports.
* The library's docstrings say ``Example:`` where Google style says ``Examples:``:
  renamed before griffe parses them, so their ``>>>`` lines render as code (an
  ``Example:`` heading makes them Markdown prose, where ``x**2`` turns bold and
  ``a[0][()]`` reads as a link).
"""

from __future__ import annotations

import importlib
import inspect
import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


def _runtime_doc(path: str) -> str | None:
    module_name, _, name = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        return None
    return inspect.getdoc(obj)


class RuntimeDocstrings(griffe.Extension):
    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is None and obj.is_function:
            doc = _runtime_doc(obj.path)
            if doc:
                obj.docstring = griffe.Docstring(doc, parent=obj, parser="google",
                                                 parser_options={"warn_missing_types": False})
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
