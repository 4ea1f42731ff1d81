"""Running an untrusted Python program in isolation.

Isolation is bubblewrap (``bwrap``, Debian's ``bubblewrap`` package), used through its command
line rather than reimplemented: every namespace unshared (no network, its own PID namespace
whose processes all die with it), all capabilities dropped, an empty environment, and a
filesystem made only of read-only ``/usr``, ``/bin``, ``/lib*``, fresh ``/proc``, ``/dev``,
size-limited private tmpfs at ``/tmp``, ``/dev/shm`` and the scratch directory, which holds
read-only copies of the program files. Nothing of the host's ``/home``, ``/root``, ``/tmp``,
``/etc`` or project directories is visible.

It runs as a fresh unprivileged uid per run (in 61000-63999) when the caller is root, so that
per-user limits are not shared between concurrent sandboxes. Limits: ``prlimit`` (util-linux)
sets CPU seconds, address space, file size, open files and processes before ``exec``; where
cgroup v1 ``memory`` and ``pids`` controllers are writable (as root), a per-run cgroup also
caps the sandbox's total memory and process count. The parent enforces a wall-clock deadline,
caps the output it reads, and kills the whole process group; bwrap's ``--die-with-parent``
takes the PID namespace down with it.

If bubblewrap cannot run, :func:`run_python` returns a ``sandbox_error`` result unless the
caller opts into ``isolation="rlimits"`` (limits alone, no namespaces), which every result
then reports.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "Isolation",
    "Limits",
    "RunResult",
    "bwrap_available",
    "run_python",
    "sandbox_python",
]

Isolation = Literal["bwrap", "rlimits"]
_WORKDIR = "/tmp/w"
_MB = 1024 * 1024
_CGROUP_V1 = Path("/sys/fs/cgroup")
_counter = itertools.count()
_counter_lock = threading.Lock()


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox run.

    Attributes:
        wall_s: Wall-clock deadline of the whole run, enforced by the parent.
        cpu_s: CPU seconds per process (``RLIMIT_CPU``).
        memory_mb: Address space per process (``RLIMIT_AS``), and the whole sandbox's memory
            where cgroups are available.
        file_mb: Largest file a process may write (``RLIMIT_FSIZE``).
        scratch_mb: Size of the writable scratch directory.
        output_mb: Most standard output the parent reads before killing the run.
        open_files: ``RLIMIT_NOFILE``.
        processes: ``RLIMIT_NPROC`` for the run's own uid, and the cgroup's ``pids.max``.
    """

    wall_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    file_mb: int = 16
    scratch_mb: int = 64
    output_mb: int = 16
    open_files: int = 64
    processes: int = 32


@dataclass(frozen=True)
class RunResult:
    """What happened to one run.

    Attributes:
        status: ``"ok"`` (exited 0), ``"error"`` (non-zero exit or signal), ``"timeout"``,
            ``"memory"`` (``MemoryError`` or the memory cgroup hit its limit),
            ``"output_limit"``, ``"stopped"`` (the caller's line callback ended it), or
            ``"sandbox_error"`` (an infrastructure failure).
        returncode: The exit status (negative for a signal), ``None`` if it never ran.
        stdout: Captured standard output (at most ``Limits.output_mb``).
        stderr: The tail of standard error.
        isolation: How it was isolated (``"bwrap"``, ``"bwrap+cgroup"`` or ``"rlimits"``).
    """

    status: str
    returncode: int | None
    stdout: bytes
    stderr: bytes
    isolation: str


@functools.cache
def sandbox_python() -> str:
    """The interpreter inside the sandbox: the system ``python3`` under ``/usr``.

    A virtual environment under ``/root`` is neither reachable by the unprivileged sandbox
    user nor mounted; the program only needs the standard library.
    """
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("python3") or "python3"


def _next_uid() -> int:
    with _counter_lock:
        n = next(_counter)
    return 61000 + (os.getpid() * 7919 + n) % 3000


def _identity(uid: int) -> dict[str, object]:
    """Popen arguments that run the child as ``uid`` when we are root (done in C, no hooks)."""
    if os.geteuid() == 0:
        return {"user": uid, "group": uid, "extra_groups": []}
    return {}


