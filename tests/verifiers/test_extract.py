"""Answer extraction: boxes by brace matching, thinking blocks, fenced code."""

from __future__ import annotations

import pytest

from rolegym.verifiers.extract import after_thinking, boxed_all, last_boxed, last_code_block


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{42}", "42"),
        ("a \\boxed{1} b \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("\\fbox{7}", "7"),
        ("\\boxed {8}", "8"),
        ("\\boxed{\\boxed{3}}", "\\boxed{3}"),
        ("\\boxed{unclosed", None),
        ("\\boxed{1} \\boxed{unclosed", "1"),
        ("no box", None),
        ("\\boxed", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


def test_boxed_all_and_thinking() -> None:
    assert boxed_all("\\boxed{1}\\fbox{2}\\boxed{3}") == ["1", "2", "3"]
    assert after_thinking("<think>\\boxed{1}</think> \\boxed{2}") == " \\boxed{2}"
    assert after_thinking("plain") == "plain"


def test_code_blocks() -> None:
    text = "```python\nprint(1)\n```\nthen\n```py\nprint(2)\n```\n```bash\nls\n```"
    assert last_code_block(text) == "print(2)\n"
    assert last_code_block("```\nx = 1\n```") == "x = 1\n"
    assert last_code_block("```python\nunclosed") is None
    assert last_code_block("```bash\nls\n```") is None


def test_huge_inputs_are_linear() -> None:
    assert last_boxed("\\boxed{" * 20_000 + "}" * 20_000) is not None
    assert last_code_block("```" * 50_000) is None
