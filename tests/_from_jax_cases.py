"""JAX functions the methods have never seen, for tests/test_from_jax*.py: (name, f, args)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _rng(seed=0):
    return np.random.default_rng(seed)


X = jnp.asarray(_rng(0).uniform(0.2, 0.9, size=6))
M = jnp.asarray(_rng(1).normal(size=(3, 4)))
V = jnp.asarray(_rng(2).normal(size=4))


@jax.jit
def _jitted_helper(a, b):
    return jnp.sin(a) * b + jnp.cos(a)


@jax.custom_vjp
def _clip_grad(x):
    return jnp.sin(x)


_clip_grad.defvjp(lambda x: (jnp.sin(x), jnp.cos(x)), lambda cos_x, g: (2.0 * cos_x * g,))


@jax.custom_jvp
def _twisted(x, y):
    return x * jnp.exp(y)


@_twisted.defjvp
def _twisted_jvp(primals, tangents):
    (x, y), (dx, dy) = primals, tangents
    out = x * jnp.exp(y)
    return out, 3.0 * dx * jnp.exp(y) + out * dy  # deliberately not the true derivative in x


def indexing(x):
    m = x.reshape(2, 3)
    picked = x[jnp.array([0, 2, 5])] * x[-1] + x[1:4].sum() + x[::-2].prod()
    cols = m[:, 1] * m[1, :].sum() + m[jnp.array([1, 0]), jnp.array([2, 1])].sum()
    placed = x.at[2].add(x[0] ** 2).at[jnp.array([1, 4])].add(3.0 * x[:2]).at[0].set(x[3] * 2.0)
    taken = jnp.take_along_axis(m, jnp.array([[2], [0]]), axis=1).sum() + jnp.take(x, jnp.array([3, 3])).sum()
    return picked.sum() + cols.sum() + (placed * x).sum() + taken + m[..., None][1, 2, 0]


def activations(x):
    y = x - 0.5
    acts = (jax.nn.relu(y) + jax.nn.softplus(y) + jax.nn.sigmoid(y) + jax.nn.gelu(y) + jax.nn.silu(y)
            + jax.nn.elu(y) + jax.nn.leaky_relu(y, 0.1) + jax.nn.tanh(y) + jax.nn.log_sigmoid(y))
    return jnp.sum(acts * jax.nn.softmax(x) + jax.nn.log_softmax(2.0 * x)) + jax.nn.logsumexp(x * 3.0)


def jitted_helpers(x):
    return jnp.sum(_jitted_helper(x, x[::-1])) + jax.jit(lambda a: jnp.sum(a ** 3))(x)


def control_flow(x):
    a = jax.lax.cond(x[0] > 0.5, lambda v: jnp.sin(v) * 2.0, lambda v: v ** 2, x)
    b = jax.lax.fori_loop(0, 4, lambda i, v: v * jnp.cos(v) + i * 0.1, x)
    n = jnp.int32(3)
    c = jax.lax.fori_loop(0, n, lambda i, v: v * 0.9 + jnp.sin(v), x)  # traced bound: a while_loop
    carry, ys = jax.lax.scan(lambda h, xi: (jnp.tanh(0.5 * h + xi), h * xi), 0.1, x)
    d = jax.lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 1.5 + jnp.sin(s[1])), (0, x))[1]
    sw = jax.lax.switch(1, [jnp.sin, jnp.cos, jnp.tanh], x)
    return jnp.sum(a + b + c + d + sw) + carry + jnp.sum(ys)


def pytree_params(params, x):
    h = jnp.tanh(x @ params["layers"][0]["W"] + params["layers"][0]["b"])
    h = jax.nn.relu(h @ params["layers"][1]["W"] + params["layers"][1]["b"])
    return jnp.mean((h * params["scale"]) ** 2)


PARAMS = {
    "layers": [{"W": jnp.asarray(_rng(3).normal(size=(4, 5))), "b": jnp.asarray(_rng(4).normal(size=5))},
               {"W": jnp.asarray(_rng(5).normal(size=(5, 3))), "b": jnp.asarray(_rng(6).normal(size=3)) + 1.0}],
    "scale": jnp.asarray(1.5),
}


def linear_algebra(m, v):
    batch = jnp.stack([m, 2.0 * m])
    e = jnp.einsum("bij,j->bi", batch, v) + jnp.einsum("ij,kj->ik", m, m).sum()
    t = jnp.tensordot(m, m.T, axes=1) + jnp.outer(v[:3], v[1:]) @ m[:, :3]
    return jnp.sum(e ** 2) + jnp.sum(t) + jnp.dot(v, v) + jnp.linalg.norm(m) + jnp.vdot(m, m) + jnp.trace(m @ m.T)


def reductions(x):
    m = x.reshape(2, 3)
    return (jnp.mean(m, axis=0).sum() + jnp.var(x) + jnp.std(m) + jnp.max(m, axis=1).sum() + jnp.min(x)
            + jnp.prod(x) + jnp.cumsum(m, axis=1).sum() + (jnp.cumsum(x[::-1]) * x).sum()
            + jnp.argmax(x) * x[0])


def shapes(x):
    m = x.reshape(3, 2)
    parts = jnp.split(x, 3)
    stacked = jnp.concatenate([m, m[::-1]], axis=1) * jnp.stack(parts, axis=1).T.sum()
    padded = jnp.pad(m, ((1, 0), (0, 2))) * 1.5 + jnp.pad(m, 1, mode="edge").sum()
    tiles = jnp.tile(x[:2], 3) * jnp.repeat(x[:3], 2)
    return (stacked.sum() + padded.sum() + (tiles * x).sum() + jnp.expand_dims(x, 0).squeeze().sum()
            + jnp.broadcast_to(x[:, None], (6, 2)).T.sum() + jnp.roll(x, 2)[0] + jnp.flip(m).ravel()[1])


def elementwise(x):
    y = x - 0.55
    return jnp.sum(jnp.clip(y, -0.2, 0.2) + jnp.where(y > 0, jnp.exp(y), jnp.log1p(x)) + jnp.abs(y)
                   + jnp.maximum(y, 0.1)
                   + jnp.minimum(x, 0.5) + jnp.arctan2(y, x) + jnp.arctan2(-x, y) + jnp.arcsin(y) + jnp.arccos(y)
                   + jnp.arcsinh(y) + jnp.arccosh(x + 1.2) + jnp.arctanh(y) + x ** 2.5 + x ** x + jax.lax.rsqrt(x)
                   + jnp.exp2(x) + jnp.log2(x) + jnp.log10(x) + jnp.sign(y) * x + jnp.round(x * 10) * x
                   + jnp.sinh(x) + jnp.cosh(x) + jnp.tan(x) + jnp.expm1(x) + jnp.square(x) + jnp.reciprocal(x)
                   + jnp.cbrt(y) + jnp.hypot(x, y) + jnp.fmod(3.0 * x, 0.7) + jnp.logaddexp(x, 2.0 * y)
                   + x.astype(jnp.float64))


def stopped(x):
    """stop_gradient: finite differences see the whole function, so only the AD methods agree with JAX."""
    return jnp.sum(jax.lax.stop_gradient(x) * x + jax.lax.stop_gradient(jnp.sin(x)) ** 2)


def custom_rules(x):
    return jnp.sum(_clip_grad(x) * x) + jnp.sum(_twisted(x, x[::-1]))


def vector_valued(x):
    m = x.reshape(2, 3)
    return {"a": jnp.tanh(m @ m.T), "b": (jnp.sin(x) * x[0], jnp.cumsum(x ** 2))}


def rnn(params, xs):
    def step(h, x):
        h = jnp.tanh(params["Wh"] @ h + params["Wx"] @ x + params["b"])
        return h, jnp.dot(params["Wo"], h)

    h, ys = jax.lax.scan(step, jnp.zeros(3), xs)
    return jnp.sum(ys ** 2) + jnp.sum(h)


RNN_PARAMS = {
    "Wh": jnp.asarray(_rng(7).normal(size=(3, 3)) * 0.5), "Wx": jnp.asarray(_rng(8).normal(size=(3, 2))),
    "b": jnp.asarray(_rng(9).normal(size=3) * 0.1), "Wo": jnp.asarray(_rng(10).normal(size=3)),
}
RNN_XS = jnp.asarray(_rng(11).normal(size=(5, 2)))

def transforms_inside(x):
    """jax.checkpoint, jax.vmap and jax.lax.map inside the function, and a random key."""
    smooth = jax.checkpoint(lambda v: jnp.sin(v) * jnp.cos(v))
    rows = jax.vmap(lambda row: jnp.dot(row, x[:4]) ** 2)(M)
    noise = jax.random.normal(jax.random.PRNGKey(0), x.shape)
    return jnp.sum(smooth(x) ** 2) + jnp.sum(rows) + jnp.sum(jax.lax.map(lambda v: v * jnp.tanh(v), x + 0.1 * noise))


CASES = {
    "indexing": (indexing, (X,)),
    "activations": (activations, (X,)),
    "jitted_helpers": (jitted_helpers, (X,)),
    "control_flow": (control_flow, (X,)),
    "pytree_params": (pytree_params, (PARAMS, M)),
    "linear_algebra": (linear_algebra, (M, V)),
    "reductions": (reductions, (X,)),
    "shapes": (shapes, (X,)),
    "elementwise": (elementwise, (X,)),
    "custom_rules": (custom_rules, (X,)),
    "rnn": (rnn, (RNN_PARAMS, RNN_XS)),
    "transforms_inside": (transforms_inside, (X,)),
}
