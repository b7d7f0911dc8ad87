"""Helpers the experiments share: running a method without crashing, timing, fitting slopes."""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable

import jax
import numpy as np

from ..errors import DiffCompareError
from ..methods import METHODS
from ..timing import best_time

#: finite-difference schemes the experiments show, in the course's order
FD_SCHEMES = ("forward", "central", "central4", "complex", "richardson")


def contenders(fd_schemes=("central",)) -> list[tuple[str, str, dict]]:
    """(label, method name, options) for every installed method but the reference; one row per FD scheme.

    The default scheme is labelled plain "finite_diff"; other schemes "fd <scheme>".
    """
    out = []
    for name in METHODS:
        if name == "jax":
            continue
        if name == "finite_diff":
            for scheme in fd_schemes:
                label = "finite_diff" if scheme == "central" and len(fd_schemes) == 1 else f"fd {scheme}"
                out.append((label, name, {"scheme": scheme}))
        else:
            out.append((name, name, {}))
    return out


def attempt(fn: Callable) -> tuple[object, str, str]:
    """``(value, status, message)``: status "ok", "unsupported" (a DiffCompareError: the method
    says it cannot) or "error" (anything else: recorded, not raised, so one engine's bug does not
    stop a sweep)."""
    try:
        return fn(), "ok", ""
    except DiffCompareError as err:
        return None, "unsupported", f"{type(err).__name__}: {_one_line(err)}"
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # noqa: BLE001 - recorded in the CSV with its type
        where = traceback.extract_tb(err.__traceback__)[-1]
        return None, "error", f"{type(err).__name__}: {_one_line(err)} ({where.filename.split('/')[-1]}:{where.lineno})"


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300]


def compiled(fn: Callable, *args) -> tuple[Callable, bool]:
    """``jax.jit(fn)`` when it traces and runs on ``args``, else ``fn`` itself; and whether jitted."""
    jitted = jax.jit(fn)
    try:
        jax.block_until_ready(jitted(*args))
        return jitted, True
    except DiffCompareError:
        raise
    except Exception:  # noqa: BLE001 - value-dependent control flow cannot be traced: time it eagerly
        return fn, False


def seconds(fn: Callable, *args, repeat: int = 5) -> float:
    """Best of ``repeat`` calls after a warm-up, waiting for JAX's results."""
    return best_time(fn, rounds=repeat, warmup=1, args=args)


def fit_slope(x, y, min_points: int = 2) -> float:
    """The slope of log y against log x (least squares); nan with fewer than ``min_points`` usable points.

    The cost experiments pass ``min_points=3``: a line through two points always fits.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < max(2, min_points):
        return math.nan
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def counted_operations(fn: Callable, *args) -> float:
    """Arithmetic operations in ``jax.jit(fn)`` on ``args`` as XLA counts them (flops + transcendentals).

    A machine-independent count: it does not change with the machine's load or from run to run;
    nan where XLA gives no cost analysis.
    """
    try:
        cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    except DiffCompareError:
        raise
    except Exception:  # noqa: BLE001 - value-dependent control flow: no compiled program to count
        return math.nan
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else {}
    if not cost or "flops" not in cost:
        return math.nan
    return float(cost.get("flops", 0.0)) + float(cost.get("transcendentals", 0.0))


def flat(tree) -> np.ndarray:
    leaves = jax.tree_util.tree_leaves(tree)
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=np.float64)) for leaf in leaves]) if leaves else np.zeros(0)


def fmt(x, digits: int = 2) -> str:
    """A number for a headline: 3.1, 0.0042, 1.2e-10."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    x = float(x)
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}" if abs(x) < 10 else f"{x:.{max(digits - 1, 1)}f}".rstrip("0").rstrip(".")
    return f"{x:.{max(digits - 1, 0)}e}"
