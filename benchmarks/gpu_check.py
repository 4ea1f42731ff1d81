"""GPU check: HF-engine generation throughput and one ``paper`` GRPO step at Qwen3-0.6B's shapes.

Prepared for the day a GPU machine is lent, and run on a CPU with tiny shapes (``--tiny``) by
the test suite so that it does not rot. Nothing is downloaded:

- the model is a randomly initialised Qwen3 built in code from a ``transformers.Qwen3Config``
  with Qwen3-0.6B's real shapes (vocabulary 151936, width 1024, 28 layers, 16 query and 8
  key/value heads of size 128, MLP 3072, tied embeddings), seeded without touching the
  global RNG; ``--tiny`` shrinks it (width 64, 2 layers, 2 heads of 32, vocabulary 512);
- the tokenizer is :func:`rolegym.baselines.micro.build_tokenizer`'s character-level one
  (ChatML specials and chat template), its vocabulary padded with filler tokens ``<t_N>`` up
  to the model's, so that every id the model can sample decodes.

Both are saved to a temporary directory, which the trainer loads by path, as it would a hub
model. Two figures are measured:

1. **Generation**: :class:`rolegym.rollout.engines.hf.HFEngine` completes ``requests``
   ``single-math-v0`` prompts (the bundled fixture tasks) in one batch, up to
   ``max_new_tokens`` each, at temperature 0.7; the figure is completion tokens per second
   (the sum of every completion's token count over the wall time of the call, after a short
   warm-up call; CUDA synchronised around it).
2. **Training step**: one :meth:`rolegym.baselines.grpo.trainer.GRPOTrainer.train_step` of the
   ``paper`` preset (LoRA r=64 on all linear layers, bf16 on CUDA, diagnostics on) at the
   paper's math completion cap (5120 tokens), with the ``hf`` engine (the lent GPU has no
   vLLM), a small batch (``tasks_per_step`` x ``num_generations``), one completion per
   forward/backward micro-batch, and a dense reward
   (:func:`rolegym.baselines.micro.answer_chars_reward`; random text scores 0 on math, and
   groups of equal rewards have no advantage, so the optimizer would skip its step). A
   randomly initialised model rarely emits EOS, so completions run to the cap: the worst case
   for memory, which is the point. The step's timings, token counts and peak memory are
   recorded: ``torch.cuda.max_memory_allocated`` on CUDA (reset before the step), the
   process's peak resident set size on a CPU (which cannot be reset: it covers the whole run).
   A CUDA out-of-memory error in the step is recorded (``"oom": true`` and the message) rather
   than raised, so that the other figures still come back.

The JSON is written after the generation phase too (``"complete": false``), so a run cut short
still leaves its first figure behind.

Budget: the full-size run is meant to take under ~8 minutes on one H200 (the training step's
rollout, 8 completions of 5120 tokens decoded by the HF engine through the LoRA-wrapped
model, dominates). ``--max_completion_length``, ``--requests`` and ``--max_new_tokens`` trade
fidelity for time; ``--no-generation`` / ``--no-train`` skip a phase.

Run: ``python benchmarks/gpu_check.py`` (``--tiny`` on a CPU; options: ``--help``), or
``bash scripts/gpu_check.sh`` on a machine where rolegym is not installed.
"""

from __future__ import annotations

import gc
import json
import platform
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch
import tyro
from transformers import Qwen3Config, Qwen3ForCausalLM

