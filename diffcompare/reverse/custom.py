"""User-defined VJPs: ``custom_vjp``, with ``jax.custom_vjp``'s interface.

The object is :class:`diffcompare.custom.UserPrimitive`, shared by every engine
and by JAX::

    @custom_vjp
    def log1pexp(x):
        return dnp.log1p(dnp.exp(x))

    log1pexp.defvjp(lambda x: (log1pexp(x), x),              # fwd: output, residuals
                    lambda x, g: (g * dnp.sigmoid(x),))      # bwd: one cotangent per argument

On the reverse engine's tape the call is one node whose pullback is ``bwd``
(:meth:`ReverseTrace.process_user_primitive`); on JAX arrays and tracers it is
``jax.custom_vjp``; forward mode transposes ``bwd`` into a JVP. Write ``bwd``
with ``diffcompare.numpy`` so it works everywhere (and can itself be differentiated).
"""

from __future__ import annotations

from ..custom import UserPrimitive, custom_vjp

__all__ = ["UserPrimitive", "custom_vjp"]
