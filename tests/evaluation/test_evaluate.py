"""`rolegym eval`: the result schema and per-role figures, from engines whose answers we know."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rolegym.evaluation.evaluate import Protocol, System, evaluate, load_system
from rolegym.evaluation.schema import SchemaError, load_result, validate_result
from rolegym.rollout.types import Completion, Request


def _answer(request: Request) -> int:
    text = "\n".join(m["content"] for m in request.messages)
    a, op, b = re.search(r"Compute (\d+) ([+-]) (\d+)\.", text).groups()
    return int(a) + int(b) if op == "+" else int(a) - int(b)


class Scripted:
    """generator_0 right, the other voters wrong; aggregator picks 2; evaluator says Correct."""

    def generate(self, requests: list[Request]) -> list[Completion]:
        out = []
        for r in requests:
            if r.role == "generator":
                right = r.agent == "generator_0" and r.turn == 0
                text = f"\\boxed{{{_answer(r) + (0 if right else 1)}}}"
            elif r.role == "aggregator":
                text = "\\boxed{2}"
            elif r.role == "evaluator":
                text = "\\boxed{Correct}" if r.turn == 0 else "no verdict"
            else:
                text = "?"
            out.append(Completion(text=text, token_ids=[1] * len(text)))
        return out


def _system() -> System:
    info = {
        "kind": "model",
        "name": "scripted",
        "checkpoint": None,
        "policy": "base",
        "policy_map": None,
        "train_env": None,
        "step": None,
    }
    return System("scripted", info, lambda temperature, tokens: Scripted())


def test_per_role_figures_are_what_the_engine_did() -> None:
    protocol = Protocol(problems=6, samples=2, max_new_tokens=16)
    result = evaluate(_system(), ["voting-arith-v0", "eval-opt-arith-v0"], protocol)
    validate_result(result)
    voting, evalopt = result["cells"]
    assert voting["episodes"] == 12 and voting["problems"] == 6 and voting["samples"] == 2
    assert voting["accuracy"] == 0.0  # the aggregator always picks a wrong voter
    gen, agg = voting["roles"]["generator"], voting["roles"]["aggregator"]
    assert gen["calls"] == 36 and gen["answer_accuracy"] == pytest.approx(1 / 3)
    assert agg["choice_accuracy"] == 0.0 and agg["choice_possible"] == 12
    assert voting["calls_per_episode"] == 4.0
    # eval-opt: the first answer is right and judged Correct: one round, all correct
    assert evalopt["accuracy"] == 1.0
    ev = evalopt["roles"]["evaluator"]
    assert ev["precision"] == 1.0 and ev["recall"] == 1.0 and ev["verdict_accuracy"] == 1.0
    # every completion is counted once: roles' tokens add up to tokens per problem
    spent = sum(r["calls"] * r["mean_tokens"] for r in voting["roles"].values())
    assert voting["tokens_per_problem"] == pytest.approx(spent / 6)
    assert agg["mean_tokens"] == len("\\boxed{2}")


def test_evaluator_precision_and_recall_count_wrong_answers_judged_correct() -> None:
    class Gullible(Scripted):
        def generate(self, requests):  # always wrong, always judged Correct
            return [
                Completion(
                    text="\\boxed{Correct}"
                    if r.role == "evaluator"
                    else f"\\boxed{{{_answer(r) + 1}}}"
                )
                for r in requests
            ]

    system = _system()
    system.engine = lambda temperature, tokens: Gullible()
    cell = evaluate(system, ["eval-opt-arith-v0"], Protocol(problems=4))["cells"][0]
    ev = cell["roles"]["evaluator"]
    assert ev["precision"] == 0.0 and ev["recall"] is None and ev["verdict_accuracy"] == 0.0
    assert cell["accuracy"] == 0.0


def test_micro_model_result_file_round_trips(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rolegym.evaluation.evaluate import write_result

    system = load_system("micro:qwen3")
    result = evaluate(system, ["single-arith-v0"], Protocol(problems=3, max_new_tokens=4))
    path = write_result(result, tmp_path / "r" / "micro.json")
    loaded = load_result(path)
    assert loaded["system"]["kind"] == "micro" and loaded["cells"][0]["episodes"] == 3
    assert loaded["cells"][0]["tokens_per_problem"] == 4.0  # 4 new tokens, never stopped
    broken = dict(loaded, cells=[dict(loaded["cells"][0], accuracy=2.0)])
    (tmp_path / "bad.json").write_text(json.dumps(broken))
    with pytest.raises(SchemaError, match="accuracy"):
        load_result(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="openai"):
        load_system("openai:http://x")


def test_checkpoint_of_a_run_is_a_system(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rolegym.baselines.grpo.trainer import GRPOTrainer
    from tests.baselines.helpers import micro_config

    config = micro_config(
        tmp_path, env_id="voting-arith-v0", policy="isolated", max_steps=2, save_steps=1
    )
    GRPOTrainer(config).train()
    system = load_system(str(tmp_path / "run"))
    assert system.info["kind"] == "checkpoint" and system.info["step"] == 2
    assert system.policy_map == {"generator": "generator", "aggregator": "aggregator"}
    assert system.route("worker") == "generator"  # transfer: unknown roles -> first learner
    result = evaluate(
        system, ["voting-arith-v0", "single-arith-v0"], Protocol(problems=2, max_new_tokens=4)
    )
    validate_result(result)
    assert result["label"] == "run@2"
    first = load_system(str(tmp_path / "run" / "checkpoint-000001"))
    assert first.info["step"] == 1


def test_eval_of_an_isolated_run_with_a_scripted_role_plays_the_script(tmp_path: Path) -> None:
    """``rolegym eval`` of a checkpoint routes roles as the trainer did (one function).

    Isolated-Policy with the generators scripted (the oracle): the run has one learner, the
    aggregator's; the generators have none. Evaluation must not ask the engine for a
    ``generator`` model (the KeyError this test was written for), and the oracle, not the
    model, must play the generators: every generated answer right, no model tokens.
    """
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from rolegym.baselines.grpo.trainer import GRPOTrainer
    from rolegym.cli import app
    from tests.baselines.helpers import micro_config

    config = micro_config(
        tmp_path,
        env_id="voting-arith-v0",
        policy="isolated",
        max_steps=1,
        scripted_roles={"generator": "oracle"},
    )
    trainer = GRPOTrainer(config)
    assert trainer.learner_names == ["aggregator"]
    trainer.train()
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(
        app,
        ["eval", str(tmp_path / "run"), "--out", str(out), "--problems", "3", "--device", "cpu"],
    )
    assert result.exit_code == 0, result.output
    saved = load_result(out)
    assert saved["system"]["policy_map"] == {
        "generator": "scripted:oracle",
        "aggregator": "aggregator",
    }
    cell = saved["cells"][0]
    gen, agg = cell["roles"]["generator"], cell["roles"]["aggregator"]
    assert gen["calls"] == 3 * 3 and gen["answer_accuracy"] == 1.0  # the oracle's answers
    assert gen["mean_tokens"] == 0.0  # no engine call: scripted outputs carry no token ids
    assert agg["calls"] == 3 and agg["mean_tokens"] > 0  # the learner generated


def test_an_openai_endpoint_is_evaluated_like_the_model_behind_it() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("openai")
    from rolegym.baselines.micro import build_model, build_tokenizer
    from rolegym.rollout.engines.hf import HFEngine
    from rolegym.rollout.server import serve

    local = HFEngine(build_model(seed=1), build_tokenizer(), max_new_tokens=6, temperature=0.7)
    server = serve(local)
    try:
        host, port = server.server_address[:2]
        remote = load_system(f"openai:http://{host}:{port}/v1#rolegym-micro", label="remote")
        protocol = Protocol(problems=2, max_new_tokens=6)
        result = evaluate(remote, ["voting-arith-v0"], protocol)
        here = evaluate(
            System("here", remote.info, lambda t, n: local), ["voting-arith-v0"], protocol
        )
    finally:
        server.shutdown()
    assert result["system"]["kind"] == "openai" and result["label"] == "remote"
    assert result["cells"][0]["roles"] == here["cells"][0]["roles"]
