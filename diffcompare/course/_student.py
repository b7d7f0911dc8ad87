"""The grader's side of the student's process: start it, send cells and calls, stop it for good."""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from ._wire import StudentRef, decode, encode
from .testing import ShortcutUsed, StudentError

_MAX_REPLY = 64 * 2**20  # a reply larger than this is treated as a dead process


class KernelGone(Exception):  # noqa: N818
    """The student's process died, exited or ran out of time; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StudentProcess:
    """A fresh Python running the submission (cwd ``workdir``, output to ``log``), with a deadline."""

    def __init__(self, workdir: Path, log, deadline: float):
        self.deadline = deadline
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        root = str(Path(__file__).resolve().parents[2])  # the same diffcompare as the grader's
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=path, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "diffcompare.course._kernel", str(req_r), str(rep_w)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env,
            pass_fds=(req_r, rep_w), start_new_session=True)  # its own process group: stop() ends all it started
        os.close(req_r)
        os.close(rep_w)
        self._buffer = b""
        self.gone: str | None = None
        self.guarded = False  # set when a call forbade ready-made derivatives

    def request(self, msg: dict) -> dict:
        """Send ``msg``; return the reply that carries its (random) id, skipping anything else on the pipe."""
        if self.gone:
            raise KernelGone(self.gone)
        msg = {**msg, "id": secrets.token_hex(8)}
        try:
            os.write(self._req_w, (json.dumps(msg) + "\n").encode())
        except OSError:
            self._lost(f"the notebook's process ended (exit code {self.proc.poll()})")
        while True:
            try:
                reply = json.loads(self._read_line())
            except ValueError:
                continue
            if isinstance(reply, dict) and reply.get("id") == msg["id"]:
                return reply

    def _read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self._lost("the submission ran past its time limit and was stopped")
            ready, _, _ = select.select([self._rep_r], [], [], left)
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
        """Kill the whole process group (the process and anything it started), then close the pipes."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
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


class StudentFunction:
    """Stands for the notebook's function ``name`` in a hidden test: calling it runs it in the student's process."""

    def __init__(self, process: StudentProcess, name: str, forbid=None, allow=(), using=None):
        self._process, self.__name__ = process, name
        self._forbid, self._allow, self._using = (list(forbid) if forbid else None), list(allow), dict(using or {})

    def forbidding(self, forbid, allow=()) -> StudentFunction:
        return type(self)(self._process, self.__name__, forbid, allow, self._using)

    def using(self, references: dict) -> StudentFunction:
        return type(self)(self._process, self.__name__, self._forbid, self._allow, {**self._using, **references})

    def _remote_call(self, args, kwargs, **options):
        msg = {"op": "call", "name": self.__name__, "args": [encode(self._wire(a)) for a in args],
               "kwargs": {k: encode(self._wire(v)) for k, v in kwargs.items()}, "forbid": self._forbid,
               "allow": self._allow,
               "using": {k: encode(self._wire(v)) for k, v in self._using.items()}, **options}
        self._process.guarded |= self._forbid is not None
        reply = self._process.request(msg)
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
        value, reply = self._remote_call(args, {}, count_forward_passes=True)
        return value, int(reply.get("forward_passes", -1))

    def __repr__(self) -> str:
        return self.__name__
