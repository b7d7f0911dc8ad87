"""The grader's side of the student's process: start it in its sandbox, send cells and calls, stop it for good.

Nothing the process does can hold the grader up: every write to it and every read from it has the
submission's deadline (the request pipe is non-blocking, so a process that stops reading cannot
stall a large write), a reply larger than :data:`_MAX_REPLY` ends it, and its output goes through a
pipe the grader drains into the log up to :data:`OUTPUT_CAP` bytes (the rest is counted and dropped).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import _sandbox
from ._wire import Shipped, StudentRef, Watched, decode, encode
from .testing import ShortcutUsed, StudentError

_MAX_REPLY = 16 * 2**20  # a reply larger than this is treated as a dead process
OUTPUT_CAP = 2 * 2**20  # bytes of the notebook's output kept in the student's log


class KernelGone(Exception):  # noqa: N818
    """The student's process died, exited or ran out of time; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _OutputSink:
    """Drains the process's stdout+stderr pipe into the log, keeping the first ``cap`` bytes."""

    def __init__(self, fd: int, log, cap: int):
        self.fd, self.log, self.cap, self.seen = fd, log, cap, 0
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            keep = max(0, min(len(chunk), self.cap - self.seen))
            if keep:
                self.log.write(chunk[:keep].decode("utf-8", "replace"))
            self.seen += len(chunk)
        os.close(self.fd)

    def close(self, timeout: float = 5.0):
        self.thread.join(timeout)
        if self.seen > self.cap:
            self.log.write(f"\n[output cut: the notebook printed {self.seen} bytes; the log keeps the first "
                           f"{self.cap}]\n")
        self.log.flush()


class StudentProcess:
    """The notebook's kernel in a fresh sandbox (see :mod:`._sandbox`), output to ``log``, with a deadline.

    ``config``: ``{"forbid": [...], "allow": [...]}``, what the sandbox switches off before the kernel
    starts (:mod:`._boot`). ``sandbox=False`` runs it as the grader's user (a teacher's own solutions only).
    """

    def __init__(self, log, deadline: float, *, config=None, notebook: Path | None = None, sandbox: bool = True,
                 limits: _sandbox.Limits | None = None):
        self.deadline = deadline
        limits = limits or _sandbox.Limits()
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        root = _sandbox.package_root()
        boot = "import sys; sys.path.insert(0, sys.argv[1]); from diffcompare.course._boot import main; main()"
        config = {**(config or {}), "limits": dataclasses.asdict(limits) if sandbox else None}
        argv = [sys.executable, "-I", "-c", boot, root, str(req_r), str(rep_w), json.dumps(config)]
        nb_fd = os.open(notebook, os.O_RDONLY) if notebook is not None and sandbox else None
        fds = (req_r, rep_w) + ((nb_fd,) if nb_fd is not None else ())
        if sandbox:
            argv = _sandbox.command(argv, nb_fd, limits)
            env, cwd = {}, "/"
        else:
            env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
            cwd = str(Path(notebook).parent) if notebook is not None else None
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, cwd=cwd, env=env,
                                         pass_fds=fds, start_new_session=True)
        finally:
            for fd in (req_r, rep_w, out_w) + ((nb_fd,) if nb_fd is not None else ()):
                os.close(fd)
        os.set_blocking(self._req_w, False)
        self._output = _OutputSink(out_r, log, OUTPUT_CAP)
        self._buffer = b""
        self.gone: str | None = None

    def request(self, msg: dict, on_eval=None) -> dict:
        """Send ``msg``; return the reply that carries its (random) id, skipping anything else on the pipe.

        While it waits, the kernel may ask the grader to evaluate a watched function (``{"op": "eval"}``):
        ``on_eval(message)`` answers (without it, the answer is an error)."""
        if self.gone:
            raise KernelGone(self.gone)
        msg = {**msg, "id": secrets.token_hex(8)}
        self._write((json.dumps(msg) + "\n").encode())
        while True:
            try:
                reply = json.loads(self._read_line())
            except ValueError:
                continue
            if not isinstance(reply, dict) or reply.get("id") != msg["id"]:
                continue
            if reply.get("op") != "eval":
                return reply
            try:
                answer = on_eval(reply) if on_eval else {"error": "nothing to evaluate here"}
            except Exception as err:  # noqa: BLE001 - a malformed request gets an error, not a crashed grader
                answer = {"error": f"{type(err).__name__}: {err}"}
            self._write((json.dumps(answer) + "\n").encode())

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self._lost("the submission ran past its time limit and was stopped")
        return left

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self._req_w], [], self._left())
            if not ready:
                continue
            try:
                view = view[os.write(self._req_w, view):]
            except BlockingIOError:
                continue
            except OSError as err:
                if err.errno in (errno.EPIPE, errno.EBADF):
                    self._lost(f"the notebook's process ended (exit code {self.proc.poll()})")
                raise

    def _read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._rep_r], [], [], self._left())
            if not ready:
                continue
            chunk = os.read(self._rep_r, 1 << 20)
            if not chunk:
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                self._lost(f"the notebook's process ended (exit code {self.proc.poll()})")
            self._buffer += chunk
            if len(self._buffer) > _MAX_REPLY:
                self._lost("the notebook's process sent a reply too large to read")
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _lost(self, reason: str):
        self.gone = reason
        self.stop()
        raise KernelGone(reason)

    def stop(self):
        """Kill the sandbox (its PID 1 takes every process inside with it) and its process group, close the pipes."""
        for kill in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._req_w = self._rep_r = -1
        self._output.close()


