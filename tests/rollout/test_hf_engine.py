"""The transformers engine with a micro model: tokens, logprobs, seeds, and every workflow."""

from __future__ import annotations

import asyncio
import itertools

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rolegym.baselines.micro import build_model, build_tokenizer  # noqa: E402
from rolegym.rollout import EpisodeBatch, Request, arollout  # noqa: E402
from rolegym.rollout.engines.hf import HFEngine  # noqa: E402

WORKFLOWS = ["voting", "eval-opt", "orch-workers", "single"]


@pytest.fixture(scope="module")
def engine() -> HFEngine:
    return HFEngine(build_model(seed=1), build_tokenizer(), max_new_tokens=24, temperature=0.9)


def _request(text: str, seed: int, policy: str = "default") -> Request:
    return Request(
        env_index=0,
        agent="generator_0",
        role="generator",
        turn=0,
        messages=({"role": "user", "content": text},),
        sampling_seed=seed,
        policy_id=policy,
    )


def test_tokens_decode_to_text_and_logprobs_match_a_forward_pass(engine: HFEngine) -> None:
    requests = [
        _request("What is 2 + 2?", 1),
        _request("Hi", 2),
        _request("A much longer prompt here.", 3),
    ]
    completions = engine.generate(requests)
    model = engine.models["*"]
    for c in completions:
        body = c.token_ids[:-1] if c.finish_reason == "stop" else c.token_ids
        assert engine.tokenizer.decode(body) == c.text
        assert len(c.logprobs) == len(c.token_ids) > 0
        full = torch.tensor([c.prompt_token_ids + c.token_ids])
        with torch.no_grad():
            logits = model(full).logits[0].float() / engine.temperature
        logp = torch.log_softmax(logits, dim=-1)
        n = len(c.prompt_token_ids)
        expected = [float(logp[n + j - 1, t]) for j, t in enumerate(c.token_ids)]
        assert max(abs(a - b) for a, b in zip(expected, c.logprobs, strict=True)) < 1e-4


def test_sampling_is_seeded_per_request_and_leaves_global_rng_alone(engine: HFEngine) -> None:
    state = torch.random.get_rng_state()
    a = engine.generate([_request("Hi", 7), _request("Hi", 8)])
    b = engine.generate([_request("Hi", 8), _request("Hi", 7)])  # other order, other batch slots
    assert a[0].token_ids == b[1].token_ids and a[1].token_ids == b[0].token_ids
    assert torch.equal(state, torch.random.get_rng_state())


def test_policies_route_to_their_own_models() -> None:
    tok = build_tokenizer()
    engine = HFEngine(
        {"gen": build_model(seed=1), "agg": build_model(seed=2)}, tok, max_new_tokens=8
    )
    out = engine.generate([_request("Hi", 1, "gen"), _request("Hi", 1, "agg")])
    assert out[0].token_ids != out[1].token_ids
    with pytest.raises(KeyError, match="no model for policy"):
        engine.generate([_request("Hi", 1, "other")])


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_every_workflow_through_episode_batch_and_arollout(engine: HFEngine, workflow: str) -> None:
    env_id = f"{workflow}-arith-v0"
    batch = EpisodeBatch(env_id, 4, group_size=2)
    episodes = batch.run(engine, seed=0)
    assert batch.done and all(ep.terminated for ep in episodes)
    for ep in episodes:
        for turn in ep.turns:
            assert len(turn.extras["completion_token_ids"]) == len(turn.extras["logprobs"])
            assert turn.extras["finish_reason"] in ("stop", "length")

    async def policy(request: Request):
        return (await asyncio.to_thread(engine.generate, [request]))[0]

    async_episodes = asyncio.run(arollout(env_id, policy, num_groups=2, group_size=2, seed=0))
    # Each request samples with its own seed, so batching does not change what is generated;
    # logprobs computed in a batch differ from single-row ones only by float rounding.
    for one, other in zip(async_episodes, episodes, strict=True):
        a, b = one.to_dict(), other.to_dict()
        for ta, tb in zip(a["turns"], b["turns"], strict=True):
            la, lb = ta["extras"].pop("logprobs"), tb["extras"].pop("logprobs")
            assert max(abs(x - y) for x, y in zip(la, lb, strict=True)) < 1e-4
        assert a == b


def test_peft_adapters_serve_policies() -> None:
    peft = pytest.importorskip("peft")
    base = build_model(seed=3)
    config = peft.LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    model = peft.get_peft_model(base, config, adapter_name="gen")
    model.add_adapter("agg", config)
    engine = HFEngine(model, build_tokenizer(), max_new_tokens=12)
    out = engine.generate(
        [_request("Hi", 5, "gen"), _request("Hi", 5, "agg"), _request("Hi", 5, "gen")]
    )
    assert out[0].token_ids == out[2].token_ids  # same adapter, same seed
    assert out[0].logprobs != out[1].logprobs  # another adapter, another distribution
    with pytest.raises(KeyError, match="no adapter or model for policy 'default'"):
        engine.generate([_request("Hi", 5)])


