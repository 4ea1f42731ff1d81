"""Evaluate a model, a training checkpoint or an endpoint on workflow x task cells.

The protocol is fixed by :class:`Protocol`: the first ``problems`` tasks of ``split`` (always
the same ones), ``samples`` episodes per problem with per-request seeds derived from ``seed``,
``temperature`` and a token cap per call. Every cell runs through
:class:`rolegym.rollout.EpisodeBatch` (one engine call per round of ready agents), and the
result follows :mod:`rolegym.evaluation.schema` (``rolegym.eval/1``), with per-role figures:
output lengths, parse failures, truncations, the correctness of every generated answer, the
aggregator's choice accuracy and the evaluator's precision and recall (both judged against
the verifier's verdict on the candidate they judged).

Systems (:func:`load_system`):

- ``micro:qwen3`` / ``micro:llama``: a micro model built in code (no download);
- a training run or checkpoint directory (``runs/x`` -> its latest ``checkpoint-*``): the run's
  base model with the checkpoint's learners (adapters or models), each role routed as the
  trainer routed it (:func:`rolegym.baselines.grpo.routing.route_roles`: its learner, the
  frozen initial policy, or its scripted policy);
- ``openai:BASE_URL#MODEL``: an OpenAI-compatible endpoint;
- anything else: a hub id or local path of a causal LM (``transformers``).

Memory: the HF engine decodes within a token budget (``max_batch_tokens``, see
:class:`rolegym.rollout.engines.hf.HFEngine`). Unless one is given, a hub or local model (or a
checkpoint of one) gets the budget whose key/value cache fills about 40% of the memory free
once the model is loaded (:func:`kv_cache_budget`); micro models get none.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import rolegym
from rolegym.envs.episode import Episode
from rolegym.evaluation.schema import SCHEMA, validate_result
from rolegym.registration import make
from rolegym.rollout.batch import EpisodeBatch
from rolegym.tasks.base import Task

__all__ = [
    "Protocol",
    "System",
    "available_memory",
    "evaluate",
    "evaluate_cell",
    "free_memory",
    "kv_cache_budget",
    "kv_cache_bytes_per_token",
    "load_system",
]

ANSWER_ROLES = ("generator", "worker", "synthesizer")


@dataclass
class Protocol:
    """A fixed evaluation protocol.

    Attributes:
        split: The held-out split.
        problems: The first this many tasks of the split.
        samples: Episodes per problem.
        seed: Seed of the sampling (each request's seed derives from it).
        temperature: Sampling temperature (the paper: 0.7, one sample).
        max_new_tokens: Token cap per call.
        env_kwargs: Extra ``rolegym.make`` arguments for every cell (``dataset_options``, ...).
    """

    split: str = "test"
    problems: int = 100
    samples: int = 1
    seed: int = 0
    temperature: float = 0.7
    max_new_tokens: int = 1024
    env_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class System:
    """Something to evaluate: an engine factory and how to describe it.

    Attributes:
        label: Its name on a leaderboard.
        info: The result file's ``system`` object.
        engine: ``engine(temperature, max_new_tokens)`` -> an engine.
        policy_map: Role -> policy id (roles it does not name use ``default_policy``).
        default_policy: Policy of roles the map does not name (transfer to another workflow).
        scripted: Scripted role -> scripted policy name: those roles are played by the script
            (policy id ``"scripted:NAME"``), never by the engine, as in training.
    """

    label: str
    info: dict[str, Any]
    engine: Callable[[float, int], Any]
    policy_map: dict[str, str] = field(default_factory=dict)
    default_policy: str = "default"
    scripted: dict[str, str] = field(default_factory=dict)

    def route(self, role: str) -> str:
        """The policy id that plays ``role``."""
        return self.policy_map.get(role, self.default_policy)


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _tokens(turn: Any) -> int:
    """Completion tokens of a turn: its token ids, else the count an endpoint reported."""
    ids = turn.extras.get("completion_token_ids")
    if ids is not None:
        return len(ids)
    return int(turn.extras.get("completion_tokens") or 0)


def _role_stats(episodes: Sequence[Episode], tasks: Sequence[Task], verifier: Any) -> dict:
    """Per-role figures of a cell (see :mod:`rolegym.evaluation.schema`)."""
    items, where = [], []
    for k, ep in enumerate(episodes):
        for t in ep.turns:
            if t.role in ANSWER_ROLES:
                items.append((tasks[k], t.completion))
                where.append((k, t.index))
    verdicts = verifier.verify_many(items) if items else []
    correct_turn = {w: v.correct for w, v in zip(where, verdicts, strict=True)}
    by_role: dict[str, list] = defaultdict(list)
    for k, ep in enumerate(episodes):
        for t in ep.turns:
            by_role[t.role].append((k, ep, t))
    out: dict[str, dict[str, Any]] = {}
    for role, turns in by_role.items():
        tokens = [_tokens(t) for _, _, t in turns]
        stats: dict[str, Any] = {
            "calls": len(turns),
            "mean_tokens": _mean(tokens),
            "mean_chars": _mean([len(t.completion) for _, _, t in turns]),
            "parse_failure_rate": _mean(
                [float(bool(t.info.get("parse_error"))) for *_, t in turns]
            ),
            "truncated_rate": _mean(
                [float(t.extras.get("finish_reason") == "length") for *_, t in turns]
            ),
        }
        if role in ANSWER_ROLES:
            stats["answer_accuracy"] = _mean(
                [float(correct_turn[(k, t.index)]) for k, _, t in turns]
            )
        if role == "aggregator":
            possible = chosen_right = 0
            for k, ep, t in turns:
                candidates = [c.index for c in ep.turns if c.role == "generator"]
                if any(correct_turn.get((k, c)) for c in candidates):
                    possible += 1
                    chosen_right += bool(correct_turn.get((k, t.info.get("chosen_turn"))))
            stats["choice_accuracy"] = _ratio(chosen_right, possible)
            stats["choice_possible"] = possible
        if role == "evaluator":
            tp = fp = fn = tn = 0
            for k, _, t in turns:
                truth = bool(correct_turn.get((k, t.info.get("judged_turn"))))
                said = t.info.get("verdict") == "correct"
                tp += said and truth
                fp += said and not truth
                fn += truth and not said
                tn += not said and not truth
            stats["precision"] = _ratio(tp, tp + fp)
            stats["recall"] = _ratio(tp, tp + fn)
            stats["verdict_accuracy"] = _ratio(tp + tn, tp + fp + fn + tn)
        out[role] = stats
    return out


def evaluate_cell(
    system: System,
    env_id: str,
    protocol: Protocol,
    *,
    engine: Any | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Evaluate one cell; returns its ``cells[i]`` object (see the schema)."""
    kwargs = {**protocol.env_kwargs, "split": protocol.split}
    probe = make(env_id, **kwargs).unwrapped
    tasks = list(probe.tasks[: protocol.problems])
    if not tasks:
        raise ValueError(f"{env_id}: the {protocol.split!r} split has no tasks")
    engine = engine or system.engine(protocol.temperature, protocol.max_new_tokens)
    batch = EpisodeBatch(
        env_id,
        len(tasks) * protocol.samples,
        group_size=protocol.samples,
        policy_map=system.route,
        workers=workers,
        **kwargs,
    )
    if system.scripted:  # the trainer's router: scripted roles never reach the model engine
        from rolegym.baselines.grpo.routing import ScriptedEngine, scripted_players

        engine = ScriptedEngine(engine, batch, scripted_players(system.scripted, protocol.seed))
    episodes = batch.run(engine, seed=protocol.seed, tasks=[t.id for t in tasks])
    episode_tasks = [env.unwrapped.task for env in batch.envs]
    correct = sum(bool(e.correct) for e in episodes)
    tokens = sum(_tokens(t) for e in episodes for t in e.turns)
    return {
        "env_id": env_id,
        "workflow": probe.workflow,
        "task": probe.task_kind,
        "accuracy": correct / len(episodes),
        "correct": correct,
        "episodes": len(episodes),
        "problems": len(tasks),
        "samples": protocol.samples,
        "tokens_per_problem": tokens / len(tasks),
        "calls_per_episode": _mean([len(e.turns) for e in episodes]),
        "roles": _role_stats(episodes, episode_tasks, probe.verifier),
    }


def evaluate(
    system: System,
    env_ids: Sequence[str],
    protocol: Protocol,
    *,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``system`` on every cell; returns a validated ``rolegym.eval/1`` result."""
    engine = system.engine(protocol.temperature, protocol.max_new_tokens)
    cells = []
    for env_id in env_ids:
        cells.append(evaluate_cell(system, env_id, protocol, engine=engine, workers=workers))
        if progress is not None:
            progress(env_id)
    result = {
        "schema": SCHEMA,
        "label": system.label,
        "system": system.info,
        "protocol": asdict(protocol),
        "cells": cells,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rolegym_version": rolegym.__version__,
    }
    validate_result(result)
    return result


# ---------------------------------------------------------------------- systems


def load_system(
    spec: str,
    *,
    label: str | None = None,
    device: str = "auto",
    engine: str = "hf",
    max_batch_tokens: int | None = None,
) -> System:
    """Build a :class:`System` from a command-line spec (see the module docstring).

    Args:
        spec: What to evaluate (see the module docstring).
        label: Its name on a leaderboard (default: derived from ``spec``).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (the HF engine's device).
        engine: ``"hf"`` (transformers) or ``"vllm"`` (a model directory, hub id or run;
            adapters served through vLLM).
        max_batch_tokens: The HF engine's token budget: most prompt + completion tokens
            decoded at once (``HFEngine(max_batch_tokens=...)``). ``None``: picked to fit
            memory (:func:`kv_cache_budget`) for a hub or local model or a checkpoint of one;
            no budget for a micro model. Other engines ignore it.
    """
    if engine not in ("hf", "vllm"):
        raise ValueError(f"engine must be 'hf' or 'vllm', got {engine!r}")
    if spec.startswith("openai:"):
        return _openai_system(spec, label)
    path = Path(spec)
    if path.is_dir() and ((path / "learners.pt").exists() or any(path.glob("checkpoint-*"))):
        return checkpoint_system(
            path, label=label, device=device, engine=engine, max_batch_tokens=max_batch_tokens
        )
    if spec.startswith("micro:"):
        if engine == "vllm":
            raise ValueError(
                "vLLM serves model directories: save a micro model with "
                "rolegym.baselines.micro.save_micro_model(PATH) and evaluate PATH"
            )
        return _hf_system(spec, label, device, micro=True, max_batch_tokens=max_batch_tokens)
    if engine == "vllm":
        return _vllm_system(spec, label)
    return _hf_system(spec, label, device, micro=False, max_batch_tokens=max_batch_tokens)


def _device(device: str) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def kv_cache_bytes_per_token(config: Any, dtype: Any) -> int:
    """Bytes of key/value cache one token takes in a model with this config.

    ``2 (key and value) x num_hidden_layers x num_key_value_heads x head_dim x bytes per
    element``, where ``head_dim`` is the config's, else ``hidden_size / num_attention_heads``,
    and ``num_key_value_heads`` defaults to ``num_attention_heads`` (no grouped-query
    attention). A multimodal config is read through its text config.

    Args:
        config: A ``transformers`` model config.
        dtype: The model's dtype (a ``torch.dtype`` or its name, e.g. ``"bfloat16"``).
    """
    import torch

    if hasattr(config, "get_text_config"):
        config = config.get_text_config()
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    element = torch.empty((), dtype=dtype).element_size()
    return 2 * config.num_hidden_layers * kv_heads * head_dim * element


def kv_cache_budget(
    config: Any, dtype: Any, free_bytes: int, share: float = 0.4, *, min_tokens: int = 1
) -> int:
    """A token budget (``HFEngine(max_batch_tokens=...)``) whose key/value cache fits.

    The most tokens whose cache takes at most ``share`` of ``free_bytes``; the rest is left to
    activations, logits and the allocator. Never below ``min_tokens``, so that at least one
    request fits (the engine runs a request over the budget alone anyway).

    Args:
        config: The model's ``transformers`` config.
        dtype: The model's dtype (a ``torch.dtype`` or its name).
        free_bytes: Memory free on the model's device with the model loaded.
        share: The part of ``free_bytes`` the cache may take.
        min_tokens: The floor: the tokens of one request (prompt + completion).

    Returns:
        The token budget.
    """
    per_token = kv_cache_bytes_per_token(config, dtype)
    return max(min_tokens, 1, int(free_bytes * share) // per_token)


def available_memory(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``); ``None`` if unknown."""
    try:
        text = Path(meminfo).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key.strip() == "MemAvailable":
            fields = rest.split()
            if not fields or not fields[0].isdigit():
                return None
            unit = fields[1].lower() if len(fields) > 1 else ""
            return int(fields[0]) * (1024 if unit == "kb" else 1)
    return None


def free_memory(device: Any) -> int | None:
    """Free bytes on ``device``: CUDA's free memory, or the host's available memory on CPU.

    ``None`` where unknown (another device type, or ``/proc/meminfo`` unreadable).
    """
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        return available_memory()
    return None


def _fitting_budget(model: Any, max_new_tokens: int) -> int | None:
    """:func:`kv_cache_budget` for a loaded model on its device (``None``: memory unknown)."""
    parameter = next(model.parameters())
    free = free_memory(parameter.device)
    if free is None:
        return None
    dtype = getattr(model, "dtype", None) or parameter.dtype
    # the floor: one request with a one-token prompt (a longer one still runs, alone)
    return kv_cache_budget(model.config, dtype, free, min_tokens=max(max_new_tokens, 0) + 1)


def _untrained_info(kind: str, name: str, checkpoint: str | None = None) -> dict[str, Any]:
    """The ``system`` record of a model evaluated as it is (no run, no learners)."""
    return {
        "kind": kind,
        "name": name,
        "checkpoint": checkpoint,
        "policy": "base",
        "policy_map": None,
        "train_env": None,
        "step": None,
    }


def _hf_system(
    spec: str,
    label: str | None,
    device: str,
    *,
    micro: bool,
    max_batch_tokens: int | None = None,
) -> System:
    def engine(temperature: float, max_new_tokens: int) -> Any:
        from rolegym.rollout.engines.hf import HFEngine

        if micro:
            from rolegym.baselines.micro import build_model, build_tokenizer

            kind, _, seed = spec.partition(":")[2].partition(":")
            model = build_model(kind or "qwen3", seed=int(seed or 0))
            tokenizer = build_tokenizer()
        else:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(spec)
            tokenizer.padding_side = "left"
            model = AutoModelForCausalLM.from_pretrained(spec, dtype="auto")
        model = model.to(_device(device)).eval()
        budget = max_batch_tokens
        if budget is None and not micro:
            budget = _fitting_budget(model, max_new_tokens)
        return HFEngine(
            model,
            tokenizer,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            max_batch_tokens=budget,
        )

    info = _untrained_info("micro" if micro else "model", spec)
    return System(label or spec, info, engine)


def _vllm_system(spec: str, label: str | None) -> System:
    holder: dict[str, Any] = {}

    def engine(temperature: float, max_new_tokens: int) -> Any:
        if "engine" not in holder:  # one LLM for every cell and temperature
            from rolegym.rollout.engines.vllm import VLLMEngine

            holder["engine"] = VLLMEngine(
                spec, max_new_tokens=max_new_tokens, temperature=temperature
            )
        return holder["engine"].with_sampling(
            temperature=temperature, max_new_tokens=max_new_tokens
        )

    info = _untrained_info("model", spec)
    return System(label or spec, info, engine)


def _openai_system(spec: str, label: str | None) -> System:
    url, _, model = spec.removeprefix("openai:").partition("#")
    if not url or not model:
        raise ValueError(f"expected openai:BASE_URL#MODEL, got {spec!r}")

    def engine(temperature: float, max_new_tokens: int) -> Any:
        from rolegym.rollout.engines.openai import OpenAIEngine

        return OpenAIEngine(url, model=model, temperature=temperature, max_tokens=max_new_tokens)

    info = _untrained_info("openai", model, checkpoint=url)
    return System(label or model, info, engine)


#: Trainers holding a run's models, by (run directory, device, engine): the checkpoints of one
#: run (``--all-checkpoints``) are loaded into the same models, and one vLLM serves them all.
#: A checkpoint is loaded when its system's engine is made, so evaluate one at a time.
_RUN_TRAINERS: dict[tuple[str, str, str], Any] = {}


def checkpoint_system(
    path: str | Path,
    *,
    label: str | None = None,
    device: str = "auto",
    engine: str = "hf",
    max_batch_tokens: int | None = None,
) -> System:
    """A training checkpoint (or a run directory: its latest checkpoint) as a system.

    With ``engine="vllm"`` the checkpoint's adapters are served by vLLM (the run must have
    trained LoRA adapters of a model directory or hub id).

    Args:
        path: A checkpoint directory, or a run directory (its latest checkpoint).
        label: Its name on a leaderboard (default: ``RUN@STEP``).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        engine: ``"hf"`` or ``"vllm"``.
        max_batch_tokens: The HF engine's token budget (``None``: picked to fit memory, or
            none for a run of a micro model; see :func:`load_system`).
    """
    from rolegym.baselines.grpo.config import GRPOConfig
    from rolegym.baselines.grpo.trainer import latest_checkpoint

    path = Path(path)
    if not (path / "learners.pt").exists():
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"{path}: no checkpoint-* directory")
        path = found
    run = path.parent
    data = json.loads((run / "config.json").read_text())
    config = GRPOConfig.from_dict(data)
    step = json.loads((path / "trainer_state.json").read_text())["step"]

    def trainer() -> Any:
        key = (str(run.resolve()), device, engine)
        t = _RUN_TRAINERS.get(key)
        if t is None:
            from rolegym.baselines.grpo.trainer import GRPOTrainer

            scratch = tempfile.mkdtemp(prefix="rolegym-eval-")
            cfg = GRPOConfig.from_dict(
                {
                    **data,
                    "output_dir": scratch,
                    "eval_steps": 0,
                    "eval_on_start": False,
                    "device": device,
                    "engine": engine,
                }
            )
            t = _RUN_TRAINERS[key] = GRPOTrainer(cfg)
        if getattr(t, "loaded_checkpoint", None) != path:  # one run's checkpoints share it
            t.load_checkpoint(path, truncate_metrics=False)
            t.loaded_checkpoint = path
        return t

    def make_engine(temperature: float, max_new_tokens: int) -> Any:
        t = trainer()
        if engine == "vllm":  # the checkpoint's adapters, as load_checkpoint re-served them
            return t.vllm_engine.with_sampling(
                temperature=temperature, max_new_tokens=max_new_tokens
            )
        from rolegym.rollout.engines.hf import HFEngine

        models = t.policies.engine_models()
        budget = max_batch_tokens
        if budget is None and not config.model_name_or_path.startswith("micro:"):
            budget = _fitting_budget(next(iter(models.values())), max_new_tokens)
        return HFEngine(
            models,
            t.tokenizer,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            max_batch_tokens=budget,
        )

    from rolegym.baselines.grpo.routing import route_roles

    probe = make(config.env_id, **config.env_kwargs).unwrapped
    routing = route_roles(
        [probe.role(a) for a in probe.possible_agents],
        policy=config.policy,
        policy_groups=config.policy_groups,
        trainable_roles=config.trainable_roles,
        scripted_roles=config.scripted_roles,
    )
    routed = routing.routes
    info = {
        "kind": "checkpoint",
        "name": config.model_name_or_path,
        "checkpoint": str(path),
        "policy": config.policy,
        "policy_map": routed,
        "train_env": config.env_id,
        "step": step,
    }
    default_label = f"{run.name}@{step}"
    return System(
        label or default_label,
        info,
        make_engine,
        policy_map=routed,
        default_policy=routing.learners[0],
        scripted=routing.scripted,
    )


def write_result(result: Mapping[str, Any], path: str | Path) -> Path:
    """Write a result file (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    return path
