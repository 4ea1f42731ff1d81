"""The GRPO trainer: learning, Isolated-Policy isolation, accumulation, roles, evaluation."""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from rolegym.baselines.grpo.config import GRPOConfig, load_config
from rolegym.baselines.grpo.policies import FROZEN, policy_map
from rolegym.baselines.grpo.trainer import GRPOTrainer
from rolegym.baselines.micro import answer_chars_reward
from tests.baselines.helpers import micro_config


def _params(trainer: GRPOTrainer, learner: str) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trainer.policies.learners[learner].params.items()}


def aggregator_constant(episode, turn, task) -> float:
    """Generators earn the character reward; the aggregator always 0.5 (advantage 0)."""
    return 0.5 if turn.role == "aggregator" else answer_chars_reward(episode, turn, task)


def vowel_share(episode, turn, task) -> float:
    """A reward random text earns unevenly (every group has a spread)."""
    text = turn.completion
    return sum(ch in "aeiou" for ch in text) / max(len(text), 1)


def test_policy_maps() -> None:
    roles = ["generator", "aggregator"]
    assert policy_map("shared", roles) == {"generator": "shared", "aggregator": "shared"}
    assert policy_map("isolated", roles) == {"generator": "generator", "aggregator": "aggregator"}
    grouped = policy_map(
        "isolated", ["orchestrator", "worker", "synthesizer"], {"synthesizer": "orchestrator"}
    )
    assert grouped["synthesizer"] == "orchestrator"
    with pytest.raises(ValueError, match="role"):
        policy_map("isolated", roles, {"critic": "x"})
    with pytest.raises(ValueError, match="reserved"):
        policy_map("isolated", roles, {"generator": FROZEN})
    with pytest.raises(ValueError, match="shared"):
        policy_map("mixed", roles)


@pytest.mark.parametrize("use_peft", [True, False])
def test_isolated_zero_advantage_role_stays_bit_identical(tmp_path, use_peft: bool) -> None:
    config = micro_config(
        tmp_path,
        env_id="voting-arith-v0",
        policy="isolated",
        use_peft=use_peft,
        lora_r=4,
        lora_alpha=8,
        weight_decay=0.1,
    )
    trainer = GRPOTrainer(config, reward_fn=aggregator_constant)
    assert set(trainer.policies.learners) == {"generator", "aggregator"}
    before = {n: _params(trainer, n) for n in trainer.policies.learners}
    named = trainer.policies.models["generator"].named_parameters()
    base = {k: v.detach().clone() for k, v in named if "lora_" not in k}
    metrics = {}
    for _ in range(2):  # momentum and weight decay would move it on the second step
        metrics = trainer.train_step()
    after = {n: _params(trainer, n) for n in trainer.policies.learners}
    assert all(torch.equal(before["aggregator"][k], v) for k, v in after["aggregator"].items())
    assert any(not torch.equal(before["generator"][k], v) for k, v in after["generator"].items())
    assert metrics["learner/aggregator/skipped"] == 1.0
    assert metrics["role/aggregator/frac_zero_adv"] == 1.0
    if use_peft:  # the frozen base never moves; both learners are adapters of one model
        model = trainer.policies.models["generator"]
        assert model is trainer.policies.models["aggregator"]
        for k, v in model.named_parameters():
            if k in base:
                assert torch.equal(v, base[k])


def test_gradient_accumulation_gives_the_same_update(tmp_path) -> None:
    updated = []
    for size in (8, 4, 3):
        config = micro_config(
            tmp_path / str(size),
            torch_dtype="float64",
            per_device_train_batch_size=size,
            loss_type="dapo",
        )
        trainer = GRPOTrainer(config)
        trainer.train_step()
        updated.append(_params(trainer, "shared"))
    for other in updated[1:]:
        for k, v in updated[0].items():
            torch.testing.assert_close(other[k], v, rtol=1e-10, atol=1e-12)