def _prlimit(limits: Limits) -> list[str]:
    """A ``prlimit`` prefix: limits set by a helper right before ``exec``.

    A ``preexec_fn`` would do the same but is unsafe when the caller has threads.
    """
    return [
        "prlimit",
        f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}",
        f"--as={limits.memory_mb * _MB}",
        f"--fsize={limits.file_mb * _MB}",
        f"--nofile={limits.open_files}",
        f"--nproc={limits.processes}",
        "--core=0",
        "--",
    ]


def _mounts() -> list[str]:
    args = []
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _bwrap(files: list[Path], limits: Limits, *, die_with_parent: bool = True) -> list[str]:
    """The bubblewrap command line.

    ``die_with_parent`` ties the sandbox to the thread that starts it (Linux's parent-death
    signal is per thread); long-lived sandboxes started from short-lived threads end instead
    when their standard input closes.
    """
    args = [
        "bwrap", "--unshare-all", *(["--die-with-parent"] if die_with_parent else []),
        "--new-session", "--cap-drop", "ALL",
        "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
        *_mounts(), "--proc", "/proc", "--dev", "/dev",
        "--size", str(limits.scratch_mb * _MB), "--tmpfs", "/dev/shm",
        "--size", str(limits.scratch_mb * _MB), "--tmpfs", "/tmp",
        "--size", str(limits.scratch_mb * _MB), "--tmpfs", _WORKDIR,
    ]  # fmt: skip
    for f in files:
        args += ["--ro-bind", str(f), f"{_WORKDIR}/{f.name}"]
    return [*args, "--chdir", _WORKDIR, "--"]


@functools.cache
def bwrap_available() -> bool:
    """Whether bubblewrap runs here (as an unprivileged user)."""
    if shutil.which("bwrap") is None or shutil.which("prlimit") is None:
        return False
    try:
        r = subprocess.run(
            [*_bwrap([], Limits()), "/bin/true"],
            capture_output=True,
            timeout=10,
            check=False,
            env={},
            **_identity(_next_uid()),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


@contextlib.contextmanager
def _cgroup(uid: int, limits: Limits) -> Iterator[list[Path]]:
    """A per-run cgroup v1 in the ``memory`` and ``pids`` hierarchies (root only).

    Yields the ``cgroup.procs`` files the sandbox must join (empty when unavailable).
    """
    if os.geteuid() != 0:
        yield []
        return
    name = f"rolegym-{os.getpid()}-{uid}-{time.monotonic_ns()}"
    made: list[Path] = []
    try:
        for controller, settings in (
            ("memory", {"memory.limit_in_bytes": limits.memory_mb * _MB}),
            ("pids", {"pids.max": limits.processes}),
        ):
            group = _CGROUP_V1 / controller / name
            group.mkdir()
            made.append(group)
            for key, value in settings.items():
                (group / key).write_text(str(value))
            os.chown(group / "cgroup.procs", uid, uid)
    except OSError:
        _remove_cgroups(made)
        yield []
        return
    try:
        yield [g / "cgroup.procs" for g in made]
    finally:
        _remove_cgroups(made)


def _remove_cgroups(groups: list[Path]) -> None:
    for group in groups:
        for _ in range(100):  # the last processes may take a moment to leave
            try:
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.01)


