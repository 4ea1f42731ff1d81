r"""Hard limits checked before any answer is parsed.

A policy under RL pressure will write answers that make a computer algebra system work
forever: power towers (``9^{9^{9^9}}``), factorials of huge numbers, sums with astronomical
bounds, thousands of nested braces. These are rejected here, by string inspection alone,
before anything is parsed; whatever slips through still meets the worker deadline.

Limits (an answer breaking one is graded incorrect with ``status="rejected"``):

- at most :data:`MAX_CHARS` characters and :data:`MAX_DEPTH` levels of ``{}``/``()``/``[]``;
- at most :data:`MAX_FRACS` ``\frac`` commands;
- no number with more than :data:`MAX_DIGITS` digits;
- no power whose value (estimated with logarithms, for numeric towers) has more than
  :data:`MAX_RESULT_DIGITS` digits;
- no factorial of a number above :data:`MAX_FACTORIAL` or of a parenthesised expression
  holding a power or a 4-digit number;
- no ``\sum`` / ``\prod`` whose numeric upper bound exceeds ``10**4``.
"""

from __future__ import annotations

import math
import re

from rolegym.verifiers.extract import match_brace

__all__ = ["MAX_CHARS", "check"]

MAX_CHARS = 512
MAX_DEPTH = 50
MAX_FRACS = 20
MAX_DIGITS = 1000
MAX_RESULT_DIGITS = 100_000
MAX_FACTORIAL = 1000

_DIGIT_RUN = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")
_FACTORIAL_OF_NUMBER = re.compile(r"(\d+)\s*!")
_BIG_OPERATOR = re.compile(r"\\(?:sum|prod)(?![A-Za-z])")
_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)?)")


def _depth(text: str) -> int:
    depth = deepest = 0
    for c in text:
        if c in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "})]":
            depth = max(0, depth - 1)
    return deepest


def _exponent_at(text: str, i: int) -> tuple[str, int] | None:
    """The exponent token starting at ``text[i]`` (after ``^``) and the index after it."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        return None
    if text[i] == "{":
        end = match_brace(text, i)
        return (text[i + 1 : end], end + 1) if end >= 0 else None
    m = _NUMBER.match(text, i)
    if m:
        return m.group(1), m.end()
    return text[i], i + 1


def _log10_value(expr: str) -> float | None:
    """log10 of a numeric power tower such as ``9^{9^9}``; ``None`` if not purely numeric."""
    expr = expr.strip()
    m = _NUMBER.match(expr)
    if not m:
        return None
    base = float(m.group(1))
    rest = expr[m.end() :].lstrip()
    if not rest:
        return math.log10(base) if base > 0 else 0.0
    if not rest.startswith("^"):
        return None
    exp = _exponent_at(rest, 1)
    if exp is None or rest[exp[1] :].strip():
        return None
    exp_log = _log10_value(exp[0])
    if exp_log is None:
        return None
    if base <= 1:
        return 0.0
    if exp_log > 300:  # the exponent alone has more than 300 digits
        return math.inf
    return (10.0**exp_log) * math.log10(base)


def _powers_too_big(text: str) -> bool:
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*\^", text):
        exp = _exponent_at(text, m.end())
        if exp is None:
            continue
        value = _log10_value(f"{m.group(1)}^{{{exp[0]}}}")
        if value is not None and value > MAX_RESULT_DIGITS:
            return True
        # A tower with a non-numeric top still explodes if its numeric part is huge.
        inner = _log10_value(exp[0])
        if inner is not None and inner > math.log10(MAX_RESULT_DIGITS):
            return True
    return False


def _factorial_too_big(text: str) -> bool:
    for m in _FACTORIAL_OF_NUMBER.finditer(text):
        if int(m.group(1)) > MAX_FACTORIAL:
            return True
    for i, c in enumerate(text):
        if c == "!" and i > 0 and text[i - 1] in ")}":
            # find the group the factorial applies to
            opener = "(" if text[i - 1] == ")" else "{"
            depth, j = 0, i - 1
            while j >= 0:
                if text[j] in ")}":
                    depth += 1
                elif text[j] in "({":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            group = text[max(j, 0) : i]
            if "^" in group or re.search(r"\d{4,}", group) or opener not in group:
                return True
    return False


def _big_operator_too_big(text: str) -> bool:
    for m in _BIG_OPERATOR.finditer(text):
        tail = text[m.end() : m.end() + 200]
        k = tail.find("^")
        if k < 0:
            continue
        exp = _exponent_at(tail, k + 1)
        if exp is None:
            continue
        value = _log10_value(exp[0])
        if value is not None and value > 4:
            return True
    return False


def check(answer: str) -> str | None:
    """Why ``answer`` must not be parsed, or ``None`` if it is within every limit."""
    if len(answer) > MAX_CHARS:
        return f"answer longer than {MAX_CHARS} characters"
    if _depth(answer) > MAX_DEPTH:
        return f"more than {MAX_DEPTH} levels of nesting"
    if answer.count("\\frac") + answer.count("\\dfrac") + answer.count("\\tfrac") > MAX_FRACS:
        return f"more than {MAX_FRACS} fractions"
    if _DIGIT_RUN.search(answer):
        return f"a number with more than {MAX_DIGITS} digits"
    if _powers_too_big(answer):
        return f"a power with more than {MAX_RESULT_DIGITS} digits"
    if _factorial_too_big(answer):
        return "a factorial too large to evaluate"
    if _big_operator_too_big(answer):
        return "a sum or product with a huge bound"
    return None