def test_llama_micro_model_runs() -> None:
    engine = HFEngine(build_model("llama", seed=4), build_tokenizer(), max_new_tokens=6)
    completion = engine.generate([_request("Hi", 1)])[0]
    assert 0 < len(completion.token_ids) <= 6
    with pytest.raises(ValueError, match="kind"):
        build_model("gpt2")


CAP = 12


def _mixed_requests(n: int) -> list[Request]:
    """Prompts of several lengths, in no length order."""
    texts = [
        "Hi",
        "What is 2 + 2?",
        "A much longer prompt here, with a few more words in it.",
        "Compute 17 - 5.",
        "Ok",
        "Tell me about the number seven and its neighbours.",
    ]
    return [_request(texts[(3 * k) % len(texts)] + " " * (k % 3), 100 + k) for k in range(n)]


def test_token_budget_splits_batches_without_changing_any_completion() -> None:
    model, tok = build_model(seed=5), build_tokenizer()
    requests = _mixed_requests(12)

    def make(**budgets: int) -> HFEngine:
        return HFEngine(model, tok, max_new_tokens=CAP, temperature=0.7, **budgets)

    whole = make()
    longest = max(len(whole.prompt_ids(r)) for r in requests)
    budget = 3 * (longest + CAP)
    assert len(whole.batches([len(whole.prompt_ids(r)) for r in requests])) == 1
    want = whole.generate(requests)
    assert {c.finish_reason for c in want} == {"stop", "length"}  # both endings are compared
    budgeted = (
        make(max_batch_tokens=budget),
        make(batch_size=1),
        make(batch_size=5, max_batch_tokens=budget + 7),
    )
    for engine in budgeted:
        assert len(engine.batches([len(engine.prompt_ids(r)) for r in requests])) >= 4
        got = engine.generate(requests)
        for a, b in zip(want, got, strict=True):
            assert a.token_ids == b.token_ids and a.finish_reason == b.finish_reason
            assert a.prompt_token_ids == b.prompt_token_ids and a.text == b.text
            assert b.logprobs == pytest.approx(a.logprobs, abs=1e-4)


def test_no_batch_exceeds_the_budgets_except_a_lone_oversize_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cap, budget = 8, 150
    engine = HFEngine(
        build_model(seed=6),
        build_tokenizer(),
        max_new_tokens=cap,
        temperature=0.7,
        batch_size=4,
        max_batch_tokens=budget,
    )
    huge = _request("word " * 200, 99)  # one request over the whole budget on its own
    requests = _mixed_requests(12)
    requests.insert(5, huge)
    seen: list[list[int]] = []
    sample = engine._sample

    def counting(model, batch, prompts):
        seen.append([len(p) for p in prompts])
        assert [r.sampling_seed for r in batch] == [r.sampling_seed for r in requests][
            sum(len(s) for s in seen[:-1]) : sum(len(s) for s in seen)
        ]  # consecutive, in request order
        return sample(model, batch, prompts)

    monkeypatch.setattr(engine, "_sample", counting)
    out = engine.generate(requests)
    assert [c.prompt_token_ids for c in out] == [engine.prompt_ids(r) for r in requests]
    assert sum(len(s) for s in seen) == len(requests) and len(seen) > 3
    oversize = [s for s in seen if len(s) * (max(s) + cap) > budget]
    assert oversize == [[len(engine.prompt_ids(huge))]]  # alone, never dropped
    assert all(len(s) <= 4 for s in seen)
    # greedy: no batch could have taken the next request within both budgets
    for s, nxt in itertools.pairwise(seen):
        assert len(s) == 4 or (len(s) + 1) * (max(*s, nxt[0]) + cap) > budget


def test_batching_follows_the_budgets_exactly() -> None:
    engine = HFEngine(
        build_model(seed=1), build_tokenizer(), max_new_tokens=10, max_batch_tokens=60
    )
    # rows cost (longest prompt + 10): 3 x 20 = 60 fits, a 4th does not; 100 runs alone
    assert engine.batches([10, 5, 10, 10, 100, 1, 1]) == [
        range(0, 3),
        range(3, 4),
        range(4, 5),
        range(5, 7),
    ]
    assert engine.batches([]) == []
    engine.batch_size = 2
    assert engine.batches([1, 1, 1, 1, 1]) == [range(0, 2), range(2, 4), range(4, 5)]
    engine.max_batch_tokens = None
    assert engine.batches([1000] * 3) == [range(0, 2), range(2, 3)]
    view = engine.with_sampling(max_new_tokens=50)
    view.max_batch_tokens = 120  # the view counts its own completion cap
    assert view.batches([10, 10, 10]) == [range(0, 2), range(2, 3)]
    assert engine.max_batch_tokens is None and engine.max_new_tokens == 10
