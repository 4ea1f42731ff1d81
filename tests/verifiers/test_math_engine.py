"""The math-verify tier: its speed-ups never change a verdict."""

from __future__ import annotations

import pytest
from math_verify import verify

from rolegym.verifiers import math_engine
from rolegym.verifiers.extract import last_boxed
from tests.verifiers.math_corpus import CORPUS


def _texts() -> list[str]:
    texts = {ref for _, _, ref, _ in CORPUS}
    texts |= {b for _, resp, _, _ in CORPUS if (b := last_boxed(resp)) is not None}
    return sorted(texts)


def test_two_stage_parse_equals_plain_parse() -> None:
    assert math_engine._TWO_STAGE
    math_engine._parse.cache_clear()
    for text in _texts():
        two_stage = math_engine._parse(text)
        math_engine._mv_parser.parse_latex_cached.cache_clear()
        plain = math_engine._plain_parse(text)
        assert [str(x) for x in two_stage] == [str(x) for x in plain], text


def test_numeric_shortcut_agrees_with_verify() -> None:
    pairs = [(ref, b) for _, resp, ref, _ in CORPUS if (b := last_boxed(resp)) is not None]
    pairs += [
        ("\\frac13", "0.333333"),
        ("\\frac13", "0.333"),
        ("\\pi", "3.14159"),
        ("50\\%", "0.5"),
    ]
    used = 0
    for ref, ans in pairs:
        gold, answer = math_engine._parse(ref), math_engine._parse(ans)
        if not gold or not answer:
            continue
        if math_engine._numbers_differ(gold[0], answer[0], {"gold": ref, "answer": ans}):
            used += 1
            assert not verify(list(gold), list(answer), timeout_seconds=None), (ref, ans)
    assert used >= 10  # the shortcut really is exercised


@pytest.mark.parametrize(
    ("gold", "answer", "differ"),
    [
        ("2", "3", True),
        ("\\frac13", "0.333333", False),
        ("\\sqrt{2}", "1.5", True),
        ("50\\%", "50", False),
        ("x", "y", False),
        ("(1,2)", "(1,3)", False),
        ("\\pi", "\\pi", False),
    ],
)
def test_numbers_differ(gold: str, answer: str, differ: bool) -> None:
    g, a = math_engine._parse(gold), math_engine._parse(answer)
    assert math_engine._numbers_differ(g[0], a[0], {"gold": gold, "answer": answer}) is differ