import rolegym
from rolegym.baselines.micro import build_tokenizer
from rolegym.rollout import Request, sampling_seed
from rolegym.rollout.engines.hf import HFEngine


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """GPU check settings (``None``: the full-size or ``--tiny`` default)."""

    tiny: bool = False
    """tiny shapes and lengths (a CPU run in seconds; what the test suite runs)"""
    requests: int | None = None
    """generation requests in the batch (default: 64; tiny: 4)"""
    max_new_tokens: int | None = None
    """generation cap per request (default: 1024; tiny: 16)"""
    max_completion_length: int | None = None
    """training-step completion cap (default: 5120, the paper's math cap; tiny: 16)"""
    tasks_per_step: int = 2
    """training-step tasks"""
    num_generations: int = 4
    """completions per task (the GRPO group)"""
    per_device_train_batch_size: int = 1
    """completions per forward/backward micro-batch"""
    env_id: str = "single-math-v0"
    """the training step's env (and the generation prompts')"""
    dataset: str = "fixture"
    """the env's dataset (``fixture``: bundled, offline)"""
    reward_fn: str = "rolegym.baselines.micro:answer_chars_reward"
    """training-step reward, dense so that a random model's groups have advantages (empty: env's)"""
    generation: bool = True
    """measure HF-engine generation throughput"""
    train: bool = True
    """run the training step"""
    device: str = "auto"
    """``cuda``, ``cpu`` or ``auto`` (CUDA when present)"""
    threads: int | None = None
    """torch CPU threads (default: 1 with ``--tiny`` on a CPU, else torch's own)"""
    seed: int = 0
    """seed of the weights, the tasks and the sampling"""
    out: Path = Path(__file__).parent / "results" / "gpu_check.json"
    """where to write the JSON result"""


#: Qwen3-0.6B's shapes (its hub config.json), random weights.
QWEN3_0_6B: dict[str, Any] = {
    "vocab_size": 151936,
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 40960,
    "rope_theta": 1_000_000.0,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-6,
}
#: ``--tiny``: small enough for a 2-core CPU in seconds.
TINY: dict[str, Any] = {
    "vocab_size": 512,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
    "max_position_embeddings": 4096,
    "rope_theta": 1_000_000.0,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-6,
}
DEFAULTS = {"requests": (64, 4), "max_new_tokens": (1024, 16), "max_completion_length": (5120, 16)}


def resolved(cfg: Config, name: str) -> int:
    """A ``None``-defaulted option's value: its full-size or tiny default unless given."""
    value = getattr(cfg, name)
    if value is not None:
        return int(value)
    full, tiny = DEFAULTS[name]
    return tiny if cfg.tiny else full


# ---------------------------------------------------------------------------- model
def build_model(shapes: dict[str, Any], tokenizer: Any, seed: int) -> Qwen3ForCausalLM:
    """A randomly initialised Qwen3 of the given shapes (global RNG state left as it was).

    Args:
        shapes: Config fields (:data:`QWEN3_0_6B` or :data:`TINY`).
        tokenizer: Its tokenizer (pad and EOS ids).
        seed: Seed of the initial weights.
    """
    fields = dict(shapes)
    rope = {"rope_type": "default", "rope_theta": fields.pop("rope_theta")}
    config = Qwen3Config(
        **fields,
        rope_parameters=rope,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config)
    return model.eval()


# ---------------------------------------------------------------------------- helpers
def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine(device: torch.device) -> dict[str, Any]:
    """The machine and library versions."""
    cuda = device.type == "cuda"
    props = torch.cuda.get_device_properties(device) if cuda else None
    return {
        "gpu": torch.cuda.get_device_name(device) if cuda else "cpu",
        "gpu_memory_gib": props.total_memory / 2**30 if props is not None else None,
        "device": str(device),
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "processor": platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
        "peft": _version("peft"),
        "accelerate": _version("accelerate"),
        "rolegym": _version("rolegym"),
    }


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on a CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def release(device: torch.device) -> None:
    """Collect garbage and hand cached CUDA blocks back."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def requests_for(cfg: Config, n: int) -> list[Request]:
    """``n`` requests: the env's first observations of successive task draws."""
    env = rolegym.make(cfg.env_id, dataset=cfg.dataset)
    out = []
    for i in range(n):
        env.reset(seed=cfg.seed + i)
        agent = env.agent_selection
        messages = tuple(dict(m) for m in env.observe(agent)["messages"])
        seed = sampling_seed(cfg.seed, agent, 0, i)
        role = env.unwrapped.role(agent)
        out.append(
            Request(
                env_index=i, agent=agent, role=role, turn=0, messages=messages, sampling_seed=seed
            )
        )
    return out


