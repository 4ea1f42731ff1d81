r"""Commas as separators and tuple equations: three misgrading classes found by math-verify.

1. A comma followed by a space separates list items: ``2, 500`` is two numbers, never 2500
   (a list must not pass as a number); ``2,500`` without a space stays a thousands separator.
2. A comma that cannot be a thousands separator (a leading ``0,`` group, or a group that is not
   three digits) is a decimal comma when the other side is a single number: ``0,111`` is 0.111.
   Two such forms against each other (``2,3`` and ``3,2``, lists of roots) are not read as
   numbers.
3. A tuple of variables equal to a tuple gives that tuple: ``(x, y) = (5, 8)`` answers
   ``(5, 8)``; equations that are not values (``9=2``, ``x=3=4``) stay wrong.
"""

from __future__ import annotations

import pytest

from rolegym.tasks import Task
from rolegym.verifiers import MathVerifier
from rolegym.verifiers.math import shutdown
from rolegym.verifiers.math_exact import decide, read_number

EXACT = MathVerifier(engine="exact", cache=False)


@pytest.fixture(scope="module")
def full() -> MathVerifier:
    v = MathVerifier(cache=False, workers=1)
    yield v
    shutdown()


def _grade(answer: str, reference: str, verifier: MathVerifier = EXACT):
    return verifier.verify(Task(id="t", prompt="p", answer=reference), f"\\boxed{{{answer}}}")


# ---------------------------------------------------------------- 1. comma + space is a list
@pytest.mark.parametrize(
    ("answer", "reference"),
    [
        ("2, 500", "2500"),
        ("2, 500", "2,500"),
        ("2,500", "2, 500"),
        ("1, 000, 000", "1000000"),
        ("1,000, 000", "1000000"),
        ("12, 345", "12345"),
        ("-2, 500", "-2500"),
        ("2, 500", "2500.0"),
        ("$2, 500$", "2500"),
        ("2,\n500", "2500"),
    ],
)
def test_a_list_with_spaces_is_not_a_number(answer: str, reference: str) -> None:
    verdict = _grade(answer, reference)
    assert verdict.correct is False, verdict
    assert verdict.status == "incorrect"  # decided here, not left unresolved


@pytest.mark.parametrize(
    ("answer", "reference"),
    [
        ("2,500", "2500"),
        ("2500", "2,500"),
        ("1,000,000", "1000000"),
        ("1,000,000", "1,000,000"),
        ("12,345.5", "12345.5"),
        ("2,\\!500", "2500"),
        ("32,\\! 349", "32349"),  # a typeset thousands group: ",\\!" then a space
        ("11,\\! 111,\\! 111,\\! 100", "11111111100"),
        ("2{,}500", "2500"),
        ("2, 500", "2, 500"),  # the same list
    ],
)
def test_thousands_separators_without_spaces_still_count(answer: str, reference: str) -> None:
    assert _grade(answer, reference).correct is True


def test_spaces_after_commas_inside_brackets_do_not_matter() -> None:
    pairs = [("(1, 2)", "(1,2)"), ("\\{1, 2\\}", "\\{1,2\\}"), ("[1, 2]", "[1,2]")]
    for answer, reference in pairs:
        verdict = _grade(answer, reference)
        assert (verdict.correct, verdict.detail["tier"]) == (True, "string"), verdict


def test_a_list_is_not_a_number_with_math_verify_either(full: MathVerifier) -> None:
    assert _grade("2, 500", "2500", full).correct is False
    assert _grade("1, 000, 000", "1000000", full).correct is False
    assert _grade("2, 500", "2, 500", full).correct is True


# ---------------------------------------------------------------- 2. decimal commas
@pytest.mark.parametrize(
    ("answer", "reference", "correct"),
    [
        ("0.111", "0,111", True),
        ("0,111", "0.111", True),
        ("111", "0,111", False),
        ("0,111", "111", False),
        ("0.5", "0,5", True),
        ("\\frac{1}{2}", "0,5", True),
        ("0,5", "\\frac12", True),
        ("1.22", "1,22", True),
        ("1000,99", "1000.99", True),
        ("100099", "1000,99", False),
        ("-0,25", "-\\frac{1}{4}", True),
        ("0,25", "-0.25", False),
        ("12,34", "1234", False),
        ("0,5\\%", "0.005", True),
    ],
)
def test_decimal_commas(answer: str, reference: str, correct: bool) -> None:
    verdict = _grade(answer, reference)
    assert verdict.correct is correct, verdict
    assert verdict.detail["tier"] == "number"


