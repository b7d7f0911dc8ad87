"""Compiling array expressions to one ``jax.numpy`` function, and the structure key the compiled
program is cached by (constant arrays counted by shape and position: they are the program's inputs,
so new data reuses the program).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ...errors import UnsupportedOperationError
from ..convert import JAX_OPS
from ..graph import topological
from .nodes import ANode, python_index


def constants(outputs) -> list[ANode]:
    """The constant arrays (not scalars) ``outputs`` use, in a fixed order: the program's extra inputs."""
    return [n for n in topological(outputs) if n.op == "const" and n.shape]


def compile_jax(outputs, inputs):
    """``fn(*input_arrays, *constant_arrays) -> list of arrays`` computing ``outputs`` with ``jax.numpy``."""
    consts = constants(outputs)
    order = topological(outputs)
    feeds = {n.serial: i for i, n in enumerate(list(inputs) + consts)}

    def run(*arrays):
        dtype = jnp.result_type(*arrays[:len(inputs)]) if inputs else jnp.result_type(float)
        vals = {}
        for n in order:
            if n.serial in feeds:
                vals[n.serial] = jnp.asarray(arrays[feeds[n.serial]], dtype)
                continue
            a = [vals[x.serial] for x in n.args]
            if n.op == "const":
                vals[n.serial] = jnp.asarray(n.value, dtype)
            elif n.op == "var":
                raise UnsupportedOperationError("free variable", "symbolic", f"variable '{n.value}' is not an input")
            elif n.op == "eye":
                vals[n.serial] = jnp.eye(n.shape[0], dtype=dtype)
            elif n.op == "sum":
                vals[n.serial] = jnp.sum(a[0], axis=n.params[0], keepdims=n.params[1])
            elif n.op == "broadcast_to":
                vals[n.serial] = jnp.broadcast_to(a[0], n.shape)
            elif n.op == "reshape":
                vals[n.serial] = jnp.reshape(a[0], n.shape)
            elif n.op == "transpose":
                vals[n.serial] = _transpose(a[0], n.params[0])
            elif n.op == "matmul":
                vals[n.serial] = jnp.matmul(*a)
            elif n.op == "outer":
                vals[n.serial] = jnp.outer(*a)
            elif n.op == "diag":
                vals[n.serial] = jnp.diag(a[0])
            elif n.op == "diagonal":
                vals[n.serial] = jnp.diagonal(a[0])
            elif n.op in ("max", "min"):
                vals[n.serial] = (jnp.max if n.op == "max" else jnp.min)(a[0], axis=n.params[0], keepdims=n.params[1])
            elif n.op == "getitem":
                vals[n.serial] = a[0][python_index(n.params[0])]
            elif n.op == "scatter":
                vals[n.serial] = jnp.zeros(n.shape, dtype).at[python_index(n.params[0])].add(a[0])
            elif n.op == "power" and n.args[1].op == "const" and n.args[1].shape == () \
                    and float(n.args[1].value) == int(n.args[1].value) and abs(float(n.args[1].value)) <= 8:
                vals[n.serial] = jax.lax.integer_pow(a[0], int(n.args[1].value))
            else:
                vals[n.serial] = JAX_OPS[n.op](*a)
        return [jnp.broadcast_to(vals[o.serial], o.shape).astype(dtype) for o in outputs]

    return run, consts


def _transpose(a, axes):
    """``jnp.transpose``; a large matrix is transposed in tiles (XLA on CPU transposes a fused
    1000 x 1000 matrix element by element across cache lines, several times slower)."""
    if a.ndim == 2 and axes == (1, 0):
        p, q = a.shape
        tile = next((t for t in (40, 32, 20, 16, 25, 10) if p % t == 0 and q % t == 0 and p * q >= 4096), None)
        if tile:
            return a.reshape(p // tile, tile, q // tile, tile).transpose(2, 3, 0, 1).reshape(q, p)
    return jnp.transpose(a, axes)


def structure(outputs, inputs) -> tuple[tuple, list]:
    """``(key, constant arrays)``: everything the expressions compute, as a hashable tuple whose
    equality means the same computation on the same inputs, with the constant arrays counted by
    shape and position only; and those constant arrays in that order (the values to pass in)."""
    position = {v.serial: ("in", i) for i, v in enumerate(inputs)}
    consts: list[ANode] = []
    # every input's shape, reached or not: the derivative by an input the outputs never reach is zeros of its shape
    key = [("inputs", tuple(v.shape for v in inputs))]
    for n in topological(list(outputs)):
        if n.serial in position:
            key.append(("var", n.shape, position[n.serial]))
            continue
        if n.op == "const" and n.shape:
            position[n.serial] = ("const", len(consts))
            consts.append(n)
            key.append(("const", n.shape))
            continue
        position[n.serial] = len(key)
        if n.op == "const":
            key.append(("c", float(n.value)))
        else:
            key.append((n.op, n.shape, n.params, n.value if n.op == "var" else None,
                        tuple(position[a.serial] for a in n.args)))
    key.append(tuple(position.get(o.serial) for o in outputs))
    return tuple(key), consts


def size(outputs) -> int:
    """Operations in the expression graph (leaves not counted)."""
    return sum(1 for n in topological(list(outputs)) if n.args)