# ---------------------------------------------------------------------------- phases
def run_generation(
    cfg: Config, model: torch.nn.Module, tokenizer: Any, device: torch.device
) -> dict[str, Any]:
    """HF-engine completion tokens per second on one batch of requests."""
    n, cap = resolved(cfg, "requests"), resolved(cfg, "max_new_tokens")
    engine = HFEngine(model, tokenizer, max_new_tokens=cap, temperature=0.7)
    requests = requests_for(cfg, n)
    warm = time.perf_counter()
    engine.with_sampling(max_new_tokens=2).generate(requests[:1])  # kernels, allocator, caches
    sync(device)
    warmup_s = time.perf_counter() - warm
    start = time.perf_counter()
    completions = engine.generate(requests)
    sync(device)
    wall = time.perf_counter() - start
    lengths = [len(c.token_ids or ()) for c in completions]
    tokens = sum(lengths)
    return {
        "requests": n,
        "max_new_tokens": cap,
        "temperature": 0.7,
        "prompt_tokens_mean": sum(len(c.prompt_token_ids or ()) for c in completions) / n,
        "completion_tokens": tokens,
        "completion_length_mean": tokens / n,
        "completion_length_max": max(lengths),
        "finish_reasons": dict(Counter(str(c.finish_reason) for c in completions)),
        "warmup_s": warmup_s,
        "wall_s": wall,
        "tokens_per_s": tokens / wall,
        "decode_steps_per_s": max(lengths) / wall,
    }


STEP_KEYS = {
    "step_time": "step_time_s",
    "timing/generate": "generate_s",
    "timing/train": "train_s",
    "num_tokens": "num_tokens",
    "completions/mean_length": "completion_length_mean",
    "completions/clipped_ratio": "clipped_ratio",
    "samples": "samples",
    "loss": "loss",
    "reward": "reward",
}


def run_train_step(cfg: Config, model_dir: Path, device: torch.device) -> dict[str, Any]:
    """One ``paper``-preset training step; its figures and peak memory (OOM recorded)."""
    from rolegym.baselines.grpo.config import load_config
    from rolegym.baselines.grpo.trainer import GRPOTrainer

    cuda = device.type == "cuda"
    cap = resolved(cfg, "max_completion_length")
    out: dict[str, Any] = {
        "preset": "paper",
        "engine": "hf",
        "env_id": cfg.env_id,
        "dataset": cfg.dataset,
        "reward_fn": cfg.reward_fn or "the env's",
        "tasks_per_step": cfg.tasks_per_step,
        "num_generations": cfg.num_generations,
        "expected_samples": cfg.tasks_per_step * cfg.num_generations,
        "per_device_train_batch_size": cfg.per_device_train_batch_size,
        "max_completion_length": cap,
        "torch_dtype": "bfloat16" if cuda else "float32",
        "finished": False,
        "oom": False,
        "error": None,
        "peak_memory_kind": "cuda_max_memory_allocated" if cuda else "process_peak_rss",
    }
    trainer = None
    with tempfile.TemporaryDirectory(prefix="gpu_check-run-") as run_dir:
        config = load_config(
            "paper",
            model_name_or_path=str(model_dir),
            engine="hf",
            env_id=cfg.env_id,
            env_kwargs={"dataset": cfg.dataset},
            max_completion_length=cap,
            tasks_per_step=cfg.tasks_per_step,
            num_generations=cfg.num_generations,
            per_device_train_batch_size=cfg.per_device_train_batch_size,
            eval_steps=0,
            eval_on_start=False,
            save_steps=0,
            disable_tqdm=True,
            output_dir=run_dir,
            device=device.type,
            torch_dtype=out["torch_dtype"],
            seed=cfg.seed,
            reward_fn=cfg.reward_fn or None,
        )
        out["lora_r"], out["diagnostics"] = config.lora_r, config.diagnostics
        try:
            start = time.perf_counter()
            trainer = GRPOTrainer(config)
            sync(device)
            out["load_s"] = time.perf_counter() - start
            if cuda:
                out["memory_after_load_bytes"] = torch.cuda.memory_allocated(device)
                torch.cuda.reset_peak_memory_stats(device)
            start = time.perf_counter()
            metrics = trainer.train_step()
            sync(device)
            out["wall_s"] = time.perf_counter() - start
            out |= {name: metrics[key] for key, name in STEP_KEYS.items() if key in metrics}
            out["metrics"] = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
            skipped = [v for k, v in metrics.items() if k.endswith("/skipped")]
            out["optimizer_stepped"] = bool(skipped) and not any(skipped)
            out["finished"] = True
        except torch.cuda.OutOfMemoryError as e:
            out["oom"], out["error"] = True, str(e)[:4000]
        finally:
            if cuda:
                out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
                out["peak_reserved_bytes"] = torch.cuda.max_memory_reserved(device)
            else:
                out["peak_memory_bytes"] = peak_rss_bytes()
            out["peak_memory_gib"] = out["peak_memory_bytes"] / 2**30
            del trainer
            release(device)
    return out


