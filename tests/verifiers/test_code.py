"""The code verifier: both test protocols, each verdict, and refusal without a sandbox."""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time
from importlib import resources

import pytest

from rolegym.tasks import Task, TestCase, load_fixture
from rolegym.verifiers import CodeVerifier, sandbox
from rolegym.verifiers.code import CALL_FAILED, outputs_match

pytestmark = pytest.mark.skipif(not sandbox.bwrap_available(), reason="bubblewrap cannot run here")

STDIO = Task(
    id="sum", prompt="p", family="code", tests=(TestCase("1 2\n", "3\n"), TestCase("5 5\n", "10\n"))
)
CALL = Task(
    id="add",
    prompt="p",
    family="code",
    meta={"fn_name": "add"},
    tests=(TestCase("[1, 2]", "3", "call"), TestCase("[2, 2]", "4", "call")),
)


def _code(src: str) -> str:
    return f"```python\n{src}\n```"


@pytest.fixture(scope="module")
def verifier() -> CodeVerifier:
    return CodeVerifier()


def test_fixture_reference_solutions_pass(verifier: CodeVerifier) -> None:
    tasks = list(load_fixture("code"))
    verdicts = verifier.verify_many([(t, _code(t.meta["reference_solution"])) for t in tasks])
    assert [v.status for v in verdicts] == ["AC"] * len(tasks)


