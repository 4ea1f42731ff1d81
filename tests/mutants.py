"""Single-point mutants of a Python program, to check that a task's tests reject wrong code.

Used by the HumanEval tests and ``benchmarks/code_verifier.py`` (not part of the package).

Each mutant changes one thing: a comparison flipped (``<`` to ``<=``, ``==`` to ``!=``, ``in``
to ``not in``, ...), an arithmetic operator swapped (``+`` and ``-``, ``*`` to ``+``, ``//``
to ``*``), an integer constant incremented, or a returned value replaced by ``None``. Some
mutants are equivalent to the original; a caller decides which ones are wrong (for example
with the dataset's own tests).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator

__all__ = ["single_point_mutants"]

_CMP: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
}  # fmt: skip
_BIN: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.FloorDiv: ast.Mult,
}


def _mutable(node: ast.AST) -> bool:
    return (
        (isinstance(node, ast.Compare) and type(node.ops[0]) in _CMP)
        or (isinstance(node, ast.BinOp) and type(node.op) in _BIN)
        or (isinstance(node, ast.Constant) and type(node.value) is int)
        or (isinstance(node, ast.Return) and node.value is not None)
    )


def _mutate(node: ast.AST) -> None:
    if isinstance(node, ast.Compare):
        node.ops[0] = _CMP[type(node.ops[0])]()
    elif isinstance(node, ast.BinOp):
        node.op = _BIN[type(node.op)]()
    elif isinstance(node, ast.Constant):
        node.value += 1
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(None)


def single_point_mutants(source: str) -> Iterator[str]:
    """Yield the source of every single-point mutant, in a fixed order."""
    tree = ast.parse(source)
    for i, node in enumerate(ast.walk(tree)):
        if not _mutable(node):
            continue
        clone = copy.deepcopy(tree)
        _mutate(next(n for k, n in enumerate(ast.walk(clone)) if k == i))
        yield ast.unparse(clone)
