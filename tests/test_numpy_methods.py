"""The value methods (diffcompare.numpy._methods): the function language gives every engine value its
operators, NumPy-style methods, ``.at[]`` and refusals; the core's ``EngineValue`` has none of its own."""

from __future__ import annotations

import ast
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.forward as fwd
import diffcompare.numpy as dnp
import diffcompare.reverse as rev
from diffcompare import _core, _foreign
from diffcompare.errors import DroppedDerivativeError, ForeignFunctionError
from diffcompare.numpy import _methods


def test_the_core_value_class_is_written_without_arithmetic():
    tree = ast.parse(inspect.getsource(_core))
    value = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "EngineValue")
    written = {n.name for n in value.body if isinstance(n, ast.FunctionDef)}
    assert not written & {"__add__", "__mul__", "__getitem__", "__lt__", "__array__", "__float__", "sum", "at"}


def test_the_operators_are_the_dnp_functions_themselves():
    for op, fn in [("__add__", dnp.add), ("__mul__", dnp.multiply), ("__matmul__", dnp.matmul),
                   ("__neg__", dnp.negative), ("__getitem__", dnp.getitem), ("__lt__", dnp.less)]:
        assert vars(_core.EngineValue)[op] is fn
    assert all(vars(_core.EngineValue)[name] is member for name, member in vars(_methods.ValueMethods).items()
               if not name.startswith("__") or name in ("__add__", "__radd__", "__array__", "__jax_array__"))


def test_operators_methods_and_index_updates_on_a_tape_node():
    x = jnp.array([1.0, 2.0, 3.0])

    def f(v):
        return (2.0 - v).T @ v.reshape(3, 1).sum(axis=1) + v.at[0].set(5.0).max() + abs(-v)[1] + np.float64(2.0) * v[2]

    np.testing.assert_allclose(rev.grad(f)(x), jax.grad(f)(x), rtol=1e-13)
    np.testing.assert_allclose(fwd.grad(f)(x), jax.grad(f)(x), rtol=1e-13)


def test_the_refusals_name_what_to_write_instead():
    def f(node):  # while the tape records (a value kept for later has leaked: test_edges_api)
        with pytest.raises(DroppedDerivativeError, match=r"float\(\)"):
            float(node[0])
        with pytest.raises(ForeignFunctionError, match=r"dnp\.sin"):
            np.sin(node)
        return dnp.sum(node)

    rev.grad(f, staged=False)(jnp.ones(2))
    assert _foreign._dnp_has("logsumexp") and not _foreign._dnp_has("no_such_function")
