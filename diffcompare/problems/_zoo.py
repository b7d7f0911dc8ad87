"""The problems: the course's examples first, then networks, maps and awkward cases.

Each function is written once with ``dnp`` and works for every method. A
``_build_*`` function makes the data and input for one size and returns
``(fun, args, derivative)``; the closed-form ``derivative`` uses ``jax.numpy``
directly (it is the hand-derived formula, not another method).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from .base import Problem

PROBLEMS: dict[str, Problem] = {}


def _register(problem: Problem) -> Problem:
    """Add ``problem`` to the zoo (other modules of this package register theirs this way too)."""
    PROBLEMS[problem.name] = problem
    return problem


def _problem(name: str, title: str, **details):
    """Register the decorated builder as the problem ``name`` (in the order they are defined)."""

    def register(build):
        _register(Problem(name, title, build, **details))
        return build

    return register


def _bind(fun, derivative, args: tuple, **data):
    """``(fun, args, derivative)`` of a builder, with the problem's data fixed as keyword arguments."""
    return functools.partial(fun, **data), args, functools.partial(derivative, **data)


def _rng(rng):
    # the course has no point for this problem: use seed 0's input
    return np.random.default_rng(0) if rng is None else rng


# ---------------------------------------------------------------- the course's scalar examples


def exp_over_square(x):
    """exp(x) / x² (course 003)."""
    return dnp.exp(x) / x**2


@_problem("exp_over_square", "exp(x) / x²",
          source="003: the running example, at x = 1.5", tags=("course", "scalar"))
def _build_exp_over_square(size, rng, dtype):
    x = 1.5 if rng is None else rng.uniform(0.5, 3.0)
    return exp_over_square, (x,), lambda x: jnp.exp(x) * (x - 2) / x**3


def exp_sin_xy(x, y):
    """1 + x + exp(sin(x·y)) (course 002's compute graph)."""
    return 1 + x + dnp.exp(dnp.sin(x * y))


def _exp_sin_xy_derivative(x, y):
    inner = jnp.exp(jnp.sin(x * y)) * jnp.cos(x * y)
    return (1 + inner * y, inner * x)


@_problem("exp_sin_xy", "1 + x + exp(sin(x y))",
          source="002: symbolic differentiation and its compute graph", tags=("course", "scalar"))
def _build_exp_sin_xy(size, rng, dtype):
    x, y = (0.5, 2.0) if rng is None else rng.uniform(-2.0, 2.0, size=2)
    return exp_sin_xy, (x, y), _exp_sin_xy_derivative


def sqrt_cos(x):
    """sqrt(x² + exp(x²)) + cos(x² + exp(x²)) (course 004, Example 1)."""
    u = x**2 + dnp.exp(x**2)
    return dnp.sqrt(u) + dnp.cos(u)


def _sqrt_cos_derivative(x):
    u = x**2 + jnp.exp(x**2)
    du = 2 * x + 2 * x * jnp.exp(x**2)
    return du / (2 * jnp.sqrt(u)) - jnp.sin(u) * du


@_problem("sqrt_cos", "sqrt(x² + exp(x²)) + cos(x² + exp(x²))",
          source="004: Example 1, a computational graph with a shared subexpression", tags=("course", "scalar"))
def _build_sqrt_cos(size, rng, dtype):
    x = 1.0 if rng is None else rng.uniform(-1.5, 1.5)
    return sqrt_cos, (x,), _sqrt_cos_derivative


# ---------------------------------------------------------------- networks


def _glorot(rng, fan_out, fan_in):
    return rng.normal(size=(fan_out, fan_in)) / np.sqrt(fan_in)


def mlp_l2(params, x, y):
    """½‖y − W₂ tanh(W₁ x)‖²: the one-hidden-layer network of course 001."""
    hidden = dnp.tanh(params["W1"] @ x)
    residual = y - params["W2"] @ hidden
    return 0.5 * dnp.sum(residual**2)


def _mlp_l2_derivative(params, x, y):
    # the delta equations of course 002, by hand
    s = params["W1"] @ x
    z = jnp.tanh(s)
    delta2 = -(y - params["W2"] @ z)
    delta1 = (1 - z**2) * (params["W2"].T @ delta2)
    return {"W1": jnp.outer(delta1, x), "W2": jnp.outer(delta2, z)}


@_problem("mlp_l2", "½‖y − W₂ tanh(W₁ x)‖² over params {W1, W2}",
          default_size=16, sizes=(4, 16, 64, 256),
          source="001: reverse mode for an MLP with ℓ2 loss", tags=("course", "network", "pytree"))
