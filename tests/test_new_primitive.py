"""Adding an elementwise primitive by README's recipe, as a newcomer would: its entry (with its
derivative) in ``primitives.py``, its ``dnp`` binding, its SymPy and LaTeX names. The test applies
exactly these edits to a copy of the package and checks, in a fresh interpreter, that every method
(finite differences, forward, reverse, symbolic at array level and on scalar expansions) differentiates
the new primitive as JAX does, to second order, and that no engine table needed an edit."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import diffcompare

PACKAGE = pathlib.Path(diffcompare.__file__).parent

#: file (relative to the package) -> (anchor line, text inserted before it): README's recipe for softsign
RECIPE = {
    "primitives.py": ('    Primitive("stop_gradient", "unary", jax.lax.stop_gradient),\n',
                      '    Primitive("softsign", "unary", jax.nn.soft_sign,\n'
                      '              derivative=lambda np, t, x, ans: t / ((1.0 + np.abs(x)) * (1.0 + np.abs(x)))),\n'),
    "symbolic/convert.py": ('        "arcsin": sp.asin,', '        "softsign": lambda a: a / (1 + sp.Abs(a)),\n'),
    "symbolic/text.py": ('    "arcsin": r"\\arcsin",', '    "softsign": r"\\operatorname{softsign}",\n'),
}
#: the dnp binding goes after ``exp``'s, wherever the function language keeps it
BINDING = ('exp = _unary("exp", "e to the power x")\n', 'softsign = _unary("softsign", "x / (1 + |x|)")\n')

CHECK = r'''
import jax, jax.numpy as jnp, numpy as np
import diffcompare
diffcompare.enable_x64()
import diffcompare.numpy as dnp
from diffcompare import METHODS, primitives, symbolic
from diffcompare.symbolic import convert, parser

assert "softsign" in primitives.PRIMITIVES
missing = {engine: state for engine, state in primitives.coverage()["softsign"].items()
           if state == "missing"}
assert not missing, missing

def f(x):
    return dnp.sum(dnp.softsign(x * x - 0.3) * x) + dnp.softsign(x[0] / x[1])

def f_jax(x):
    return jnp.sum(jax.nn.soft_sign(x * x - 0.3) * x) + jax.nn.soft_sign(x[0] / x[1])

x = jnp.array([0.7, -1.3, 0.2, 2.1])
g_ref, h_ref = jax.grad(f_jax)(x), jax.hessian(f_jax)(x)
tol = {"finite_diff": 1e-6}
for name, m in METHODS.items():
    g, h = m.grad(f)(x), m.hessian(f)(x)
    assert np.allclose(g, g_ref, rtol=tol.get(name, 1e-12), atol=tol.get(name, 1e-12)), (name, g, g_ref)
    assert np.allclose(h, h_ref, rtol=tol.get(name, 1e-12) * 100, atol=tol.get(name, 1e-12) * 100), name
for expand in ("array", "scalar"):
    g = symbolic.grad(f, expand=expand)(x)
    h = symbolic.hessian(f, expand=expand)(x)
    assert np.allclose(g, g_ref, rtol=1e-12, atol=1e-12), (expand, g, g_ref)
    assert np.allclose(h, h_ref, rtol=1e-12, atol=1e-12), expand
    out, t = symbolic.jvp(f, (x,), (jnp.ones(4),), expand=expand)
    assert np.allclose(t, g_ref.sum(), rtol=1e-12), expand
node = parser.parse("softsign(x)")
assert str(node) == "softsign(x)" and "softsign" in convert.to_latex(node)
assert str(convert.to_sympy(node)) == "x/(Abs(x) + 1)", convert.to_sympy(node)
print("ok")
'''


def _insert(path: pathlib.Path, anchor: str, text: str) -> None:
    source = path.read_text()
    assert source.count(anchor) == 1, f"the recipe's anchor is not once in {path}: {anchor!r}"
    path.write_text(source.replace(anchor, text + anchor))


@pytest.mark.slow
def test_a_new_elementwise_primitive_needs_only_the_recipe(tmp_path):
    copy = tmp_path / "diffcompare"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for relative, (anchor, text) in RECIPE.items():
        _insert(copy / relative, anchor, text)
    numpy_files = [p for p in [copy / "numpy.py", *(copy / "numpy").glob("*.py")] if p.exists()]
    hosts = [p for p in numpy_files if BINDING[0] in p.read_text()]
    assert len(hosts) == 1, "exp's dnp binding should be in exactly one file of the function language"
    _insert(hosts[0], BINDING[0], "")
    hosts[0].write_text(hosts[0].read_text().replace(BINDING[0], BINDING[0] + BINDING[1]))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", CHECK], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stdout[-2000:] + run.stderr[-4000:]


def test_every_elementwise_primitive_has_one_home():
    """Each elementwise primitive declares its derivative in primitives.py, and every engine's rule for it
    is the one derived from that declaration (none is written by hand in a rule table)."""
    from diffcompare import forward, reverse
    from diffcompare.primitives import PRIMITIVES
    from diffcompare.symbolic import array
    from diffcompare.symbolic import rules as symbolic_rules

    elementwise = [name for name, p in PRIMITIVES.items() if p.kind in ("unary", "binary")]
    undeclared = [name for name in elementwise if PRIMITIVES[name].derivative is None]
    assert undeclared == ["stop_gradient"], f"declare the derivative of {undeclared} in primitives.py"
    for name in set(elementwise) - {"stop_gradient"}:
        assert forward.rules.RULES[name].__qualname__.startswith("_elementwise."), name
        assert all(fn.__qualname__.startswith("_elementwise.") for fn in reverse.rules.RULES[name]), name
        assert type(symbolic_rules.DERIVATIVES[name]).__name__ == "_Declared", name
        assert array.VJPS[name].__qualname__.startswith("_elementwise_vjp."), name
        assert name in array.ARRAY_RULES, name
