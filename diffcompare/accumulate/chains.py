"""The Jacobian of a chain f = f_L ∘ … ∘ f_1, bracketed the cheapest way.

The chain rule makes the Jacobian a product of the layers' Jacobians,
J = J_L ⋯ J_1, with J_k of shape n_k × n_{k-1}. Forward mode evaluates it from
the right (n_0 tangents through every layer), reverse mode from the left (n_L
cotangents). Any bracketing is just as correct, and the cheapest one mixes the
modes: this is the matrix-chain problem of linear algebra with two extra ways
to compute a bracket (Griewank & Walther, *Evaluating Derivatives*, ch. 9-10;
Naumann 2008, "Optimal Jacobian accumulation is NP-complete", for general graphs).

Cost model (multiply-adds): one tangent or cotangent through layer k costs
``c_k`` (by default n_k·n_{k-1}, the size of its Jacobian: a dense layer's
JVP is a matrix-vector product). A bracket J_j ⋯ J_{i+1} (layers i+1..j) is

* ``forward``: n_i tangents through its layers, n_i · Σ c;
* ``reverse``: n_j cotangents through its layers, n_j · Σ c;
* ``product``: two materialised brackets split at k, multiplied: n_j·n_k·n_i more;
* ``push``: the materialised right bracket (n_k × n_i), its n_i columns pushed
  forward as tangents through layers k+1..j: n_i · Σ_{k<l≤j} c_l more;
* ``pull``: the materialised left bracket (n_j × n_k), its n_j rows pulled
  back as cotangents through layers i+1..k: n_j · Σ_{i<l≤k} c_l more.

Dynamic programming over all sub-chains (O(L³)) finds the cheapest; the
primal values x_k = f_k(x_{k-1}) are computed once and not counted.

    >>> plan = plan_chain([100, 1000, 10, 1000, 100])
    >>> plan.text(), plan.cost          # ('(J4 J3)·(J2 J1)', 2300000)
    >>> J = chain_jacobian(layers)(x)   # jax.jit(chain_jacobian(layers)) compiles it
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from .. import forward as fwd
from .. import reverse as rev
from ..errors import InvalidOptionError, ShapeMismatchError
from .stages import find_chain

MODES = ("optimal", "forward", "reverse")
_HOW = {
    "forward": "forward mode: {n} tangents through {layers}",
    "reverse": "reverse mode: {n} cotangents through {layers}",
    "product": "product of the two materialised brackets ({shape})",
    "push": "the right bracket's {n} columns pushed forward through {layers}",
    "pull": "the left bracket's {n} rows pulled back through {layers}",
}


@dataclasses.dataclass(frozen=True)
class Plan:
    """How to compute the bracket J_j ⋯ J_{i+1} (layers i+1..j) and what it costs.

    Attributes:
        kind: "forward", "reverse" (through the layers), "product", "push" or "pull" (split at ``k``).
        i, j: the bracket's ends (inputs of layer i+1, outputs of layer j); k: the split, or None.
        dims: the chain's dimensions n_0..n_L; cost: predicted multiply-adds of the whole bracket.
        inner, outer: the materialised sub-brackets (layers i+1..k and k+1..j) where the kind uses them.
    """

    kind: str
    i: int
    j: int
    cost: int
    dims: tuple
    k: int | None = None
    inner: Plan | None = None
    outer: Plan | None = None

    def text(self) -> str:
        """The bracketing, e.g. ``(J4 J3)·(J2 J1)``: a product of brackets, leftmost layer last applied."""
        if self.kind in ("forward", "reverse"):
            return "(" + " ".join(f"J{n}" for n in range(self.j, self.i, -1)) + ")"
        outer = self.outer.text() if self.outer is not None else _span(self.k, self.j)
        inner = self.inner.text() if self.inner is not None else _span(self.i, self.k)
        wrap = lambda p, t: f"[{t}]" if p is not None and p.kind != "forward" and p.kind != "reverse" else t  # noqa: E731
        return f"{wrap(self.outer, outer)}·{wrap(self.inner, inner)}"

    def steps(self) -> list[str]:
        """One line per bracket, innermost first: which mode computes it and what it costs."""
        lines = [] if self.inner is None else self.inner.steps()
        lines += [] if self.outer is None else self.outer.steps()
        n = self.dims
        layers = {"forward": (self.i, self.j), "reverse": (self.i, self.j), "push": (self.k, self.j),
                  "pull": (self.i, self.k)}.get(self.kind)
        count = {"forward": n[self.i], "reverse": n[self.j], "push": n[self.i], "pull": n[self.j]}.get(self.kind)
        how = _HOW[self.kind].format(n=count, layers=_span(*layers) if layers else "",
                                     shape=f"{n[self.j]}×{n[self.k]} · {n[self.k]}×{n[self.i]}" if self.k else "")
        own = self.cost - sum(p.cost for p in (self.inner, self.outer) if p is not None)
        lines.append(f"{self.text()}  [{n[self.j]}×{n[self.i]}]: {how}; {own:,} multiply-adds")
        return lines

    def modes(self) -> dict[str, str]:
        """Bracket text -> "forward"/"reverse" for the brackets computed by passes through layers."""
        out = {} if self.inner is None else self.inner.modes()
        out.update({} if self.outer is None else self.outer.modes())
        if self.kind in ("forward", "reverse"):
            out[self.text()] = self.kind
        elif self.kind in ("push", "pull"):
            lo, hi = (self.k, self.j) if self.kind == "push" else (self.i, self.k)
            out[_span(lo, hi)] = "forward" if self.kind == "push" else "reverse"
        return out


def _span(i, j) -> str:
    return "(" + " ".join(f"J{n}" for n in range(j, i, -1)) + ")"


def _dims(dims) -> tuple[int, ...]:
    dims = tuple(int(d) for d in dims)
    if len(dims) < 2 or min(dims) < 1:
        raise ShapeMismatchError(f"accumulate.plan_chain: dims must be n_0..n_L (at least two, all >= 1), got {dims}")
    return dims


def _layer_costs(dims, layer_costs):
    if layer_costs is None:
        return [dims[k] * dims[k - 1] for k in range(1, len(dims))]
    costs = [int(c) for c in layer_costs]
    if len(costs) != len(dims) - 1:
        raise ShapeMismatchError(f"accumulate.plan_chain: {len(dims) - 1} layers but {len(costs)} layer_costs")
    return costs


def pure_cost(dims: Sequence[int], mode: str, layer_costs=None) -> int:
    """Predicted multiply-adds of the whole chain by one pure mode ("forward": n_0 tangents, "reverse": n_L)."""
    dims = _dims(dims)
    if mode not in ("forward", "reverse"):
        raise InvalidOptionError(f"accumulate.pure_cost: mode must be 'forward' or 'reverse', got {mode!r}")
    width = dims[0] if mode == "forward" else dims[-1]
    return width * sum(_layer_costs(dims, layer_costs))


def plan_chain(dims: Sequence[int], mode: str = "optimal", layer_costs=None) -> Plan:
    """The cheapest way (or the pure ``mode``) to compute J_L ⋯ J_1 for layer dimensions n_0..n_L.

    Arguments:
        dims: n_0 (inputs), n_1, …, n_L (outputs).
        mode: "optimal" (dynamic programming), "forward" or "reverse".
        layer_costs: multiply-adds of one tangent through each layer (default n_k·n_{k-1}).
    Returns:
        A :class:`Plan`; ``plan.text()``, ``plan.steps()``, ``plan.cost``.
    Example:
        >>> plan_chain([100, 1000, 10, 1000, 100]).text()
        '(J4 J3)·(J2 J1)'
    """
    if mode not in MODES:
        raise InvalidOptionError(f"accumulate.plan_chain: mode must be one of {MODES}, got {mode!r}")
    n = _dims(dims)
    c = _layer_costs(n, layer_costs)
    L = len(n) - 1
    prefix = [0]
    for ck in c:
        prefix.append(prefix[-1] + ck)
    work = lambda a, b: prefix[b] - prefix[a]  # noqa: E731 - one tangent through layers a+1..b
    if mode != "optimal":
        return Plan(mode, 0, L, pure_cost(n, mode, c), n)
    best: dict[tuple[int, int], Plan] = {}
    for length in range(1, L + 1):
        for i in range(0, L - length + 1):
            j = i + length
            options = [Plan("forward", i, j, n[i] * work(i, j), n), Plan("reverse", i, j, n[j] * work(i, j), n)]
            for k in range(i + 1, j):
                inner, outer = best[i, k], best[k, j]
                options += [
                    Plan("product", i, j, inner.cost + outer.cost + n[j] * n[k] * n[i], n, k, inner, outer),
                    Plan("push", i, j, inner.cost + n[i] * work(k, j), n, k, inner=inner),
                    Plan("pull", i, j, outer.cost + n[j] * work(i, k), n, k, outer=outer),
                ]
            best[i, j] = min(options, key=lambda p: p.cost)  # first of equals: the pure modes win ties
    return best[0, L]


# ---------------------------------------------------------------- computing a plan


def _compose(layers):
    def g(x):
        for layer in layers:
            x = layer(x)
        return x

    return g


def chain_dims(layers: Sequence[Callable], x) -> tuple[int, ...]:
    """n_0..n_L of the chain at ``x`` (shapes only: nothing is computed)."""
    shapes = [jnp.shape(x)]
    spec = jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x))
    for k, layer in enumerate(layers, 1):
        spec = jax.eval_shape(layer, spec)
        if not isinstance(spec, jax.ShapeDtypeStruct):
            raise ShapeMismatchError(f"accumulate.chain_jacobian: layer {k} returns {type(spec).__name__}; "
                                     "every layer must map a 1-d array to a 1-d array")
        shapes.append(spec.shape)
    if any(len(s) != 1 for s in shapes):
        raise ShapeMismatchError(f"accumulate.chain_jacobian: every layer must map a 1-d array to a 1-d array; "
                                 f"the shapes along the chain are {shapes} (flatten with dnp.reshape)")
    return tuple(s[0] for s in shapes)


def _run(plan: Plan, layers, xs):
    """The bracket's Jacobian (n_j × n_i) computed as the plan says, with the forward and reverse engines."""
    if plan.kind == "forward":
        return fwd.jacobian(_compose(layers[plan.i : plan.j]), mode="batched")(xs[plan.i])  # one pass, no vmap
    if plan.kind == "reverse":
        return rev.jacobian(_compose(layers[plan.i : plan.j]))(xs[plan.i])
    if plan.kind == "product":
        return _run(plan.outer, layers, xs) @ _run(plan.inner, layers, xs)
    if plan.kind == "push":  # the columns of the inner bracket are the tangents of one batched pass
        right = _run(plan.inner, layers, xs)
        _, tangents = fwd.jvp(_compose(layers[plan.k : plan.j]), (xs[plan.k],), (right.T,), batched=True)
        return tangents.T
    left = _run(plan.outer, layers, xs)  # pull: the rows of the outer bracket are the cotangents
    _, pull = rev.vjp(_compose(layers[plan.i : plan.k]), xs[plan.i])
    return jax.vmap(lambda row: pull(row)[0])(left)


