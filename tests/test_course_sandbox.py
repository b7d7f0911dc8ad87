"""The grader's sandbox against the known attacks, one small kernel each (no whole assignment).

Each attack runs as a notebook cell in a sandboxed kernel, the way a submission's cells run; the test
checks that what it tried did not happen (escaping the sandbox's PID namespace, rewriting installed
modules, reading the grader's command line or other folders, stalling the pipe, flooding the log,
getting a forbidden derivative back).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from diffcompare.course import _sandbox
from diffcompare.course._student import OUTPUT_CAP, KernelGone, StudentFunction, StudentProcess
from diffcompare.course.testing import ShortcutUsed

pytestmark = pytest.mark.skipif(not _sandbox.available(), reason="bubblewrap (bwrap) is not installed: "
                                "`apt-get install bubblewrap` to test the grader's sandbox")

ROOT = Path(__file__).resolve().parents[1]
FORBID = {"forbid": ["jax.grad", "jax.vjp", "jax.jvp", "jax.linear_transpose", "diffcompare.reverse.vjp",
                     "jax._src.interpreters.ad.backward_pass"], "allow": []}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """One guarded kernel shared by the guard's tests (a kernel costs seconds to start)."""
    log = (tmp_path_factory.mktemp("guarded") / "log").open("w")
    proc = StudentProcess(log, time.monotonic() + 240, config=FORBID)
    yield proc
    proc.stop()
    log.close()


def _cell(proc, source):
    reply = proc.request({"op": "cell", "source": source})
    return reply.get("error"), reply.get("shortcut")


def test_inside_the_sandbox_nothing_of_the_grader_is_in_sight(guarded, tmp_path):
    secret = tmp_path / "submissions" / "bob.ipynb"
    secret.parent.mkdir()
    secret.write_text("bob's answers")
    probe = (f"import os\nseen = {{'uid': os.getuid(), 'ppid_cmdline': open(f'/proc/{{os.getppid()}}/cmdline').read(),"
             f" 'pids': sorted(p for p in os.listdir('/proc') if p.isdigit()), 'home': os.listdir('.'),"
             f" 'bob': os.path.exists({str(secret)!r}), 'tests': os.path.exists({str(ROOT / 'tests')!r})}}")
    assert _cell(guarded, probe) == (None, None)
    assert _cell(guarded, "def look():\n    return repr(seen)") == (None, None)
    text = StudentFunction(lambda *a: guarded, "look")()
    assert "'uid': 65534" in text and "'bob': False" in text and "'tests': False" in text
    assert "pytest" not in text and "diffcompare.course" not in text.split("ppid_cmdline")[0]
    assert len(eval(text)["pids"]) <= 4  # noqa: S307 - its own namespace: bwrap's init, the kernel


def test_installed_modules_and_the_project_are_read_only(guarded):
    import diffcompare.course.testing as testing

    error, _ = _cell(guarded, f"open({testing.__file__!r}, 'a').write('\\nexpect_close = lambda *a, **k: None\\n')")
    assert "Read-only file system" in error or "Permission" in error
    import otter

    error, _ = _cell(guarded, f"open({otter.__file__!r}, 'a').write('x')")
    assert error is not None


@pytest.mark.parametrize(("source", "name"), [
    ("g = jax.jit(jax.grad(lambda x: x**2))", "jax.grad"),  # compiled while the cells run
    ("from jax import vjp as pullback\npullback(jnp.sin, 1.0)", "jax.vjp"),  # an alias
    ("exec(__import__('base64').b64decode('aW1wb3J0IGpheApqYXguanZwKGpheC5udW1weS5zaW4sICgxLjAsKSwgKDEuMCwpKQ=='))",
     "jax.jvp"),  # an encoded string
    ("jax.linear_transpose(lambda x: 2 * x, 1.0)", "jax.linear_transpose"),
    ("import jax.experimental.jet", "jax.experimental.jet"),
    ("import sympy", "sympy"),
    ("from diffcompare import reverse\nreverse.vjp(jnp.sin, 1.0)", "diffcompare.reverse.vjp"),
    ("from diffcompare.reverse.tape import ReverseTrace\nReverseTrace()", "diffcompare's reverse-mode engine"),
    ("from jax._src.interpreters import ad\nad.primitive_jvps[jax.lax.sin_p]", "JAX's derivative rules"),
    ("from jax.interpreters import ad\nad.primitive_jvps[jax.lax.sin_p]", None),  # emptied: a KeyError
    ("from jax._src.interpreters import ad\nad.backward_pass(None, False, (), (), ())",
     "jax._src.interpreters.ad.backward_pass"),
])
def test_every_way_to_a_forbidden_derivative_raises_and_is_named(guarded, source, name):
    error, shortcut = _cell(guarded, "import jax, jax.numpy as jnp\n" + source)
    assert error is not None and shortcut == name, error


@pytest.mark.parametrize("source", [
    "import subprocess\nsubprocess.run(['python3', '-c', 'import jax; print(jax.grad(lambda x: x*x)(3.0))'])",
    "import os\nos.system('true')",
    "import importlib, jax._src.interpreters.ad as ad\nimportlib.reload(ad)",
    "import jax._src.interpreters.ad as ad\nopen(ad.__file__).read()",
    "import jax\njax.grad.__code__ = (lambda f: f).__code__",
    "import gc\ngc.get_objects()",
    "import ctypes\nctypes.CDLL(None)",
])
def test_ways_to_get_the_machinery_back_are_refused(guarded, source):
    error, _ = _cell(guarded, source)
    assert error is not None and ("not allowed" in error or "not readable" in error), error
    error, shortcut = _cell(guarded, "import jax\njax.grad(lambda x: x**2)(1.0)")
    assert shortcut == "jax.grad"


