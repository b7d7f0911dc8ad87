"""The zoo's derivatives, pinned: what forward, reverse and symbolic (array level where it applies,
and scalar expansion) give on every problem of the zoo, to compare bit for bit after a refactor.

``python -m tests.zoo_pins`` (from the checkout, ``PYTHONPATH=.``) records them in
``tests/data/zoo_pins.npz``; ``tests/test_zoo_pins.py`` recomputes and compares. The pins were
recorded before the elementwise rules moved into ``primitives.py`` (issue 25), so the test says
that moving them changed no bit (except where the test says why).
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import diffcompare
from diffcompare import forward, reverse, symbolic
from diffcompare.errors import DiffCompareError
from diffcompare.problems import PROBLEMS

PATH = pathlib.Path(__file__).parent / "data" / "zoo_pins.npz"

#: method label -> (module, keyword options)
METHODS = {
    "forward": (forward, {}),
    "reverse": (reverse, {}),
    "symbolic": (symbolic, {}),
    "symbolic-scalar": (symbolic, {"expand": "scalar"}),
}


def _flat(tree) -> np.ndarray:
    leaves = jax.tree_util.tree_leaves(tree)
    return np.concatenate([np.ravel(np.asarray(leaf, np.float64)) for leaf in leaves]) if leaves else np.zeros(0)


def _tangents(args):
    """A fixed, irregular tangent for every floating-point leaf of ``args``."""
    def one(leaf):
        n = int(np.size(leaf))
        return jnp.asarray(np.reshape(np.sin(np.arange(1.0, n + 1.0) * 0.7), np.shape(leaf)), jnp.result_type(leaf))

    return jax.tree_util.tree_map(one, args)


def compute(name: str) -> dict[str, np.ndarray]:
    """``{"<problem>/<method>/<what>": flat float64 array}`` for problem ``name`` at seed 0 and its
    default size; ``what`` is ``grad`` (``jacobian`` for a vector output), ``jvp`` and ``hessian``,
    or ``refused`` (an empty array) where the method refuses the problem."""
    diffcompare.enable_x64()
    pins = {}
    inst = PROBLEMS[name].make(seed=0)
    argnums = inst.argnums if len(inst.argnums) > 1 else inst.argnums[0]
    for label, (module, options) in METHODS.items():
        key = f"{name}/{label}"
        try:
            if inst.scalar_output:
                pins[f"{key}/grad"] = _flat(module.grad(inst.fun, argnums, **options)(*inst.args))
            else:
                pins[f"{key}/jacobian"] = _flat(module.jacobian(inst.fun, argnums, **options)(*inst.args))
        except DiffCompareError:
            pins[f"{key}/refused"] = np.zeros(0)
            continue
        out, tangent = module.jvp(inst.fun, inst.args, _tangents(inst.args), **options)
        pins[f"{key}/jvp"] = np.concatenate([_flat(out), _flat(tangent)])
        if inst.scalar_output and inst.input_dim <= 64:
            pins[f"{key}/hessian"] = _flat(module.hessian(inst.fun, argnums, **options)(*inst.args))
    return pins


def main() -> None:
    PATH.parent.mkdir(exist_ok=True)
    pins = {key: value for name in PROBLEMS for key, value in compute(name).items()}
    np.savez_compressed(PATH, **pins)
    print(f"{len(pins)} pins written to {PATH}")


if __name__ == "__main__":
    main()
