"""The ``rolegym`` command.

- ``rolegym list``: the registered environments.
- ``rolegym play ID``: one episode in the terminal, you typing some roles' outputs and scripted
  policies answering the others.
- ``rolegym tasks``: the task sources, their cards and an example.
- ``rolegym train``: Shared- or Isolated-Policy GRPO (flags from ``GRPOConfig``).
- ``rolegym eval``: a model, run, checkpoint or endpoint on the fixed evaluation protocol.
- ``rolegym leaderboard`` and ``rolegym report``: tables and plots from evaluations and runs.
- ``rolegym demo``: the whole pipeline on a micro model on a CPU.
- ``rolegym study NAME``: a declared grid of GRPO runs over seeds, tested against the
  hypotheses its file states (``configs/studies/``); ``--quick`` runs the pipeline in seconds.
- ``rolegym serve-env ID``: serve an env with OpenEnv's server (HTTP and WebSocket), for any
  OpenEnv-speaking trainer; ``--learner ROLE`` has the server play every other role.

The command line is built with Typer (type-hinted commands on top of Click) and rendered with
Rich (tables and panels), rather than hand-rolled argument parsing and ANSI codes.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

import rolegym
from rolegym.envs.core import WorkflowEnv
from rolegym.envs.scripted import SCRIPTED_POLICIES

app = typer.Typer(
    help="rolegym: multi-agent LLM workflows as PettingZoo environments.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False)

_ROLE_STYLE = {
    "generator": "cyan",
    "evaluator": "magenta",
    "aggregator": "yellow",
    "orchestrator": "blue",
    "worker": "green",
    "synthesizer": "bright_yellow",
}


def _safe(text: str) -> str:
    """Printable form of any string (lone surrogates become escapes)."""
    return escape(text.encode("utf-8", "backslashreplace").decode("utf-8"))


@app.command("list")
def list_envs() -> None:
    """Show every registered environment."""
    table = Table(title="rolegym environments")
    table.add_column("id", no_wrap=True)
    table.add_column("agents")
    table.add_column("workflow")
    for env_id, spec in sorted(rolegym.registry.items()):
        cls = spec.load()
        agents = ", ".join(cls(str(spec.kwargs.get("task", "arith"))).possible_agents)
        table.add_row(env_id, agents, spec.summary.partition(": ")[2] or spec.summary)
    console.print(table)
    console.print("Unversioned ids (voting-math) resolve to the latest version.")


def _parse_kwargs(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _read_human(env: WorkflowEnv, agent: str) -> str:
    messages = env.observe(agent)["messages"]
    unseen = []
    for m in reversed(messages):
        if m["role"] == "assistant":
            break
        unseen.append(m["content"])
    style = _ROLE_STYLE.get(env.role(agent), "white")
    body = "\n\n".join(reversed(unseen)) or "(nothing new)"
    console.print(Panel(_safe(body), title=f"what {agent} sees", border_style=style))
    console.print(f"[{style}]Type {agent}'s output; finish with a line holding only '.'[/]")
    lines: list[str] = []
    for line in sys.stdin:
        if line.rstrip("\r\n") == ".":
            break
        lines.append(line)
    return "".join(lines).rstrip("\n")


@app.command()
def play(
    env_id: Annotated[str, typer.Argument(help="Environment id, e.g. voting-arith-v0.")],
    policy: Annotated[
        str, typer.Option(help="Who answers by default: human, oracle, wrong or random.")
    ] = "human",
    role: Annotated[
        list[str] | None,
        typer.Option(help="Override one role's player, e.g. --role aggregator=human."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Episode seed (picks the task).")] = 0,
    task_id: Annotated[str | None, typer.Option(help="Pose this task instead.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset name (see rolegym.tasks).")] = None,
    split: Annotated[str, typer.Option(help="Dataset split.")] = "train",
    reward_mode: Annotated[str, typer.Option(help="team or role.")] = "team",
    env_kwarg: Annotated[
        list[str] | None, typer.Option(help="Extra env argument KEY=VALUE (JSON values).")
    ] = None,
) -> None:
    """Play one episode in the terminal; the transcript is printed as it grows."""
    players: dict[str, str] = {}
    for pair in role or []:
        name, sep, who = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected ROLE=PLAYER, got {pair!r}")
        players[name] = who
    for who in [policy, *players.values()]:
        if who != "human" and who not in SCRIPTED_POLICIES:
            known = ", ".join(["human", *SCRIPTED_POLICIES])
            raise typer.BadParameter(f"unknown player {who!r}; use one of {known}")
    kwargs = _parse_kwargs(env_kwarg or [])
    if dataset is not None:
        kwargs["dataset"] = dataset
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            env = rolegym.make(env_id, split=split, reward_mode=reward_mode, **kwargs)
        for w in caught:
            console.print(f"[yellow]note:[/] {_safe(str(w.message))}")
        env.reset(seed=seed, options={"task_id": task_id} if task_id else None)
    except (rolegym.EnvNotFound, ValueError, RuntimeError, KeyError) as e:
        console.print(f"[red]error:[/] {_safe(str(e))}")
        raise typer.Exit(2) from None
    raw: WorkflowEnv = env.unwrapped
    scripted = {name: factory(seed) for name, factory in SCRIPTED_POLICIES.items()}
    console.print(Panel(_safe(raw.task.prompt), title=f"{raw.env_id} | task {raw.task.id}"))
    returns: dict[str, float] = {}
    for agent in env.agent_iter():
        _, reward, terminated, truncated, _info = env.last(observe=False)
        if terminated or truncated:
            returns[agent] = reward
            env.step(None)
            continue
        who = players.get(raw.role(agent), policy)
        action = _read_human(raw, agent) if who == "human" else scripted[who](raw, agent)
        env.step(action)
        turn = raw.episode.turns[-1]
        style = _ROLE_STYLE.get(turn.role, "white")
        note = (
            f" [red](parse error: {_safe(turn.info['parse_error'])})[/]"
            if turn.info.get("parse_error")
            else ""
        )
        console.print(
            Panel(
                _safe(turn.completion) or "(empty)",
                border_style=style,
                title=f"turn {turn.index}: {agent} ({who}){note}",
            )
        )
    ep = raw.episode
    table = Table(title=f"{'correct' if ep.correct else 'incorrect'} | reward mode {reward_mode}")
    for col in ("agent", "role", "turns", "reward"):
        table.add_column(col)
    for agent in raw.possible_agents:
        turns = str(len(ep.turns_of(agent)))
        table.add_row(agent, raw.role(agent), turns, f"{ep.returns[agent]:g}")
    console.print(table)
    final = ep.verdicts.get("final")
    if final:
        console.print(f"verdict: {final['status']} ({_safe(final['reason'])})")
    env.close()


@app.command()
def tasks(
    dataset: Annotated[
        str | None, typer.Argument(help="A dataset to load and show (e.g. humaneval).")
    ] = None,
    family: Annotated[str, typer.Option(help="math or code (for datasets of both).")] = "",
    split: Annotated[str, typer.Option(help="Split to load.")] = "test",
    index: Annotated[int, typer.Option(help="Which example to render.")] = 0,
) -> None:
    """List the task sources with their cards, or load one and render an example."""
    from rolegym.envs.prompts import pose
    from rolegym.tasks import load_tasks
    from rolegym.tasks.catalog import CARDS

    if dataset is None:
        table = Table(title="rolegym task sources")
        for col in (
            "dataset",
            "family",
            "origin",
            "license",
            "size",
            "splits",
            "answers",
            "offline",
        ):
            table.add_column(col, no_wrap=col == "dataset")
        for card in CARDS.values():
            offline = "yes" if card.offline else "no"
            table.add_row(
                card.name,
                card.family,
                card.origin,
                card.license,
                card.size,
                card.split_rule,
                card.answer_format,
                offline,
            )
        console.print(table)
        console.print("Load and show one: rolegym tasks humaneval (or gsm8k --split test, ...).")
        return
    fam = family or (
        "code" if dataset in ("humaneval", "deepcoder", "mbpp", "livecodebench") else "math"
    )
    try:
        from rolegym.verifiers import reference_runner

        runner = reference_runner() if fam == "code" else None
        source = load_tasks(fam, dataset, split, runner=runner)
    except (RuntimeError, ValueError, ModuleNotFoundError) as e:
        console.print(f"[red]error:[/] {_safe(str(e))}")
        raise typer.Exit(2) from None
    task = source[index]
    console.print(f"{source.name} / {source.split}: {len(source)} tasks")
    console.print(Panel(_safe(pose(task)), title=f"{task.id}"))
    if task.family == "math":
        console.print(f"reference answer: {_safe(str(task.answer))}")
    else:
        kinds = sorted({t.protocol for t in task.tests})
        note = task.meta.get("tests_fallback")
        console.print(
            f"{len(task.tests)} tests ({', '.join(kinds)})" + (f"; {note}" if note else "")
        )


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog="Any GRPOConfig option is a flag with TRL's name, e.g. --learning_rate 2e-5 "
    "--policy isolated --num_generations 8 (see `rolegym train --options`).",
)
def train(
    ctx: typer.Context,
    config: Annotated[
        str | None, typer.Option("--config", help="A YAML or JSON file of GRPOConfig options.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Start from a preset: paper (GPU, LoRA) or micro (CPU).")
    ] = None,
    env_kwarg: Annotated[
        list[str] | None,
        typer.Option("--env_kwarg", "--env-kwarg", help="Env argument KEY=VALUE (JSON values)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the latest checkpoint of output_dir.")
    ] = False,
    options: Annotated[
        bool, typer.Option("--options", help="List every GRPOConfig option and exit.")
    ] = False,
) -> None:
    """Train a workflow's roles with Shared- or Isolated-Policy GRPO.

    Options come from a preset, then the config file, then flags (later wins). The flags are
    derived from the GRPOConfig dataclass by tyro, so every option has one.
    """
    try:
        import tyro

        from rolegym.baselines.grpo.config import GRPOConfig, load_config
        from rolegym.baselines.grpo.trainer import GRPOTrainer
    except ImportError as e:
        console.print(
            f"[red]error:[/] training needs the [train] extra ({e.name} is missing): "
            "pip install 'rolegym[train]'"
        )
        raise typer.Exit(2) from None
    try:
        base = load_config(preset, config)
        if env_kwarg:
            base.env_kwargs = {**base.env_kwargs, **_parse_kwargs(env_kwarg)}
        args = ["--help"] if options else list(ctx.args)
        cfg = tyro.cli(
            GRPOConfig, args=args, default=base, use_underscores=True, prog="rolegym train"
        )
        cfg.__post_init__()
        trainer = GRPOTrainer(cfg)
    except (ValueError, ImportError, FileNotFoundError, rolegym.EnvNotFound) as e:
        console.print(f"[red]error:[/] {_safe(str(e))}")
        raise typer.Exit(2) from None
    try:
        result = trainer.train(resume_from_checkpoint=True if resume else None)
    except FileNotFoundError as e:
        console.print(f"[red]error:[/] {_safe(str(e))}")
        raise typer.Exit(2) from None
    if trainer.dist.rank != 0:
        return
    summary = {k: v for k, v in result.items() if k != "eval_history"}
    last = result.get("metrics", {})
    summary["metrics"] = {k: v for k, v in last.items() if "/" not in k}
    console.print_json(json.dumps(summary, default=float))
    console.print(f"run written to {cfg.output_dir}")


def _error(e: BaseException) -> typer.Exit:
    console.print(f"[red]error:[/] {_safe(str(e))}")
    return typer.Exit(2)


@app.command("eval")
def eval_command(
    system: Annotated[
        str,
        typer.Argument(
            help="micro:qwen3, a hub id or local model path, a training run or checkpoint "
            "directory, or openai:BASE_URL#MODEL."
        ),
    ],
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            help="A cell to evaluate (repeat); default: a run's own env, else every *-arith-v0.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (rolegym.eval/1).")] = Path(
        "results/eval.json"
    ),
    label: Annotated[str | None, typer.Option(help="Name on the leaderboard.")] = None,
    split: Annotated[str, typer.Option(help="Held-out split.")] = "test",
    problems: Annotated[int, typer.Option(help="The first this many tasks of the split.")] = 100,
    samples: Annotated[int, typer.Option(help="Episodes per problem.")] = 1,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
    max_new_tokens: Annotated[
        int | None, typer.Option(help="Token cap per call (default: a run's, else 1024).")
    ] = None,
    all_checkpoints: Annotated[
        bool,
        typer.Option("--all-checkpoints", help="A run directory: every checkpoint, one file each."),
    ] = False,
    env_kwarg: Annotated[
        list[str] | None,
        typer.Option("--env_kwarg", "--env-kwarg", help="Env argument KEY=VALUE (JSON values)."),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    engine: Annotated[
        str,
        typer.Option(
            help="hf (transformers) or vllm (a model directory, hub id or LoRA training run)."
        ),
    ] = "hf",
    max_batch_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-batch-tokens",
            min=1,
            help="HF engine: most prompt+completion tokens decoded at once "
            "(default: picked to fit memory)",
        ),
    ] = None,
) -> None:
    """Evaluate a model, checkpoint or endpoint on workflow x task cells with a fixed protocol."""
    from rolegym.evaluation.evaluate import Protocol, evaluate, load_system, write_result

    run_config = _run_config(Path(system))
    default_cells = [f"{w}-arith-v0" for w in ("single", "voting", "eval-opt", "orch-workers")]
    if run_config is not None:  # a training run: its own cell, caps and env arguments
        default_cells = [run_config["env_id"]]
    cells = env or default_cells
    env_kwargs = dict(run_config.get("env_kwargs", {})) if run_config and not env else {}
    env_kwargs.update(_parse_kwargs(env_kwarg or []))
    cap = max_new_tokens or (run_config or {}).get("max_completion_length") or 1024
    protocol = Protocol(
        split=split,
        problems=problems,
        samples=samples,
        seed=seed,
        temperature=temperature,
        max_new_tokens=cap,
        env_kwargs=env_kwargs,
    )
    targets: list[tuple[str, Path]] = [(system, out)]
    if all_checkpoints:
        found = sorted(Path(system).glob("checkpoint-*"))
        if not found:
            raise _error(FileNotFoundError(f"{system}: no checkpoint-* directory"))
        targets = [(str(c), out.with_name(f"{out.stem}-{c.name}{out.suffix}")) for c in found]
    try:
        for spec, path in targets:
            loaded = load_system(
                spec,
                label=label if not all_checkpoints else None,
                device=device,
                engine=engine,
                max_batch_tokens=max_batch_tokens,
            )
            with _progress_bar(len(cells), f"eval {loaded.label}") as advance:
                result = evaluate(loaded, cells, protocol, progress=lambda _cell: advance())
            write_result(result, path)
            for cell in result["cells"]:
                console.print(
                    f"{cell['env_id']:<28} accuracy {cell['accuracy']:.3f}  "
                    f"tokens/problem {cell['tokens_per_problem']:.1f}"
                )
            console.print(f"wrote {path}")
    except (ValueError, ImportError, FileNotFoundError, rolegym.EnvNotFound) as e:
        raise _error(e) from None


def _run_config(path: Path) -> dict[str, Any] | None:
    """The ``config.json`` of a training run or checkpoint directory, if ``path`` is one."""
    for folder in (path, path.parent):
        candidate = folder / "config.json"
        if candidate.is_file() and (any(folder.glob("checkpoint-*")) or folder != path):
            try:
                data = json.loads(candidate.read_text())
            except json.JSONDecodeError:
                return None
            return data if isinstance(data, dict) and "env_id" in data else None
    return None


@app.command()
def leaderboard(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Result files (rolegym.eval/1) or directories searched for them."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the Markdown, HTML, JSON and plots.")
    ] = Path("leaderboard"),
    title: Annotated[str, typer.Option(help="Heading of the pages.")] = "rolegym leaderboard",
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the PNG plots.")] = True,
) -> None:
    """Gather evaluation results into a leaderboard: Markdown, self-contained HTML, plots."""
    from rolegym.evaluation.leaderboard import build_leaderboard

    try:
        board = build_leaderboard(paths, out, title=title, plots=plots)
    except (ValueError, FileNotFoundError) as e:  # SchemaError is a ValueError
        raise _error(e) from None
    console.print(
        f"{len(board.systems)} systems x {len(board.cells)} cells -> {board.paths['html']}"
    )
    for name, why in board.skipped_plots.items():
        console.print(f"[dim]plot {name} skipped: {_safe(why)}[/dim]")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A `rolegym train` output_dir.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write (default RUN_DIR/report).")
    ] = None,
    drop: Annotated[float, typer.Option(help="Cliff: smallest drop below the peak.")] = 0.10,
    relative: Annotated[float, typer.Option(help="Cliff: smallest drop, share of peak.")] = 0.25,
    window: Annotated[int, typer.Option(help="Cliff: last evaluations that must stay low.")] = 2,
    smooth: Annotated[int, typer.Option(help="Moving average of per-step plots (1: raw).")] = 1,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw the PNG plots.")] = True,
) -> None:
    """The story of a training run: accuracy with peak, final and cliff; per-role gradients."""
    from rich.markdown import Markdown

    from rolegym.evaluation.report import write_report

    try:
        result = write_report(
            run_dir, out, drop=drop, relative=relative, window=window, smooth=smooth, plots=plots
        )
    except (FileNotFoundError, ValueError) as e:
        raise _error(e) from None
    console.print(Markdown(result.summary.split("\n## Plots")[0]))
    for name, why in result.skipped.items():
        console.print(f"[yellow]skipped[/] {name}: {_safe(why)}")
    console.print(f"report written to {result.out_dir}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for everything.")] = Path(
        "runs/demo"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the whole demo.")] = 0,
    quick: Annotated[
        bool, typer.Option("--quick", help="A pipeline check in seconds (no real training).")
    ] = False,
) -> None:
    """The paper's matrix at micro scale on a CPU, offline (about 12 minutes).

    A warm start, Shared and Isolated GRPO on every workflow, evaluation before and after,
    the leaderboard and a report per run.
    """
    try:
        from rolegym.demo import DemoConfig, run_demo
    except ImportError as e:
        missing = ImportError(f"the demo needs the [train] extra ({e.name} is missing)")
        raise _error(missing) from None
    config = DemoConfig.quick(str(out)) if quick else DemoConfig(out_dir=str(out), seed=seed)
    with _progress() as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = run_demo(config, progress=progress)
    table = Table(title="accuracy on held-out arith problems (pass@1)")
    for column in (
        "workflow",
        "random init",
        "warm start",
        *(f"GRPO {p}" for p in config.policies),
    ):
        table.add_column(column)
    for row in summary["matrix"]:
        trained = [
            f"[bold green]{row[p]:.3f}[/]" if row[f"{p}_improved"] else f"{row[p]:.3f}"
            for p in config.policies
        ]
        table.add_row(row["workflow"], f"{row['random']:.3f}", f"{row['warm_start']:.3f}", *trained)
    console.print(table)
    console.print(
        f"{summary['wall_s'] / 60:.1f} min; leaderboard: {summary['leaderboard']}; "
        f"everything in {out}"
    )


@app.command("serve-env")
def serve_env(
    env_id: Annotated[str, typer.Argument(help="Environment id, e.g. voting-arith-v0.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    learner: Annotated[
        str | None, typer.Option(help="Serve only this role; the server plays the others.")
    ] = None,
    others: Annotated[
        str, typer.Option(help="Who plays the other roles: oracle, wrong or random.")
    ] = "oracle",
    model: Annotated[
        Path | None,
        typer.Option(help="A local model directory that plays the other roles (not --others)."),
    ] = None,
    max_sessions: Annotated[int, typer.Option(help="Most concurrent WebSocket sessions.")] = 8,
    env_kwarg: Annotated[
        list[str] | None, typer.Option(help="Extra env argument KEY=VALUE (JSON values).")
    ] = None,
) -> None:
    """Serve an environment over WebSocket and HTTP with OpenEnv's server (openenv-core).

    Each WebSocket session (OpenEnv's EnvClient) plays its own episodes; an action names its
    agent and must be the observation's agent. OpenEnv's HTTP endpoints are stateless.
    """
    try:
        from rolegym.integrations import openenv
    except ImportError as e:
        raise _error(
            ImportError(f"serve-env needs openenv-core: pip install 'rolegym[openenv]' ({e})")
        ) from None
    if learner is None and (model is not None or others != "oracle"):
        raise typer.BadParameter(
            "--others and --model play the roles a --learner leaves: give --learner"
        )
    kwargs = _parse_kwargs(env_kwarg or [])
    try:
        rolegym.spec(env_id)  # an unknown id fails before a model loads
        player: Any = openenv.model_player(model) if model is not None else others
        app_ = openenv.create_rolegym_app(
            env_id, learner=learner, others=player, max_sessions=max_sessions, **kwargs
        )
    except (rolegym.EnvNotFound, ValueError, TypeError, OSError) as e:
        raise _error(e) from None
    import uvicorn

    mode = f"learner {learner}, others {model or others}" if learner else "every agent"
    console.print(f"serving {env_id} ({mode}) on http://{host}:{port} (WebSocket: /ws)")
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command("study")
def study(
    name: Annotated[str, typer.Argument(help="A study of configs/studies (or a YAML path).")],
    out: Annotated[str | None, typer.Option(help="Output folder (runs/study-NAME).")] = None,
    quick: Annotated[bool, typer.Option(help="The file's quick overrides: seconds.")] = False,
) -> None:
    """Run a study: its grid over seeds, then a verdict on each stated hypothesis."""
    from rolegym.study import load_study, run_study

    try:
        config = load_study(name)
    except (FileNotFoundError, ValueError, TypeError) as e:
        console.print(f"[red]error:[/] {_safe(str(e))}")
        raise typer.Exit(2) from e
    if quick:
        config = config.quickened()
    target = Path(out or f"runs/study-{config.name}{'-quick' if quick else ''}")
    result = run_study(config, target, progress=lambda line: console.print(_safe(line)))
    table = Table(title=f"study {config.name}: {len(result['runs'])} runs")
    for column in ("id", "verdict", "estimate", "95% CI"):
        table.add_column(column)
    for v in result["hypotheses"]:
        ci = "-" if v["ci"] is None else f"[{v['ci'][0]:.3g}, {v['ci'][1]:.3g}]"
        estimate = "-" if v["estimate"] is None else f"{v['estimate']:.3g}"
        table.add_row(v["id"], v["verdict"], estimate, ci)
    console.print(table)
    console.print(f"report: {target / 'study.md'}")


def _progress() -> Any:
    """The command's Rich progress display: description, bar, done/total, elapsed time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[bold]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@contextmanager
def _progress_bar(total: int, description: str) -> Iterator[Callable[[], None]]:
    """A Rich progress bar; yields a function that advances it by one."""
    with _progress() as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


def main() -> None:
    """Entry point of the ``rolegym`` console script."""
    app()


if __name__ == "__main__":
    main()
