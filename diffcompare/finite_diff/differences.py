"""Difference quotients: a scheme's derivative of f at x along every coordinate
axis (a Jacobian) or along one direction (a JVP)."""

from __future__ import annotations

import numpy as np
from jax.flatten_util import ravel_pytree

from .evaluation import Evaluator
from .richardson import richardson
from .schemes import Scheme, check_resolved, coordinate_steps, default_step, f_scale


def _stencil(evaluate: Evaluator, h, scheme: Scheme, direction):
    """Σ wₖ f(x + oₖ h) / h for every row of ``h``, from one batched evaluation."""
    xp = evaluate.xp
    idx = np.arange(h.shape[0])
    # f(x) itself (offset 0) is one row that serves every coordinate
    rows_idx = [idx[:1] if o == 0 else idx for o in scheme.offsets]
    rows_steps = [xp.zeros((1,), h.dtype) if o == 0 else o * h for o in scheme.offsets]
    ys = evaluate(np.concatenate(rows_idx), xp.concatenate(rows_steps), direction)
    estimate, start = 0.0, 0
    for w, rows in zip(scheme.weights, rows_idx):
        estimate = estimate + w * ys[start : start + rows.shape[0]] / h[:, None]
        start += rows.shape[0]
    return estimate


def derivatives(evaluate: Evaluator, h, scheme: Scheme, levels: int, direction=None):
    """Derivatives of f at x: along every coordinate axis (``direction`` None,
    ``h`` per coordinate, result (n, m)) or along ``direction`` (``h`` of shape
    (1,), result (1, m))."""
    if scheme.name == "complex":
        return evaluate(np.arange(h.shape[0]), 1j * h, direction) / h[:, None]
    if scheme.name == "richardson":
        return richardson(evaluate, h, levels, direction)
    return _stencil(evaluate, h, scheme, direction)


def jacobian_flat(evaluate: Evaluator, scheme: Scheme, step, levels, out, fname: str, accuracy=None):
    """The (m, n) Jacobian of the flattened output ``out`` = f(x) by the flattened input."""
    xp, x = evaluate.xp, evaluate.x
    m = ravel_pytree(out)[0].size
    if x.size == 0 or m == 0:  # nothing to perturb or nothing to differentiate: an empty Jacobian, as JAX's
        return xp.zeros((m, x.size), x.dtype)
    evaluate.f_scale = f_scale(out, scheme)
    h = coordinate_steps(xp, x, scheme.name, step, levels, accuracy, evaluate.f_scale, fname, evaluate.mixed)
    return _nan_where_undefined(xp, out, derivatives(evaluate, h, scheme, levels).T)


def jvp_flat(evaluate: Evaluator, v, scheme: Scheme, step, levels, out, fname: str):
    """J·v for the flattened tangent ``v`` (None when ``v`` is zero), stepping along ``v``."""
    x, xp = evaluate.x, evaluate.xp
    v = xp.asarray(v, x.dtype)
    if v.size == 0:
        return None
    vmax = xp.max(xp.abs(v))
    if xp is np and vmax == 0:
        return None
    evaluate.f_scale = f_scale(out, scheme)
    if step is None:
        scale = xp.maximum(1.0, xp.max(xp.abs(x)))
        step = default_step(scheme.name, x.dtype, levels, None, evaluate.f_scale) * scale
    elif scheme.name != "complex":
        check_resolved(xp is np and not np.any((x + step / vmax * v) - x), x, step, scheme.name, levels, fname)
    h = xp.reshape(xp.asarray(step, x.dtype) / vmax, (1,))
    return _nan_where_undefined(xp, out, derivatives(evaluate, h, scheme, levels, direction=v)[0])


def _nan_where_undefined(xp, out, derivative):
    """NaN where f's output is NaN, as JAX's derivatives propagate it (x / x at 0: the
    differences beside the point would say 0). ``derivative`` has the output's size first."""
    nan = xp.isnan(xp.asarray(ravel_pytree(out)[0]))
    return xp.where(xp.reshape(nan, nan.shape + (1,) * (derivative.ndim - 1)), xp.nan, derivative)