def test_honest_linear_algebra_is_not_flagged(guarded):
    source = ("import jax, jax.numpy as jnp\n"
              "def honest(a):\n    return jnp.linalg.inv(a) @ jnp.linalg.solve(a, jnp.ones(2))\n")
    assert _cell(guarded, source) == (None, None)
    out = StudentFunction(lambda *a: guarded, "honest")(np.array([[2.0, 0.0], [0.0, 4.0]]))
    assert out.tolist() == [0.25, 0.0625]


def test_a_shortcut_in_a_function_is_named_even_when_swallowed(guarded):
    source = ("import jax\ndef sneaky(x):\n    try:\n        return jax.grad(lambda x: x**3)(x)\n"
              "    except BaseException:\n        return 3 * x * x\n")
    assert _cell(guarded, source) == (None, None)
    with pytest.raises(ShortcutUsed, match="jax.grad"):
        StudentFunction(lambda *a: guarded, "sneaky")(2.0)


@pytest.mark.slow
def test_a_double_forked_setsid_process_dies_with_the_sandbox(tmp_path):
    with (tmp_path / "log").open("w") as log:
        proc = StudentProcess(log, time.monotonic() + 60)
        try:
            escape = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                      "        time.sleep(3)\n        print('still alive', flush=True)\n        os._exit(0)\n"
                      "    os._exit(0)\n")
            assert _cell(proc, escape) == (None, None)
        finally:
            proc.stop()
    time.sleep(4)
    assert "still alive" not in (tmp_path / "log").read_text()


@pytest.mark.slow
def test_a_kernel_that_stops_reading_cannot_stall_a_large_write(tmp_path):
    with (tmp_path / "log").open("w") as log:
        proc = StudentProcess(log, time.monotonic() + 60, config={})
        try:
            assert _cell(proc, "import os, time\ndef stall():\n    time.sleep(3600)") == (None, None)
            proc.request({"op": "cell", "source": "0"})
            proc.deadline = time.monotonic() + 3
            start = time.monotonic()
            proc._write(b'{"op": "cell", "source": "stall()"}\n')
            with pytest.raises(KernelGone, match="time limit"):
                proc.request({"op": "cell", "source": "x = '" + "y" * 2**20 + "'"})  # 1 MiB: more than a pipe holds
            assert time.monotonic() - start < 10
        finally:
            proc.stop()


@pytest.mark.slow
def test_output_is_capped(tmp_path):
    with (tmp_path / "log").open("w") as log:
        proc = StudentProcess(log, time.monotonic() + 120, config={})
        try:
            reply = proc.request({"op": "cell", "source": "import sys\nfor _ in range(200):\n"
                                                          "    sys.stdout.write('x' * 2**20)\n"})
            assert reply.get("ok")
        finally:
            proc.stop()
    size = (tmp_path / "log").stat().st_size
    assert size < OUTPUT_CAP + 4096 and "output cut" in (tmp_path / "log").read_text()[-300:]


@pytest.mark.slow
def test_forward_passes_are_counted_by_the_grader_not_told_by_the_student(tmp_path):
    from diffcompare.course.shortcuts import ALL_DERIVATIVES
    from diffcompare.course.testing import ship

    honest = ("from diffcompare import forward as fwd\nimport jax.numpy as jnp\n"
              "def honest(f, x):\n    cols = [fwd.jvp(f, (x,), (jnp.zeros_like(x).at[j].set(1.0),))[1]"
              " for j in range(x.shape[0])]\n    return jnp.stack(cols, axis=1)\n"
              "def one_pass(f, x):\n    from diffcompare.forward import dual\n"
              "    _, J = fwd.jvp(f, (x,), (jnp.eye(x.shape[0]),), batched=True)\n"
              "    dual._tell(passes=x.shape[0] - 1)  # what the old grader believed\n    return J.T\n")
    g = ship("def g(x):\n    import diffcompare.numpy as dnp\n    return dnp.stack([dnp.sum(dnp.sin(x) * x), "
             "dnp.prod(x)])\n", "g")
    x = np.array([0.5, -1.0, 2.0])
    with (tmp_path / "log").open("w") as log:
        proc = StudentProcess(log, time.monotonic() + 120, config={"forbid": list(ALL_DERIVATIVES),
                                                                   "allow": ["diffcompare.forward.jvp"]})
        try:
            assert _cell(proc, honest) == (None, None)
            J, passes = StudentFunction(lambda *a: proc, "honest").counting_forward_passes(g, x)
            import jax

            np.testing.assert_allclose(J, jax.jacfwd(g)(x), rtol=1e-12)
            assert passes == 3
            J, passes = StudentFunction(lambda *a: proc, "one_pass").counting_forward_passes(g, x)
            np.testing.assert_allclose(J, jax.jacfwd(g)(x), rtol=1e-12)
            assert passes == 1  # one vector-mode pass, whatever the notebook told its own counter
        finally:
            proc.stop()
