"""Beyond pure forward and reverse mode: accumulating a Jacobian the cheapest way.

The course asks how to combine forward and reverse mode; here are three answers,
built on the forward and reverse engines and checked against JAX:

* :mod:`.chains`: the Jacobian of a chain of layers f_L ∘ … ∘ f_1 by the
  cheapest bracketing of J_L ⋯ J_1 (dynamic programming over the layer
  widths), each bracket by forward mode, reverse mode or a matrix product;
  :mod:`.stages` finds the layers of a plain function on its recorded tape;
* :mod:`.elimination`: vertex elimination on the linearised graph of a
  function of scalars, in forward, reverse and Markowitz order, counting
  multiplications (Griewank's lighthouse: Markowitz beats both pure modes);
* :mod:`.sparsity`: sparse Jacobians with one JVP (or VJP, or difference
  quotient) per colour of the column intersection graph (Curtis, Powell & Reid).

    >>> from diffcompare import accumulate as acc
    >>> acc.plan_chain([100, 1000, 10, 1000, 100]).text()       # '(J4 J3)·(J2 J1)'
    >>> acc.chain_jacobian(f)(x)                                 # a plain f: its layers found on its tape
    >>> acc.eliminate(acc.linearize(acc.lighthouse, 2.0, 3.0, 0.4, 1.3), "markowitz").multiplications
    >>> acc.sparse_jacobian(f, x).n_colours                      # 3 for a tridiagonal Jacobian

Benchmark: ``diffcompare bench accumulate``; experiment: ``diffcompare run jacobian_accumulation``.
"""

from __future__ import annotations

from .chains import MODES, Plan, chain_dims, chain_jacobian, plan_chain, pure_cost
from .elimination import ORDERS, Elimination, LinearGraph, eliminate, eliminate_vertex, lighthouse, linearize
from .elimination import draw as draw_elimination
from .sparsity import (
    SparseJacobian,
    colour_columns,
    colour_rows,
    is_valid_colouring,
    pattern,
    sparse_jacobian,
    to_scipy,
)
from .stages import Chain, find_chain

__all__ = [
    "MODES",
    "Chain",
    "ORDERS",
    "Elimination",
    "LinearGraph",
    "Plan",
    "SparseJacobian",
    "chain_dims",
    "chain_jacobian",
    "colour_columns",
    "colour_rows",
    "draw_elimination",
    "eliminate",
    "eliminate_vertex",
    "find_chain",
    "is_valid_colouring",
    "lighthouse",
    "linearize",
    "pattern",
    "plan_chain",
    "pure_cost",
    "sparse_jacobian",
    "to_scipy",
]