class StudentFunction:
    """Stands for the notebook's function ``name`` in a hidden test: calling it runs it in the student's process.

    ``kernels(forbid, allow)`` gives the process to call: one sandbox per set of forbidden derivatives,
    each armed before its cells ran (see :mod:`._boot`).
    """

    def __init__(self, kernels, name: str, forbid=None, allow=(), using=None):
        self._kernels, self.__name__ = kernels, name
        self._forbid, self._allow, self._using = (list(forbid) if forbid else None), list(allow), dict(using or {})

    def forbidding(self, forbid, allow=()) -> StudentFunction:
        return type(self)(self._kernels, self.__name__, forbid, allow, self._using)

    def using(self, references: dict) -> StudentFunction:
        return type(self)(self._kernels, self.__name__, self._forbid, self._allow, {**self._using, **references})

    def _remote_call(self, args, kwargs, on_eval=None):
        msg = {"op": "call", "name": self.__name__, "args": [encode(self._wire(a)) for a in args],
               "kwargs": {k: encode(self._wire(v)) for k, v in kwargs.items()},
               "using": {k: encode(self._wire(v)) for k, v in self._using.items()}}
        reply = self._kernels(self._forbid, self._allow).request(msg, on_eval)
        if "missing" in reply:
            raise StudentError(f"the notebook defines no function `{self.__name__}` (or it is not callable)")
        if "shortcut" in reply:
            raise ShortcutUsed(self.__name__, str(reply["shortcut"]))
        if "error" in reply:
            raise StudentError(f"`{self.__name__}` raised {reply['error']}\n{str(reply.get('traceback', ''))}")
        return decode(reply.get("value")), reply

    @staticmethod
    def _wire(value):
        return StudentRef(value.__name__) if isinstance(value, StudentFunction) else value

    def __call__(self, *args, **kwargs):
        return self._remote_call(args, kwargs)[0]

    def counting_forward_passes(self, *args):
        """``(value, passes)``: the functions among ``args`` (shipped ones) are evaluated by the grader, and
        ``passes`` counts the forward-mode passes through them (evaluations on a dual), as the grader saw them."""
        watched = {a.name: a for a in args if isinstance(a, Shipped)}
        passes = 0

        def evaluate(request):
            nonlocal passes
            import jax
            import jax.numpy as jnp

            fn = watched[str(request["name"])]
            x = jnp.asarray(decode(request["x"]), dtype=float)
            if x.size > 2**16:
                raise ValueError("input too large")
            if request.get("t") is None:
                return {"value": encode(fn(x))}
            t = jnp.asarray(decode(request["t"]), dtype=float)
            batch = len(request.get("batch") or ())
            if t.shape[batch:] != x.shape or batch > 1:
                raise ValueError(f"tangent of shape {t.shape} for an input of shape {x.shape}")
            passes += 1
            if batch:
                out, tangent = jax.vmap(lambda v: jax.jvp(fn, (x,), (v,)), out_axes=(None, 0))(t)
            else:
                out, tangent = jax.jvp(fn, (x,), (t,))
            return {"value": encode(out), "tangent": encode(tangent)}

        args = tuple(Watched(a) if isinstance(a, Shipped) else a for a in args)
        value, _ = self._remote_call(args, {}, on_eval=evaluate)
        return value, passes

    def __repr__(self) -> str:
        return self.__name__
