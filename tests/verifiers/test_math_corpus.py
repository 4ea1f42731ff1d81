"""The golden corpus, and a differential test against math-verify itself."""

from __future__ import annotations

import importlib.util
from collections import Counter

import pytest

from rolegym.tasks import Task
from rolegym.verifiers import MathVerifier
from tests.verifiers.math_corpus import CORPUS
from tests.verifiers.math_peer import trl_style_grader

# Cases where rolegym deliberately disagrees with math-verify (run as TRL's accuracy reward
# runs it), keyed by (response tail, reference), with the reason. The corpus case itself tests
# rolegym's verdict; the differential test fails on any difference not listed here.
DEVIATIONS: dict[tuple[str, str], str] = {
    ("\\boxed{１２}.", "12"): "full-width digits are digits (Unicode NFKC)",
    ("\\boxed{٣}.", "3"): "Arabic-Indic digits are digits",
    (
        "\\boxed{\\dfrac12}.",
        "\\frac{1}{2}",
    ): "\\frac ab shorthand is read (TRL turns that repair off)",
    ("\\boxed{\\emptyset}.", "\\varnothing"): "\\varnothing and \\emptyset are the same set",
    ("\\boxed{\\varnothing}.", "\\emptyset"): "\\varnothing and \\emptyset are the same set",
    (
        "\\end{pmatrix}}.",
        "\\begin{pmatrix}0.5\\\\1\\end{pmatrix}",
    ): "\\frac12 inside a matrix is read",
    ("\\boxed{9=2}.", "2"): "an equation whose left side is not a variable is not a value",
    ("\\boxed{2=2}.", "2"): "an equation whose left side is not a variable is not a value",
    ("\\boxed{30°}.", "30"): "the degree sign is a unit, like ^\\circ",
    ("\\boxed{(C).}.", "C"): "a choice letter may carry parentheses and a period",
    ("<think>maybe \\boxed{7}</think>", "7"): "only text after </think> is graded",
    ("<think>it is \\boxed{7} I think", "7"): "an unfinished <think> block has no answer",
    ("\\boxed{5} wait, no: \\boxed{2}", "2"): "the last box wins (math-verify merges nearby boxes)",
    ("\\fbox{2}", "2"): "\\fbox counts like \\boxed",
}


def _items() -> list[tuple[Task, str]]:
    return [
        (Task(id=f"c{i}", prompt="p", answer=ref), resp)
        for i, (_, resp, ref, _) in enumerate(CORPUS)
    ]


def test_corpus_covers_every_category() -> None:
    assert len(CORPUS) >= 200
    counts = Counter(c for c, *_ in CORPUS)
    for category in (
        "fraction",
        "percent",
        "sets",
        "matrix",
        "equation",
        "units",
        "constants",
        "infinity",
        "choice",
        "extraction",
    ):
        assert counts[category] >= 8, category
    assert {exp for *_, exp in CORPUS} == {True, False}


def test_corpus_passes() -> None:
    verdicts = MathVerifier(cache=False).verify_many(_items())
    wrong = [
        (CORPUS[i], v.status, v.reason) for i, v in enumerate(verdicts) if v.correct != CORPUS[i][3]
    ]
    assert not wrong, wrong


def test_corpus_one_at_a_time_agrees_with_batch() -> None:
    v = MathVerifier(cache=False)
    batch = [x.correct for x in v.verify_many(_items())]
    single = [v.verify(t, r).correct for t, r in _items()]
    assert batch == single


def _math_verify_verdicts() -> list[bool | None]:
    grade = trl_style_grader()
    return [grade(reference, response) for _, response, reference, _ in CORPUS]


def test_differential_against_math_verify() -> None:
    theirs = _math_verify_verdicts()
    ours = [v.correct for v in MathVerifier(cache=False).verify_many(_items())]
    differ = {
        (CORPUS[i][1][-len(key[0]) :], CORPUS[i][2])
        for i in range(len(CORPUS))
        if ours[i] != theirs[i]
        for key in DEVIATIONS
        if CORPUS[i][1].endswith(key[0]) and CORPUS[i][2] == key[1]
    }
    undocumented = [
        (CORPUS[i][1][-60:], CORPUS[i][2], ours[i], theirs[i])
        for i in range(len(CORPUS))
        if ours[i] != theirs[i]
        and not any(CORPUS[i][1].endswith(k[0]) and CORPUS[i][2] == k[1] for k in DEVIATIONS)
    ]
    assert not undocumented, undocumented
    assert differ == set(DEVIATIONS), set(DEVIATIONS) - differ  # every listed deviation is real
    # rolegym is right wherever the two disagree (the corpus labels are the policy)
    assert all(ours[i] == CORPUS[i][3] for i in range(len(CORPUS)))


@pytest.mark.parametrize("key", sorted(DEVIATIONS))
def test_each_deviation_is_in_the_corpus(key: tuple[str, str]) -> None:
    assert any(resp.endswith(key[0]) and ref == key[1] for _, resp, ref, _ in CORPUS)


def test_the_peer_grader_is_test_code_not_package_code() -> None:
    assert importlib.util.find_spec("rolegym.verifiers.math_peer") is None
    assert callable(trl_style_grader)
