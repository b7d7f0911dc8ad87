"""Reverse mode: kinks, checkpointing, tape memory, custom VJPs, the graph drawing, training, jit."""

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import reverse as rev
from diffcompare.apps import train
from diffcompare.reverse import graph, memory

from .helpers import assert_close

matplotlib.use("Agg")

# ---------------------------------------------------------------- JAX's conventions at kinks

KINKS = {
    "relu'(0) = 0": (lambda x: dnp.sum(dnp.relu(x)), jnp.array([0.0, -1.0, 2.0]), [0.0, 0.0, 1.0]),
    "maximum(x, 0)'(0) = 0.5": (lambda x: dnp.sum(dnp.maximum(x, 0.0)), jnp.array([0.0, 1.0]), [0.5, 1.0]),
    "minimum(x, 0)'(0) = 0.5": (lambda x: dnp.sum(dnp.minimum(x, 0.0)), jnp.array([0.0, 1.0]), [0.5, 0.0]),
    "max ties split": (lambda x: dnp.max(x), jnp.array([2.0, 1.0, 2.0, 2.0]), [1 / 3, 0.0, 1 / 3, 1 / 3]),
    "min ties split": (lambda x: dnp.min(x), jnp.array([1.0, 1.0, 3.0]), [0.5, 0.5, 0.0]),
    "where(x > 0, x, 0)'(0) = 0": (lambda x: dnp.sum(dnp.where(x > 0, x, 0.0)), jnp.array([0.0, 1.0]), [0.0, 1.0]),
    "abs'(0) = 1": (lambda x: dnp.sum(dnp.abs(x)), jnp.array([0.0, -2.0]), [1.0, -1.0]),
    "sqrt'(0) = inf": (lambda x: dnp.sum(dnp.sqrt(x)), jnp.array([0.0, 4.0]), [np.inf, 0.25]),
    "norm at 0 is nan": (lambda x: dnp.linalg.norm(x), jnp.zeros(3), [np.nan] * 3),
    "x**2 at 0 is 0": (lambda x: dnp.sum(x ** 2), jnp.array([0.0]), [0.0]),
    "prod with one zero": (lambda x: dnp.prod(x), jnp.array([2.0, 0.0, 3.0]), [0.0, 6.0, 0.0]),
    "prod with two zeros": (lambda x: dnp.prod(x), jnp.array([0.0, 0.0, 3.0]), [0.0, 0.0, 0.0]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(KINKS))
def test_kink_conventions_are_jax_s(name):
    f, x, expected = KINKS[name]
    got = rev.grad(f)(x)
    np.testing.assert_array_equal(got, jax.grad(f)(x))
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    np.testing.assert_array_equal(jax.jit(rev.grad(f))(x), jax.grad(f)(x))


@pytest.mark.slow
def test_prod_zeros_along_an_axis():
    x = jnp.array([[0.0, 2.0, 3.0], [1.0, 0.0, 0.0], [2.0, 3.0, 4.0]])
    f = lambda x: dnp.sum(dnp.prod(x, axis=1) * jnp.array([1.0, 2.0, 3.0]))  # noqa: E731
    assert_close(rev.grad(f)(x), jax.grad(f)(x), 1e-15)
    assert_close(rev.hessian(f)(x), jax.jit(jax.hessian(f))(x), 1e-14)
    big = jnp.linspace(0.5, 1.5, 300).at[7].set(0.0)  # above EXACT_PROD_MAX: the zero-count formula
    assert_close(rev.grad(dnp.prod)(big), jax.grad(jnp.prod)(big), 1e-13)


@pytest.mark.slow
def test_stable_logsumexp_softmax_cross_entropy():
    x = jnp.array([[1000.0, 0.0, -1000.0], [-5.0, 3.0, 800.0]])
    labels = jnp.array([2, 0])

    def xent(z):
        return -dnp.mean(dnp.log_softmax(z, axis=-1)[jnp.arange(2), labels])

    g = rev.grad(xent)(x)
    assert bool(jnp.all(jnp.isfinite(g)))
    assert_close(g, jax.grad(xent)(x), 1e-14)
    # the course's VJP of softmax cross-entropy: (p - y) / batch
    p = jax.nn.softmax(x, axis=-1)
    assert_close(g, (p - jax.nn.one_hot(labels, 3)) / 2, 1e-14)
    f = lambda z: dnp.sum(dnp.softmax(z, axis=0) * jnp.arange(6.0).reshape(2, 3))  # noqa: E731
    assert_close(rev.grad(f)(x), jax.grad(f)(x), 1e-14)


# ---------------------------------------------------------------- memory and checkpointing


def _mlp(depth=4, width=16, seed=0):
    rng = np.random.default_rng(seed)
    params = [{"W": jnp.asarray(rng.normal(size=(width, width)) / 4), "b": jnp.asarray(rng.normal(size=width))}
              for _ in range(depth)]
    return params, jnp.asarray(rng.normal(size=(8, width)))


def _layer(p, h):
    return dnp.tanh(h @ p["W"] + p["b"])


def _loss(params, x, segment=_layer):
    h = x
    for p in params:
        h = segment(p, h)
    return dnp.sum(h ** 2)


def test_tape_stats_counts_nodes_and_bytes():
    stats = memory.tape_stats(lambda x: dnp.sum(dnp.exp(x) * x), jnp.ones(1000))
    assert stats.nodes == 3 and stats.inputs == 1
    assert stats.bytes == (1000 + 1000 + 1) * 8
    assert stats.by_op == {"exp": 1, "multiply": 1, "sum": 1}


@pytest.mark.slow
def test_checkpointing_gives_identical_gradients_with_less_memory():
    params, x = _mlp()
    ckpt_loss = lambda p, x: _loss(p, x, segment=rev.checkpoint(_layer))  # noqa: E731
    plain = rev.grad(_loss, staged=False)(params, x)  # op by op, as a checkpointed gradient always runs
    ckpt = rev.grad(ckpt_loss)(params, x)
    for a, b in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(ckpt)):
        np.testing.assert_array_equal(a, b)
    assert_close(ckpt, jax.grad(_loss)(params, x), 1e-12)
    full = memory.tape_stats(lambda p: _loss(p, x), params)
    cut = memory.tape_stats(lambda p: ckpt_loss(p, x), params)
    assert cut.nodes < full.nodes and cut.bytes < full.bytes / 2
    assert cut.by_op["checkpoint(_layer)"] == 4
    # outside the tape checkpoint is the function itself; under jit and in hessians it still agrees
    assert_close(ckpt_loss(params, x), _loss(params, x), 0)
    assert_close(jax.jit(rev.grad(ckpt_loss))(params, x), jax.grad(_loss)(params, x), 1e-12)
    f = lambda v: dnp.sum(rev.checkpoint(lambda a, b: dnp.sin(a) * b)(v, v[::-1]))  # noqa: E731
    v = jnp.linspace(0.1, 1.0, 4)
    assert_close(rev.hessian(f)(v), jax.hessian(lambda v: jnp.sum(jnp.sin(v) * v[::-1]))(v), 1e-12)


