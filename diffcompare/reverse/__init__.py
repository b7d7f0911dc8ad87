"""Reverse mode: a hand-written backpropagation engine on tensors.

The forward pass records every primitive applied to the inputs on a tape
(:mod:`.tape`); the backward pass sorts the graph once and sweeps adjoints in
reverse topological order, each node's VJP rule taken from one table
(:mod:`.rules`). On top of it: the method interface (:mod:`.api`), user VJPs
(:mod:`.custom`), tape statistics and checkpointing (:mod:`.memory`),
and drawing the graph (:mod:`.graph`). ``hvp`` (forward over reverse) needs both
engines: :mod:`diffcompare.mixed` defines it and offers it here as ``rev.hvp``. Training an MLP on the digits is an
application: :mod:`diffcompare.apps.train`.

    >>> import diffcompare.reverse as rev
    >>> rev.grad(lambda x: dnp.sum(dnp.sin(x) * x))(jnp.arange(3.0))
    >>> rev.hessian(f)(x); rev.hvp(f)(x, v)          # reverse over reverse; forward over reverse
    >>> rev.memory.tape_stats(f, x)                  # nodes and bytes the tape holds
    >>> rev.graph.draw(f, 1.5)                       # the graph with values and adjoints

Benchmark: ``diffcompare bench reverse``; training:
``python -m diffcompare.apps.train``.
"""

from __future__ import annotations

from . import graph, memory
from .api import grad, hessian, jacobian, jacrev, jvp, value_and_grad, vjp
from .custom import custom_vjp
from .memory import TapeStats, checkpoint, tape_stats
from .rules import RULES, UNSUPPORTED, unbroadcast
from .tape import Node, ReverseTrace, backward, toposort

NAME = "reverse"
TITLE = "Reverse mode (hand-written backpropagation)"
#: relative error allowed against JAX, by dtype
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}

__all__ = [
    "NAME",
    "RULES",
    "TITLE",
    "TOLERANCE",
    "UNSUPPORTED",
    "Node",
    "ReverseTrace",
    "TapeStats",
    "backward",
    "checkpoint",
    "custom_vjp",
    "graph",
    "grad",
    "hessian",
    "jacobian",
    "jacrev",
    "jvp",
    "memory",
    "tape_stats",
    "toposort",
    "unbroadcast",
    "value_and_grad",
    "vjp",
]
