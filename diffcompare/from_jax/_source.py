"""Where a jaxpr equation came from, and the refusal that names it.

The bottom of ``from_jax``: the table's rules (:mod:`.table`, :mod:`._calls`,
:mod:`._indexing`) and the interpreter that applies them (:mod:`.interpreter`)
both read the user's line of code from here and raise
:class:`UnsupportedJaxPrimitiveError`, so neither imports the other for it.
"""

from __future__ import annotations

import linecache
import os

from jax._src import source_info_util
from jax._src.core import Tracer  # noqa: F401 - a traced value (under jax.jit, jax.vmap): no concrete value

from ..errors import UnsupportedOperationError

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_USER_PARTS = (os.path.join(_PACKAGE, "problems") + os.sep,)


class UnsupportedJaxPrimitiveError(UnsupportedOperationError):
    """A JAX primitive that ``from_jax`` cannot map to ``diffcompare.numpy`` met a differentiated value.

    Attributes:
        primitive: the JAX primitive's name, e.g. ``"cumprod"``.
        where: ``file:line (function): source`` of the user's code that emitted it, or "".
    """

    def __init__(self, primitive: str, where: str = "", reason: str = ""):
        self.primitive, self.where = primitive, where
        place = f" at {where}" if where else ""
        super().__init__(
            f"JAX primitive {primitive}",
            "from_jax",
            f"the JAX function applies '{primitive}'{place} to a value being differentiated, and from_jax's "
            "table has no mapping for it to diffcompare.numpy"
            + (f" ({reason})" if reason else "")
            + "; write that step with diffcompare.numpy, or with JAX operations that the table lists "
            "(diffcompare.from_jax.table.supported())",
        )


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename)
    return path.startswith(_PACKAGE + os.sep) and not path.startswith(_USER_PARTS)


def user_line(eqn) -> str:
    """``file:line (function): source`` of the innermost user frame that emitted ``eqn``, or ""."""
    frames = source_info_util.user_frames(eqn.source_info.traceback)
    for frame in frames:
        if _is_library(frame.file_name):
            continue
        source = linecache.getline(frame.file_name, frame.start_line).strip()
        text = f"{os.path.basename(frame.file_name)}:{frame.start_line} (in {frame.function_name})"
        return text + (f": `{source}`" if source else "")
    return ""
