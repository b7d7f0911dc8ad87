"""Richardson extrapolation (Ridders' method): central differences at h, h/2,
h/4, ... extrapolated in Neville's tableau.

Richardson starts from large steps, a few per cent of |x|, and halves them
until its error estimate stops improving; on a function with a kink within
that distance of x, the large steps can straddle the kink and the
extrapolation is wrong. Use ``scheme="central"`` near kinks.
"""

from __future__ import annotations

import numpy as np

from .evaluation import Evaluator
from .schemes import RICHARDSON_MAX_LEVELS


def _central(evaluate: Evaluator, idx, hk, direction):
    ys = evaluate(np.concatenate([idx, idx]), evaluate.xp.concatenate([-hk, hk]), direction)
    return (ys[idx.shape[0]:] - ys[: idx.shape[0]]) / (2 * hk[:, None])


def richardson(evaluate: Evaluator, h, levels: int, direction):
    """Ridders' method: central differences at h, h/2, h/4, ... extrapolated in
    Neville's tableau; per coordinate, the entry with the smallest error
    estimate wins, and a coordinate stops halving once round-off dominates.

    The first ``levels`` steps are evaluated for every coordinate in one batch;
    coordinates that have not converged get further halvings (up to
    ``RICHARDSON_MAX_LEVELS``), evaluated for those coordinates only.
    """
    xp = evaluate.xp
    d = h.shape[0]
    eps = float(np.finfo(h.dtype).eps)
    first = np.tile(np.arange(d), 2 * levels)
    steps = xp.concatenate([s * h / 2**k for k in range(levels) for s in (-1.0, 1.0)])
    ys = evaluate(first, steps, direction)
    diffs = [(ys[(2 * k + 1) * d : (2 * k + 2) * d] - ys[2 * k * d : (2 * k + 1) * d]) / (2 * h[:, None] / 2**k)
             for k in range(levels)]
    m = diffs[0].shape[1]
    f_noise = eps * evaluate.f_scale
    best = diffs[0]
    best_err = xp.full(best.shape, np.inf, best.dtype)
    active = np.ones(d, dtype=bool)
    previous: list = []
    diffs_k: list = []  # the central differences D(h_k) so far
    for k in range(RICHARDSON_MAX_LEVELS):
        hk = h / 2**k
        if k < levels:
            row = [diffs[k]]
        else:
            act = np.flatnonzero(active)
            # pad to a power of two so jit compiles few batch sizes
            padded = np.resize(act, 1 << int(np.ceil(np.log2(act.size))))
            new = _central(evaluate, padded, hk[padded], direction)[: act.size]
            row = [xp.full((d, m), np.nan, h.dtype)]
            row[0] = _set_rows(row[0], act, new)
        diffs_k.append(row[0])
        for j in range(1, k + 1):
            row.append(row[j - 1] + (row[j - 1] - previous[j - 1]) / (4.0**j - 1.0))
            err = xp.maximum(xp.abs(row[j] - row[j - 1]), xp.abs(row[j] - previous[j - 1]))
            better = (err < best_err) & active[:, None]
            best = xp.where(better, row[j], best)
            best_err = xp.where(better, err, best_err)
        if k >= 2:
            # central differences are in their asymptotic regime when halving h divides
            # their change by about 4 (error ∝ h²), or when the change is down to round-off
            older, newer = xp.abs(diffs_k[-3] - diffs_k[-2]), xp.abs(diffs_k[-2] - row[0])
            noise = 4 * f_noise / hk[:, None]
            asymptotic = ((older > 2.5 * newer) & (older < 6.5 * newer)) | (newer <= noise)
        if k >= max(2, levels - 1):  # judge convergence once the first batch is all in the tableau
            grew = xp.abs(row[k] - previous[k - 1]) >= 2 * best_err  # the tableau stopped improving
            at_noise = best_err <= 4 * f_noise / hk[:, None]  # halving again only adds round-off
            # needs concrete values: Richardson adapts to f
            done = np.asarray(xp.all(asymptotic & (grew | at_noise), axis=1))
            active &= ~done
        previous = row
        if not active.any() or k + 1 >= RICHARDSON_MAX_LEVELS:
            break
    return best


def _set_rows(array, rows, values):
    if isinstance(array, np.ndarray):
        array[rows] = values
        return array
    return array.at[rows].set(values)