def test_a_leading_zero_group_is_not_a_thousands_group() -> None:
    assert read_number("0,111").value == read_number("0.111").value
    assert read_number("0,111").value != 111
    assert read_number("00,111") is None or read_number("00,111").value != 111
    assert read_number("1,000").value == 1000  # a thousands group: unchanged


def test_two_ambiguous_comma_forms_are_left_to_math_verify() -> None:
    # "2,3" and "3,2" may be lists of roots; reading both as decimals would fail them.
    assert decide("2,3", "3,2").correct is None
    assert decide("0,5", "5,0").correct is None
    assert decide("0,5", "0,5").correct is True  # the same spelling


# ---------------------------------------------------------------- 3. tuple equations
@pytest.mark.parametrize(
    ("answer", "reference", "correct"),
    [
        ("(x, y) = (5, 8)", "(5, 8)", True),
        ("(x,y)=(5,8)", "(5,8)", True),
        ("(a,b,c)=(1,2,3)", "(1,2,3)", True),
        ("(a, b, c) = (1, 2, 3)", "(1,2,3)", True),
        ("(p, q) = (3, 2)", "(3,2)", True),
        ("(x_1, x_2) = (5, 8)", "(5,8)", True),
        ("(\\alpha, \\beta) = (1, 2)", "(1,2)", True),
        ("\\left(x, y\\right) = \\left(5, 8\\right)", "(5,8)", True),
        ("(x, y) = (8, 5)", "(5, 8)", False),
        ("(x, y) = (5, 9)", "(5, 8)", False),
        ("(x, y) = (5, 8), (8, 5)", "(5, 8), (8, 5)", True),  # a list of solutions
    ],
)
def test_tuple_equations(answer: str, reference: str, correct: bool) -> None:
    verdict = _grade(answer, reference)
    assert verdict.correct is correct, verdict
    if correct:
        assert verdict.detail["tier"] == "equation"
    else:  # the right side is compared like any answer (here: left unresolved, wrong)
        assert verdict.detail["parsed"].startswith("("), verdict


@pytest.mark.parametrize(
    ("answer", "reference"),
    [
        ("9=2", "2"),
        ("2=2", "2"),
        ("x=3=4", "4"),
        ("x=9=2", "2"),
        ("\\{9=2\\}", "2"),
        ("(x, y) = (5, 8) = (5, 8)", "(5, 8)"),
        ("(5, 8) = (5, 8)", "(5, 8)"),
        ("(1, 2) = (5, 8)", "(5, 8)"),
        ("(x, 2) = (5, 8)", "(5, 8)"),
        ("(x, y) = (5, 8, 9)", "(5, 8, 9)"),
        ("(x, y, z) = (5, 8)", "(5, 8)"),
        ("(x, x) = (5, 8)", "(5, 8)"),
        ("(x, y) = 5", "5"),
        ("(x, y) = 5, 8", "5, 8"),
        ("(x+y) = 5", "5"),
        ("() = 5", "5"),
    ],
)
def test_equations_that_are_not_values_stay_wrong(answer: str, reference: str) -> None:
    verdict = _grade(answer, reference)
    assert (verdict.correct, verdict.detail["tier"]) == (False, "equation"), verdict


def test_tuple_equation_with_math_verify(full: MathVerifier) -> None:
    assert _grade("(x, y) = (5, 8)", "(5, 8)", full).correct is True
    assert _grade("(x, y) = (\\frac{10}{2}, 8)", "(5, 8)", full).correct is True
    assert _grade("(x, y) = (8, 5)", "(5, 8)", full).correct is False
    assert _grade("9=2", "2", full).correct is False


@pytest.mark.parametrize(
    ("answer", "reference", "correct"),
    [
        ("1, 2, 3", "1,2,3", True),
        ("1,2,3", "1, 2, 3", True),
        ("-2, 10, 7", "-2,10,7", True),
        ("12, 345, 678", "12,345,678", False),  # a list against a thousands-separated number
    ],
)
def test_lists_with_and_without_spaces(answer: str, reference: str, correct: bool) -> None:
    assert _grade(answer, reference).correct is correct