# ---------------------------------------------------------------------------- main
def write(cfg: Config, results: dict[str, Any]) -> None:
    """Write the JSON result."""
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(results, indent=2) + "\n")


def main(cfg: Config) -> dict[str, Any]:
    begin = time.perf_counter()
    if cfg.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(cfg.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    threads = cfg.threads or (1 if cfg.tiny and device.type == "cpu" else None)
    if threads:  # one thread: a busy core stalls torch's parallel regions at tiny shapes
        torch.set_num_threads(threads)
    shapes = TINY if cfg.tiny else QWEN3_0_6B
    results: dict[str, Any] = {
        "benchmark": "gpu_check",
        "complete": False,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()}
        | {k: resolved(cfg, k) for k in DEFAULTS},
        "machine": machine(device),
        "model": {
            "shapes": "tiny" if cfg.tiny else "Qwen3-0.6B",
            "config": shapes,
            "weights": "random (seeded), built in code; nothing downloaded",
            "tokenizer": "character-level ChatML, padded with <t_N> fillers to vocab_size",
            "dtype": str(dtype).removeprefix("torch."),
        },
        "wall_s": 0.0,
    }
    with tempfile.TemporaryDirectory(prefix="gpu_check-model-") as tmp:
        model_dir = Path(tmp)
        start = time.perf_counter()
        tokenizer = build_tokenizer(shapes["vocab_size"])
        model = build_model(shapes, tokenizer, cfg.seed).to(dtype)
        results["model"]["parameters"] = model.num_parameters()
        results["model"]["build_s"] = time.perf_counter() - start
        start = time.perf_counter()
        model.save_pretrained(str(model_dir))
        tokenizer.save_pretrained(str(model_dir))
        results["model"]["save_s"] = time.perf_counter() - start
        if cfg.generation:
            results["generation"] = run_generation(cfg, model.to(device), tokenizer, device)
            results["wall_s"] = time.perf_counter() - begin
            write(cfg, results)
            g = results["generation"]
            print(
                f"generation: {g['requests']} requests x <= {g['max_new_tokens']} tokens, "
                f"{g['completion_tokens']} tokens in {g['wall_s']:.1f} s = "
                f"{g['tokens_per_s']:.1f} tokens/s",
                flush=True,
            )
        del model
        release(device)
        if cfg.train:
            results["train_step"] = t = run_train_step(cfg, model_dir, device)
            state = "OOM" if t["oom"] else "done"
            extra = (
                f"{t['step_time_s']:.1f} s (generate {t['generate_s']:.1f} s, train "
                f"{t['train_s']:.1f} s), {t['samples']:.0f} samples, mean length "
                f"{t['completion_length_mean']:.0f} / {t['max_completion_length']}"
                if t["finished"]
                else (t["error"] or "")[:200]
            )
            print(
                f"train step ({state}): {extra}; peak memory {t['peak_memory_gib']:.2f} GiB "
                f"({t['peak_memory_kind']})"
            )
    results["wall_s"] = time.perf_counter() - begin
    results["complete"] = True
    write(cfg, results)
    print(f"{results['machine']['gpu']}: total {results['wall_s']:.1f} s; wrote {cfg.out}")
    return results


if __name__ == "__main__":
    main(tyro.cli(Config))
