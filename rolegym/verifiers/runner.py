"""The trusted test runner that executes inside the sandbox (standard library only).

It is copied next to the untrusted ``solution.py`` and reads a JSON spec on standard input:

- ``{"mode": "stdio", "inputs": [...], "timeout": s, "output_limit": n}``: for each input it
  forks a child that feeds the input on fd 0 and runs the (once compiled) program, and it
  relays the child's standard output;
- ``{"mode": "call", "fn": name, "calls": [[args...], ...], "timeout": s}``: one forked child
  runs the program, then calls ``fn`` on each argument list and writes each result as JSON of
  exact builtin types.

It writes one JSON line per test to its own standard output, which only the runner holds:
the children's fd 1 is a private pipe. Forking an already started interpreter per test is
the warm start: one sandbox and one interpreter start per program, not per test. Expected
outputs never reach the sandbox; the parent compares.
"""

import io
import json
import os
import select
import signal
import sys
import time

MEMORY_EXIT = 113  # a child's exit status for MemoryError
ASSERT_EXIT = 114  # ... and for a failed assertion (assertion-style tests)


def _emit(channel, record):
    channel.write((json.dumps(record) + "\n").encode())
    channel.flush()


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _plain(x, depth=0):
    exact = (int, float, str, bool, type(None))
    if depth > 100:
        raise TypeError("too deep")
    t = type(x)
    if t in exact:
        return x
    if t in (list, tuple):
        return [_plain(v, depth + 1) for v in x]
    if t is dict and all(type(k) is str for k in x):
        return {k: _plain(v, depth + 1) for k, v in x.items()}
    raise TypeError("not a plain builtin value: " + t.__name__)


def _child(code, stdin_path, result_fd, calls, fn):
    """Run the program in this forked child; never returns."""
    status = 0
    try:
        os.closerange(3, result_fd)  # in particular the runner's result channel
        os.closerange(result_fd + 1, 1 << 16)
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_WRONLY)
        fd = os.open(stdin_path, os.O_RDONLY) if stdin_path else os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.dup2(result_fd if calls is None else devnull, 1)
        os.dup2(devnull, 2)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8")
        namespace = {"__name__": "__main__" if calls is None else "solution"}
        exec(code, namespace)
        if calls is not None:
            target = namespace.get(fn)
            if target is None and isinstance(namespace.get("Solution"), type):
                target = getattr(namespace["Solution"](), fn, None)  # LeetCode style
            channel = io.FileIO(result_fd, "w", closefd=False)
            for args in calls:
                try:
                    record = {"ok": _plain(target(*args))}
                    line = json.dumps(record)
                except MemoryError:
                    raise
                except BaseException as e:  # the call failed: report its type only
                    line = json.dumps({"error": type(e).__name__})
                channel.write((line + "\n").encode())
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except MemoryError:
        status = MEMORY_EXIT
    except AssertionError:
        status = ASSERT_EXIT
    except BaseException:
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        status = status or 1
    os._exit(status & 0xFF)


def _run(code, stdin_path, calls, fn, timeout, limit, on_line=None):
    """Fork a child, collect its fd-1 output under a deadline and a size limit."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(code, stdin_path, w, calls, fn)
    os.close(w)
    data = b""
    status = None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            status = "output_limit"
            break
        if on_line is not None and b"\n" in chunk:
            deadline = on_line(data, deadline)
    if status is not None:
        _kill_group(pid)
    _, wait_status = os.waitpid(pid, 0)
    _kill_group(pid)  # anything the program left running
    os.close(r)
    if status is None:
        if os.WIFSIGNALED(wait_status):
            status = "killed"
        else:
            code = os.WEXITSTATUS(wait_status)
            named = {0: "ok", MEMORY_EXIT: "memory", ASSERT_EXIT: "assert_failed"}
            status = named.get(code, "error")
    return status, data


def run_job(spec, source, channel, tag):
    """Run one program's tests, emitting one record per test (each carrying ``tag``)."""

    def emit(record):
        record.update(tag)
        _emit(channel, record)

    try:
        code = compile(source, "solution.py", "exec")
    except (SyntaxError, ValueError) as e:
        emit({"compile_error": type(e).__name__})
        return
    timeout, limit = spec["timeout"], spec.get("output_limit", 1 << 20)
    if spec["mode"] == "assert":  # the fallback protocol: the test code runs after the program
        preludes = spec.get("preludes") or [""] * len(spec["sources"])
        for i, (test, prelude) in enumerate(zip(spec["sources"], preludes, strict=True)):
            try:
                combined = compile(prelude + "\n" + source + "\n" + test, "solution.py", "exec")
            except (SyntaxError, ValueError) as e:
                emit({"i": i, "compile_error": type(e).__name__})
                return
            status, _ = _run(combined, None, None, None, timeout, limit)
            emit({"i": i, "status": status})
        return
    if spec["mode"] == "stdio":
        for i, text in enumerate(spec["inputs"]):
            path = os.path.abspath(".stdin")
            with open(path, "wb") as f:
                f.write(text.encode("utf-8"))
            status, out = _run(code, path, None, None, timeout, limit)
            emit({"i": i, "status": status, "out": out.decode("utf-8", "replace")})
        return
    calls = spec["calls"]

    def more_time(data, deadline):  # each call gets its own budget
        return time.monotonic() + timeout

    status, out = _run(code, None, calls, spec["fn"], timeout + 0.25, limit, more_time)
    lines = out.decode("utf-8", "replace").splitlines()
    for i in range(len(calls)):
        if i < len(lines):
            try:
                record = json.loads(lines[i])
            except ValueError:
                record = {"error": "malformed"}
            if not isinstance(record, dict):
                record = {"error": "malformed"}
            emit({"i": i, **record})
        else:
            emit({"i": i, "status": status if status != "ok" else "error"})
            break