def chain_jacobian(layers: Sequence[Callable] | Callable, mode: str = "optimal", layer_costs=None) -> Callable:
    """A function x -> the Jacobian of ``layers[-1](… layers[0](x))`` computed by ``plan_chain``'s plan.

    Arguments:
        layers: functions written with ``diffcompare.numpy``, each mapping a 1-d array to a 1-d array;
            or one such function of an array of any shape, whose layers are then found on its recorded
            tape at each call (:func:`~diffcompare.accumulate.find_chain`; the planner uses the stages'
            own costs per tangent).
        mode: "optimal" (the cheapest bracketing), "forward" or "reverse" (the pure modes, by our engines).
        layer_costs: per-tangent multiply-adds of each layer, for the planner (default n_k·n_{k-1}).
    Returns:
        A callable returning the (n_L × n_0) Jacobian (for one function: shaped like ``jax.jacfwd``'s);
        it has a ``plan(x)`` attribute giving the :class:`Plan` for an input like ``x``. ``jax.jit``
        compiles the callable.
    Example:
        >>> J = chain_jacobian([lambda x: dnp.tanh(W1 @ x), lambda h: W2 @ h])(x)
        >>> J = chain_jacobian(lambda x: dnp.tanh(W2 @ dnp.tanh(W1 @ x)))(x)   # the same, layers found
    """
    if mode not in MODES:
        raise InvalidOptionError(f"accumulate.chain_jacobian: mode must be one of {MODES}, got {mode!r}")
    if callable(layers) and not isinstance(layers, Sequence):
        return _found_chain_jacobian(layers, mode, layer_costs)
    layers = list(layers)
    if not layers:
        raise ShapeMismatchError("accumulate.chain_jacobian: give at least one layer")

    def plan(x) -> Plan:
        return plan_chain(chain_dims(layers, x), mode, layer_costs)

    def jacobian(x):
        x = jnp.asarray(x)
        return _evaluate(plan(x), layers, x)

    jacobian.plan = plan
    return jacobian


def _found_chain_jacobian(f: Callable, mode: str, layer_costs) -> Callable:
    def chain_and_plan(x):
        chain = find_chain(f, x)
        return chain, plan_chain(chain.dims, mode, chain.costs if layer_costs is None else layer_costs)

    def jacobian(x):
        x = jnp.asarray(x)
        chain, p = chain_and_plan(x)
        return jnp.reshape(_evaluate(p, list(chain.layers), x.ravel()), chain.out_shape + chain.in_shape)

    jacobian.plan = lambda x: chain_and_plan(jnp.asarray(x))[1]
    return jacobian


def _evaluate(plan: Plan, layers, x):
    xs = [x]
    for layer in layers[:-1]:
        xs.append(layer(xs[-1]))
    return _run(plan, layers, xs)
