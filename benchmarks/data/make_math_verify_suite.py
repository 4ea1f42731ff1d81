r"""Convert Math-Verify's own labelled test cases into ``math_verify_suite.jsonl``.

Math-Verify's test-suite (https://github.com/huggingface/Math-Verify, ``tests/*.py``) holds
``(gold, pred, expected)`` cases written by its authors as ``pytest.mark.parametrize`` lists.
This script reads those lists from a Git checkout at a given commit with :mod:`ast` (nothing
is imported or run; a case that is not a plain literal is counted and left out) and writes one
JSON object per case, after a first line of provenance (``{"_meta": ...}``).

Each case keeps the upstream fields verbatim (``gold``, ``pred``, ``expected``, and the options
its test passes to ``verify``) and adds what rolegym's protocol needs, a reference answer and a
response whose final answer is boxed:

- ``reference``: the gold's last ``\boxed{}`` if it has one, else the gold without its ``$``,
  ``\(...\)`` or ``\[...\]`` delimiters when it is one math span, else the gold as written
  when it has no delimiter at all;
- ``response``: the prediction as written when it holds a ``\boxed{}``; the prediction's one
  math span (or the whole prediction, when it has no delimiter and no letters) put in a box
  otherwise;
- ``scope``: ``"boxed"`` or ``"answer"`` (the two above; these cases are scored),
  ``"free_text"`` (the prediction is prose without a box: a test of math-verify's unanchored
  extraction, which rolegym does not do by design), ``"gold_text"`` (the gold is prose around
  math) or ``"option"`` (the test runs ``verify`` with a non-default precision, ``strict=False``
  or ``allow_set_relation_comp=True``, settings neither grader uses); these are not scored.

Run: ``python benchmarks/data/make_math_verify_suite.py --repo PATH_TO_GIT_DIR --commit SHA``.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from rolegym.verifiers.extract import last_boxed

FILES = (
    "tests/test_all.py",
    "tests/test_boxed.py",
    "tests/test_numina_cases.py",
    "tests/test_open_thoughts.py",
    "tests/test_strict.py",
    "tests/test_yujianll.py",
)
DEFAULTS = {"precision": 6, "strict": True, "allow_set_relation_comp": False}
_SPANS = (
    re.compile(r"^\s*\$\$?([^$]+?)\$?\$\s*$", re.DOTALL),
    re.compile(r"^\s*\\\((.+?)\\\)\s*$", re.DOTALL),
    re.compile(r"^\s*\\\[(.+?)\\\]\s*$", re.DOTALL),
)
_DELIMITERS = re.compile(r"\$|\\\(|\\\[")


@dataclass
class Config:
    """Conversion settings."""

    repo: Path
    """a Git directory (bare or not) of huggingface/Math-Verify"""
    commit: str = "HEAD"
    """the commit whose tests are converted"""
    out: Path = Path(__file__).parent / "math_verify_suite.jsonl"
    """where to write the cases"""


def _one_span(text: str) -> str | None:
    """The inside of ``text`` when it is exactly one math span, else ``None``."""
    for pattern in _SPANS:
        m = pattern.match(text)
        if m:
            return m.group(1).strip()
    return None


def _boxed(text: str) -> bool:
    return "\\boxed" in text or "\\fbox" in text


def reference_of(gold: str) -> str | None:
    """The reference answer rolegym gets for a gold string (see the module docstring)."""
    if _boxed(gold):
        return last_boxed(gold)
    span = _one_span(gold)
    if span is not None:
        return span
    return gold.strip() if not _DELIMITERS.search(gold) else None


def response_of(pred: str) -> tuple[str, str]:
    """``(response, scope)`` for a prediction (see the module docstring)."""
    if _boxed(pred):
        return pred, "boxed"
    span = _one_span(pred)
    if span is None and not _DELIMITERS.search(pred) and not re.search(r"[A-Za-z]", pred):
        span = pred.strip()
    if span is None:
        return pred, "free_text"
    return f"\\boxed{{{span}}}", "answer"


def _call_options(func: ast.FunctionDef) -> dict[str, Any]:
    """Keyword options the test passes to ``compare_strings`` (names of parameters kept)."""
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "compare_strings":
            out: dict[str, Any] = {}
            for kw in node.keywords:
                if isinstance(kw.value, ast.Name):
                    out[kw.arg] = ("param", kw.value.id)
                else:
                    out[kw.arg] = ast.literal_eval(kw.value)
            return out
    return {}  # verify(parse(gold), parse(pred)): the defaults


def _cases(path: str, source: str) -> tuple[list[dict[str, Any]], int]:
    """The labelled cases of one test file, and how many were not plain literals."""
    cases, skipped = [], 0
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef):
            continue
        for deco in func.decorator_list:
            if not (isinstance(deco, ast.Call) and ast.unparse(deco.func).endswith("parametrize")):
                continue
            names = [n.strip() for n in ast.literal_eval(deco.args[0]).split(",")]
            label = "expected" if "expected" in names else "result"
            if not {"gold", "pred", label} <= set(names):
                continue
            options = _call_options(func)
            for i, element in enumerate(deco.args[1].elts):
                try:
                    values = dict(zip(names, ast.literal_eval(element), strict=True))
                except ValueError:
                    skipped += 1
                    continue
                opts = {k: values[v[1]] if isinstance(v, tuple) else v for k, v in options.items()}
                cases.append(
                    {
                        "id": f"{path}::{func.name}[{i}]",
                        "gold": values["gold"],
                        "pred": values["pred"],
                        "expected": bool(values[label]),
                        "options": {k: v for k, v in opts.items() if k in DEFAULTS},
                        "match_types": opts.get("match_types", ["latex", "expr"]),
                    }
                )
    return cases, skipped


def convert(cfg: Config) -> dict[str, Any]:
    """Write the suite; returns its provenance record."""
    git = ["git", f"--git-dir={cfg.repo}"]
    commit = subprocess.run(
        [*git, "rev-parse", cfg.commit], capture_output=True, text=True, check=True
    ).stdout.strip()
    rows, skipped = [], 0
    for path in FILES:
        source = subprocess.run(
            [*git, "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
        ).stdout
        found, n = _cases(path, source)
        rows += found
        skipped += n
    for row in rows:
        row["reference"] = reference_of(row["gold"])
        row["response"], row["scope"] = response_of(row["pred"])
        if row["reference"] is None:
            row["scope"] = "gold_text"
        if any(row["options"].get(k, v) != v for k, v in DEFAULTS.items()):
            row["scope"] = "option"
    scopes: dict[str, int] = {}
    for row in rows:
        scopes[row["scope"]] = scopes.get(row["scope"], 0) + 1
    meta = {
        "source": "https://github.com/huggingface/Math-Verify",
        "commit": commit,
        "files": list(FILES),
        "license": "Apache-2.0 (repository LICENCE); tests/test_all.py also carries an MIT "
        "notice, Copyright (c) 2024 The HuggingFace Team (reproduced in README.md here)",
        "labels": "written by Math-Verify's authors; copied verbatim as 'expected'",
        "converted_by": "benchmarks/data/make_math_verify_suite.py",
        "cases": len(rows),
        "scopes": dict(sorted(scopes.items())),
        "not_literal_skipped": skipped,
        "scored_scopes": ["answer", "boxed"],
    }
    with cfg.out.open("w") as f:
        f.write(json.dumps({"_meta": meta}, ensure_ascii=False) + "\n")
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return meta


if __name__ == "__main__":
    print(json.dumps(convert(tyro.cli(Config)), indent=2))