# ---------------------------------------------------------------- user-defined VJPs


@rev.custom_vjp
def log1pexp(x):
    return dnp.log(1.0 + dnp.exp(x))


log1pexp.defvjp(lambda x: (log1pexp(x), x), lambda x, g: (g * dnp.sigmoid(x),))


@rev.custom_vjp
def doubled_grad(x, y):
    return x * y


doubled_grad.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (2 * g * res[1], None))


def test_custom_vjp_in_the_engine_and_in_jax():
    x = jnp.array([-2.0, 0.5, 50.0])
    f = lambda x: dnp.sum(log1pexp(x))  # noqa: E731
    expected = jax.nn.sigmoid(x)
    assert_close(rev.grad(f)(x), expected, 1e-15)
    assert_close(jax.grad(f)(x), expected, 1e-15)
    assert_close(jax.jit(rev.grad(f))(x), expected, 1e-15)
    assert_close(f(x), jnp.sum(jnp.log1p(jnp.exp(x))), 1e-15)  # a plain call is the function
    # the hand-written rule is used, not the primal's derivative: this one is deliberately twice as large
    g = lambda x, y: dnp.sum(doubled_grad(x, y))  # noqa: E731
    a, b = jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0])
    assert_close(rev.grad(g)(a, b), 2 * b, 0)
    assert_close(jax.grad(g)(a, b), 2 * b, 0)
    np.testing.assert_array_equal(rev.grad(g, 1)(a, b), jnp.zeros(2))
    # the rule is written with dnp, so it can itself be differentiated
    assert_close(rev.hessian(f)(x), jnp.diag(expected * (1 - expected)), 1e-14)


def test_custom_vjp_needs_defvjp():
    from diffcompare.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError):
        rev.custom_vjp(lambda x: x)(1.0)


# ---------------------------------------------------------------- the graph


def test_record_and_draw_the_graph():
    f = lambda x: dnp.sqrt(x ** 2 + dnp.exp(x ** 2)) + dnp.cos(x ** 2 + dnp.exp(x ** 2))  # noqa: E731
    g = graph.record(f, 1.5)
    inputs = [n for n in g.nodes if n.op == "input"]
    assert len(inputs) == 1
    assert_close(g.adjoints[inputs[0].index], jax.grad(f)(1.5), 1e-14)
    assert float(g.adjoints[g.outputs[0].index]) == 1.0
    assert "sqrt" in g.table() and "cos" in g.table()
    fig = graph.draw(g)
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == len(g.nodes)
    matplotlib.pyplot.close(fig)


# ---------------------------------------------------------------- training and jit


@pytest.mark.slow
def test_training_on_the_digits_lowers_the_loss_and_matches_jax():
    _, hist = train.train(steps=50, check_every=25, log_every=25)
    assert hist.loss[-1] < 0.6 * hist.loss[0]
    assert hist.test_accuracy[-1] > 0.7
    assert hist.checked_steps == [0, 25, 50]
    assert hist.max_rel_diff < 1e-12


def test_jit_compiles_the_whole_backward_pass():
    params, x = _mlp(depth=3, width=8)
    jaxpr = jax.make_jaxpr(rev.grad(_loss))(params, x)
    assert "dot_general" in str(jaxpr) and "Node" not in str(jaxpr)
    g = jax.jit(rev.grad(_loss))
    assert_close(g(params, x), jax.grad(_loss)(params, x), 1e-12)
    assert_close(g(params, 2 * x), jax.grad(_loss)(params, 2 * x), 1e-12)  # a new input, same compiled program
