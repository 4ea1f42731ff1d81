r"""Prompt pieces shared by the workflows: how a problem is posed and how answers look.

Math answers go in ``\\boxed{}``; code answers are one fenced ```` ```python ```` block. The
workflow modules build their role prompts from these pieces; changing any text here changes
results and therefore bumps the version of every environment that uses it.
"""

from __future__ import annotations

from rolegym.tasks.base import Task, TaskFamily

__all__ = ["answer_format", "pose", "solve_prompt"]

_ANSWER_FORMAT: dict[TaskFamily, str] = {
    "math": "Put your final answer inside \\boxed{}.",
    "code": "Give your complete solution as a single Python program in one ```python code block.",
}


def answer_format(family: TaskFamily) -> str:
    """The one-sentence instruction on how to present an answer."""
    return _ANSWER_FORMAT[family]


def pose(task: Task) -> str:
    """The problem as shown to every role: the statement plus, for code, the I/O contract."""
    if task.family == "math":
        return f"Problem:\n{task.prompt}"
    fn = task.meta.get("fn_name")
    if fn:
        starter = task.meta.get("starter_code") or f"def {fn}(...):\n"
        contract = (
            f"Define the function `{fn}`; it will be called directly with the test arguments. "
            f"Start from:\n```python\n{starter.rstrip()}\n    # YOUR CODE HERE\n```"
        )
    else:
        contract = "Read the input from standard input and write the answer to standard output."
    return f"Problem:\n{task.prompt}\n\n{contract}"


def solve_prompt(task: Task) -> str:
    """The single-solver prompt (Single, Voting voters, Eval-Opt's first turn)."""
    verb = (
        "Reason step by step, then solve it."
        if task.family == "math"
        else ("Think through the algorithm and edge cases, then write the solution.")
    )
    return f"{pose(task)}\n\n{verb} {answer_format(task.family)}"
