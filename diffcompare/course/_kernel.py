"""The student's process: runs the notebook's cells, then answers the grader's calls.

Started by :mod:`diffcompare.course._boot` inside the submission's sandbox: one JSON request per line
on REQUEST_FD, one JSON reply per line on REPLY_FD. The student's output goes to this
process's stdout/stderr (the grader sends them to the student's log) and never reaches
the grader's decisions: the grader reads only replies, and a reply carries data (the
value a student's function returned, an error, a shortcut), never a score.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import numpy as np


def _format_error(err: BaseException, skip_frames: int = 0) -> tuple[str, str]:
    first = traceback.format_exception_only(type(err), err)[-1].strip()
    tb = err.__traceback__
    for _ in range(skip_frames):
        tb = tb.tb_next if tb is not None else None
    return first, "".join(traceback.format_exception(type(err), err, tb))


class _GraderEvaluated:
    """Stands for a function the grader evaluates: each call sends its input (a forward-mode dual: primal and
    tangent) to the grader and waits for the value (and the tangent) the grader computed, so every forward pass
    through it is one request the grader counts itself."""

    def __init__(self, session: Session, name: str):
        self.session, self.__name__ = session, name

    def __call__(self, x):
        import jax
        import jax.numpy as jnp

        from diffcompare.forward.dual import Dual

        from ._wire import decode, encode

        dual = isinstance(x, Dual)
        primal, tangent = (x.primal, x.tangent) if dual else (x, None)
        from jax._src.core import Tracer

        for part in (primal, tangent):
            if isinstance(part, Tracer) or not isinstance(part, int | float | np.ndarray | np.generic | jax.Array):
                raise TypeError(f"{self.__name__} takes arrays or forward-mode duals of arrays while graded, "
                                f"not {type(part).__name__}")
            if np.iscomplexobj(part):
                raise TypeError(f"{self.__name__} takes real arrays while graded")
        msg = {"op": "eval", "name": self.__name__, "id": self.session.current, "x": encode(primal),
               "t": None if tangent is None else encode(tangent),
               "batch": list(x._trace.batch) if dual else []}
        reply = self.session.ask(msg)
        if "error" in reply:
            raise RuntimeError(str(reply["error"]))
        value = jnp.asarray(decode(reply["value"]))
        return Dual(x._trace, value, jnp.asarray(decode(reply["tangent"]))) if dual else value


class Session:
    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()
        self.shell.colors = "NoColor"
        self.current = None  # the id of the request being served
        self.requests = self.replies = None

    def ask(self, msg: dict) -> dict:
        """Send ``msg`` to the grader and read its answer (the next line on the request pipe)."""
        self.replies.write(json.dumps(msg) + "\n")
        self.replies.flush()
        return json.loads(self.requests.readline())

    def cell(self, source: str) -> dict:
        from .shortcuts import Shortcut, _reached

        del _reached[:]
        result = self.shell.run_cell(source, store_history=True)
        err = result.error_before_exec or result.error_in_exec
        if err is None:
            return {"ok": True}
        first, tb = _format_error(err)
        reply = {"error": first, "traceback": tb}
        if isinstance(err, Shortcut) or _reached:  # the cell reached what the sandbox switched off
            reply["shortcut"] = err.name if isinstance(err, Shortcut) else _reached[0]
        return reply

    def _resolve(self, data):
        from ._wire import Shipped

        if "__student__" in data:
            return self.shell.user_ns[data["__student__"]]
        if "__watched__" in data:
            return _GraderEvaluated(self, data["__watched__"])
        return Shipped(data["__ship__"], data["name"])

    def call(self, msg: dict) -> dict:
        from ._wire import decode, encode
        from .shortcuts import Shortcut, _reached

        fn = self.shell.user_ns.get(msg["name"])
        if not callable(fn):
            return {"missing": msg["name"]}
        try:
            import jax.numpy as jnp

            as_array = jnp.asarray
        except ImportError:  # pragma: no cover - the course installs JAX
            as_array = None
        decode_arg = lambda v: decode(v, resolve=self._resolve, as_array=as_array or (lambda a: a))  # noqa: E731
        args = [decode_arg(a) for a in msg.get("args", [])]
        kwargs = {k: decode_arg(v) for k, v in msg.get("kwargs", {}).items()}
        # the reference implementations of earlier tasks stand in for the student's own while this call runs
        replaced = {k: decode_arg(v) for k, v in msg.get("using", {}).items()}
        saved = {k: self.shell.user_ns[k] for k in replaced if k in self.shell.user_ns}
        self.shell.user_ns.update(replaced)
        del _reached[:]  # the sandbox's tripwires (armed before any cell ran) record what the call reached
        reply: dict = {}
        try:
            value = fn(*args, **kwargs)
        except Shortcut as err:
            return {"shortcut": err.name}
        except BaseException as err:  # noqa: BLE001 - the student's function may raise anything, even SystemExit
            if _reached:
                return {"shortcut": _reached[0]}
            first, tb = _format_error(err, skip_frames=1)
            return {"error": first, "traceback": tb}
        finally:
            for k in replaced:
                self.shell.user_ns.pop(k, None)
            self.shell.user_ns.update(saved)
        if _reached:
            return {"shortcut": _reached[0]}
        reply["value"] = encode(value)
        return reply


def serve(session: Session, request_fd: int, reply_fd: int) -> None:
    requests = os.fdopen(request_fd, "r", encoding="utf-8")
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")
    session.requests, session.replies = requests, replies
    while line := requests.readline():
        msg = json.loads(line)
        session.current = msg.get("id")
        if msg["op"] == "cell":
            reply = session.cell(msg["source"])
        elif msg["op"] == "call":
            reply = session.call(msg)
        else:
            break
        sys.stdout.flush()
        sys.stderr.flush()
        reply["id"] = msg.get("id")
        replies.write(json.dumps(reply) + "\n")
        replies.flush()

