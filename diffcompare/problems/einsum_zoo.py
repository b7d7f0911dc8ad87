"""Problems written the way course code and papers write contractions: with ``einsum`` and
``tensordot``, plus one that touches every elementwise function added with them.

* ``einsum_mlp``: a batched tanh network whose layers are einsums (``"bd,hd->bh"``);
* ``attention``: one self-attention head (queries, keys, values, a softmax over the
  scores and an output projection by ``tensordot``);
* ``special_functions``: each of the newer elementwise functions of ``dnp`` once.

They register themselves in the zoo's ``PROBLEMS`` when this module is imported.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from .. import numpy as dnp
from ._zoo import _glorot, _register, _rng
from .base import Problem


def _normal(rng, shape, dtype):
    return jnp.asarray(rng.normal(size=shape), dtype)


def _bound(fun, derivative, params, data):
    """(fun, args, derivative) of a network over ``params`` with its ``data`` closed over."""
    return functools.partial(fun, **data), (params,), functools.partial(derivative, **data)


# ---------------------------------------------------------------- an MLP written with einsum


def einsum_mlp(params, inputs, targets):
    """½ mean over the batch of ‖W₂ tanh(W₁ x + b₁) − y‖², every layer an einsum."""
    hidden = dnp.tanh(dnp.einsum("bd,hd->bh", inputs, params["W1"]) + params["b1"])
    residual = dnp.einsum("bh,ch->bc", hidden, params["W2"]) - targets
    return 0.5 * dnp.mean(dnp.einsum("bc,bc->b", residual, residual))


def _einsum_mlp_derivative(params, inputs, targets):
    # the delta equations, batched: δ₂ = (ŷ − y) / B, δ₁ = (1 − z²) ⊙ δ₂ W₂
    z = jnp.tanh(inputs @ params["W1"].T + params["b1"])
    delta2 = (z @ params["W2"].T - targets) / inputs.shape[0]
    delta1 = (1 - z**2) * (delta2 @ params["W2"])
    return {"W1": delta1.T @ inputs, "b1": delta1.sum(0), "W2": delta2.T @ z}


def _build_einsum_mlp(size, rng, dtype):
    rng = _rng(rng)
    d_in, width, d_out, batch = 6, size, 3, 5
    params = {"W1": _glorot(rng, width, d_in), "b1": 0.1 * rng.normal(size=width), "W2": _glorot(rng, d_out, width)}
    data = {"inputs": _normal(rng, (batch, d_in), dtype), "targets": _normal(rng, (batch, d_out), dtype)}
    return _bound(einsum_mlp, _einsum_mlp_derivative, params, data)


_register(Problem(
    "einsum_mlp", "½ mean ‖einsum(tanh(einsum(X, W₁) + b₁), W₂) − Y‖² over {W1, b1, W2}", _build_einsum_mlp,
    default_size=8, sizes=(4, 16, 64, 256), source="einsum-style network code", tags=("network", "pytree", "einsum"),
))

# ---------------------------------------------------------------- one self-attention head


def attention(params, tokens, targets):
    """½‖softmax(Q Kᵀ / √k) V W_o − T‖² with Q, K, V = X W_q, X W_k, X W_v (one head)."""
    q = dnp.einsum("nd,dk->nk", tokens, params["Wq"])
    k = dnp.einsum("nd,dk->nk", tokens, params["Wk"])
    v = dnp.einsum("nd,dk->nk", tokens, params["Wv"])
    weights = dnp.softmax(dnp.einsum("nk,mk->nm", q, k) / math.sqrt(dnp.shape(q)[-1]), axis=-1)
    out = dnp.tensordot(dnp.einsum("nm,mk->nk", weights, v), params["Wo"], axes=1)
    return 0.5 * dnp.sum((out - targets) ** 2)


def _attention_derivative(params, tokens, targets):
    # by hand: the softmax VJP row by row, p ⊙ (g − Σ p g)
    q, k, v = tokens @ params["Wq"], tokens @ params["Wk"], tokens @ params["Wv"]
    scale = 1.0 / math.sqrt(q.shape[-1])
    p = jax.nn.softmax(q @ k.T * scale, axis=-1)
    heads = p @ v
    g_out = heads @ params["Wo"] - targets
    g_heads = g_out @ params["Wo"].T
    g_p = g_heads @ v.T
    g_scores = p * (g_p - jnp.sum(g_p * p, axis=-1, keepdims=True)) * scale
    g_q, g_k, g_v = g_scores @ k, g_scores.T @ q, p.T @ g_heads
    return {"Wq": tokens.T @ g_q, "Wk": tokens.T @ g_k, "Wv": tokens.T @ g_v, "Wo": heads.T @ g_out}


def _build_attention(size, rng, dtype):
    rng = _rng(rng)
    n, d, width = size, 6, 4
    params = {name: _glorot(rng, width, d).T for name in ("Wq", "Wk", "Wv")}
    params["Wo"] = _glorot(rng, d, width).T
    data = {"tokens": _normal(rng, (n, d), dtype), "targets": _normal(rng, (n, d), dtype)}
    return _bound(attention, _attention_derivative, params, data)


_register(Problem(
    "attention", "½‖softmax(X W_q (X W_k)ᵀ / √k) X W_v W_o − T‖² over {Wq, Wk, Wv, Wo}", _build_attention,
    default_size=4, sizes=(2, 4, 8, 16), source="einsum-style attention layer", tags=("network", "pytree", "einsum"),
))

# ---------------------------------------------------------------- the newer elementwise functions, once each


def _special_terms(x):
    """Each term on its own entry of x in (-0.5, 0.5)."""
    return [
        dnp.arcsin(x[0]), dnp.arccos(x[1]), dnp.arcsinh(x[2]), dnp.arccosh(2 + x[3]), dnp.arctanh(x[4]),
        dnp.cbrt(1 + x[5]), dnp.exp2(x[6]), dnp.erf(x[7]), dnp.erfc(x[8]), dnp.erfinv(x[9]), dnp.rsqrt(1 + x[10]),
        dnp.sinc(x[11]), dnp.arctan2(x[12], 1.5), dnp.logaddexp(x[13], 0.3), dnp.logaddexp2(x[14], 0.3),
        dnp.real(x[15]) + dnp.conj(x[15]), dnp.imag(x[16]) + _shifted_logaddexp(x[16], 0.3),
    ]


def _shifted_logaddexp(a, b):
    # stop_gradient's classic use: a shift whose derivative cancels exactly, so every method agrees
    shift = dnp.stop_gradient(a)
    return shift + dnp.log(dnp.exp(a - shift) + dnp.exp(b - shift))


def special_functions(x):
    """Σ of arcsin, arccos, ..., erfinv, sinc, logaddexp, each on its own entry, plus a running sum."""
    return sum(_special_terms(x)) + dnp.sum(dnp.cumsum(dnp.astype(x, dnp.dtype_of(x))) * 0.01)


def _special_functions_derivative(x):
    # the textbook derivative of each term, by hand
    sqrt_pi = math.sqrt(math.pi)
    terms = [
        1 / jnp.sqrt(1 - x[0] ** 2), -1 / jnp.sqrt(1 - x[1] ** 2), 1 / jnp.sqrt(x[2] ** 2 + 1),
        1 / jnp.sqrt((2 + x[3]) ** 2 - 1), 1 / (1 - x[4] ** 2), (1 + x[5]) ** (-2 / 3) / 3,
        math.log(2) * 2 ** x[6], 2 / sqrt_pi * jnp.exp(-x[7] ** 2), -2 / sqrt_pi * jnp.exp(-x[8] ** 2),
        sqrt_pi / 2 * jnp.exp(jax.scipy.special.erfinv(x[9]) ** 2), -0.5 * (1 + x[10]) ** -1.5,
        (jnp.cos(math.pi * x[11]) - jnp.sinc(x[11])) / x[11], 1.5 / (1.5**2 + x[12] ** 2),
        jax.nn.sigmoid(x[13] - 0.3), 1 / (1 + 2 ** (0.3 - x[14])), 2.0, jax.nn.sigmoid(x[16] - 0.3),
    ]
    n = x.shape[0]
    return jnp.stack([jnp.asarray(t, x.dtype) for t in terms]) + 0.01 * jnp.arange(n, 0, -1, dtype=x.dtype)


def _build_special_functions(size, rng, dtype):
    rng = _rng(rng)
    x = rng.uniform(-0.5, 0.5, size=17)
    x[11] = x[11] if abs(x[11]) > 0.05 else 0.3  # sinc's closed form divides by x
    return special_functions, (x,), _special_functions_derivative


_register(Problem(
    "special_functions", "arcsin(x₀) + arccos(x₁) + … + logaddexp2(x₁₄, 0.3) + 0.01 Σ cumsum(x)",
    _build_special_functions, source="diffcompare.numpy's elementwise functions", tags=("vector",),
))