def _build_mlp_l2(size, rng, dtype):
    rng = _rng(rng)
    d_in, width, d_out = 8, size, 4
    params = {"W1": _glorot(rng, width, d_in), "W2": _glorot(rng, d_out, width)}
    x = jnp.asarray(rng.normal(size=d_in), dtype)
    y = jnp.asarray(rng.normal(size=d_out), dtype)
    return _bind(mlp_l2, _mlp_l2_derivative, (params,), x=x, y=y)


def mlp_softmax_xent(params, inputs, labels):
    """Mean softmax cross-entropy of a tanh MLP on a batch (labels one-hot)."""
    hidden = dnp.tanh(inputs @ params["W1"].T + params["b1"])
    logits = hidden @ params["W2"].T + params["b2"]
    return -dnp.mean(dnp.sum(labels * dnp.log_softmax(logits, axis=-1), axis=-1))


def _mlp_softmax_xent_derivative(params, inputs, labels):
    s = inputs @ params["W1"].T + params["b1"]
    z = jnp.tanh(s)
    logits = z @ params["W2"].T + params["b2"]
    p = jax.nn.softmax(logits, axis=-1)
    delta2 = (p - labels) / inputs.shape[0]  # the p − y of course 001
    delta1 = (1 - z**2) * (delta2 @ params["W2"])
    return {"W1": delta1.T @ inputs, "b1": delta1.sum(0), "W2": delta2.T @ z, "b2": delta2.sum(0)}


@_problem("mlp_softmax_xent", "mean cross-entropy of softmax(W₂ tanh(W₁ x + b₁) + b₂)",
          default_size=16, sizes=(4, 16, 64, 256),
          source="001: VJP of softmax cross-entropy (p − y)", tags=("course", "network", "pytree"))
def _build_mlp_softmax_xent(size, rng, dtype):
    rng = _rng(rng)
    d_in, width, classes, batch = 6, size, 3, 5
    params = {
        "W1": _glorot(rng, width, d_in), "b1": 0.1 * rng.normal(size=width),
        "W2": _glorot(rng, classes, width), "b2": 0.1 * rng.normal(size=classes),
    }
    inputs = jnp.asarray(rng.normal(size=(batch, d_in)), dtype)
    labels = jnp.asarray(np.eye(classes)[rng.integers(0, classes, size=batch)], dtype)
    return _bind(mlp_softmax_xent, _mlp_softmax_xent_derivative, (params,), inputs=inputs, labels=labels)


def layered_net(layers, x, y):
    """½‖σ(W_L … σ(W₁x + b₁) …) − y‖²: the layered network of courses 002 and 004."""
    z = x
    for layer in layers:
        z = dnp.sigmoid(layer["W"] @ z + layer["b"])
    return 0.5 * dnp.sum((z - y) ** 2)


def _layered_net_derivative(layers, x, y):
    zs, z = [x], x
    for layer in layers:
        z = jax.nn.sigmoid(layer["W"] @ z + layer["b"])
        zs.append(z)
    delta = (z - y) * z * (1 - z)  # δ of the last layer
    grads = [None] * len(layers)
    for i in reversed(range(len(layers))):
        grads[i] = {"W": jnp.outer(delta, zs[i]), "b": delta}
        if i:
            delta = (layers[i]["W"].T @ delta) * zs[i] * (1 - zs[i])  # δ^(l-1) = φ'(s) ⊙ Wᵀ δ^(l)
    return grads


@_problem("layered_net", "½‖σ(W₃σ(W₂σ(W₁x+b₁)+b₂)+b₃) − y‖² over a list of layers",
          default_size=8, sizes=(4, 8, 32, 128),
          source="002/004: the layered network and its delta equations", tags=("course", "network", "pytree"))
def _build_layered_net(size, rng, dtype, depth=3):
    rng = _rng(rng)
    widths = [size] * (depth + 1)
    layers = [{"W": _glorot(rng, widths[i + 1], widths[i]), "b": 0.1 * rng.normal(size=widths[i + 1])}
              for i in range(depth)]
    x = jnp.asarray(rng.normal(size=size), dtype)
    y = jnp.asarray(rng.uniform(size=size), dtype)
    return _bind(layered_net, _layered_net_derivative, (layers,), x=x, y=y)


# ---------------------------------------------------------------- iterated and n-dimensional functions


def logistic_map(x, steps):
    """l_{k+1} = 4 l_k (1 − l_k) from l₀ = x, ``steps`` times (expression swell)."""
    for _ in range(steps):
        x = 4 * x * (1 - x)
    return x