def test_one_role_isolated_is_the_shared_run(tmp_path) -> None:
    """With one role both maps make one learner of the same model: the same run, bit for bit.

    So the learning test below runs once, for ``"shared"``: an ``"isolated"`` run of it
    would repeat the same experiment under another learner name.
    """
    trainers = {
        policy: GRPOTrainer(micro_config(tmp_path / policy, policy=policy))
        for policy in ("shared", "isolated")
    }
    assert set(trainers["shared"].policies.learners) == {"shared"}
    assert set(trainers["isolated"].policies.learners) == {"generator"}
    for _ in range(2):
        shared, isolated = (t.train_step() for t in trainers.values())
        assert isolated["reward"] == shared["reward"] and isolated["loss"] == shared["loss"]
        assert isolated["learner/generator/grad_norm"] == shared["learner/shared/grad_norm"]
    after = _params(trainers["isolated"], "generator")
    for k, v in _params(trainers["shared"], "shared").items():
        assert torch.equal(after[k], v), k


@pytest.mark.slow
def test_learns_a_single_role_micro_task(tmp_path) -> None:
    config = load_config(
        "micro",
        output_dir=str(tmp_path / "run"),
        policy="shared",
        env_id="single-arith-v0",
        reward_fn="rolegym.baselines.micro:answer_chars_reward",
        max_steps=60,
        save_steps=0,
        disable_tqdm=True,
        seed=0,
    )
    GRPOTrainer(config).train()
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    rewards = [json.loads(line)["reward"] for line in lines if '"reward"' in line]
    assert len(rewards) == 60
    first, last = statistics.fmean(rewards[:10]), statistics.fmean(rewards[-10:])
    assert last >= 3 * first, (first, last)


def test_scripted_and_frozen_roles(tmp_path) -> None:
    config = micro_config(
        tmp_path,
        env_id="voting-arith-v0",
        policy="isolated",
        scripted_roles={"aggregator": "oracle"},
    )
    trainer = GRPOTrainer(config)
    assert set(trainer.policies.learners) == {"generator"}
    metrics = trainer.train_step()
    assert "role/aggregator/samples" not in metrics and metrics["role/generator/samples"] == 24
    turns = [t for e in trainer.batch.episodes() for t in e.turns if t.role == "aggregator"]
    aggregator_turns = turns
    assert aggregator_turns and all("\\boxed{" in t.completion for t in aggregator_turns)

    frozen = micro_config(tmp_path / "f", env_id="voting-arith-v0", trainable_roles=["aggregator"])
    trainer = GRPOTrainer(frozen)
    assert trainer.policy_of == {"generator": FROZEN, "aggregator": "shared"}
    before = {k: v.clone() for k, v in trainer.policies.models[FROZEN].state_dict().items()}
    metrics = trainer.train_step()
    assert metrics["role/aggregator/samples"] == 8 and "role/generator/samples" not in metrics
    after = trainer.policies.models[FROZEN].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="trainable_roles"):
        GRPOTrainer(micro_config(tmp_path / "x", trainable_roles=["critic"]))
    with pytest.raises(ValueError, match="scripted"):
        GRPOTrainer(micro_config(tmp_path / "y", scripted_roles={"generator": "genius"}))


def test_custom_reward_assignment_is_used(tmp_path) -> None:
    calls = []

    def reward(episode, turn, task) -> float:
        calls.append(task.id)
        return 1.0 if turn.agent == "generator_0" else 0.0

    trainer = GRPOTrainer(micro_config(tmp_path, env_id="voting-arith-v0"), reward_fn=reward)
    metrics = trainer.train_step()
    assert len(calls) == 32  # 8 episodes x 4 turns
    assert metrics["role/generator/reward_mean"] == pytest.approx(1 / 3)
    assert metrics["role/aggregator/reward_mean"] == 0.0
    with pytest.raises(ValueError, match="module:function"):
        GRPOTrainer(micro_config(tmp_path / "b", reward_fn="nocolon"))


