"""Train an MLP on the handwritten digits with the reverse engine's gradients.

Plain minibatch SGD on a softmax classifier ``64 -> hidden -> 10`` (ReLU),
the data shipped with the package (:func:`diffcompare.data.load_digits`, no
download). Every ``check_every`` steps the engine's gradient is compared with
``jax.grad`` of the same loss; the history records the loss, the accuracies
and the largest relative difference seen.

    python -m diffcompare.apps.train --steps 300
"""

from __future__ import annotations

import argparse
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from ..data import load_digits
from ..reverse import value_and_grad


def init_mlp(sizes=(64, 64, 10), seed: int = 0, dtype=jnp.float64) -> list[dict]:
    """He-initialised layers ``[{"W": (n_in, n_out), "b": (n_out,)}, ...]``."""
    rng = np.random.default_rng(seed)
    return [
        {"W": jnp.asarray(rng.normal(size=(a, b)) * np.sqrt(2.0 / a), dtype), "b": jnp.zeros((b,), dtype)}
        for a, b in zip(sizes[:-1], sizes[1:])
    ]


def logits(params, x):
    h = x
    for layer in params[:-1]:
        h = dnp.relu(h @ layer["W"] + layer["b"])
    return h @ params[-1]["W"] + params[-1]["b"]


def loss(params, x, labels):
    """Mean softmax cross-entropy; its gradient with respect to the logits is (p - y) / batch."""
    logp = dnp.log_softmax(logits(params, x), axis=-1)
    return -dnp.mean(logp[jnp.arange(labels.shape[0]), labels])  # indexing: a scatter-add on the way back


def accuracy(params, x, labels) -> float:
    return float(jnp.mean(jnp.argmax(logits(params, x), axis=-1) == labels))


def split_digits(test_fraction: float = 0.2, seed: int = 0, dtype=jnp.float64):
    """Train and test sets, pixels scaled to [0, 1]."""
    images, labels = load_digits()
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    test, train = order[:n_test], order[n_test:]
    x = jnp.asarray(images / 16.0, dtype)
    y = jnp.asarray(labels)
    return (x[train], y[train]), (x[test], y[test])


@dataclasses.dataclass
class History:
    step: list = dataclasses.field(default_factory=list)
    loss: list = dataclasses.field(default_factory=list)
    train_accuracy: list = dataclasses.field(default_factory=list)
    test_accuracy: list = dataclasses.field(default_factory=list)
    checked_steps: list = dataclasses.field(default_factory=list)
    max_rel_diff: float = 0.0


def _rel_diff(a, b) -> float:
    a, b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    num = max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(a, b))
    den = max(float(jnp.max(jnp.abs(y))) for y in b)
    return num / den if den else num


def train(steps: int = 300, batch: int = 64, lr: float = 0.1, hidden: int = 64, check_every: int = 25,
          log_every: int = 25, seed: int = 0, dtype=jnp.float64, verbose: bool = False):
    """SGD on the digits with :func:`diffcompare.reverse.value_and_grad`.

    Returns:
        ``(params, history)``. ``history.max_rel_diff`` is the largest relative
        difference between the engine's gradient and ``jax.grad``'s over the
        checked steps (``history.checked_steps``).
    """
    (x_train, y_train), (x_test, y_test) = split_digits(seed=seed, dtype=dtype)
    params = init_mlp((x_train.shape[1], hidden, 10), seed=seed, dtype=dtype)
    step_fn = value_and_grad(loss)
    rng = np.random.default_rng(seed + 1)
    hist = History()
    for step in range(steps + 1):
        idx = rng.choice(len(y_train), size=batch, replace=False)
        xb, yb = x_train[idx], y_train[idx]
        value, grads = step_fn(params, xb, yb)
        if check_every and step % check_every == 0:
            hist.checked_steps.append(step)
            hist.max_rel_diff = max(hist.max_rel_diff, _rel_diff(grads, jax.grad(loss)(params, xb, yb)))
        if step % log_every == 0 or step == steps:
            hist.step.append(step)
            hist.loss.append(float(loss(params, x_train, y_train)))
            hist.train_accuracy.append(accuracy(params, x_train, y_train))
            hist.test_accuracy.append(accuracy(params, x_test, y_test))
            if verbose:
                print(f"step {step:5d}  loss {hist.loss[-1]:.4f}  train acc {hist.train_accuracy[-1]:.3f}  "
                      f"test acc {hist.test_accuracy[-1]:.3f}", flush=True)
        if step < steps:
            params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, hist


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m diffcompare.apps.train", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--check-every", type=int, default=25)
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    _, hist = train(args.steps, args.batch, args.lr, args.hidden, args.check_every, verbose=True)
    print(f"gradients checked against jax.grad at {len(hist.checked_steps)} steps: "
          f"max relative difference {hist.max_rel_diff:.2e}")
    return hist


if __name__ == "__main__":
    main()
