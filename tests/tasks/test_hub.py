"""Hub sources: the real loading code on rows shaped like each dataset's, with no download."""

from __future__ import annotations

import pytest

datasets = pytest.importorskip("datasets")

import rolegym  # noqa: E402
from rolegym.envs.scripted import OraclePolicy  # noqa: E402
from rolegym.tasks import DatasetUnavailableError, load_tasks  # noqa: E402
from rolegym.verifiers import CodeVerifier, MathVerifier, reference_runner, sandbox  # noqa: E402
from tests.helpers import play  # noqa: E402
from tests.tasks.hub_rows import ROWS, SUM_PROGRAM  # noqa: E402


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Serve the fixture rows through ``datasets.load_dataset``; record what was asked."""
    asked: list[tuple] = []

    def load_dataset(path: str, name: str | None = None, split: str | None = None, **kw):
        asked.append((path, name, split))
        rows = ROWS.get((path, name, split))
        if rows is None:
            raise ConnectionError(f"Couldn't reach '{path}' on the Hub (offline)")
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return asked


def test_dapo_math_is_the_math_default_with_the_papers_split(hub: list) -> None:
    train, test = load_tasks("math", "dapo-math", "train"), load_tasks("math", "dapo-math", "test")
    assert (len(train), len(test)) == (36, 4)
    assert not {t.id for t in train} & {t.id for t in test}
    task = train[0]
    assert task.prompt.startswith("What is") and "Answer:" not in task.prompt
    assert MathVerifier(engine="exact").verify(task, f"\\boxed{{{task.answer}}}").correct
    env = rolegym.make("voting-math-v0")
    env.reset(seed=0)
    assert env.unwrapped.task.id.startswith("dapo-math/")
    assert hub[-1] == ("open-r1/DAPO-Math-17k-Processed", "en", "train")


@pytest.mark.filterwarnings("ignore:.*malformed rows")
def test_same_seed_same_split_and_order(hub: list) -> None:
    first = [t.id for t in load_tasks("math", "dapo-math", "test")]
    assert first == [t.id for t in load_tasks("math", "dapo-math", "test")]
    code = [t.id for t in load_tasks("code", "deepcoder", "test")]
    assert code == [t.id for t in load_tasks("code", "deepcoder", "test")]
    episodes = []
    for _ in range(2):
        env = rolegym.make("single-math-v0", dataset="gsm8k", split="train")
        ids = []
        for seed in range(5):
            env.reset(seed=seed)
            ids.append(env.unwrapped.task.id)
        episodes.append(ids)
    assert episodes[0] == episodes[1]


def test_gsm8k_answers_and_malformed_rows(hub: list) -> None:
    with pytest.warns(
        UserWarning, match=r"skipped 1 malformed rows: 2 \(answer has no '#### N' line\)"
    ):
        train = load_tasks("math", "gsm8k", "train")
    assert [t.answer for t in train] == ["72", "2400"]
    env = rolegym.make("single-math-v0", dataset="gsm8k", split="test")
    env.reset(seed=0)
    assert play(env, OraclePolicy()) == {"generator_0": 1.0}


def test_math500_and_aime(hub: list) -> None:
    m = load_tasks("math", "math-500", "test")
    assert m[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)" and m[0].meta["difficulty"] == 2
    assert len(load_tasks("math", "math-500", "test", difficulty={1})) == 1
    assert load_tasks("math", "aime-2024", "train")[0].answer == "204"
    assert [t.answer for t in load_tasks("math", "aime-2025", "test")] == ["70", "468"]
    with pytest.raises(ValueError, match="splits"):
        load_tasks("math", "math-500", "train")


def test_unreachable_hub_names_source_and_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DatasetUnavailableError, match=r"'gsm8k' \(openai/gsm8k.*reasoning-gym"):
        load_tasks("math", "gsm8k", "test")
    with pytest.raises(DatasetUnavailableError, match=r"DeepCoder.*dataset='humaneval'"):
        load_tasks("code", "deepcoder", "train")


def test_filters(hub: list) -> None:
    short = load_tasks("math", "dapo-math", "train", max_prompt_chars=14)
    assert all(len(t.prompt) <= 14 for t in short) and 0 < len(short) < 36
    with pytest.raises(ValueError, match="passes the filters"):
        load_tasks("math", "dapo-math", "train", max_prompt_chars=1)


needs_sandbox = pytest.mark.skipif(
    not sandbox.bwrap_available(), reason="bubblewrap cannot run here"
)


@needs_sandbox
def test_deepcoder_both_test_formats(hub: list) -> None:
    with pytest.warns(UserWarning, match="tests are not JSON"):
        tasks = list(load_tasks("code", "deepcoder", "train")) + list(
            load_tasks("code", "deepcoder", "test")
        )
    by_kind = {t.tests[0].protocol: t for t in tasks}
    assert set(by_kind) == {"stdio", "call"}
    assert by_kind["call"].meta["fn_name"] == "majorityElement"
    assert by_kind["call"].tests[0].output == "3"  # output[0] of the row's one-element list
    v = CodeVerifier()
    for task in tasks:
        verdict = v.verify(task, f"```python\n{task.meta['reference_solution']}```")
        assert verdict.correct, (task.id, verdict)
    stdio = by_kind["stdio"]
    if stdio.meta["reference_solution"] == SUM_PROGRAM:
        assert not v.verify(stdio, "```python\nprint(0)\n```").correct


@needs_sandbox
def test_livecodebench_public_and_private_tests(hub: list) -> None:
    with pytest.warns(UserWarning, match="undecodable tests"):
        tasks = load_tasks("code", "livecodebench", "test")
    stdin, functional = tasks[0], tasks[1]
    assert [t.protocol for t in stdin.tests] == ["stdio", "stdio"]  # public + private
    assert [t.input for t in functional.tests] == ["[[4, 3], [2, 2]]", "[[1], [1]]"]
    assert functional.meta["fn_name"] == "zigzagSum" and functional.meta["difficulty"] == "medium"
    v = CodeVerifier()
    assert v.verify(stdin, f"```python\n{SUM_PROGRAM}```").correct
    leetcode = "class Solution:\n    def zigzagSum(self, a, b):\n        return sum(a) + sum(b)\n"
    assert v.verify(functional, f"```python\n{leetcode}```").correct
    assert not v.verify(
        functional,
        "```python\nclass Solution:\n    def zigzagSum(self, a, b):\n        return 0\n```",
    ).correct


@needs_sandbox
def test_mbpp_assertions_become_call_tests_or_the_labelled_fallback(hub: list) -> None:
    with pytest.raises(ValueError, match="pass runner="):  # tasks import no verifier
        load_tasks("code", "mbpp", "test")
    tasks = load_tasks("code", "mbpp", "test", runner=reference_runner())
    converted, fallback = tasks[0], tasks[1]
    assert [t.protocol for t in converted.tests] == ["call"] * 3
    assert converted.tests[0].input == '["hello", "l"]' and converted.tests[0].output == '"heo"'
    assert "tests_fallback" not in converted.meta
    assert fallback.tests[0].protocol == "assert" and "tests_fallback" in fallback.meta
    v = CodeVerifier()
    for task in tasks:
        assert v.verify(task, f"```python\n{task.meta['reference_solution']}\n```").correct
    assert not v.verify(converted, "```python\ndef remove_Occ(s, ch):\n    return s\n```").correct
    assert not v.verify(fallback, "```python\ndef square_perimeter(a):\n    return a\n```").correct
