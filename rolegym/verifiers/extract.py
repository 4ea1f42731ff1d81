r"""Pulling answers out of model text: ``</think>``, ``\\boxed{}`` and fenced code.

Everything here is linear-time string scanning; nothing is evaluated.
"""

from __future__ import annotations

import re

__all__ = [
    "FALLBACKS",
    "after_thinking",
    "boxed_all",
    "code_blocks",
    "final_answer",
    "last_boxed",
    "last_code_block",
    "match_brace",
    "unfinished_thinking",
]

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[ \t]*\r?\n(.*?)```", re.DOTALL)
PYTHON_TAGS = frozenset({"python", "py", "python3", ""})


def unfinished_thinking(text: str) -> bool:
    """Whether a ``<think>`` block was opened and never closed (a truncated reasoning)."""
    opened = text.rfind("<think>")
    return opened >= 0 and text.find("</think>", opened) < 0


def after_thinking(text: str) -> str:
    """The text after the last ``</think>`` (all of it if there is none)."""
    cut = text.rfind("</think>")
    return text if cut < 0 else text[cut + len("</think>") :]


def match_brace(text: str, open_at: int) -> int:
    r"""Index of the ``}`` matching the ``{`` at ``open_at``, or -1.

    Escaped braces (``\\{`` and ``\\}``) are literal and do not count.
    """
    depth = 0
    i = open_at
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def boxed_all(text: str) -> list[str]:
    r"""Contents of every top-level ``\\boxed{...}`` / ``\\fbox{...}``, in order.

    Braces are matched, so ``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``; a box nested in
    a box is part of the outer one; an unclosed box is ignored.
    """
    found: list[str] = []
    i = 0
    while True:
        starts = [(p, cmd) for cmd in _BOX_COMMANDS if (p := text.find(cmd, i)) >= 0]
        if not starts:
            return found
        pos, cmd = min(starts)
        j = pos + len(cmd)
        while j < len(text) and text[j] in " \t":
            j += 1
        if j < len(text) and text[j] == "{":
            end = match_brace(text, j)
            if end < 0:
                return found
            found.append(text[j + 1 : end])
            i = end + 1
        else:
            i = j


def last_boxed(text: str) -> str | None:
    """Contents of the last top-level box in ``text``, stripped, or ``None``."""
    boxes = boxed_all(text)
    return boxes[-1].strip() if boxes else None


def code_blocks(text: str, languages: frozenset[str] = PYTHON_TAGS) -> list[str]:
    """Bodies of the closed fenced code blocks whose language tag is in ``languages``."""
    return [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in languages]


def last_code_block(text: str, languages: frozenset[str] = PYTHON_TAGS) -> str | None:
    """The last closed fenced Python block (an unclosed, truncated block does not count)."""
    blocks = code_blocks(text, languages)
    return blocks[-1] if blocks else None


_ANSWER_LINE = re.compile(
    r"^[ \t>*_#-]*(?:final\s+)?answer[ \t*_]*[:：][ \t*_]*(.+?)[ \t*_.]*$",
    re.IGNORECASE | re.MULTILINE,
)
_ANSWER_SENTENCE = re.compile(
    r"final answer is[ \t:]*\$?(.+?)\$?(?:\.\s|\.?\s*I hope|\.?$)", re.IGNORECASE | re.MULTILINE
)
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)

#: Fallback extractors, tried in this order when enabled and no box is found.
FALLBACKS: dict[str, re.Pattern[str]] = {
    "answer_line": _ANSWER_LINE,  # a line "Answer: 42" (also "Final answer:", markdown bold)
    "final_answer_sentence": _ANSWER_SENTENCE,  # "The final answer is 42. I hope it is correct."
    "hashes": _HASHES,  # GSM8K's "#### 42"
}


def final_answer(text: str, fallbacks: tuple[str, ...] = ()) -> tuple[str, str] | None:
    r"""The final answer of a math response and how it was found.

    The text after the last ``</think>`` is searched (nothing, if a ``<think>`` block is
    left open); the last top-level ``\boxed{}`` / ``\fbox{}`` wins; otherwise the enabled
    ``fallbacks`` (names from :data:`FALLBACKS`) are tried in order, each taking its last
    match.

    Returns:
        ``(answer, how)`` with ``how`` one of ``"boxed"`` or a fallback name, or ``None``.
    """
    if unfinished_thinking(text):
        return None
    body = after_thinking(text)
    boxed = last_boxed(body)
    if boxed is not None:
        return boxed, "boxed"
    for name in fallbacks:
        matches = FALLBACKS[name].findall(body)
        if matches and matches[-1].strip():
            return matches[-1].strip(), name
    return None
