"""A griffe extension for the API reference: docstrings as Python sees them, in Google style.

* A function made by a factory and decorated (``dnp.tril``, ``dnp.deg2rad``) has its
  docstring on the decorated function only, where griffe's inspector (which unwraps)
  does not look: it is taken from the object Python imports. Where such a function is
  imported from another module, griffe's alias points at the factory's local function
  (``_scale.<locals>.fn``), which it cannot document: the member is then made anew
  from the object Python imports, its real signature and docstring.
* An argument entry that names several parameters at once (``f, argnums, scheme: as
  value_and_grad``), which Google style has no form for, becomes one entry per name, so
  each parameter of the signature has its row in the table of arguments.
* Sphinx roles (``:func:`value_and_grad```, ``:data:`SCHEMES```) read as code, not as
  ``:data:`` followed by code.
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
_ROLE = re.compile(r":(?:py:)?(?:func|data|mod|class|meth|attr|exc|obj|const):`~?\.?([^`]+)`")
_ARGUMENTS = re.compile(
    r"^(\s*)(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters):\s*$")
_SEVERAL = re.compile(r"^(\s+)(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)+)\s*:(.*)$")


def split_entries(text: str) -> str:
    """``a, b: what`` (and its continuation lines) in an arguments section -> ``a: what`` and ``b: what``."""
    lines = text.splitlines()
    out, i, section = [], 0, None
    while i < len(lines):
        line = lines[i]
        header = _ARGUMENTS.match(line)
        if header:
            section = len(header.group(1))
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        if section is not None and line.strip() and indent <= section:
            section = None
        several = _SEVERAL.match(line) if section is not None else None
        if several:
            body = [several.group(3)]
            i += 1
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                if not lines[i].strip():
                    break
                body.append("\n" + lines[i])
                i += 1
            for name in (n.strip() for n in several.group(2).split(",")):
                out.append(f"{several.group(1)}{name}:" + "".join(body))
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _runtime_doc(path: str) -> str | None:
    module_name, _, name = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        return None
    return inspect.getdoc(obj)


_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


def _function_from_runtime(name: str, obj) -> griffe.Function:
    sig = inspect.signature(obj)

    def text(value):
        return None if value is inspect.Parameter.empty else (value if isinstance(value, str) else repr(value))

    parameters = griffe.Parameters(*[
        griffe.Parameter(p.name, kind=_KINDS[p.kind], annotation=text(p.annotation), default=text(p.default))
        for p in sig.parameters.values()])
    doc = inspect.getdoc(obj)
    function = griffe.Function(name, parameters=parameters, returns=text(sig.return_annotation))
    if doc:
        function.docstring = griffe.Docstring(doc, parent=function, parser="google",
                                              parser_options={"warn_missing_types": False})
    return function


class RuntimeDocstrings(griffe.Extension):
    def on_package(self, *, pkg, **kwargs) -> None:
        self._local_aliases(pkg)

    def on_module(self, *, mod, **kwargs) -> None:
        self._local_aliases(mod)

    def _local_aliases(self, module) -> None:
        for name, member in list(module.members.items()):
            if member.is_alias and "<locals>" in member.target_path and not name.startswith("_"):
                try:
                    obj = getattr(importlib.import_module(module.path), name)
                except (ImportError, AttributeError):
                    continue
                if callable(obj):
                    module.set_member(name, _function_from_runtime(name, obj))

    def on_object(self, *, obj, **kwargs) -> None:
        if obj.docstring is None and obj.is_function:
            doc = _runtime_doc(obj.path)
            if doc:
                obj.docstring = griffe.Docstring(doc, parent=obj, parser="google",
                                                 parser_options={"warn_missing_types": False})
        if obj.docstring is not None:
            text = _ROLE.sub(r"``\1``", split_entries(obj.docstring.value))
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", text)
