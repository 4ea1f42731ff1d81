"""A pool of worker processes whose every job has a hard wall-clock deadline.

Signal-based timeouts (``signal.alarm``, which math-verify uses) only work on the main thread
and only interrupt Python bytecode; a stuck C call or a non-main thread defeats them. Here
the parent owns the clock instead: each job runs in a long-lived worker process, the parent
waits for its answer with ``select``, and a worker that overruns its deadline is killed
(``SIGKILL``) and replaced. The caller gets a ``timeout`` result on time, whatever the worker
was doing, from any thread, from asyncio (through ``asyncio.to_thread``) and from any number
of processes (each has its own pool).

Workers are plain subprocesses (``python -m rolegym.verifiers.workers MODULE:FUNCTION``)
speaking JSON lines on stdin/stdout, rather than ``multiprocessing`` children: they can be
started from daemonic processes, never fork a threaded parent, and leave nothing behind (a
worker exits when its parent does). A worker applies an address-space limit to itself at
start.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DeadlinePool", "JobResult"]


@dataclass(frozen=True)
class JobResult:
    """The outcome of one job.

    ``status`` is ``"ok"`` (``value`` set), ``"timeout"`` or ``"error"`` (``value`` holds a
    message).
    """

    status: str
    value: Any = None
    seconds: float = 0.0


class _Worker:
    """One worker subprocess and its read buffer."""

    def __init__(self, target: str, memory_mb: int, startup_s: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rolegym.verifiers.workers", target, str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to the parent's group does not hit workers
        )
        self.buffer = b""
        line = self._read_line(time.monotonic() + startup_s)
        if line != b"ready":
            self.kill()
            raise RuntimeError(f"verifier worker for {target} failed to start")

    @property
    def fd(self) -> int:
        return self.proc.stdout.fileno()

    def _read_line(self, until: float) -> bytes | None:
        while b"\n" not in self.buffer:
            left = until - time.monotonic()
            if left <= 0:
                return None
            with selectors.DefaultSelector() as sel:
                sel.register(self.fd, selectors.EVENT_READ)
                if not sel.select(left):
                    return None
            if not self.pump():
                return None
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def pump(self) -> bool:
        """Read what is available; ``False`` at end of file (the worker died)."""
        chunk = os.read(self.fd, 1 << 16)
        self.buffer += chunk
        return bool(chunk)

    def take_line(self) -> bytes | None:
        if b"\n" not in self.buffer:
            return None
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def send(self, payload: Any) -> None:
        self.proc.stdin.write(json.dumps(payload).encode() + b"\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class DeadlinePool:
    """Run ``target(payload)`` in worker processes, each call under a hard deadline.

    Args:
        target: ``"module:function"``; the function takes and returns JSON-safe data.
        workers: Most worker processes alive at once (started lazily).
        deadline_s: Wall-clock budget of one job, from the moment a worker receives it.
        memory_mb: Address-space limit of each worker.
        startup_s: How long a new worker may take to import its target.
    """

    def __init__(
        self,
        target: str,
        *,
        workers: int = 2,
        deadline_s: float = 3.0,
        memory_mb: int = 2048,
        startup_s: float = 60.0,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.target = target
        self.max_workers = workers
        self.deadline_s = deadline_s
        self.memory_mb = memory_mb
        self.startup_s = startup_s
        self._idle: list[_Worker] = []
        self._alive = 0
        self._cond = threading.Condition()
        self._pid = os.getpid()
        self._closed = False
        self._spawning: list[threading.Thread] = []
        self.restarts = 0

    def _acquire(self, block: bool) -> _Worker | None:
        """An idle worker, a new one if below the cap, or ``None`` (when ``block`` is off)."""
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._alive < self.max_workers:
                    self._alive += 1
                    break
                if not block:
                    return None
                self._cond.wait()
        try:
            return _Worker(self.target, self.memory_mb, self.startup_s)
        except BaseException:
            with self._cond:
                self._alive -= 1
                self._cond.notify()
            raise

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
            self._alive -= 1
        worker.kill()

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker and start its replacement in the background.

        The next job then does not wait for a fresh interpreter.
        """
        worker.kill()
        thread = threading.Thread(target=self._replace, daemon=True)
        with self._cond:
            self.restarts += 1
            self._spawning = [t for t in self._spawning if t.is_alive()]
            self._spawning.append(thread)
        thread.start()

    def _replace(self) -> None:
        try:
            worker = _Worker(self.target, self.memory_mb, self.startup_s)
        except Exception:
            with self._cond:
                self._alive -= 1
                self._cond.notify()
            return
        if os.getpid() != self._pid:
            worker.kill()
            return
        self._release(worker)

    def warm(self) -> None:
        """Start every worker now rather than on first use."""
        started = []
        with self._cond:
            missing = self.max_workers - self._alive
            self._alive += missing
        try:
            started.extend(
                _Worker(self.target, self.memory_mb, self.startup_s) for _ in range(missing)
            )
        finally:
            with self._cond:
                self._alive -= missing - len(started)
            for worker in started:
                self._release(worker)

    def run_many(self, payloads: Sequence[Any]) -> list[JobResult]:
        """Run every payload; results come back in order, each within its deadline."""
        if os.getpid() != self._pid:  # forked: the workers belong to the parent process
            self.__init__(
                self.target,
                workers=self.max_workers,
                deadline_s=self.deadline_s,
                memory_mb=self.memory_mb,
                startup_s=self.startup_s,
            )
        results: list[JobResult | None] = [None] * len(payloads)
        pending = list(range(len(payloads)))[::-1]
        busy: dict[int, tuple[_Worker, int, float]] = {}  # fd -> (worker, job, start)
        with selectors.DefaultSelector() as sel:
            while pending or busy:
                while pending:
                    worker = self._acquire(block=not busy)
                    if worker is None:
                        break
                    job = pending.pop()
                    try:
                        worker.send(payloads[job])
                    except OSError:
                        self._discard(worker)
                        results[job] = JobResult("error", "worker died before the job")
                        continue
                    busy[worker.fd] = (worker, job, time.monotonic())
                    sel.register(worker.fd, selectors.EVENT_READ)
                now = time.monotonic()
                wait = min(start + self.deadline_s for _, _, start in busy.values()) - now
                for key, _ in sel.select(max(0.0, wait)):
                    worker, job, start = busy[key.fd]
                    alive = worker.pump()
                    line = worker.take_line()
                    if line is None and alive:
                        continue
                    sel.unregister(key.fd)
                    del busy[key.fd]
                    elapsed = time.monotonic() - start
                    if line is None:
                        self._discard(worker)
                        results[job] = JobResult("error", "worker died", elapsed)
                        continue
                    self._release(worker)
                    reply = json.loads(line)
                    if "error" in reply:
                        results[job] = JobResult("error", reply["error"], elapsed)
                    else:
                        results[job] = JobResult("ok", reply["ok"], elapsed)
                now = time.monotonic()
                for fd, (worker, job, start) in list(busy.items()):
                    if now - start >= self.deadline_s:
                        sel.unregister(fd)
                        del busy[fd]
                        self._discard(worker)
                        results[job] = JobResult("timeout", None, now - start)
        return results

    def close(self) -> None:
        """Stop the workers.

        Idle ones stop now, replacements once started, busy ones when their call returns.
        """
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
            spawning = list(self._spawning)
        for worker in idle:
            worker.kill()
        for thread in spawning:
            thread.join(self.startup_s)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _watch_parent(parent: int) -> None:
    """Exit when the parent process goes away (even mid-job)."""
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)


def _serve(target: str, memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        try:
            reply = {"ok": fn(json.loads(line))}
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}"[:500]}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
