"""Kinks: a point where ``f`` is not differentiable, told apart from a finite-difference error.

At a kink (``abs`` at 0, ``relu`` at 0) the derivative does not exist. JAX
returns one subgradient by convention (abs'(0) = 1, relu'(0) = 0) and a central
difference returns the average of the two one-sided slopes, so the two disagree
although neither is wrong. The checker asks :func:`find_kink` whether such a
disagreement comes from a kink: along the direction ``d`` it measures the right
slope (f(x + h d) − f(x)) / h and the left slope (f(x) − f(x − h d)) / h at three
steps h a decade apart (seven evaluations of ``f``), each extrapolated to a zero
step. At a kink the two limits differ by a jump, and each is stable; where ``f``
is smooth both limits are f′ (their difference, about h·f″, vanishes), so a
smooth function is not called kinked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

#: the steps, as multiples of eps^(1/3) · max(1, |x|): three a decade apart
STEP_FACTORS = (10.0, 1.0, 0.1)


@dataclasses.dataclass(frozen=True)
class Kink:
    """The one-sided slopes of ``f`` along a direction at a kink (flattened over ``f``'s outputs).

    Attributes:
        left, right: the slopes from the left and from the right at the smallest step.
        entry: the output entry with the largest jump (0 for a scalar ``f``).
    """

    left: np.ndarray
    right: np.ndarray

    @property
    def entry(self) -> int:
        return int(np.argmax(np.abs(self.right - self.left)))


def one_sided_slopes(fun: Callable, x: np.ndarray, d: np.ndarray, eps: float):
    """(left, right, f0, steps): ``left`` and ``right`` of shape (steps, outputs), the one-sided difference
    quotients of ``fun`` (flat array in, flat array out) at ``x`` along ``d`` for the steps of
    :data:`STEP_FACTORS` (the largest coordinate of ``h·d`` moves by eps^(1/3)·max(1, |x|) times each),
    and ``fun(x)``."""
    base = eps ** (1 / 3) * max(1.0, float(np.max(np.abs(x), initial=0.0))) / max(float(np.max(np.abs(d))), 1e-300)
    steps = np.array(STEP_FACTORS) * base
    f0 = np.asarray(fun(x), np.float64)
    right = np.array([(np.asarray(fun(x + h * d), np.float64) - f0) / h for h in steps])
    left = np.array([(f0 - np.asarray(fun(x - h * d), np.float64)) / h for h in steps])
    return left, right, f0, steps


def _at_zero(slopes: np.ndarray, steps: np.ndarray, i: int) -> np.ndarray:
    """The slope extrapolated to a zero step from steps i and i + 1 (a one-sided slope is s0 + c·h)."""
    h1, h2 = steps[i], steps[i + 1]
    return (h1 * slopes[i + 1] - h2 * slopes[i]) / (h1 - h2)


def find_kink(fun: Callable, x: np.ndarray, d: np.ndarray, eps: float) -> Kink | None:
    """A :class:`Kink` where ``fun`` has one at ``x`` along ``d`` (or closer to ``x`` than the smallest
    step), None where it is smooth there.

    Each one-sided slope is s0 + c·h near a kink (and near a smooth point, where both s0 are f′):
    s0 is extrapolated from the two smallest steps and, as a check, from the two largest. A kink:
    the two s0 differ by a jump well above rounding, and each s0 agrees between the two
    extrapolations within a quarter of the jump.

    Example:
        >>> find_kink(lambda x: np.abs(x), np.zeros(1), np.ones(1), 2.2e-16)
        Kink(left=array([-1.]), right=array([1.]))
    """
    left, right, f0, steps = one_sided_slopes(fun, x, d, eps)
    left0, right0 = _at_zero(left, steps, 1), _at_zero(right, steps, 1)
    jump = float(np.max(np.abs(right0 - left0)))
    scale = max(1.0, float(np.max(np.abs(left0))), float(np.max(np.abs(right0))))
    rounding = 100 * eps * max(1.0, float(np.max(np.abs(f0)))) / steps[-1]  # of a quotient at the smallest step
    if not np.isfinite(jump) or jump <= max(100 * np.sqrt(eps) * scale, rounding):
        return None
    drift = max(float(np.max(np.abs(_at_zero(left, steps, 0) - left0))),
                float(np.max(np.abs(_at_zero(right, steps, 0) - right0))))
    if drift > 0.25 * jump:
        return None
    return Kink(left0, right0)


#: at most this many failing coordinates are examined (seven evaluations of ``f`` each)
MAX_COORDINATES = 64


def failing_coordinates(fd: np.ndarray, ref: np.ndarray, tolerance: float) -> list[int]:
    """The input coordinates (columns of the (outputs, inputs) Jacobians) where finite differences
    and the reference disagree beyond ``tolerance`` (relative to the larger Jacobian), worst first."""
    scale = max(float(np.max(np.abs(ref), initial=0.0)), float(np.max(np.abs(fd), initial=0.0)), np.finfo(float).tiny)
    errors = np.max(np.abs(fd - ref), axis=0, initial=0.0) / scale
    order = np.argsort(-errors, kind="stable")
    return [int(i) for i in order if errors[i] > tolerance]


def describe(kink: Kink, direction: str, reference: np.ndarray, outputs: int, eps: float) -> str:
    """The note for a kink along ``direction``, with JAX's slope there (``reference``, flat); slopes
    below rounding (sqrt(eps) of the largest) are shown as 0."""
    k = kink.entry
    left, right, ref = float(kink.left[k]), float(kink.right[k]), float(reference[k])
    noise = np.sqrt(eps) * max(abs(left), abs(right), abs(ref))
    left, right, ref, average = (0.0 if abs(v) < noise else v for v in (left, right, ref, (left + right) / 2))
    entry = f", output entry {k}" if outputs > 1 else ""
    return (f"f has a kink here along {direction}{entry}: left slope {left:.3g}, right slope {right:.3g}. f is "
            f"not differentiable at this point: JAX's convention gives {ref:.3g} (one subgradient, e.g. "
            f"abs'(0) = 1, relu'(0) = 0), central finite differences give the average {average:.3g}; "
            "not an engine error (check at a point off the kink to compare the methods)")


# ---------------------------------------------------------------- the checker's finite-difference rows


def explain(problem, rows, fd_full, tolerance: float) -> None:
    """Mark the failing finite-difference ``rows`` of the checker at a kink: status "kink" and the note
    (:func:`describe`) where every failing direction shows one, the note added to a row that still fails.

    Arguments:
        problem: the checker's problem (``f``, ``args``, ``sel``, ``diff``, ``out``, ``full``, ``us``, ``dtype``).
        rows: finite differences' rows (full derivative first, then projections), changed in place.
        fd_full: finite differences' gradient or Jacobian (None if it raised).
        tolerance: the relative error the rows allow.
    """
    x, unravel = ravel_pytree(problem.diff)
    dtype = x.dtype

    def fun(flat):
        diff = unravel(jnp.asarray(flat, dtype))
        return np.ravel(np.asarray(ravel_pytree(problem.f(*problem.sel.rebuild(problem.args, diff)))[0]))

    x, eps = np.asarray(x, np.float64), float(jnp.finfo(problem.dtype).eps)
    ref = _matrix(problem.full, problem.out, problem.scalar)
    note, full = None, rows[0]
    if full.status == "fail" and fd_full is not None:
        failing = failing_coordinates(_matrix(fd_full, problem.out, problem.scalar), ref, tolerance)
        found = {}
        for i in failing[:MAX_COORDINATES]:
            kink = find_kink(fun, x, np.eye(1, x.size, i)[0], eps)
            if kink is not None:
                found[i] = kink
        if found:
            i = next(iter(found))  # the worst coordinate that sits at a kink
            note = describe(found[i], _coordinate(problem, i), ref[:, i], ref.shape[0], eps)
            _mark(full, note, every=len(found) == len(failing))
    projections = [row for row in rows[1:] if row.status == "fail"]
    if projections:
        directions = [np.asarray(ravel_pytree(u)[0], np.float64) for u in problem.us]
        found = [find_kink(fun, x, d, eps) for d in directions]
        if any(k is not None for k in found):
            k = next(j for j, kink in enumerate(found) if kink is not None)
            note = note or describe(found[k], f"the random direction u{k}", ref @ directions[k], ref.shape[0], eps)
            for row in projections:
                _mark(row, note, every=all(kink is not None for kink in found))


def _mark(row, note: str, every: bool) -> None:
    """A row whose every failing direction sits at a kink is "kink"; otherwise it fails, with the note."""
    if every:
        row.status, row.message = "kink", note
    else:
        row.message = f"{row.message}; {note}" if row.message else note


def _matrix(jacobian, out, scalar: bool) -> np.ndarray:
    """A gradient or a Jacobian in ``jax.jacobian``'s layout as one (outputs, inputs) matrix."""
    if scalar:
        return np.asarray(ravel_pytree(jacobian)[0], np.float64)[None, :]
    rows = []
    for o, blocks in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_structure(out).flatten_up_to(jacobian)):
        m = int(np.size(o))
        rows.append(np.concatenate([np.reshape(np.asarray(b, np.float64), (m, -1))
                                    for b in jax.tree_util.tree_leaves(blocks)], axis=1))
    return np.concatenate(rows, axis=0)


def _coordinate(problem, i: int) -> str:
    """The name of input coordinate ``i`` (flat, over the differentiated arguments): ``args[0][2]``,
    ``args[1]['W'][0,1]``."""
    with_path, _ = jax.tree_util.tree_flatten_with_path(problem.diff if problem.sel.is_tuple else (problem.diff,))
    start = 0
    for path, leaf in with_path:
        size = int(np.size(leaf))
        if i < start + size:
            argnum = problem.sel.argnums[path[0].idx]
            index = np.unravel_index(i - start, np.shape(leaf))
            suffix = f"[{','.join(map(str, index))}]" if index else ""
            return f"args[{argnum}]{jax.tree_util.keystr(path[1:])}{suffix}"
        start += size
    return f"coordinate {i}"
