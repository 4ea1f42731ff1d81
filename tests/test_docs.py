"""Text that states facts about the code keeps stating them: counts, commands, markers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("rolegym", "tests", "benchmarks") for p in sorted((ROOT / d).rglob("*.py"))]


def test_readme_hostile_program_count_is_the_suites() -> None:
    from tests.verifiers.test_code_hostile import HOSTILE

    found = re.search(
        r"test_code_hostile\.py` runs (\d+)\s+hostile programs", (ROOT / "README.md").read_text()
    )
    assert found, "the README no longer says how many hostile programs the suite runs"
    assert int(found.group(1)) == len(HOSTILE)


def test_cli_docstring_names_every_command() -> None:
    import rolegym.cli

    names = [c.name or c.callback.__name__ for c in rolegym.cli.app.registered_commands]
    doc = rolegym.cli.__doc__ or ""
    assert names and [n for n in names if f"``rolegym {n}" not in doc] == []


def test_no_type_ignore_comments_without_a_type_checker() -> None:
    """No type checker runs (scripts/test.sh), so a type-ignore comment would assert nothing."""
    marker = "type: " + "ignore"
    assert [f"{p.relative_to(ROOT)}" for p in SOURCES if marker in p.read_text("utf-8")] == []


def test_fmt_skip_only_holds_tables() -> None:
    """The formatter's skip marker only on a statement that ends a table literal (its bracket)."""
    marker = "# fmt: " + "skip"
    bad = []
    for path in SOURCES:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if marker in line and not re.search(r"[\]}]\s*" + marker + r"\s*$", line):
                bad.append(f"{path.relative_to(ROOT)}:{n}")
    assert bad == []


def test_package_docstrings_name_modules_that_exist() -> None:
    """``rolegym.baselines``' docstring names only modules that exist (it once went stale)."""
    import rolegym.baselines

    base = ROOT / "rolegym" / "baselines"
    named = re.findall(r"``(\w+)``", rolegym.baselines.__doc__ or "")
    modules = {p.stem for p in base.rglob("*.py")} | {p.name for p in base.iterdir() if p.is_dir()}
    assert named and [n for n in named if n not in modules] == []


def test_readme_python_blocks_compile() -> None:
    """Every ```python block of the README is valid Python (they are copied, not run)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert blocks
    for i, block in enumerate(blocks):
        compile(block, f"README.md python block {i}", "exec")