def _private_channel():
    """Move the result channel off fd 1, so only this process holds it."""
    channel = io.FileIO(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    return channel


def main():
    """One program: spec on stdin, the program in ``solution.py``."""
    spec = json.loads(sys.stdin.buffer.read())
    channel = _private_channel()
    with open("solution.py", "rb") as f:
        source = f.read()
    try:
        source = source.decode("utf-8")
    except UnicodeDecodeError:
        _emit(channel, {"compile_error": "UnicodeDecodeError"})
        return
    run_job(spec, source, channel, {})


def _non_dumpable():
    """Forbid ptrace and /proc/<pid>/mem of this process and its forks (same uid or not)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def _sweep(keep):
    """Kill every other process this uid has in the sandbox, until none is left."""
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)  # every process we may signal, except ourselves
        except OSError:
            pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    break
            except ChildProcessError:
                break
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in keep]
        if not others:
            return


def serve():
    """The zygote: run jobs from stdin, one at a time, each in a fresh fork and directory.

    Between jobs every other process of the sandbox is killed and the job's directory is
    removed, so nothing a program starts or writes outlives its job.
    """
    _non_dumpable()
    channel = _private_channel()
    stdin = io.FileIO(0, "r", closefd=False)
    keep = {1, os.getpid()}
    buffer = b""
    _emit(channel, {"ready": True})
    while True:
        while b"\n" not in buffer:
            chunk = stdin.read(1 << 16)
            if not chunk:
                return
            buffer += chunk
        line, _, buffer = buffer.partition(b"\n")
        job = json.loads(line)
        if "cancel" in job:  # arrived after its job had finished
            continue
        tag = {"job": job["id"]}
        workdir = "/tmp/w/job"
        os.mkdir(workdir)
        done_r, done_w = os.pipe()  # closes when the job's process exits
        pid = os.fork()
        if pid == 0:
            try:
                os.close(done_r)
                os.chdir(workdir)
                run_job(job["spec"], job["program"], channel, tag)
            finally:
                os._exit(0)
        os.close(done_w)
        while True:
            ready, _, _ = select.select([0, done_r], [], [])
            if done_r in ready:
                break
            chunk = stdin.read(1 << 16)
            if not chunk:
                _sweep(keep)
                return
            buffer += chunk
            if b'"cancel"' in buffer.split(b"\n", 1)[0]:
                buffer = buffer.partition(b"\n")[2]
                break
        os.close(done_r)
        _sweep(keep)
        clean = _wipe("/tmp/w", keep={"runner.py"}) & _wipe("/tmp") & _wipe("/dev/shm")
        if not clean:  # something resisted removal: this sandbox must not serve another job
            _emit(channel, {"done": True, "retire": True, **tag})
            return
        _emit(channel, {"done": True, **tag})


def _wipe(root, keep=()):
    """Delete everything under ``root`` except ``keep`` names (mount points survive).

    Directories are made writable first (a program may have locked them). Returns whether
    ``root`` ended up holding nothing else.
    """
    try:
        names = os.listdir(root)
    except OSError:
        return True
    for name in names:
        path = os.path.join(root, name)
        if name in keep or os.path.ismount(path):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            try:
                os.chmod(path, 0o700)
            except OSError:
                pass
            _wipe(path)
            try:
                os.rmdir(path)
            except OSError:
                pass
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    left = [
        n for n in os.listdir(root) if n not in keep and not os.path.ismount(os.path.join(root, n))
    ]
    return not left


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        main()
