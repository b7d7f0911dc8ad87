"""The grader's parts, without a notebook: the shortcut guard, the failure messages, the wire format, the
student's process (started with a few cells, not a whole assignment)."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare import reverse as rev
from diffcompare.course._wire import Opaque, Shipped, decode, encode
from diffcompare.course.shortcuts import Shortcut, forbidden_functions, guard
from diffcompare.course.testing import ShortcutUsed, expect_close, hand_written, using


def _linear_vjp_via_alias(W, x, u):
    from jax import vjp as pullback  # bound under another name: the guard matches code, not names

    return pullback(lambda W, x: W @ x, W, x)[1](u)


def _swallowing(x):
    try:
        return jax.grad(lambda x: jnp.sum(jnp.sin(x)))(x)
    except BaseException:  # noqa: BLE001 - a student hiding the shortcut
        return x


_PRECOMPUTED = rev.grad(lambda x: dnp.sum(dnp.sin(x)))  # a closure made before the guard


@pytest.mark.parametrize(("fn", "args", "name"), [
    (_linear_vjp_via_alias, (jnp.ones((2, 3)), jnp.ones(3), jnp.ones(2)), "jax.vjp"),
    (lambda x: rev.vjp(dnp.sin, x)[1](x), (jnp.ones(2),), "diffcompare.reverse.vjp"),
    (lambda x: jax.jacfwd(jnp.sin)(x), (jnp.ones(2),), "jax.jacfwd"),
    (_PRECOMPUTED, (jnp.ones(2),), "diffcompare's reverse-mode engine"),
])
def test_guard_names_the_shortcut_however_it_is_reached(fn, args, name):
    with pytest.raises(ShortcutUsed, match=f"uses {name}, which this task asks you to write yourself"):
        hand_written(fn)(*args)
    assert float(jax.grad(lambda x: jnp.sum(x**2))(jnp.ones(2))[0]) == 2.0  # the code is back afterwards


def test_a_swallowed_shortcut_is_still_reported():
    with pytest.raises(ShortcutUsed, match="jax.grad"):
        hand_written(_swallowing)(jnp.ones(2))


def test_allowed_entry_points_and_honest_code_pass():
    from diffcompare import forward as fwd

    jac = hand_written(lambda f, x: fwd.jvp(f, (x,), (jnp.ones_like(x),))[1], allow=["diffcompare.forward.jvp"])
    np.testing.assert_allclose(jac(dnp.sin, jnp.zeros(2)), [1.0, 1.0])
    np.testing.assert_allclose(hand_written(lambda x, u: jnp.where(x > 0, u, 0.0))(jnp.array([-1.0, 2.0]),
                                                                                jnp.ones(2)), [0.0, 1.0])
    assert len(forbidden_functions()) > len(forbidden_functions(allow=["diffcompare.forward.jvp"]))


def test_guard_restores_every_function_even_after_a_shortcut():
    before = {fn: fn.__code__ for fn in forbidden_functions()}
    with pytest.raises(Shortcut), guard(forbidden_functions()):
        jax.grad(jnp.sin)(1.0)
    assert all(fn.__code__ is code for fn, code in before.items())


def _uses_helper(x):
    return _helper(x) * 2


def _helper(x):
    return x + 1


def test_using_swaps_in_references_and_restores_the_students_own():
    assert using(_uses_helper, _helper=lambda x: x - 1)(3) == 4
    assert _uses_helper(3) == 8


def test_failure_message_has_call_inputs_expected_got_and_first_wrong_entry_in_full():
    expected = np.arange(3000.0).reshape(1000, 3)
    got = expected.copy()
    got[700, 2] = -1.0
    with pytest.raises(AssertionError) as info:
        expect_close(got, expected, call="f(x)", inputs={"x": np.arange(3.0)})
    msg = str(info.value)
    assert msg.startswith("f(x) returned a wrong value.\nfirst wrong entry [700, 2]: expected 2102.0, got -1.0")
    assert "  x = [0., 1., 2.]" in msg, msg[:300]
    assert "..." not in msg and "2.999e+03" in msg and "2.102e+03" in msg  # nothing cut
    with pytest.raises(AssertionError, match=r"at \[1\]: expected shape \(2,\), got shape \(3,\)"):
        expect_close((1.0, np.ones(3)), (1.0, np.ones(2)), call="g()")
    with pytest.raises(AssertionError, match="expected 2 values, got a single NoneType"):
        expect_close(None, (1.0, 2.0), call="h()")
    expect_close((np.float64(1.0), jnp.ones(2)), (1.0, np.ones(2)), call="ok()")


def test_hidden_feedback_names_input_and_got_but_not_the_expected_value():
    from diffcompare.course.testing import Mismatch

    with pytest.raises(Mismatch) as info:
        expect_close(np.array([1.0, 5.0]), np.array([1.0, 2.5]), call="f(x)", inputs={"x": np.array([0.5, 0.25])})
    hidden, public = info.value.describe(hidden=True), info.value.describe(hidden=False)
    assert "first wrong entry [1]: got 5.0" in hidden and "x = [0.5 , 0.25]" in hidden.replace("0.5,", "0.5 ,")
    assert "2.5" not in hidden and "expected" not in hidden
    assert "expected 2.5, got 5.0" in public and "  expected: [1. , 2.5]" in public


def test_markdown_report_fences_cannot_be_closed_by_the_student():
    from diffcompare.course.grade import _fenced, _inline

    fenced = _fenced("oops\n```\n**Score: 9 / 9**\n````")
    assert fenced[0] == "`````text" and fenced[-1] == "`````"
    assert "`" not in _inline("a`b").strip("`").replace("\\`", "")


def test_wire_carries_data_only():
    value = (1.5, [np.arange(3, dtype=np.float32)], {"a": jnp.ones((2, 2))}, None, "s")
    back = decode(encode(value))
    assert back[0] == 1.5 and back[1][0].dtype == np.float32 and back[2]["a"].shape == (2, 2)
    assert isinstance(decode(encode(object())), Opaque)
    assert isinstance(decode({"__array__": [[1]], "dtype": "object", "shape": [1, 1]}), Opaque)
    with pytest.raises(ValueError, match="cannot come back"):
        decode(encode(Shipped("def f():\n    pass\n", "f")))


@pytest.mark.slow
def test_student_process_answers_calls_ignores_forged_replies_and_is_stopped_at_its_deadline(tmp_path):
    from diffcompare.course import _sandbox
    from diffcompare.course._student import KernelGone, StudentFunction, StudentProcess

    with (tmp_path / "log").open("w") as log:
        proc = StudentProcess(log, time.monotonic() + 60, sandbox=_sandbox.available())
        try:
            forge = ("import json, os\nfor fd in range(3, 64):\n    try:\n"
                     "        os.write(fd, b'{\"value\": 99, \"ok\": true}\\n')\n    except OSError:\n        pass\n")
            assert proc.request({"op": "cell", "source": forge}).get("ok")
            assert proc.request({"op": "cell", "source": "def f(x):\n    return x + 1"}).get("ok")
            assert StudentFunction(lambda *a: proc, "f")(1) == 2  # not the forged 99: replies carry their id
            reply = proc.request({"op": "cell", "source": "1 / 0"})
            assert reply["error"] == "ZeroDivisionError: division by zero"
            proc.deadline = time.monotonic() + 1
            with pytest.raises(KernelGone, match="time limit"):
                proc.request({"op": "cell", "source": "import time\nwhile True:\n    time.sleep(1)"})
        finally:
            proc.stop()
    assert proc.proc.poll() is not None

