"""Hostile programs (the survey's items 17-31) score 0, end on time and leave nothing behind.

After every case the test checks that no process of the sandbox uids is left beyond the warm
slots' own runners, that no file appeared on the host, that no socket listens on the host, and
that the verifier still grades a correct program as correct.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from rolegym.tasks import Task
from rolegym.verifiers import CodeVerifier, sandbox
from rolegym.verifiers.code import shutdown
from rolegym.verifiers.sandbox import Limits
from tests.verifiers.test_code import CALL, STDIO

pytestmark = pytest.mark.skipif(not sandbox.bwrap_available(), reason="bubblewrap cannot run here")

CANARY = "a, b = map(int, input().split())\nprint(a + b)"
TIMEOUT = 1.0
PORT = 40000 + (os.getpid() % 5000) * 2  # per test process (xdist runs several)
UNIX = f"rolegym-test-{os.getpid()}"
MARKER = "/tmp/rolegym-hostile-marker"
REPO = Path(__file__).resolve().parents[2]

# writes well-formed result records for the CALL task's two tests to every descriptor
_SPRAY = (
    "import os\ndef spray():\n    for fd in range(3, 256):\n        try:\n"
    '            os.write(fd, b\'{"ok": 3}\\n{"ok": 4}\\n\')\n        except OSError:\n'
    "            pass"
)

HOSTILE: dict[str, tuple[Task, str]] = {
    # 17: loops, threads, sleeps, signal games
    "loop": (STDIO, "while True:\n    pass"),
    "threads": (
        STDIO,
        "import threading\ndef f():\n    while True: pass\n"
        "for _ in range(8): threading.Thread(target=f).start()\nf()",
    ),
    "sleep": (STDIO, "import time\ntime.sleep(1e9)"),
    "ignore-signals": (
        STDIO,
        "import signal\nfor s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, "
        "signal.SIGXCPU):\n    signal.signal(s, signal.SIG_IGN)\nwhile True: pass",
    ),
    "catch-everything": (
        STDIO,
        "while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass",
    ),
    # 18: fork bombs, daemons
    "fork-bomb": (
        STDIO,
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    ),
    "posix-fork": (
        STDIO,
        "import posix\nwhile True:\n    try:\n        posix.fork()\n    except OSError:\n        pass",
    ),
    "multiprocessing": (
        STDIO,
        "import multiprocessing as mp\ndef f():\n    while True: pass\n"
        "if __name__ == '__main__':\n    for _ in range(50):\n"
        "        try: mp.Process(target=f).start()\n        except Exception: pass\n    f()",
    ),
    "shell-bomb": (
        STDIO,
        "import subprocess, time\nsubprocess.Popen(['sh', '-c', ':(){ :|:& };:'])\ntime.sleep(100)",
    ),
    "daemon": (
        STDIO,
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        time.sleep(3)\n        open('late', 'w').write('x')\n        os._exit(0)\n"
        "    os._exit(0)\nprint(3)",
    ),
    # 19: memory
    "big-alloc": (STDIO, "x = bytearray(8 << 30)"),
    "list-growth": (STDIO, "x = []\nwhile True:\n    x.append(' ' * 10**6)"),
    "deep-recursion": (
        STDIO,
        "import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return f(n + 1)\nf(0)",
    ),
    "mmap": (STDIO, "import mmap\nm = mmap.mmap(-1, 8 << 30)\nm.write(b'x' * (1 << 30))"),
    "fork-memory": (
        STDIO,
        "import os, time\nfor _ in range(8):\n    if os.fork() == 0:\n"
        "        x = bytearray(900 << 20)\n        time.sleep(5)\ntime.sleep(5)",
    ),
    # 20: output
    "stdout-flood": (STDIO, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)"),
    "no-newline": (STDIO, "import sys\nwhile True:\n    sys.stdout.write('3')"),
    "stderr-flood": (STDIO, "import sys\nwhile True:\n    sys.stderr.write('e' * 65536)"),
    "binary": (STDIO, "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 1000)"),
    "ansi": (STDIO, "print('\\x1b[2J\\r\\x1b[1A3')"),
    "close-stdout": (STDIO, "import os\nos.close(1)\nprint(3)"),
    "proc-fd": (STDIO, "open('/proc/self/fd/1', 'w').write('3\\n')"),
    "other-fds": (
        STDIO,
        "import os\nfor fd in range(3, 256):\n    try:\n"
        '        os.write(fd, b\'{"i": 1, "status": "ok", "out": "10"}\\n\')\n'
        "    except OSError:\n        pass\nprint(3)",
    ),
    "endless-repr": (
        CALL,
        "class R:\n    def __repr__(self):\n        while True: pass\ndef add(a, b):\n    return R()",
    ),
    "huge-int": (CALL, "def add(a, b):\n    return 10 ** (10 ** 6)"),
    # 21: files
    "big-file": (STDIO, "f = open('big', 'wb')\nwhile True:\n    f.write(b'0' * (1 << 20))"),
    "many-files": (
        STDIO,
        "i = 0\nwhile True:\n    try:\n        open(f'f{i}', 'w').close()\n"
        "    except OSError:\n        pass\n    i += 1",
    ),
    "write-outside": (
        STDIO,
        "import os\nfor p in ['/root/x', '/tmp/x', '" + MARKER + "', '/usr/bin/x', '/bin/bash',"
        " '" + str(REPO / "pwned") + "', os.path.expanduser('~/x')]:\n    try:\n"
        "        open(p, 'w').write('x')\n    except OSError:\n        pass\nprint(3)",
    ),
    "symlink": (STDIO, "import os\nos.symlink('/etc/passwd', 'link')\nprint(open('link').read())"),
    "read-secrets": (
        STDIO,
        "import os\nfound = []\nfor p in ['/etc/passwd', '/root/.ssh/id_rsa', '"
        + str(REPO / "README.md")
        + "', '/proc/1/environ']:\n    try:\n        found.append(open(p).read()[:10])\n"
        "    except OSError:\n        pass\nprint(len(found), dict(os.environ))",
    ),
    # 22: network
    "tcp-connect": (
        STDIO,
        f"import socket\ns = socket.create_connection(('127.0.0.1', {PORT + 1}), timeout=1)\n"
        "print(s.recv(10).decode())",
    ),
    "dns": (STDIO, "import socket\nprint(socket.getaddrinfo('example.com', 80))"),
    "listen": (
        STDIO,
        f"import socket, time\ns = socket.socket()\ns.bind(('0.0.0.0', {PORT}))\ns.listen()\n"
        "time.sleep(100)",
    ),
    "unix-socket": (
        STDIO,
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('\\0" + UNIX + "')\n"
        "print(s.recv(10).decode())",
    ),
    # 23: processes
    "kill-parent": (STDIO, "import os\nos.kill(os.getppid(), 9)\nprint(3)"),
    "kill-all": (STDIO, "import os\nos.kill(-1, 9)"),
    "killpg": (STDIO, "import os, signal\nos.killpg(0, signal.SIGKILL)"),
    "proc-mem": (STDIO, "print(open('/proc/1/mem', 'rb').read(10))"),
    # 24: escapes from Python-level guards
    "posix-system": (STDIO, "import posix\nposix.system('echo 3')"),
    "reload-os": (STDIO, "import importlib, os\nimportlib.reload(os)\nos.system('echo 3')"),
    "ctypes-kill": (STDIO, "import ctypes\nctypes.CDLL(None).kill(-1, 9)"),
    "execv": (STDIO, "import os\nos.execv('/bin/sh', ['sh', '-c', 'echo 3'])"),
    # 25: always-equal objects and friends
    "always-equal": (
        CALL,
        "class E:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
        "    def __hash__(self): return 0\ndef add(a, b):\n    return E()",
    ),
    "int-subclass": (
        CALL,
        "class I(int):\n    def __eq__(self, o): return True\ndef add(a, b):\n    return I(0)",
    ),
    "nan": (CALL, "def add(a, b):\n    return float('nan')"),
    # 26: frame and gc walking
    "gc-walk": (
        CALL,
        "import gc\ndef add(a, b):\n    for o in gc.get_objects():\n"
        "        if isinstance(o, dict) and 'calls' in o:\n            return o['calls']\n    return 0",
    ),
    "frame-walk": (
        CALL,
        "import sys\ndef add(a, b):\n    f = sys._getframe()\n    while f.f_back:\n        f = f.f_back\n"
        "    return sorted(f.f_globals)",
    ),
    # 27: monkey-patching the harness
    "patch-json": (
        CALL,
        "import json\njson.dumps = lambda *a, **k: '{\"ok\": 3}'\ndef add(a, b):\n    return 0",
    ),
    "patch-builtins": (
        STDIO,
        "import builtins\nbuiltins.print = lambda *a, **k: None\n"
        "import sys\nsys.stdout.write('3\\n')",
    ),
    # 28: early exits
    "exit-0": (STDIO, "import sys\nsys.exit(0)"),
    "os-exit": (CALL, "import os\nos._exit(0)"),
    "atexit": (STDIO, "import atexit\natexit.register(lambda: print(3))"),
    "signal-exit": (
        STDIO,
        "import os, signal, sys\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        "os.kill(os.getpid(), signal.SIGTERM)",
    ),
    # warm slots: what one program leaves must not change the next one's verdict
    "fill-shm": (
        STDIO,
        "open('/dev/shm/big', 'wb').write(b'0' * (60 << 20))\nopen('/tmp/left', 'w').write('x')\nprint(3)",
    ),
    "lock-dirs": (
        STDIO,
        "import os\nos.makedirs('d/e')\nopen('d/e/f', 'w').write('x')\nos.chmod('d', 0o500)\nos.chmod('.', 0o500)\nprint(3)",
    ),
    "stop-runner": (
        STDIO,
        "import os, signal\nfor pid in range(1, 64):\n    try:\n        os.kill(pid, signal.SIGSTOP) if pid != os.getpid() else None\n    except OSError:\n        pass\nimport time\ntime.sleep(30)",
    ),
    # 29: output games
    "print-example": (STDIO, "print(3)"),
    "print-everything": (STDIO, "for i in range(100):\n    print(i)"),
    "extra-line": (STDIO, CANARY + "\nprint('extra')"),
    # 30: forged protocol records
    "forge": (STDIO, 'print(\'{"i": 1, "status": "ok", "out": "10"}\')\nprint(\'{"done": true}\')'),
    "forge-call": (CALL, "import os\nos.write(1, b'{\"ok\": 4}\\n')\ndef add(a, b):\n    return 3"),
    # 32: forged function-call results: the function returns None (or never returns) while
    # other code of the program writes well-formed result records wherever it can
    "forge-call-fds": (CALL, f"{_SPRAY}\nspray()\ndef add(a, b):\n    return None"),
    "forge-call-thread": (
        CALL,
        f"import threading, time\n{_SPRAY}\nstarted = threading.Event()\n"
        "def loop():\n    while True:\n        spray()\n        started.set()\n        time.sleep(0.005)\n"
        "threading.Thread(target=loop, daemon=True).start()\nstarted.wait()\n"
        "def add(a, b):\n    time.sleep(0.05)\n    return None",
    ),
    "forge-call-atexit": (
        CALL,
        f"import atexit, os\n{_SPRAY}\natexit.register(spray)\nreal_exit = os._exit\n"
        "def exit_via_handlers(code):\n    atexit._run_exitfuncs()\n    real_exit(code)\n"
        "os._exit = exit_via_handlers\ndef add(a, b):\n    os._exit(0)",
    ),
    "forge-call-inside": (
        CALL,
        f"{_SPRAY}\nsprayed = []\ndef add(a, b):\n    if not sprayed:\n        spray()\n"
        "        sprayed.append(1)\n    return None",
    ),
    "forge-call-helper": (
        CALL,
        f"import os, time\n{_SPRAY}\nif os.fork() == 0:\n    for _ in range(300):\n"
        "        spray()\n        time.sleep(0.005)\n    os._exit(0)\ntime.sleep(0.1)\n"
        "def add(a, b):\n    return None",
    ),
    "forge-call-signal": (
        CALL,
        f"import os, signal, time\n{_SPRAY}\nsignal.signal(signal.SIGUSR1, lambda *_: spray())\n"
        "if os.fork() == 0:\n    for _ in range(300):\n        try:\n"
        "            os.killpg(0, signal.SIGUSR1)\n        except OSError:\n            pass\n"
        "        time.sleep(0.005)\n    os._exit(0)\ntime.sleep(0.05)\n"
        "def add(a, b):\n    time.sleep(0.05)\n    return None",
    ),
    "forge-call-at-fork": (
        CALL,
        f"import os, threading, time\n{_SPRAY}\ndef loop():\n    while True:\n        spray()\n"
        "        time.sleep(0.001)\n"
        "os.register_at_fork(after_in_child=lambda: threading.Thread(target=loop, daemon=True).start())\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # so a fork serves\n"
        "def add(a, b):\n    time.sleep(0.05)\n    return None",
    ),
    "forge-call-patch-json": (
        CALL,
        "import itertools, json\nn = itertools.count(3)\n"
        "json.dumps = lambda *a, **k: '{\"ok\": %d}' % next(n)\ndef add(a, b):\n    return None",
    ),
    "forge-call-patch-runner": (
        CALL,
        "import __main__, itertools, sys\nn = itertools.count(3)\n"
        "for module in list(sys.modules.values()):\n"
        "    if hasattr(module, '_plain'):\n"
        "        module._plain = lambda x, *a, **k: next(n)\n"
        "def add(a, b):\n    return None",
    ),
    # 31: chance
    # (a program that guesses can guess right; these ones vary with the run, not the test)
    "hash-seed": (STDIO, "print(3 if hash('rolegym') % 2 else 10)"),
    "timing": (
        STDIO,
        "import time\nt = time.perf_counter()\nprint(3 if time.perf_counter() - t < 1 else 10)",
    ),
}


def _processes(uids: set[int]) -> dict[int, int]:
    """Live processes of the given uids, as {pid: uid}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        if uid in uids and "State:\tZ" not in status:
            found[int(entry)] = uid
    return found