def _logistic_map_derivative(x, steps):
    # l_k = sin²(2^k θ) with θ = arcsin(√x), so dl_k/dx = 2^k sin(2^(k+1) θ) / (2 √(x(1−x)))
    theta = jnp.arcsin(jnp.sqrt(x))
    return 2.0**steps * jnp.sin(2.0 ** (steps + 1) * theta) / (2 * jnp.sqrt(x * (1 - x)))


@_problem("logistic_map", "l_{k+1} = 4 l_k (1 − l_k), l₀ = x, k steps",
          default_size=4, sizes=(1, 2, 4, 6, 8, 10),
          source="002: expression swell of symbolic differentiation", tags=("course", "scalar", "swell"))
def _build_logistic_map(size, rng, dtype):
    x = 0.3 if rng is None else rng.uniform(0.1, 0.9)
    return _bind(logistic_map, _logistic_map_derivative, (x,), steps=size)


def rosenbrock(x):
    """Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)²."""
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_derivative(x):
    g = jnp.zeros_like(x)
    g = g.at[:-1].add(-400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1]))
    return g.at[1:].add(200.0 * (x[1:] - x[:-1] ** 2))


@_problem("rosenbrock", "Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², x ∈ Rⁿ",
          default_size=10, sizes=(2, 10, 100, 1000),
          source="the benchmark of every optimisation course", tags=("vector-input",))
def _build_rosenbrock(size, rng, dtype):
    x = _rng(rng).uniform(-1.0, 2.0, size=size)
    return rosenbrock, (x,), _rosenbrock_derivative


def product(x):
    """The product of all inputs: each partial derivative is the product of the others."""
    return dnp.prod(x)


@_problem("product", "Π x_i",
          default_size=8, sizes=(2, 8, 32),
          source="a product of many inputs", tags=("vector-input",))
def _build_product(size, rng, dtype):
    x = _rng(rng).uniform(0.5, 1.5, size=size)
    return product, (x,), lambda x: jnp.prod(x) / x


# ---------------------------------------------------------------- vector-valued maps


def tall_map(x, A):
    """Rⁿ → Rᵐ with m = 4n: sin(Ax) + (Ax)² (tall Jacobian: forward mode's case)."""
    u = A @ x
    return dnp.sin(u) + u**2


@_problem("tall_map", "sin(Ax) + (Ax)², Rⁿ → R⁴ⁿ",
          default_size=3, sizes=(2, 4, 16, 64),
          source="001: forward vs reverse for tall Jacobians (n < m)", tags=("vector-output",))
def _build_tall_map(size, rng, dtype):
    rng = _rng(rng)
    A = jnp.asarray(rng.normal(size=(4 * size, size)) / np.sqrt(size), dtype)
    x = rng.normal(size=size)
    fun = functools.partial(tall_map, A=A)
    return fun, (x,), lambda x: (jnp.cos(A @ x) + 2 * (A @ x))[:, None] * A


def wide_map(x, B):
    """Rⁿ → Rᵐ with m = max(1, n/4): B tanh(x) + ‖x‖² (wide Jacobian: reverse mode's case)."""
    return B @ dnp.tanh(x) + dnp.sum(x * x)


@_problem("wide_map", "B tanh(x) + ‖x‖², Rⁿ → R^(n/4)",
          default_size=12, sizes=(4, 16, 64, 256),
          source="001: forward vs reverse for wide Jacobians (n > m)", tags=("vector-output",))