@pytest.mark.parametrize(
    ("task", "program", "status"),
    [
        (STDIO, "a, b = map(int, input().split())\nprint(a + b)", "AC"),
        (STDIO, "print(3)", "WA"),
        (STDIO, "raise SystemExit(3)", "RE"),
        (STDIO, "while True:\n    pass", "TLE"),
        (STDIO, "x = bytearray(4 * 1024**3)", "MLE"),
        (STDIO, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", "OLE"),
        (CALL, "def add(a, b):\n    return a + b", "AC"),
        (CALL, "print('noise')\ndef add(a, b):\n    return a + b", "AC"),
        (CALL, "def add(a, b):\n    return a - b", "WA"),
        (CALL, "def add(a, b):\n    raise ValueError", "RE"),
        (CALL, "def plus(a, b):\n    return a + b", "RE"),
        (
            CALL,
            "class Eq:\n    def __eq__(self, o):\n        return True\n"
            "def add(a, b):\n    return Eq()",
            "RE",
        ),
        (CALL, "class I(int):\n    pass\ndef add(a, b):\n    return I(a + b)", "RE"),
    ],
)
def test_verdicts(verifier: CodeVerifier, task: Task, program: str, status: str) -> None:
    v = verifier.verify(task, _code(program))
    assert v.status == status, v
    assert v.correct is (status == "AC")


def test_no_code(verifier: CodeVerifier) -> None:
    v = verifier.verify(STDIO, "I would print the sum.")
    assert (v.status, v.correct) == ("no_code", False)


def test_sandbox_blocks_network_and_writes_outside_scratch() -> None:
    prog = (
        "import socket, os\n"
        "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1); print('net')\n"
        "except OSError:\n    print('nonet')\n"
        "try:\n    open('/etc/rolegym_owned', 'w'); print('wrote')\n"
        "except OSError:\n    print('readonly')\n"
        "print(os.getuid() != 0)\n"
        "open('scratch.txt', 'w').write('ok'); print(open('scratch.txt').read())\n"
    )
    r = sandbox.run_python({"p.py": prog}, "p.py")
    assert r.status == "ok", r
    assert r.stdout.decode().split() == ["nonet", "readonly", "True", "ok"]


def test_refuses_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bwrap_available", lambda: False)
    v = CodeVerifier(cache=False).verify(STDIO, _code("print(3)"))
    assert v.status == "SANDBOX_ERROR" and not v.correct
    assert "bubblewrap" in v.reason


def test_rlimits_mode_is_opt_in_and_reported() -> None:
    with pytest.warns(UserWarning, match="rlimits only"):
        v = CodeVerifier(isolation="rlimits").verify(
            STDIO, _code("a, b = map(int, input().split())\nprint(a + b)")
        )
    assert v.status == "AC" and v.detail["isolation"] == "rlimits"


def test_run_all_reports_pass_fraction() -> None:
    v = CodeVerifier(run_all=True).verify(STDIO, _code("print(3)"))
    assert v.detail["passed"] == 1 and v.detail["pass_fraction"] == 0.5 and v.status == "WA"


def test_memoises_identical_programs(verifier: CodeVerifier) -> None:
    text = _code("print(3)\n# memo")
    first = verifier.verify(STDIO, text)
    assert verifier.verify(STDIO, text) is first


@pytest.mark.parametrize(
    ("got", "expected", "same"),
    [
        ("3\n", "3", True),
        ("3  \n\n\n", "3\n", True),
        ("1.0000001\n", "1.0\n", True),
        ("1.1\n", "1.0\n", False),
        ("3\n", "4\n", False),
        ("10\n", "10.0000001\n", True),
        ("1e9\n", "1000000007\n", False),  # an integer answer needs that integer
        ("3.0\n", "3\n", False),
        ("a b\n", "a  b\n", True),
        ("1\n2\n", "1\n", False),
    ],
)
def test_output_comparison(got: str, expected: str, same: bool) -> None:
    assert outputs_match(got, expected) is same


def test_cache_is_shared_by_verifiers_of_a_group() -> None:
    text = _code("print(3)\n# shared")
    first = CodeVerifier().verify(STDIO, text)
    assert CodeVerifier().verify(STDIO, text) is first  # another env's verifier, same group
    assert CodeVerifier(run_all=True).verify(STDIO, text) is not first  # other settings
    other = Task(id="sum", prompt="p", family="code", tests=(TestCase("1 1\n", "2\n"),))
    assert CodeVerifier().verify(other, text) is not first  # same id, other tests


def test_reference_outputs_refuse_a_broken_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bwrap_available", lambda: False)
    with pytest.raises(RuntimeError, match="could not run the reference solution"):
        CodeVerifier(cache=False).call_outputs("def f(x):\n    return x\n", "f", [[1]])


# Other code of the program writes wrong result records everywhere while the function returns
# the right value: the verdict must follow the returned value, not the records.
_WRONG_RECORDS = (
    "import os, threading, time\n"
    "def spray():\n    for fd in range(3, 256):\n        try:\n"
    '            os.write(fd, b\'{"ok": 0}\\n{"ok": 0}\\n\')\n        except OSError:\n'
    "            pass\n"
    "started = threading.Event()\n"
    "def loop():\n    while True:\n        spray()\n        started.set()\n"
    "        time.sleep(0.005)\n"
    "threading.Thread(target=loop, daemon=True).start()\nstarted.wait()\n"
)


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_call_verdict_follows_the_returned_value(warm: bool) -> None:
    verifier = CodeVerifier(warm=warm, cache=False, max_workers=1)
    right = verifier.verify(CALL, _code(_WRONG_RECORDS + "def add(a, b):\n    return a + b"))
    assert right.status == "AC", right
    wrong = verifier.verify(CALL, _code(_WRONG_RECORDS + "def add(a, b):\n    return a * b"))
    assert wrong.status == "WA", wrong


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_call_protocol_semantics(warm: bool) -> None:
    verifier = CodeVerifier(warm=warm, cache=False, max_workers=1, run_all=True)
    # calls run one after another in one process: state persists between them
    counter = "seen = []\ndef add(a, b):\n    seen.append(1)\n    return len(seen) + 2"
    assert verifier.verify(CALL, _code(counter)).status == "AC"
    memory = "def add(a, b):\n    return len(bytearray(8 << 30))"
    assert verifier.verify(CALL, _code(memory)).status == "MLE"
    late = "def add(a, b):\n    return a + b\nimport os\nos._exit(0)"
    assert verifier.verify(CALL, _code(late)).status == "RE"
    # returned values cross back exactly: tuples as lists, anything not plain data fails
    pair = "def pair(x):\n    return {'k': (x, None, 1.5, True)} if x else {x}"
    outputs = verifier.call_outputs(pair, "pair", [[1], ["x"], [0]])
    assert outputs == [{"k": [1, None, 1.5, True]}, {"k": ["x", None, 1.5, True]}, CALL_FAILED]
    assert type(outputs[0]["k"][0]) is int and outputs[0]["k"][3] is True


def test_only_the_single_threaded_loader_or_its_main_threads_forks_may_serve_calls() -> None:
    path = resources.files("rolegym.verifiers").joinpath("runner.py")
    spec = importlib.util.spec_from_file_location("runner", str(path))
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    forked: list[int] = []
    done = threading.Event()

    def fork(wait: bool) -> None:
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        forked.append(pid)
        if wait:
            done.wait()

    fork(wait=False)  # on the main thread
    thread = threading.Thread(target=fork, args=(True,))
    thread.start()
    while len(forked) < 2:
        time.sleep(0.01)
    try:
        main_child, thread_child = forked
        me = os.getpid()
        assert runner._may_serve(me, main_child)
        assert not runner._may_serve(me, thread_child)  # forked by another thread
        assert not runner._may_serve(me, me)  # the loader, while another thread lives
    finally:
        done.set()
        thread.join()
        for pid in forked:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_assert_protocol_gets_the_whole_timeout(warm: bool) -> None:
    """An assert-protocol run has the same per-test time budget as stdio and call runs.

    Its wall deadline once ignored the tests (2 s whatever ``timeout_s``), so a program taking
    2.5 s of a 5 s budget timed out (fails on e9cfdce).
    """
    task = Task(
        id="slow",
        prompt="p",
        family="code",
        tests=(TestCase("assert add(1, 2) == 3", "", "assert"),),
    )
    verifier = CodeVerifier(warm=warm, cache=False, max_workers=1, timeout_s=5.0)
    slow = "import time\ntime.sleep(2.5)\ndef add(a, b):\n    return a + b"
    assert verifier.verify(task, _code(slow)).status == "AC"