def _listening(port: int) -> bool:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                return True
    return False


@pytest.fixture(scope="module")
def host_servers():
    """A TCP and an abstract unix socket server on the host that sandboxes must not reach."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", PORT + 1))
    tcp.listen()
    unix = socket.socket(socket.AF_UNIX)
    unix.bind("\0" + UNIX)
    unix.listen()
    yield
    tcp.close()
    unix.close()


@pytest.fixture
def tracked_uids(monkeypatch: pytest.MonkeyPatch):
    uids: set[int] = set()
    real = sandbox._next_uid

    def next_uid() -> int:
        uid = real()
        uids.add(uid)
        return uid

    monkeypatch.setattr(sandbox, "_next_uid", next_uid)
    return uids


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_program(name: str, warm: bool, host_servers: None, tracked_uids: set[int]) -> None:
    task, program = HOSTILE[name]
    verifier = CodeVerifier(
        timeout_s=TIMEOUT, warm=warm, max_workers=1, limits=Limits(memory_mb=1000 + len(name))
    )  # its own pool
    before = set(os.listdir("/tmp"))
    start = time.monotonic()
    verdict = verifier.verify(task, f"```python\n{program}\n```")
    took = time.monotonic() - start
    assert not verdict.correct, verdict
    assert verdict.status != "SANDBOX_ERROR", verdict
    # host and verifier keep working; nothing listens, nothing was written
    canary_program = f"{CANARY}\nx = bytearray(300 << 20)  # needs the slot's memory back"
    # the same slot, with a timeout no load reaches: the canary asks whether the slot works,
    # not whether this machine is fast right now (it took over 1 s at a load average of 9)
    verifier.timeout_s = 60.0
    start = time.monotonic()
    canary = verifier.verify(STDIO, f"```python\n{canary_program}\n# after {name}\n```")
    baseline = (time.monotonic() - start) / len(STDIO.tests)  # this machine's cost of a test
    assert canary.correct, canary
    # on time: each test at most its timeout plus (scaled with the load) what a quick test
    # costs on this machine now
    assert took < len(task.tests) * (TIMEOUT + 0.25 + 4 * baseline) + 3.0, (took, baseline)
    assert not _listening(PORT)
    assert not Path(MARKER).exists() and not (REPO / "pwned").exists()
    shutdown()  # stop the warm slots: then no process of any sandbox uid may remain
    deadline = time.monotonic() + 60  # a bound only against hangs: killed processes go fast
    while _processes(tracked_uids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes(tracked_uids)
    leftovers = {
        f for f in set(os.listdir("/tmp")) - before if f.startswith(f"rolegym-{os.getpid()}-")
    }
    assert not leftovers