def _build_wide_map(size, rng, dtype):
    rng = _rng(rng)
    B = jnp.asarray(rng.normal(size=(max(1, size // 4), size)) / np.sqrt(size), dtype)
    x = rng.normal(size=size)
    fun = functools.partial(wide_map, B=B)
    return fun, (x,), lambda x: B * (1 - jnp.tanh(x) ** 2)[None, :] + 2 * x[None, :]


def polar_map(x):
    """R³ → R⁴: products, a quotient and a norm of three inputs."""
    a, b, c = x[0], x[1], x[2]
    return dnp.stack([a * b * c, dnp.exp(a) * dnp.sin(b), c / (1 + a**2), dnp.sqrt(a**2 + b**2 + c**2)])


def _polar_map_derivative(x):
    a, b, c = x
    r = jnp.sqrt(a**2 + b**2 + c**2)
    return jnp.array([
        [b * c, a * c, a * b],
        [jnp.exp(a) * jnp.sin(b), jnp.exp(a) * jnp.cos(b), 0.0],
        [-2 * a * c / (1 + a**2) ** 2, 0.0, 1 / (1 + a**2)],
        [a / r, b / r, c / r],
    ])


@_problem("polar_map", "(abc, eᵃ sin b, c/(1+a²), ‖x‖): R³ → R⁴",
          source="a small map with a 4×3 Jacobian", tags=("vector-output",))
def _build_polar_map(size, rng, dtype):
    x = np.array([0.7, -1.2, 2.0]) if rng is None else rng.uniform(-2.0, 2.0, size=3)
    return polar_map, (x,), _polar_map_derivative


# ---------------------------------------------------------------- kinks and control flow


def kinks(x):
    """relu, abs and maximum together: differentiable except on a set of measure zero."""
    return dnp.sum(dnp.relu(x) + dnp.abs(x - 0.5) + dnp.maximum(x, 0.25 * x**2)) + dnp.max(x) - dnp.min(x)


def _kinks_derivative(x):
    g = (x > 0) + jnp.where(x - 0.5 >= 0, 1.0, -1.0) + jnp.where(x > 0.25 * x**2, 1.0, 0.5 * x)
    return g + (x == jnp.max(x)) - (x == jnp.min(x))


@_problem("kinks", "Σ relu(x) + |x − ½| + maximum(x, x²/4) + max(x) − min(x)",
          default_size=6, sizes=(2, 6, 32), has_kinks=True,
          source="001: ReLU's subgradient 0; abs and max at JAX's conventions", tags=("kinks",))
def _build_kinks(size, rng, dtype):
    x = _rng(rng).uniform(-2.0, 5.0, size=size)
    return kinks, (x,), _kinks_derivative


def branchy(x):
    """Halve x until it is inside the unit ball, then branch on the sign of its sum."""
    scale = 1.0
    while dnp.sum(x * x) > 1.0:  # a loop whose trip count depends on x
        x = 0.5 * x
        scale = 0.5 * scale
    if dnp.sum(x) > 0:  # a branch that depends on x
        return dnp.sum(dnp.sin(x))
    return dnp.sum(dnp.cos(x) * x)


def _branchy_derivative(x):
    scale = 1.0
    while float(jnp.sum(x * x)) > 1.0:
        x, scale = 0.5 * x, 0.5 * scale
    if float(jnp.sum(x)) > 0:
        return scale * jnp.cos(x)
    return scale * (jnp.cos(x) - x * jnp.sin(x))


@_problem("branchy", "halve x until ‖x‖ ≤ 1, then Σ sin x or Σ x cos x by the sign of Σ x",
          default_size=4, sizes=(2, 4, 16), data_dependent=True,
          source="001: dynamic (traced) graphs: Python loops and branches", tags=("control-flow",))
def _build_branchy(size, rng, dtype):
    x = _rng(rng).normal(size=size) * 2.0
    return branchy, (x,), _branchy_derivative


# ---------------------------------------------------------------- every primitive at least once


def all_ops(x):
    """Touches every primitive of ``dnp`` once, on smooth ground (x in (0.2, 0.8))."""
    m = dnp.reshape(x, (2, 3))
    unary = (dnp.exp(x) + dnp.log(x) + dnp.log1p(x) + dnp.expm1(x) + dnp.sqrt(x) + dnp.sin(x) + dnp.cos(x)
             + dnp.tan(x) + dnp.tanh(x) + dnp.sinh(x) + dnp.cosh(x) + dnp.arctan(x) + dnp.sigmoid(x)
             + dnp.abs(x - 1.0) + dnp.relu(x - 0.1) + (-x))
    binary = x / (1.0 + x) - x**1.5 + x**x + dnp.maximum(x, 0.9 * x) + dnp.minimum(x, 1.1 * x)
    picked = dnp.where(x > 0.5, dnp.sin(x), dnp.cos(x))
    rows = dnp.transpose(m) @ m  # (3, 3)
    joined = dnp.concatenate([x[:2], x[3:]]) + dnp.stack([x[0], x[1], x[2], x[3], x[4]])
    spread = dnp.broadcast_to(x[:3], (2, 3)) * m
    placed = dnp.index_add(dnp.zeros(6), 1, x[2] * x[4])
    reductions = (dnp.sum(rows) + dnp.prod(x) + dnp.max(x * m.ravel()) + dnp.min(dnp.sum(m, axis=0))
                  + dnp.logsumexp(m, axis=1).sum() + dnp.softmax(m, axis=-1)[:, 0].sum())
    return (dnp.sum(unary * binary + picked) + reductions + dnp.sum(joined**2) + dnp.sum(spread)
            + dnp.sum(placed * x))


@_problem("all_ops", "a sum of terms that use every primitive of diffcompare.numpy",
          has_kinks=True, source="coverage: every engine rule on one function", tags=("coverage",))
def _build_all_ops(size, rng, dtype):
    x = _rng(rng).uniform(0.2, 0.8, size=6)
    return all_ops, (x,), None


