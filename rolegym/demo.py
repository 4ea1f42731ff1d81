r"""``rolegym demo``: the paper's experimental matrix at micro scale, on a CPU, offline.

What it does, in one folder (``runs/demo`` by default):

1. **Warm start.** A micro Qwen3-style model (built in code, no download) is fine-tuned on
   transcripts played by a scripted teacher on ``arith`` problems (``a + b`` with
   ``a, b <= 9``): generators and workers answer ``\boxed{N}`` (right half the time, one too
   many otherwise: the warm start leaves each answer torn between the right sum and a near
   miss, which is what reinforcement learning then has to resolve), aggregators pick a correct
   candidate, evaluators judge correctly, orchestrators name two strategies, synthesizers give
   the answer most workers gave. Two phases: the sums first, on single-agent transcripts only
   (a model this small learns them from one prompt layout at a time), then, for each
   multi-agent workflow, a copy of that model learns the workflow's roles on its own
   transcripts: one warm start per workflow. A single warm start for every role was tried
   first: the 2-layer model could not keep six roles' formats apart (after it, the
   orchestrator's output failed to parse in every episode and the evaluator's in nine of ten,
   so GRPO had little to shape in those workflows).
2. **Before.** The random model and the warm starts are evaluated on all four workflows (each
   workflow with its own warm start).
3. **GRPO.** Shared-Policy and Isolated-Policy GRPO (team reward = the final answer's
   correctness, the paper's default grouping and loss) train each workflow's warm start.
4. **After.** Each trained system is evaluated on its workflow with the same protocol.
5. **Outputs.** Result files (``results/*.json``, ``rolegym.eval/1``), the leaderboard
   (``leaderboard/``: Markdown, HTML, plots), a report per training run
   (``runs/<workflow>-<policy>/report/``) and ``demo.md`` / ``demo.json``: the matrix of
   accuracies before and after, and the seconds each stage took.

Everything is seeded, and on one machine (one CPU model, the same torch and transformers) the
figures are bit-for-bit repeatable at a given torch thread count: nothing depends on the time,
the load or ``PYTHONHASHSEED`` (``tests/test_demo.py`` runs it twice to check). Another thread
count can sum in another order (a run with 1 and one with 2 threads were seen to differ in the
last bits of the weights), and another torch or transformers version, or a CPU whose math
kernels round differently, changes the initial weights or the last bit of a sum; training turns
that into other accuracies. The whole demo takes about twelve minutes on two CPU cores.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DemoConfig", "Teacher", "WarmStarts", "build_warm_starts", "run_demo"]

WORKFLOWS = ("single", "voting", "eval-opt", "orch-workers")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


@dataclass
class DemoConfig:
    """Settings of the demo (the defaults are the README's run).

    Attributes:
        out_dir: Where everything goes.
        seed: Seed of everything (model init, transcripts, batches, rollouts).
        hidden_size: Micro model width.
        layers: Micro model depth.
        max_value: Operands of ``arith`` are ``0..max_value``.
        ops: Operators of ``arith``.
        teacher_accuracy: How often the teacher's answers are right (else one too many).
        transcripts: Episodes the teacher plays per workflow for the warm start.
        sft_steps: Supervised steps of the first phase (the sums).
        format_steps: Supervised steps of the second phase, per multi-agent workflow (its
            roles' formats, on its own transcripts).
        sft_batch_size: Transcripts per supervised step.
        sft_learning_rate: Learning rate of the first phase (cosine decay).
        format_learning_rate: Learning rate of the second phase (cosine decay).
        workflows: Workflows to train.
        policies: Policy maps to train with.
        grpo_steps: GRPO steps per workflow.
        learning_rate: GRPO learning rate.
        tasks_per_step: GRPO tasks per step.
        num_generations: GRPO episodes per task.
        max_completion_length: Token cap per call (training and evaluation).
        eval_problems: Held-out problems per evaluation (one sample each, temperature 0.7).
    """

    out_dir: str = "runs/demo"
    seed: int = 0
    hidden_size: int = 64
    layers: int = 2
    max_value: int = 9
    ops: str = "+"
    teacher_accuracy: float = 0.5
    transcripts: dict[str, int] = field(
        default_factory=lambda: {
            "single": 1000,
            "voting": 150,
            "eval-opt": 100,
            "orch-workers": 100,
        }
    )
    sft_steps: int = 1000
    format_steps: dict[str, int] = field(
        default_factory=lambda: {"voting": 200, "eval-opt": 200, "orch-workers": 300}
    )
    sft_batch_size: int = 32
    sft_learning_rate: float = 3e-3
    format_learning_rate: float = 2e-3
    workflows: tuple[str, ...] = WORKFLOWS
    policies: tuple[str, ...] = ("shared", "isolated")
    grpo_steps: dict[str, int] = field(
        default_factory=lambda: {"single": 80, "voting": 40, "eval-opt": 20, "orch-workers": 30}
    )
    learning_rate: float = 1e-4
    tasks_per_step: int = 8
    num_generations: int = 8
    max_completion_length: int = 40
    eval_problems: int = 200

    @classmethod
    def quick(cls, out_dir: str = "runs/demo-quick") -> DemoConfig:
        """A pipeline check in well under a minute (no meaningful accuracies)."""
        return cls(
            out_dir=out_dir,
            transcripts=dict.fromkeys(WORKFLOWS, 4),
            sft_steps=5,
            format_steps=dict.fromkeys(WORKFLOWS[1:], 3),
            grpo_steps=dict.fromkeys(WORKFLOWS, 1),
            tasks_per_step=2,
            num_generations=2,
            eval_problems=4,
        )


class Teacher:
    """The scripted player of the warm-start transcripts (see the module docstring).

    Args:
        accuracy: How often an answer is right (else it is one too many).
        seed: Seed of its own generator.
    """

    def __init__(self, accuracy: float, seed: int) -> None:
        self.accuracy = accuracy
        self.rng = np.random.default_rng(seed)  # its own generator, never the global one

    @staticmethod
    def _boxed(text: str) -> str | None:
        found = _BOXED.findall(text)
        return found[-1].strip() if found else None

    def __call__(self, env: Any, agent: str) -> str:
        """The teacher's output for ``agent``'s turn."""
        role, task = env.role(agent), env.task
        if role == "synthesizer":  # the answer most workers gave (the first of a tie)
            answers = [self._boxed(t.completion) for t in env.episode.turns if t.role == "worker"]
            given = [a for a in answers if a is not None]
            if given:
                return f"\\boxed{{{max(given, key=given.count)}}}"
        if role in ("generator", "worker", "synthesizer"):
            answer = int(task.answer) + (0 if float(self.rng.random()) < self.accuracy else 1)
            return f"\\boxed{{{answer}}}"
        if role == "aggregator":
            candidates = [t.completion for t in env.episode.turns if t.role == "generator"]
            for i, text in enumerate(candidates, 1):
                if self._boxed(text) == task.answer:
                    return f"\\boxed{{{i}}}"
            return "\\boxed{1}"
        if role == "evaluator":
            judged = [t for t in env.episode.turns if t.role == "generator"][-1]
            right = self._boxed(judged.completion) == task.answer
            return "\\boxed{Correct}" if right else "\\boxed{Incorrect}"
        if role == "orchestrator":
            return "STRATEGY 1: add\nSTRATEGY 2: count"
        raise ValueError(f"the demo teacher has no output for role {role!r}")


def _env_id(workflow: str) -> str:
    return f"{workflow}-arith-v0"


@dataclass
class WarmStarts:
    """What :func:`build_warm_starts` made.

    Attributes:
        tokenizer: The micro tokenizer.
        random_model: The micro model at initialisation.
        models: Workflow -> its warm start (``single``: the sums model).
        final_loss: Workflow -> the last supervised loss of its phase.
    """

    tokenizer: Any
    random_model: Any
    models: dict[str, Any]
    final_loss: dict[str, float]

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Save each warm start (model and tokenizer) to ``folder/<workflow>``; returns them."""
        paths = {}
        for workflow, model in self.models.items():
            paths[workflow] = Path(folder) / workflow
            model.save_pretrained(str(paths[workflow]))
            self.tokenizer.save_pretrained(str(paths[workflow]))
        return paths


def build_warm_starts(
    c: DemoConfig,
    workflows: Sequence[str] = WORKFLOWS,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> WarmStarts:
    """The demo's warm starts for ``workflows`` (step 1 of the module docstring).

    The same ``c.seed`` gives the same model for a workflow whatever else is asked for (each
    workflow's transcripts and phase are seeded by its place in :data:`WORKFLOWS`), so a study
    can build only the warm starts it needs.
    """
    import torch

    from rolegym.baselines.micro import build_model, build_tokenizer
    from rolegym.baselines.sft import collect_transcripts, supervised_finetune

    unknown = sorted(set(workflows) - set(WORKFLOWS))
    if unknown:
        raise ValueError(f"no demo warm start for {unknown}; known: {list(WORKFLOWS)}")
    tick = progress or (lambda stage, done, total: None)
    dataset = {"dataset_options": {"max_value": c.max_value, "ops": c.ops}}
    wanted = [w for w in WORKFLOWS if w == "single" or w in workflows]
    transcripts: dict[str, list[Any]] = {}
    for done, workflow in enumerate(wanted, 1):
        i = WORKFLOWS.index(workflow)
        teacher = Teacher(c.teacher_accuracy, seed=c.seed * 100 + i)
        seed = c.seed * 100_000 + i * 10_000
        episodes = c.transcripts[workflow]
        transcripts[workflow] = collect_transcripts(
            _env_id(workflow), teacher, episodes, seed=seed, **dataset
        )
        tick("teacher transcripts", done, len(wanted))
    tokenizer = build_tokenizer()
    random_model = build_model("qwen3", hidden_size=c.hidden_size, layers=c.layers, seed=c.seed)
    warm = copy.deepcopy(random_model).train()
    losses = supervised_finetune(
        warm,
        tokenizer,
        transcripts["single"],
        steps=c.sft_steps,
        batch_size=c.sft_batch_size,
        learning_rate=c.sft_learning_rate,
        seed=c.seed,
        progress=lambda step, loss: tick("warm start: sums", step, c.sft_steps),
    )
    warm.eval()
    models: dict[str, torch.nn.Module] = {"single": warm}  # the sums model learns each one's roles
    final_loss = {"single": losses[-1]}
    for workflow in wanted[1:]:
        model = copy.deepcopy(warm).train()
        steps = c.format_steps[workflow]
        final_loss[workflow] = supervised_finetune(
            model,
            tokenizer,
            transcripts[workflow],
            steps=steps,
            batch_size=c.sft_batch_size,
            learning_rate=c.format_learning_rate,
            seed=c.seed + WORKFLOWS.index(workflow),
            progress=lambda step, loss, w=workflow, n=steps: tick(f"warm start: {w}", step, n),
        )[-1]
        models[workflow] = model.eval()
    return WarmStarts(tokenizer, random_model, {w: models[w] for w in wanted}, final_loss)


def run_demo(
    config: DemoConfig | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the demo (see the module docstring); returns the summary written to ``demo.json``.

    Args:
        config: Settings (default: :class:`DemoConfig`).
        progress: Called as ``progress(stage, done, total)`` while it works.
    """
    import torch

    from rolegym.baselines.grpo.config import GRPOConfig
    from rolegym.baselines.grpo.trainer import GRPOTrainer
    from rolegym.evaluation.evaluate import Protocol, System, evaluate, write_result
    from rolegym.evaluation.leaderboard import build_leaderboard
    from rolegym.evaluation.report import write_report
    from rolegym.evaluation.schema import validate_result
    from rolegym.rollout.engines.hf import HFEngine

    c = config or DemoConfig()
    ticked = progress or (lambda stage, done, total: None)
    stages: dict[str, float] = {}  # seconds per stage, in demo.json
    clock = [time.perf_counter()]

    def tick(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        stages[stage] = stages.get(stage, 0.0) + now - clock[0]
        clock[0] = now
        ticked(stage, done, total)

    out = Path(c.out_dir)
    results = out / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo_config.json").write_text(json.dumps(asdict(c), indent=2))
    started = time.perf_counter()
    dataset = {"dataset_options": {"max_value": c.max_value, "ops": c.ops}}
    protocol = Protocol(
        problems=c.eval_problems,
        samples=1,
        seed=c.seed,
        temperature=0.7,
        max_new_tokens=c.max_completion_length,
        env_kwargs=dataset,
    )
    cells = [_env_id(w) for w in WORKFLOWS]

    # 1. warm start
    warm = build_warm_starts(c, progress=tick)
    warm.save(out / "warm_start")
    tokenizer, random_model, warm_starts = warm.tokenizer, warm.random_model, warm.models

    def model_system(label: str, model: Any, kind: str) -> System:
        info = {
            "kind": kind,
            "name": f"micro:qwen3 ({c.hidden_size}x{c.layers})",
            "checkpoint": None,
            "policy": "base",
            "policy_map": None,
            "train_env": None,
            "step": None,
        }
        return System(
            label, info, lambda t, n: HFEngine(model, tokenizer, max_new_tokens=n, temperature=t)
        )

    # 2. before
    before: dict[str, dict[str, float]] = {}
    random_system = model_system("micro, random init", random_model, "micro")
    result = evaluate(
        random_system,
        cells,
        protocol,
        progress=lambda cell: tick("evaluate the random init", cells.index(cell) + 1, len(cells)),
    )
    write_result(result, results / "random.json")
    before["random"] = {cell["env_id"]: cell["accuracy"] for cell in result["cells"]}
    warm_cells = []  # each workflow with its own warm start, in one result file
    for i, workflow in enumerate(WORKFLOWS):
        system = model_system("micro + warm start", warm_starts[workflow], "micro")
        warm_cells += evaluate(system, [_env_id(workflow)], protocol)["cells"]
        tick("evaluate the warm starts", i + 1, len(WORKFLOWS))
    result["label"], result["cells"] = "micro + warm start", warm_cells
    validate_result(result)
    write_result(result, results / "warm-start.json")
    before["warm-start"] = {cell["env_id"]: cell["accuracy"] for cell in warm_cells}

    # 3-4. GRPO, then after
    after: dict[str, dict[str, float]] = {}
    runs = []
    for workflow in c.workflows:
        for policy in c.policies:
            name = f"{workflow}-{policy}"
            steps = c.grpo_steps[workflow]
            gconfig = GRPOConfig(
                env_id=_env_id(workflow),
                env_kwargs=dataset,
                policy=policy,
                model_name_or_path="micro:qwen3",
                micro_hidden_size=c.hidden_size,
                micro_layers=c.layers,
                use_peft=False,
                num_generations=c.num_generations,
                tasks_per_step=c.tasks_per_step,
                max_completion_length=c.max_completion_length,
                learning_rate=c.learning_rate,
                weight_decay=0.0,
                max_steps=steps,
                eval_steps=max(steps // 4, 1),
                eval_tasks=min(50, c.eval_problems),
                eval_on_start=True,
                save_steps=steps,
                disable_tqdm=True,
                logging_steps=0,
                output_dir=str(out / "runs" / name),
                device="cpu",
                seed=c.seed,
                per_device_train_batch_size=64,
            )
            trainer = GRPOTrainer(
                gconfig, model=copy.deepcopy(warm_starts[workflow]), tokenizer=tokenizer
            )
            trainer.train(
                on_step=lambda m, name=name, steps=steps: tick(
                    f"GRPO {name}", int(m["step"]), steps
                )
            )
            routes = dict(trainer.policy_of)
            info = {
                "kind": "checkpoint",
                "name": f"micro:qwen3 ({c.hidden_size}x{c.layers})",
                "checkpoint": str(out / "runs" / name / f"checkpoint-{steps:06d}"),
                "policy": policy,
                "policy_map": routes,
                "train_env": _env_id(workflow),
                "step": steps,
            }
            models = trainer.policies.engine_models()
            system = System(
                f"GRPO {policy} on {workflow}",
                info,
                lambda t, n, models=models: HFEngine(
                    models, tokenizer, max_new_tokens=n, temperature=t
                ),
                policy_map=routes,
                default_policy=trainer.learner_names[0],
            )
            result = evaluate(system, [_env_id(workflow)], protocol)
            write_result(result, results / f"{name}.json")
            after[name] = {cell["env_id"]: cell["accuracy"] for cell in result["cells"]}
            write_report(out / "runs" / name)
            runs.append(name)
            tick("train and evaluate", len(runs), len(c.workflows) * len(c.policies))

    # 5. outputs
    board = build_leaderboard([results], out / "leaderboard", title="rolegym demo (micro, arith)")
    rows = []
    for workflow in c.workflows:
        cell = _env_id(workflow)
        row = {
            "workflow": workflow,
            "random": before["random"][cell],
            "warm_start": before["warm-start"][cell],
        }
        for policy in c.policies:
            row[policy] = after[f"{workflow}-{policy}"][cell]
            row[f"{policy}_improved"] = row[policy] > row["warm_start"]
        rows.append(row)
    summary = {
        "config": asdict(c),
        "sft_final_loss": warm.final_loss,
        "matrix": rows,
        "leaderboard": str(board.paths["markdown"]),
        "runs": runs,
        "wall_s": time.perf_counter() - started,
        "stages_s": {stage: round(seconds, 1) for stage, seconds in stages.items()},
        "threads": torch.get_num_threads(),
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=2))
    (out / "demo.md").write_text(_markdown(rows, c, summary["wall_s"]))
    return summary


def _markdown(rows: list[dict[str, Any]], c: DemoConfig, wall_s: float) -> str:
    policies = c.policies
    head = (
        "| workflow | random init | warm start | "
        + " | ".join(f"GRPO {p}" for p in policies)
        + " |"
    )
    lines = [
        f"# rolegym demo: accuracy on {c.eval_problems} held-out arith problems "
        "(pass@1, temperature 0.7)",
        "",
        head,
        "|" + "---|" * (3 + len(policies)),
    ]
    for r in rows:
        trained = " | ".join(
            f"**{r[p]:.3f}**" if r[f"{p}_improved"] else f"{r[p]:.3f}" for p in policies
        )
        lines.append(f"| {r['workflow']} | {r['random']:.3f} | {r['warm_start']:.3f} | {trained} |")
    lines += ["", f"Bold: above the warm start. Wall time: {wall_s / 60:.1f} min.", ""]
    return "\n".join(lines)