def _memory_hit(procs: list[Path]) -> bool:
    for p in procs:
        failcnt = p.parent / "memory.failcnt"
        if failcnt.exists():
            with contextlib.suppress(OSError, ValueError):
                return int(failcnt.read_text()) > 0
    return False


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (a sandbox's own uid), stopped ones included."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                uid_line = next(line for line in f if line.startswith("Uid:"))
            if int(uid_line.split()[1]) == uid:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, StopIteration, ValueError):
            continue


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_python(
    files: Mapping[str, str],
    main: str,
    stdin: bytes = b"",
    *,
    limits: Limits | None = None,
    isolation: Isolation = "bwrap",
    on_output: Callable[[bytes], bool] | None = None,
) -> RunResult:
    """Run ``python -I -S -B main`` over ``files`` in the sandbox.

    Args:
        files: File name -> source text, visible read-only in the working directory.
        main: Which file to run.
        stdin: Bytes fed to standard input.
        limits: Resource limits (defaults of :class:`Limits`).
        isolation: ``"bwrap"`` (default) or the weaker, opt-in ``"rlimits"``.
        on_output: Called with all output so far whenever a line completes; returning
            ``False`` stops the run early (status ``"stopped"``).

    Returns:
        The :class:`RunResult`; infrastructure failures give ``status="sandbox_error"``.
    """
    limits = limits or Limits()
    if isolation == "bwrap" and not bwrap_available():
        why = b"bubblewrap (bwrap) cannot run here; install it or opt into isolation='rlimits'"
        return RunResult("sandbox_error", None, b"", why, isolation)
    if isolation == "rlimits":
        warnings.warn("running untrusted code with rlimits only (no namespaces)", stacklevel=2)
    uid = _next_uid()
    prefix = f"rolegym-{os.getpid()}-"
    with tempfile.TemporaryDirectory(prefix=prefix) as outer, _cgroup(uid, limits) as procs:
        os.chmod(outer, 0o755)  # the sandbox user reads the program files through the binds
        paths = []
        for name, text in files.items():
            path = Path(outer, name)
            path.write_text(text, encoding="utf-8")
            os.chmod(path, 0o644)
            paths.append(path)
        python = [sandbox_python(), "-I", "-S", "-B"]
        if isolation == "bwrap":
            cmd = [*_prlimit(limits), *_bwrap(paths, limits), *python, main]
            cwd = None
        else:
            cmd = [*_prlimit(limits), *python, main]
            cwd = outer
            if os.geteuid() == 0:
                os.chown(outer, uid, uid)  # its only writable place
        if procs:  # join the cgroups first, as the sandbox user, then exec the rest
            joins = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(procs)))
            cmd = [
                "/bin/sh",
                "-c",
                f'{joins} && shift {len(procs)} && exec "$@"',
                "sh",
                *map(str, procs),
                *cmd,
            ]
        err_path = Path(outer, "stderr")
        with open(err_path, "wb") as err:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    cwd=cwd,
                    env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                    start_new_session=True,
                    **_identity(uid),
                )
            except OSError as e:
                return RunResult("sandbox_error", None, b"", str(e).encode(), isolation)
            stdout, status = _collect(proc, stdin, limits, on_output)
        with open(err_path, "rb") as f:
            f.seek(max(0, err_path.stat().st_size - 4096))
            stderr = f.read()
        rc = proc.returncode
        how = isolation + ("+cgroup" if procs and isolation == "bwrap" else "")
        if status is None:
            if rc != 0 and stderr.startswith((b"bwrap:", b"prlimit:", b"sh:")):
                status = "sandbox_error"
            elif rc == -signal.SIGXCPU:
                status = "timeout"
            elif rc != 0 and (b"MemoryError" in stderr or _memory_hit(procs)):
                status = "memory"
            else:
                status = "ok" if rc == 0 else "error"
        return RunResult(status, rc, stdout, stderr, how)


def _collect(
    proc: subprocess.Popen[bytes],
    stdin: bytes,
    limits: Limits,
    on_output: Callable[[bytes], bool] | None,
) -> tuple[bytes, str | None]:
    """Feed stdin, read stdout under the deadline and the size cap, then kill the group."""
    cap = limits.output_mb * _MB
    deadline = time.monotonic() + limits.wall_s
    status: str | None = None
    out = bytearray()

    def feed() -> None:  # on a thread: a program that never reads must not block the parent
        with contextlib.suppress(OSError):
            proc.stdin.write(stdin)
        with contextlib.suppress(OSError):
            proc.stdin.close()

    threading.Thread(target=feed, daemon=True).start()
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                status = "timeout"
                break
            if not sel.select(left):
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            out += chunk
            if len(out) > cap:
                status = "output_limit"
                break
            if on_output is not None and b"\n" in chunk and not on_output(bytes(out)):
                status = "stopped"
                break
    _kill_group(proc)
    proc.stdout.close()
    return bytes(out[:cap]), status
