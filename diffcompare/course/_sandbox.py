"""A throwaway sandbox for one submission's process: bubblewrap (``bwrap``), the sandbox Flatpak uses.

Inside: its own PID, network, IPC, UTS, user and cgroup namespaces (no network, nothing of the host's
processes, ``/proc`` fresh); an unprivileged uid; read-only the Python installation, the virtual
environment and the ``diffcompare`` package (nothing else of the project: no autograder, no
submissions folder, no output folder); a private tmpfs home holding only this student's notebook.
Limits on CPU seconds, address space, processes and file size are set by the sandbox's first code
(:mod:`._boot`), soft and hard, and inherited by everything it starts. ``--die-with-parent``: killing
the ``bwrap`` process (the grader does at the deadline) kills the sandbox's PID 1, and with it every
process of the namespace, whatever it forked or ``setsid``-ed.

Why not Docker: it needs a daemon the grading machine may not have; ``bwrap`` works unprivileged
and as root, starts in milliseconds and is one ``apt-get install bubblewrap`` away.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: one line for a teacher whose machine has no sandbox
INSTALL_HINT = ("no sandbox to grade in: install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; "
                "Fedora: `sudo dnf install bubblewrap`), or pass --no-sandbox to check your own solutions only")

HOME = "/home/student"  # the student's private scratch directory inside the sandbox
NOBODY = 65534


class NoSandbox(RuntimeError):
    """No sandbox is available on this machine (see :data:`INSTALL_HINT`)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one submission's processes may use (every process inside the sandbox inherits these)."""

    cpu_seconds: int = 900  # CPU time per process (the wall-clock deadline is the grader's)
    address_space: int = 16 * 2**30  # virtual memory per process (JAX reserves a lot of address space)
    processes: int = 512  # threads count: XLA starts a pool per core
    file_bytes: int = 64 * 2**20  # the largest file a process may write (its home is a tmpfs)
    home_bytes: int = 128 * 2**20  # the size of the tmpfs home, and of the tmpfs /tmp


def bwrap() -> str | None:
    """The ``bwrap`` executable, or None; ``DIFFCOMPARE_BWRAP`` names another (an empty value: none)."""
    name = os.environ.get("DIFFCOMPARE_BWRAP", "bwrap")
    return shutil.which(name) if name else None


_WORKS: dict[str, str | None] = {}


def problem() -> str | None:
    """None if a sandbox can be started here, else one line saying why not (what to install, or bwrap's error)."""
    exe = bwrap()
    if exe is None:
        return INSTALL_HINT
    if exe not in _WORKS:  # bwrap is installed: can it make the namespaces here (e.g. inside a container)?
        try:
            probe = subprocess.run(command(["/usr/bin/true"], None, Limits()), capture_output=True,
                                   text=True, timeout=30)
            _WORKS[exe] = None if probe.returncode == 0 else (
                f"bubblewrap cannot start a sandbox here ({probe.stderr.strip()[:200]}); run the grader where "
                "user namespaces are allowed, or pass --no-sandbox to check your own solutions only")
        except (OSError, subprocess.TimeoutExpired) as err:
            _WORKS[exe] = f"bubblewrap cannot start a sandbox here ({err})"
    return _WORKS[exe]


def available() -> bool:
    return problem() is None


def _python_trees() -> list[str]:
    """The folders the grader's Python runs from: its installation and (if any) its virtual environment."""
    trees = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(t + os.sep) for t in trees):
        trees.add(os.path.dirname(os.path.dirname(exe)))
    return sorted(t for t in trees if os.path.isdir(t))


def package_root() -> str:
    """The folder holding the ``diffcompare`` package the grader runs (bound read-only at the same path)."""
    return str(Path(__file__).resolve().parents[2])


def command(argv: list[str], notebook_fd: int | None, limits: Limits) -> list[str]:
    """``bwrap ... argv``: ``argv`` run in a fresh sandbox."""
    exe = bwrap()
    if exe is None:
        raise NoSandbox(INSTALL_HINT)
    args = [exe, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(NOBODY), "--gid", str(NOBODY),
            # the private /tmp first: the binds below land on top of it, so an installation or a
            # checkout that lives under /tmp stays visible (a tmpfs mounted later would hide it)
            "--perms", "1777", "--size", str(limits.home_bytes), "--tmpfs", "/tmp"]
    for top in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):  # merged /usr: links; else the folders
        path = f"/{top}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", "/usr", "/usr"]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/ssl/certs"):
        if os.path.exists(etc):
            args += ["--ro-bind", etc, etc]
    for tree in _python_trees():
        args += ["--ro-bind", tree, tree]
    pkg = os.path.join(package_root(), "diffcompare")
    args += ["--ro-bind", pkg, pkg, "--proc", "/proc", "--dev", "/dev",
             "--perms", "0700", "--size", str(limits.home_bytes), "--tmpfs", HOME]
    if notebook_fd is not None:
        args += ["--file", str(notebook_fd), f"{HOME}/submission.ipynb"]
    args += ["--chdir", HOME, "--clearenv", "--setenv", "HOME", HOME, "--setenv", "PATH", "/usr/bin:/bin",
             "--setenv", "MPLBACKEND", "Agg", "--setenv", "MPLCONFIGDIR", "/tmp", "--setenv", "PYTHONUNBUFFERED", "1",
             "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "JAX_PLATFORMS", "cpu", "--"]
    return args + list(argv)
