"""One table of bad inputs and edge cases, run through every method in METHODS.

Each probe's outcome must be either the right number (checked against JAX) or a
``DiffCompareError`` whose message names the argument or operation at fault:
never a silent wrong number, never a traceback from inside JAX. A new method
joins METHODS and inherits the table.

A probe gives ``reference`` (the right answer, computed with JAX; None where
the only right outcome is an error) and ``names`` (a regex the error message
must match; None where only the right number will do).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import METHODS, jax_ref
from diffcompare.errors import DiffCompareError

from .helpers import rel_error

X = jnp.array([0.3, -1.2, 2.0])


@dataclasses.dataclass(frozen=True)
class Probe:
    name: str
    run: Callable  # run(method module) -> the result
    reference: Callable | None  # () -> the right result, or None: only an error is right
    names: str | None  # regex the error message must match, or None: only the right number is right
    xfail: dict = dataclasses.field(default_factory=dict)  # method -> reason (another helper's fix pending)


def _kw(x, scale=1.0):
    return dnp.sum(dnp.sin(x) * scale)


def _cube(x):
    return x**3


PROBES = [
    Probe("duplicate argnums", lambda m: m.grad(lambda a, b: dnp.sum(a * b), argnums=(0, 0))(X, X), None,
          r"argnums=\(0, 0\)"),
    Probe("argnums out of range", lambda m: m.grad(_kw, argnums=3)(X), None, r"argnums"),
    Probe("empty argnums", lambda m: m.grad(_kw, argnums=())(X), None, r"argnums"),
    Probe("keyword argument to f (grad)", lambda m: m.grad(_kw)(X, scale=3.0),
          lambda: jax.grad(_kw)(X, scale=3.0), None),
    Probe("keyword argument to f (value_and_grad)", lambda m: m.value_and_grad(_kw)(X, scale=3.0),
          lambda: jax.value_and_grad(_kw)(X, scale=3.0), None),
    Probe("keyword argument to f (jacobian)", lambda m: m.jacobian(_kw)(X, scale=3.0),
          lambda: jax.jacobian(_kw)(X, scale=3.0), None),
    Probe("float() on the input", lambda m: m.grad(lambda x: float(x) * x)(2.0), lambda: 4.0, r"float\(\)"),
    Probe("int() on the input (piecewise constant: allowed, as in JAX)", lambda m: m.grad(lambda x: int(x) * x)(2.5),
          lambda: 2.0, r"int\(\)"),
    Probe("complex() on the input", lambda m: m.grad(lambda x: dnp.abs(complex(x)) * x)(2.0), lambda: 4.0,
          r"complex\(\)"),
    Probe(".item() on the input", lambda m: m.grad(lambda x: x.item() * x)(jnp.asarray(2.0)), lambda: 4.0,
          r"\.item\(\)", {"jax": "JAX itself lets .item() drop the derivative under jax.grad (gives 2.0)"}),
    Probe("math.sin on the input", lambda m: m.grad(lambda x: math.sin(x))(2.0), lambda: math.cos(2.0), r"math\.sin"),
    Probe("numpy.sin on the input", lambda m: m.grad(lambda x: dnp.sum(np.sin(x)))(X),
          lambda: jnp.cos(X), r"numpy\.sin.*dnp\.sin"),
    Probe("numpy.sum on the input", lambda m: m.grad(lambda x: np.sum(x * x))(X), lambda: 2 * X,
          r"numpy\.sum.*dnp\.sum"),
    Probe("jax.numpy.sin on the input", lambda m: m.grad(lambda x: dnp.sum(jnp.sin(x)))(X),
          lambda: jnp.cos(X), r"jax\.numpy\.sin|not a valid JAX"),
    Probe("a NumPy function dnp lacks", lambda m: m.grad(lambda x: dnp.sum(np.sinc(x)))(X),
          lambda: jax.grad(lambda x: jnp.sum(jnp.sinc(x)))(X), r"numpy\.sinc"),
    Probe("jnp_array.at[i].add(value)", lambda m: m.grad(lambda x: jnp.zeros(3).at[0].add(x[1]).sum())(X),
          lambda: jnp.array([0.0, 1.0, 0.0]), r"index_add"),
    Probe("NumPy array on the left of an operator", lambda m: m.grad(lambda x: dnp.sum(np.ones(3) * x - np.ones(3)))(X),
          lambda: jnp.ones(3), None),
    Probe("value-dependent branch", lambda m: m.grad(lambda x: x**2 if x > 1.0 else x)(2.0), lambda: 4.0,
          r"concrete value"),
    Probe("grad of a vector output", lambda m: m.grad(_cube)(X), None, r"scalar"),
    Probe("integer input", lambda m: m.grad(lambda x: x * x)(3), None, r"dtype|float"),
    Probe("string input", lambda m: m.grad(lambda x: x * x)("3"), None, r"str"),
    Probe("hessian of a vector-valued f", lambda m: m.hessian(_cube)(X), lambda: jax.hessian(_cube)(X), None),
    Probe("zero-size input (jacobian)", lambda m: m.jacobian(lambda x: dnp.prod(x, axis=1))(jnp.ones((3, 0, 5))),
          lambda: jax.jacobian(lambda x: jnp.prod(x, axis=1))(jnp.ones((3, 0, 5))), r"empty|zero|size"),
    Probe("zero-size input (vjp)", lambda m: m.vjp(lambda x: x * 2.0, jnp.zeros(0))[1](jnp.zeros(0)),
          lambda: (jnp.zeros(0),), r"empty|zero|size"),
    Probe("tangents a list where primals are a tuple", lambda m: m.jvp(_cube, (X,), [X]), None, r"tangent"),
    Probe("tangent of the wrong shape", lambda m: m.jvp(_cube, (X,), (X[:2],)), None, r"tangent"),
    Probe("cotangent wrapped in a tuple", lambda m: m.vjp(_cube, X)[1]((X,)), None, r"extra tuple"),
    Probe("cotangent of the wrong shape", lambda m: m.vjp(_cube, X)[1](X[:2]), None, r"cotangent"),
    Probe("the JAX reference inside a method", lambda m: m.grad(lambda x: dnp.sum(jax_ref.grad(_kw)(x)))(X),
          lambda: -jnp.sin(X), r"nest"),
    Probe("pytree input", lambda m: m.grad(lambda p: dnp.sum(p["w"] ** 2) + p["b"])({"w": X, "b": 1.0}),
          lambda: {"w": 2 * X, "b": jnp.asarray(1.0)}, None),
]


def _outcome(probe: Probe, method: str):
    try:
        value = probe.run(METHODS[method])
    except DiffCompareError as err:
        assert probe.names is not None, f"{probe.name}: {method} raised {err!r} where JAX gives a number"
        assert re.search(probe.names, str(err)), (
            f"{probe.name}: {method}'s message does not name the operation ({probe.names!r}): {err}"
        )
        return
    assert probe.reference is not None, f"{probe.name}: {method} returned {value!r} where only an error is right"
    reference = probe.reference()
    if isinstance(reference, float):
        reference = jnp.asarray(reference)
    assert rel_error(value, reference) <= 1e-5, f"{probe.name}: {method} gave {value}, JAX {reference}"


@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
def test_probe(probe, method, request):
    if method in probe.xfail:
        request.applymarker(pytest.mark.xfail(strict=False, reason=probe.xfail[method]))
    _outcome(probe, method)