def test_train_writes_metrics_eval_checkpoints_and_final(tmp_path) -> None:
    config = micro_config(
        tmp_path,
        max_steps=4,
        save_steps=2,
        eval_steps=2,
        eval_on_start=True,
        eval_tasks=6,
        save_total_limit=1,
        loss_type="grpo",
    )
    result = GRPOTrainer(config).train()
    run = tmp_path / "run"
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [0, 1, 2, 3, 4]
    assert all("eval/accuracy" in lines[i] for i in (0, 2, 4))
    assert "eval/accuracy" not in lines[1]
    role = "role/generator/"
    keys = [role + k for k in ("grad_norm", "entropy", "clip_ratio", "tokens", "reward_mean")]
    for key in [*keys, "learner/shared/grad_norm", "frac_reward_zero_std"]:
        assert key in lines[1], key
    assert [p.name for p in run.glob("checkpoint-*")] == ["checkpoint-000004"]  # limit 1
    assert (run / "final" / "shared" / "config.json").exists()
    summary = json.loads((run / "summary.json").read_text())
    assert len(summary["eval_history"]) == 3
    assert result["eval_final_accuracy"] == summary["eval_history"][-1]["accuracy"]
    assert result["eval_peak_accuracy"] == max(e["accuracy"] for e in summary["eval_history"])


def test_config_validation_and_presets(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown GRPOConfig"):
        GRPOConfig.from_dict({"lerning_rate": 1.0})
    with pytest.raises(ValueError, match="policy"):
        GRPOConfig(policy="both")
    paper = load_config("paper", env_id="voting-math-v0")
    assert (paper.lora_r, paper.lora_alpha, paper.learning_rate) == (64, 32, 2e-5)
    assert (paper.num_generations, paper.tasks_per_step, paper.temperature) == (8, 64, 0.7)
    assert (paper.epsilon, paper.epsilon_high, paper.beta) == (0.2, 0.28, 0)
    assert paper.loss_type == "grpo" and paper.group_by == "task×agent×turn"
    assert paper.max_completion_length == 5120
    assert load_config("paper", env_id="eval-opt-code-v0").max_completion_length == 2048
    path = tmp_path / "run.yaml"
    path.write_text("preset: micro\npolicy: isolated\nlearning_rate: 0.01\n")
    loaded = load_config(path=path, max_steps=7)
    assert (loaded.policy, loaded.learning_rate, loaded.max_steps) == ("isolated", 0.01, 7)
    assert loaded.model_name_or_path == "micro:qwen3"
    with pytest.raises(ValueError, match="preset"):
        load_config("nope")


@pytest.mark.parametrize("use_peft", [True, False])
def test_kl_to_the_reference_policy(tmp_path, use_peft: bool) -> None:
    config = micro_config(tmp_path, beta=0.5, use_peft=use_peft, lora_r=4, lora_alpha=8)
    trainer = GRPOTrainer(config, reward_fn=vowel_share)
    first = trainer.train_step()
    assert first["role/generator/frac_zero_adv"] < 1
    second = trainer.train_step()
    # the reference is the initial policy (adapters disabled, or a frozen copy): no KL at first
    assert first["role/generator/kl"] == pytest.approx(0.0, abs=1e-7)
    assert second["role/generator/kl"] > 1e-6


def test_several_updates_per_batch_use_old_logprobs(tmp_path) -> None:
    once = GRPOTrainer(micro_config(tmp_path / "a", torch_dtype="float64"), reward_fn=vowel_share)
    twice = GRPOTrainer(
        micro_config(tmp_path / "b", torch_dtype="float64", num_iterations=2),
        reward_fn=vowel_share,
    )
    m1, m2 = once.train_step(), twice.train_step()
    assert once.policies.learners["shared"].step == 1
    assert twice.policies.learners["shared"].step == 2
    # the first update of both is the same; the second moves further
    assert m2["learner/shared/grad_norm"] == pytest.approx(m1["learner/shared/grad_norm"])
    differ = [
        not torch.equal(once.policies.learners["shared"].params[k], v)
        for k, v in twice.policies.learners["shared"].params.items()
    ]
    assert any(differ)
