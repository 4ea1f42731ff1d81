r"""The exact tier of the math verifier: canonical strings, exact numbers, letters, equations.

It decides most answers in microseconds and hands the rest to math-verify. Its rules, each a
documented policy:

- **Canonical strings.** Both sides are canonicalised (invisible control and format
  characters dropped, Unicode NFKC, other decimal digits to ASCII, no ``$`` or ``\$``,
  ``\left``/``\right``, spacing commands or ``\displaystyle``; ``\dfrac`` and ``\tfrac``
  to ``\frac``; ``\text{...}``-style wrappers unwrapped; degree marks dropped;
  ``\varnothing`` to ``\emptyset``; no whitespace; no trailing period). Equal canonical
  strings are equal answers.
- **Numbers.** Integers, decimals, ``a/b``, ``\frac{a}{b}``, ``\frac ab``, thousands
  separators (``1,000``; a parenthesised ``(1,000)`` is a tuple) and a trailing percent sign
  are read as exact rationals. **Percent rule**: ``x\%`` stands for both ``x`` and ``x/100``,
  so ``50\%`` equals ``50`` and ``0.5``, in either direction; ``50`` never equals ``0.5``.
  Two numbers whose values are exactly representable as decimals are compared exactly
  (``3.0000001`` is not ``3``). A decimal against a fraction without a finite decimal
  expansion (``0.333333`` against ``\frac13``) goes to math-verify, which rounds to 6 places.
- **Commas.** A comma followed by a space separates list items: ``2, 500`` is two numbers,
  never 2500, so a bare list of numbers against a single number is wrong. Without a space,
  groups of three digits after a first group of one to three digits not starting with ``0``
  are a thousands separator (``2,500``, ``1,000,000``; also ``2{,}500`` and ``2,\! 500``,
  as LaTeX typesets them); any other single comma between digits (a leading ``0,`` group or
  a group that is not three digits: ``0,111``, ``0,5``, ``1000,99``) is a decimal comma
  when the other side is a single number. Two such forms against each other (``2,3`` and
  ``3,2``, perhaps lists of roots) go to math-verify. Inside brackets, spaces after commas
  do not matter (``(1, 2)`` is ``(1,2)``).
- **Multiple choice.** A reference that is a single capital letter A-J is a choice label; the
  answer must be one letter (``C``, ``(C)``, ``\text{(C)}``, ``c``), so letter spam
  (``A,B,C,D``) is wrong.
- **Equation for a value.** When the reference has no ``=`` and the answer does, the answer
  counts only if it is one top-level equation whose left side is a variable name (``x = 2``
  for ``2``) or a parenthesised tuple of distinct variable names whose right side is a
  tuple of as many items or a list of tuples (``(x, y) = (5, 8)`` for ``(5, 8)``); its
  right side is then compared. ``9 = 2``, ``x = 9 = 2``, ``\{9 = 2\}`` for ``2`` and
  ``(1, 2) = (5, 8)`` for ``(5, 8)`` are wrong (math-verify accepts the first three: false
  positives).
- **Scripts.** Superscript digits are exponents (``2⁵`` is ``2^{5}``), subscripts are
  subscripts; other scripts' decimal digits are digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Exact", "canonical", "decide", "read_number", "strip_invisible"]

_STRIP = re.compile(
    r"\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\displaystyle|\\[!,;:]|\\q?quad(?![a-zA-Z])"
)
_WRAPPER = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°")
_INT = r"\d+"
_FRAC = re.compile(r"^\\frac\{(-?\d+)\}\{(-?\d+)\}$|^\\frac(\d)(\d)$")
_SLASH = re.compile(r"^(-?\d+)/(-?\d+)$")
_DECIMAL = re.compile(r"^(\d+\.?\d*|\.\d+)$")
_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^(\d+),(\d+)$")  # one comma, not thousands: checked after them
_NUMBER_LIST = re.compile(r"^[-+]?[\d.]+(?:, ?[-+]?[\d.]+)+$")  # a bare list when it has ", "
_LIST_COMMA = re.compile(r"(?<=\d),\s+(?=[-+]?\d)")  # not ",\! 111": a typeset thousands group
_KEPT_SPACE = "\x00"  # a placeholder: strip_invisible has removed every NUL
_LETTER = re.compile(r"^\(?([A-Ja-j])\)?\.?$")
_NAME = re.compile(r"^(?:[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?|\\[A-Za-z]+|[A-Za-z]\([A-Za-z]\))$")
_MAX_NUMBER_CHARS = 200


def strip_invisible(text: str) -> str:
    r"""Drop control and format characters (NUL, zero-width spaces, bidi overrides).

    Tabs and line breaks are whitespace, not invisible: ``2,\n500`` keeps its separator.
    """
    return "".join(
        c for c in text if c in "\t\n\r" or unicodedata.category(c) not in ("Cc", "Cf", "Cs")
    )


_SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SCRIPTS = re.compile(r"([⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+)|([₀₁₂₃₄₅₆₇₈₉]+)")


def _scripts(text: str) -> str:
    """Superscript digits become ``^{...}`` and subscripts ``_{...}``.

    NFKC alone would flatten ``2⁵`` into ``25``.
    """
    return _SCRIPTS.sub(
        lambda m: (
            "^{" + m.group(1).translate(_SUPER) + "}"
            if m.group(1)
            else "_{" + m.group(2).translate(_SUB) + "}"
        ),
        text,
    )


def _ascii_digits(text: str) -> str:
    """Decimal digits of other scripts (category Nd: full-width, Arabic-Indic) to ASCII."""
    return "".join(
        str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.category(c) == "Nd" else c
        for c in text
    )


def canonical(answer: str) -> str:
    """A canonical spelling of an answer for string comparison (see the module docstring)."""
    s = _ascii_digits(unicodedata.normalize("NFKC", _scripts(strip_invisible(answer))))
    s = s.replace("\\$", "").replace("$", "")  # currency signs, then math delimiters
    s = s.replace("\\varnothing", "\\emptyset").replace("\\%", "%")
    s = _mark_list_commas(s)  # before spacing commands go: "11,\\! 111" is one number
    s = _STRIP.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _WRAPPER.sub(r"\1", s)
    s = _DEGREES.sub("", s)
    s = "".join(s.split()).rstrip(".").replace(_KEPT_SPACE, " ")
    while s.startswith("{") and s.endswith("}") and _balanced(s[1:-1]):
        s = s[1:-1]
    return s


def _mark_list_commas(s: str) -> str:
    r"""Keep the space of each comma-space between numbers outside brackets (``2, 500``).

    Removing it would turn a list of two numbers into a thousands-separated one. Inside
    parentheses, square brackets and ``\{...\}`` a comma never is a thousands separator,
    so spaces there are dropped as everywhere else; plain TeX braces do not count as brackets.
    """
    parts: list[str] = []
    depth = pos = 0
    for m in _LIST_COMMA.finditer(s):
        depth += _bracket_depth(s[pos : m.start()])
        parts += [s[pos : m.start()], "," + _KEPT_SPACE if depth <= 0 else ","]
        pos = m.end()
    return "".join(parts) + s[pos:]


def _bracket_depth(s: str) -> int:
    r"""Net count of opening brackets in ``s``: ``(``, ``[``, ``\{`` up; their closers down."""
    s = s.replace("\\{", "(").replace("\\}", ")")
    return sum(c in "([" for c in s) - sum(c in ")]" for c in s)


def _balanced(s: str) -> bool:
    depth = 0
    for c in s:
        depth += c == "{"
        depth -= c == "}"
        if depth < 0:
            return False
    return depth == 0


@dataclass(frozen=True)
class Number:
    """An exact number read from an answer."""

    value: Fraction
    decimal: bool  # written with a decimal point (or a decimal comma)
    percent: bool  # written with a trailing percent sign
    comma: bool = False  # written with a decimal comma, which might also be a list (``2,3``)

    def readings(self) -> set[Fraction]:
        """The values it may stand for (a percentage stands for ``x`` and ``x/100``)."""
        return {self.value, self.value / 100} if self.percent else {self.value}


def read_number(text: str) -> Number | None:
    """Read a canonical answer as an exact :class:`Number`, or ``None``."""
    s = text
    if len(s) > _MAX_NUMBER_CHARS:
        return None
    percent = s.endswith("%")
    s = s.removesuffix("%")
    sign = 1
    if s.startswith("-"):
        sign, s = -1, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    s = s.replace("{,}", ",")  # LaTeX's thousands separator: 14{,}916
    comma = False
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    elif m := _DECIMAL_COMMA.match(s):
        s, comma = f"{m.group(1)}.{m.group(2)}", True
    if _DECIMAL.match(s):
        return Number(sign * Fraction(s), "." in s, percent, comma)
    m = _SLASH.match(s) or _FRAC.match(s)
    if m:
        num, den = (g for g in m.groups() if g is not None)
        if int(den) == 0:
            return None
        return Number(sign * Fraction(int(num), int(den)), False, percent)
    return None


def _terminating(q: Fraction) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _number_list(text: str) -> bool:
    """Whether a canonical answer is a bare list of numbers with a comma-space (``2, 500``)."""
    return ", " in text and bool(_NUMBER_LIST.match(text))


def _same_list(ref: str, ans: str) -> bool:
    """The same list with and without spaces after commas (``1, 2, 3`` and ``1,2,3``).

    Not when, without the spaces, it reads as one number: ``2, 500`` is not ``2,500``.
    """
    if ", " not in ref + ans:
        return False
    tight = ref.replace(", ", ",")
    return tight == ans.replace(", ", ",") and read_number(tight) is None


def _tuple_items(text: str) -> list[str] | None:
    """The top-level items of a parenthesised tuple ``(a,b,...)``, or ``None`` if it is not one."""
    if not (text.startswith("(") and text.endswith(")")):
        return None
    items, depth, start = [], 0, 1
    for i, c in enumerate(text):
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
            if depth == 0 and i < len(text) - 1:
                return None  # the first parenthesis closes before the end: "(a)+(b)"
        elif c == "," and depth == 1:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:-1])
    return items


def _names_a_value(lhs: str, rhs: str) -> bool:
    """Whether ``lhs = rhs`` gives a value: a variable, or a tuple of distinct ones to tuples.

    A tuple of names takes one tuple of as many items (``(x,y)=(5,8)``) or a list of tuples
    (``(x,y)=(5,8),(8,5)``); anything without a parenthesis on the right is refused.
    """
    if _NAME.match(lhs):
        return True
    names, values = _tuple_items(lhs), _tuple_items(rhs)
    if names is None or len(names) < 2 or len(set(names)) != len(names):
        return False
    if not all(_NAME.match(name) for name in names):
        return False
    return len(values) == len(names) if values is not None else rhs.startswith("(")


def _top_level_equals(text: str) -> int:
    depth = 0
    for i, c in enumerate(text):
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif c == "=" and depth == 0 and text[i - 1 : i] not in ("<", ">", "!", "\\"):
            return i
    return -1


@dataclass(frozen=True)
class Exact:
    """What the exact tier concluded.

    Attributes:
        correct: The decision, or ``None`` to defer to math-verify.
        tier: Which rule decided (``"string"``, ``"number"``, ``"choice"``, ``"equation"``).
        answer: The answer to hand to math-verify when deferring (an equation's right side).
        detail: Parsed forms, for the verdict.
    """

    correct: bool | None
    tier: str
    answer: str
    detail: dict[str, str]


def decide(reference: str, answer: str) -> Exact:
    """Apply the exact tier's rules to ``answer`` against ``reference``."""
    ref, ans = canonical(reference), canonical(answer)
    detail = {"parsed": ans, "reference": ref}
    if ref == ans or _same_list(ref, ans):
        return Exact(True, "string", answer, detail)
    if len(ref) == 1 and "A" <= ref <= "J":
        m = _LETTER.match(ans)
        return Exact(bool(m) and m.group(1).upper() == ref, "choice", answer, detail)
    engine_answer = _scripts(answer)
    eq = _top_level_equals(ans)
    if "=" in ans and "=" not in ref and (eq < 0 or ans.count("=") > 1):
        return Exact(False, "equation", answer, detail)  # '\\{9=2\\}', 'x=9=2': not a value
    if eq >= 0 and _top_level_equals(ref) < 0:
        lhs, rhs = ans[:eq], ans[eq + 1 :]
        if not _names_a_value(lhs, rhs):
            return Exact(False, "equation", answer, detail)
        raw_eq = _top_level_equals(engine_answer)
        engine_answer = engine_answer[raw_eq + 1 :] if raw_eq >= 0 else rhs
        ans = rhs
        detail = {"parsed": ans, "reference": ref}
        if ans == ref:
            return Exact(True, "equation", engine_answer, detail)
    n_ref, n_ans = read_number(ref), read_number(ans)
    for number, other in ((n_ref, ans), (n_ans, ref)):
        if number is not None and not number.comma and _number_list(other):
            return Exact(False, "number", engine_answer, detail)  # a list is not a number
    if n_ref is None or n_ans is None or (n_ref.comma and n_ans.comma):
        return Exact(None, "engine", engine_answer, detail)
    detail = {"parsed": str(n_ans.value), "reference": str(n_ref.value)}
    if n_ref.readings() & n_ans.readings():
        return Exact(True, "number", engine_answer, detail)
    mixed = (n_ref.decimal or n_ans.decimal) and not all(
        _terminating(q) for q in n_ref.readings() | n_ans.readings()
    )
    if mixed:
        return Exact(None, "engine", engine_answer, detail)
    return Exact(False, "number", engine_answer, detail)
