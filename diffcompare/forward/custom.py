"""User-defined primitives in forward mode: the JVP rule applied to dual numbers.

The primitive object itself (``custom_jvp``, ``defjvp``, :class:`UserPrimitive`)
lives in :mod:`diffcompare.custom`, shared by every engine and by JAX; this
module applies its JVP rule in one forward pass (in vector mode once per tangent
column, or with ``jax.vmap`` when the values are plain arrays).
"""

from __future__ import annotations

import jax

from .. import numpy as dnp
from .._core import any_engine_value
from ..custom import USER_PRIMITIVES, UserPrimitive, custom_jvp, defjvp

__all__ = ["USER_PRIMITIVES", "UserPrimitive", "apply_jvp_rule", "custom_jvp", "defjvp"]


def apply_jvp_rule(trace, prim: UserPrimitive, args):
    """Forward mode's handling of a user primitive: its JVP on (primals, tangents)."""
    pairs = [trace.split(a) for a in args]
    primals = tuple(p for p, _ in pairs)
    tangents = tuple(trace.zeros(p) if t is None else t for p, t in pairs)
    if not trace.batch:
        out, tangent_out = prim.jvp(primals, tangents)
    elif not any_engine_value(primals, tangents):
        # the rule is linear in the tangents: vmap it over the batch axis
        out, tangent_out = jax.vmap(lambda *ts: prim.jvp(primals, ts), out_axes=(None, 0))(*tangents)
    else:
        columns = [prim.jvp(primals, tuple(t[i] for t in tangents)) for i in range(trace.batch[0])]
        out = columns[0][0]
        tangent_out = jax.tree_util.tree_map(lambda *ts: dnp.stack(list(ts)), *[c[1] for c in columns])
    return jax.tree_util.tree_map(trace.dual, out, tangent_out)
