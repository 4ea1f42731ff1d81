"""Running an untrusted Python program in isolation.

The program runs under bubblewrap (``bwrap``, Debian's ``bubblewrap`` package) with every
namespace unshared (no network, its own PID namespace), a read-only view of ``/``, a fresh
``/tmp`` and a private scratch directory as its only writable places, all capabilities
dropped, and as the unprivileged uid/gid 65534 (``nobody``) when the caller is root. Resource
limits (CPU, address space, file size, open files, processes) are set by util-linux's
``prlimit`` before ``exec``; the parent enforces a wall-clock deadline and kills the whole process
group. Standard output goes to a file the parent owns, capped by ``RLIMIT_FSIZE``.

When bubblewrap cannot run, :func:`run_python` refuses with a ``sandbox_error`` result unless
the caller opts into ``isolation="rlimits"`` (limits alone, no namespaces), which every
result then reports. Bubblewrap is used through its command line rather than reimplementing
namespaces here: it is small, audited and packaged by every distribution.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import warnings
from collections.abc import Mapping
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
NOBODY = 65534
_SANDBOX_DIR = "/tmp/w"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run.

    Attributes:
        wall_s: Wall-clock deadline enforced by the parent.
        cpu_s: CPU seconds (``RLIMIT_CPU``).
        memory_mb: Address space (``RLIMIT_AS``).
        file_mb: Largest file the program may write, standard output included.
        open_files: ``RLIMIT_NOFILE``.
        processes: ``RLIMIT_NPROC`` (counted per uid).
    """

    wall_s: float = 3.0
    cpu_s: int = 4
    memory_mb: int = 1024
    file_mb: int = 8
    open_files: int = 64
    processes: int = 1024


@dataclass(frozen=True)
class RunResult:
    """What happened to one run.

    Attributes:
        status: ``"ok"`` (exited 0), ``"error"`` (non-zero exit or signal), ``"timeout"``,
            ``"memory"`` (a ``MemoryError``), ``"output_limit"``, or ``"sandbox_error"``.
        returncode: The exit status (negative for a signal), ``None`` if it never ran.
        stdout: Captured standard output (at most ``Limits.file_mb``).
        stderr: The tail of standard error.
        isolation: How it was isolated.
    """

    status: str
    returncode: int | None
    stdout: bytes
    stderr: bytes
    isolation: str


@functools.cache
def sandbox_python() -> str:
    """An interpreter the sandbox user can execute.

    The sandbox runs as ``nobody``, which usually cannot reach a virtual environment under
    ``/root``; the system ``python3`` is used when it exists (the program only needs the
    standard library).
    """
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("python3") or "python3"


def _prlimit(limits: Limits) -> list[str]:
    """A ``prlimit`` prefix (util-linux) that sets the limits and then execs the command.

    Limits are applied by a helper process rather than a ``preexec_fn``, which is unsafe when
    the caller has threads (verification runs on a thread pool).
    """
    mb = 1024 * 1024
    return [
        "prlimit",
        f"--cpu={limits.cpu_s}:{limits.cpu_s + 1}",
        f"--as={limits.memory_mb * mb}",
        f"--fsize={limits.file_mb * mb}",
        f"--nofile={limits.open_files}",
        f"--nproc={limits.processes}",
        "--core=0",
        "--",
    ]


def _identity() -> dict[str, object]:
    """Popen arguments that run the child as ``nobody`` when we are root (done in C, no hooks)."""
    if os.geteuid() == 0:
        return {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    return {}


@functools.cache
def bwrap_available() -> bool:
    """Whether bubblewrap runs here (as the sandbox user)."""
    if shutil.which("bwrap") is None:
        return False
    try:
        r = subprocess.run(
            [*_bwrap_prefix(tempfile.gettempdir(), share_scratch=False), "true"],
            capture_output=True,
            timeout=10,
            check=False,
            **_identity(),  # type: ignore[arg-type]
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def _bwrap_prefix(scratch: str, *, share_scratch: bool = True) -> list[str]:
    args = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
    ]  # fmt: skip
    if share_scratch:
        args += ["--bind", scratch, _SANDBOX_DIR, "--chdir", _SANDBOX_DIR]
    return [*args, "--"]


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
) -> RunResult:
    """Run ``python -I main`` over ``files`` written to a private scratch directory.

    Args:
        files: File name -> source text, written to the scratch directory.
        main: Which file to run.
        stdin: Bytes fed to standard input.
        limits: Resource limits (defaults of :class:`Limits`).
        isolation: ``"bwrap"`` (default) or the weaker, opt-in ``"rlimits"``.

    Returns:
        The :class:`RunResult`; infrastructure failures give ``status="sandbox_error"``.
    """
    limits = limits or Limits()
    if isolation == "bwrap" and not bwrap_available():
        return RunResult(
            "sandbox_error",
            None,
            b"",
            b"bubblewrap (bwrap) cannot run here; "
            b"install Debian's bubblewrap or opt into isolation='rlimits'",
            isolation,
        )
    if isolation == "rlimits":
        warnings.warn("running untrusted code with rlimits only (no namespaces)", stacklevel=2)
    with tempfile.TemporaryDirectory(prefix="rolegym-") as outer:
        os.chmod(outer, 0o711)  # the sandbox user may pass through, not list or write
        scratch = Path(outer, "scratch")
        scratch.mkdir()
        for name, text in files.items():
            Path(scratch, name).write_text(text, encoding="utf-8")
        out_path, err_path = Path(outer, "stdout"), Path(outer, "stderr")
        if os.geteuid() == 0:
            for p in (scratch, *scratch.iterdir()):
                os.chown(p, NOBODY, NOBODY)
        python = sandbox_python()
        if isolation == "bwrap":
            cmd = [*_prlimit(limits), *_bwrap_prefix(str(scratch)), python, "-I", "-B", main]
            cwd = None
        else:
            cmd = [*_prlimit(limits), python, "-I", "-B", main]
            cwd = str(scratch)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                proc = subprocess.Popen(
                    cmd, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=cwd,
                    start_new_session=True, **_identity(),  # type: ignore[arg-type]
                )  # fmt: skip
            except OSError as e:
                return RunResult("sandbox_error", None, b"", str(e).encode(), isolation)
            timed_out = False
            try:
                proc.communicate(stdin, timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc)
        cap = limits.file_mb * 1024 * 1024
        with open(out_path, "rb") as f:
            stdout = f.read(cap + 1)
        with open(err_path, "rb") as f:
            f.seek(max(0, err_path.stat().st_size - 4096))
            stderr = f.read()
        rc = proc.returncode
        if rc != 0 and stderr.startswith((b"bwrap:", b"prlimit:")):
            status = "sandbox_error"
        elif timed_out or rc == -signal.SIGXCPU:
            status = "timeout"
        elif rc == -signal.SIGXFSZ or len(stdout) >= cap:
            status = "output_limit"
        elif rc != 0 and b"MemoryError" in stderr:
            status = "memory"
        else:
            status = "ok" if rc == 0 else "error"
        return RunResult(status, rc, stdout[:cap], stderr, isolation)
