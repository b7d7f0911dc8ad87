"""Plain JAX code meets every hand-written method: :func:`from_jax` traces it and evaluates the jaxpr with ``dnp``.

    >>> import jax.numpy as jnp
    >>> from diffcompare import METHODS, from_jax
    >>> loss = from_jax(lambda w, x: jnp.mean(jax.nn.relu(x @ w) ** 2))
    >>> {m: METHODS[m].grad(loss)(w, x) for m in METHODS}

:mod:`.table` is the one table from JAX primitives to ``diffcompare.numpy``;
:mod:`.interpreter` walks a jaxpr with it; :mod:`.detect` tells a JAX function
from one written with ``dnp`` (the CLI's ``diffcompare check module:f``);
:func:`side_by_side` prints JAX's static jaxpr beside the reverse engine's tape;
``diffcompare bench from-jax`` measures what the interpretation costs.
"""

from __future__ import annotations

from ._source import UnsupportedJaxPrimitiveError
from ._wrapper import FromJax, from_jax
from .detect import auto_wrap, is_jax_function
from .show import side_by_side

__all__ = ["FromJax", "UnsupportedJaxPrimitiveError", "auto_wrap", "from_jax", "is_jax_function", "side_by_side"]
