"""Warm sandboxes: long-lived bubblewrap sandboxes, each running the runner as a zygote.

Starting a sandbox and an interpreter costs about 20 ms, several times the work of grading a
short program. A slot here is one sandbox (its own uid, namespaces, cgroup and limits, as in
:mod:`rolegym.verifiers.sandbox`) whose trusted runner forks a fresh child per program. After
each program the runner kills every other process of the sandbox and deletes the program's
directory, so nothing a program starts or writes reaches the next one; the runner is
non-dumpable, so programs cannot ptrace it. A slot ends when its standard input closes (the
parent exited) or when the parent kills it. A program that kills the runner anyway, runs past
its deadline, or breaks the protocol takes only its own slot down: the slot is discarded and
a fresh one started, and the program gets its verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from rolegym.verifiers import sandbox
from rolegym.verifiers.sandbox import Limits

__all__ = ["ZygotePool"]

_RUNNER = resources.files("rolegym.verifiers").joinpath("runner.py").read_text("utf-8")


class _SlotDied(Exception):
    """The slot's runner went away (killed by the program, or out of memory)."""


class _Slot:
    """One warm sandbox."""

    def __init__(self, limits: Limits) -> None:
        self.uid = sandbox._next_uid()
        self._dir = tempfile.TemporaryDirectory(prefix=f"rolegym-{os.getpid()}-zygote-")
        os.chmod(self._dir.name, 0o755)
        runner = Path(self._dir.name, "runner.py")
        runner.write_text(_RUNNER, encoding="utf-8")
        os.chmod(runner, 0o644)
        self._cgroup = sandbox._cgroup(self.uid, limits)
        procs = self._cgroup.__enter__()
        cmd = [
            *sandbox._prlimit(limits),
            *sandbox._bwrap([runner], limits, die_with_parent=False),
            sandbox.sandbox_python(),
            "-I",
            "-S",
            "-B",
            "runner.py",
            "serve",
        ]
        if procs:
            joins = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(procs)))
            cmd = [
                "/bin/sh",
                "-c",
                f'{joins} && shift {len(procs)} && exec "$@"',
                "sh",
                *map(str, procs),
                *cmd,
            ]
        self.isolation = "bwrap+cgroup" if procs else "bwrap"
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            start_new_session=True,
            **sandbox._identity(self.uid),
        )
        self._buffer = b""
        self._jobs = 0
        try:
            first = self._next_record(time.monotonic() + 30.0)
        except _SlotDied:
            first = None
        if not first or not first.get("ready"):
            self.close()
            raise RuntimeError("the sandbox runner did not start")

    def _next_record(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON record, ``None`` at the deadline; raises ``_SlotDied`` at EOF."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_READ)
                if not sel.select(left):
                    return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _SlotDied
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            record = json.loads(line)
        except ValueError:
            raise _SlotDied from None
        if not isinstance(record, dict):
            raise _SlotDied
        return record

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise _SlotDied from None

    def run(
        self,
        program: str,
        spec: dict[str, Any],
        wall_s: float,
        on_record: Callable[[dict[str, Any]], bool],
    ) -> str:
        """Run one program; feed each test record to ``on_record`` (``False`` stops early).

        Returns:
            ``"ok"``, ``"stopped"``, ``"retired"`` (graded, but the slot must be discarded),
            ``"timeout"`` or ``"died"`` (also discarded).
        """
        self._jobs += 1
        job = self._jobs
        deadline = time.monotonic() + wall_s
        stopped = False
        try:
            self._send({"id": job, "program": program, "spec": spec})
            while True:
                record = self._next_record(deadline)
                if record is None:
                    return "timeout"
                if record.get("job") != job:
                    continue  # a late record of an earlier, cancelled job
                if record.get("done"):
                    if record.get("retire"):
                        return "retired"  # graded, but the slot could not be cleaned
                    return "stopped" if stopped else "ok"
                if not stopped and not on_record(record):
                    stopped = True
                    self._send({"cancel": job})
        except _SlotDied:
            return "died"

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if os.geteuid() == 0:  # a stopped or escaped runner would outlive the outer bwrap
            sandbox.kill_uid(self.uid)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self._cgroup.__exit__(None, None, None)
        self._dir.cleanup()


class ZygotePool:
    """At most ``size`` warm sandboxes, shared by the threads that grade programs.

    Args:
        limits: Sandbox limits (``wall_s`` is ignored: each run passes its own deadline).
        size: Most slots alive at once.
    """

    def __init__(self, limits: Limits, size: int) -> None:
        self.limits = limits
        self.size = size
        self._idle: list[_Slot] = []
        self._alive = 0
        self._cond = threading.Condition()
        self._pid = os.getpid()
        self.discarded = 0

    def _acquire(self) -> _Slot:
        with self._cond:
            while not self._idle and self._alive >= self.size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._alive += 1
        try:
            return _Slot(self.limits)
        except BaseException:
            with self._cond:
                self._alive -= 1
                self._cond.notify()
            raise

    def _release(self, slot: _Slot, keep: bool) -> None:
        if not keep:
            slot.close()
        with self._cond:
            if keep:
                self._idle.append(slot)
            else:
                self._alive -= 1
                self.discarded += 1
            self._cond.notify()

    def run(
        self,
        program: str,
        spec: dict[str, Any],
        wall_s: float,
        on_record: Callable[[dict[str, Any]], bool],
    ) -> tuple[str, str]:
        """Run one program in a warm slot; returns its outcome and the slot's isolation."""
        if os.getpid() != self._pid:  # forked: the slots belong to the parent process
            self.__init__(self.limits, self.size)
        slot = self._acquire()
        outcome = "died"
        try:
            outcome = slot.run(program, spec, wall_s, on_record)
        finally:
            self._release(slot, keep=outcome in ("ok", "stopped"))
        return ("ok" if outcome == "retired" else outcome), slot.isolation

    def close(self) -> None:
        """Stop every idle slot."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
        for slot in idle:
            slot.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
