"""State read by f, of every shape, is read as it is now by every method, with ``dnp`` and through ``from_jax``
(issue 26): an attribute, a ``slots=True`` dataclass, a nested module, a container, a JAX array in a dict, a frozen
dataclass swapped in a list, a class attribute, a property and a ``nonlocal``. f = c·x², changed c = 2 → 5."""

from __future__ import annotations

import dataclasses
import types

import jax.numpy as jnp
import numpy as np
import pytest

from diffcompare import METHODS, from_jax


class _Obj:
    a = 2.0


@dataclasses.dataclass(slots=True)
class _Slots:
    a: float


@dataclasses.dataclass(frozen=True)
class _Frozen:
    a: float


class _Class:
    k = 2.0


class _Property:
    @property
    def v(self):
        return _Class.k


def _state():
    """Fresh state (c = 2) and, per shape, (f, change c to 5)."""
    obj, slots, frozen, prop = _Obj(), _Slots(2.0), [_Frozen(2.0)], _Property()
    module = types.ModuleType("outer")
    module.inner = types.ModuleType("inner")
    module.inner.c = 2.0
    container = {"k": [(2.0,)]}
    arrays = {"w": jnp.array(2.0)}
    _Class.k = 2.0
    v = 2.0

    def closure(x):
        return v * x * x

    def set_v():
        nonlocal v
        v = 5.0

    return {
        "attribute": (lambda x: obj.a * x * x, lambda: setattr(obj, "a", 5.0)),
        "slots dataclass": (lambda x: slots.a * x * x, lambda: setattr(slots, "a", 5.0)),
        "nested module": (lambda x: module.inner.c * x * x, lambda: setattr(module.inner, "c", 5.0)),
        "container": (lambda x: container["k"][0][0] * x * x, lambda: container.__setitem__("k", [(5.0,)])),
        "jax array in a dict": (lambda x: arrays["w"] * x * x, lambda: arrays.__setitem__("w", jnp.array(5.0))),
        "frozen dataclass in a list": (lambda x: frozen[0].a * x * x, lambda: frozen.__setitem__(0, _Frozen(5.0))),
        "class attribute": (lambda x: _Class.k * x * x, lambda: setattr(_Class, "k", 5.0)),
        "property": (lambda x: prop.v * x * x, lambda: setattr(_Class, "k", 5.0)),
        "nonlocal": (closure, set_v),
    }


SHAPES = list(_state())
KINDS = {
    "grad": (lambda m, f, x: m.grad(f)(x), 30.0),
    "jvp": (lambda m, f, x: m.jvp(f, (x,), (1.0,))[1], 30.0),
    "vjp": (lambda m, f, x: m.vjp(f, x)[1](1.0)[0], 30.0),
    "hessian": (lambda m, f, x: m.hessian(f)(x), 10.0),
}


@pytest.mark.parametrize("wrap", ["dnp", "from_jax"])
@pytest.mark.parametrize("method", [m for m in METHODS if m != "jax"])
@pytest.mark.parametrize("shape", SHAPES)
def test_changed_state_of_any_shape_is_read_afresh(shape, method, wrap):
    for kind, (derivative, after) in KINDS.items():
        f, change = _state()[shape]
        f = from_jax(f) if wrap == "from_jax" else f
        before = after * 2.0 / 5.0
        for _ in range(2):  # twice: whatever a first call compiles or caches is in place
            np.testing.assert_allclose(float(derivative(METHODS[method], f, 3.0)), before, rtol=1e-4,
                                       err_msg=f"{kind} before the change")
        change()
        np.testing.assert_allclose(float(derivative(METHODS[method], f, 3.0)), after, rtol=1e-4,
                                   err_msg=f"{kind} after the change (a stale result?)")
