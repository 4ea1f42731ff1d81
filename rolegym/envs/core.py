"""``WorkflowEnv``: the PettingZoo AEC plumbing every workflow shares.

A workflow subclass only decides who speaks next and what each role sees; this class does
the rest: turn bookkeeping, per-agent conversations, dead steps, reward crediting (team or
role), the transcript, verification at the end of the episode, rendering and seeding.

How a subclass drives it:

- ``_agents()`` lists the possible agents (``<role>_<i>``).
- ``_begin()`` runs at reset: fill conversations (``self._say(agent, content)``) and
  queue the first speakers (``self._queue``).
- ``_act(agent, turn)`` runs after each live turn (already recorded in ``turn``): parse it,
  set ``turn.info`` (``parse_error`` and parsed values), queue the next speakers, skip unused
  agents with ``self._skip(agent)``, or end the episode with ``self._end(final_turn)``.
- ``parallel_roles`` names roles whose queued agents may be generated together (their
  observation is final as soon as they are queued); :meth:`ready_agents` uses it.

Reward crediting (``reward_mode``):

- ``"team"``: the final 0/1 outcome is credited to every turn, as in the paper.
- ``"role"``: role-local rewards: generator/worker = its own answer's correctness; evaluator =
  verdict accuracy on the answer it judged; aggregator and synthesizer = final correctness;
  orchestrator = mean correctness of its workers' answers (the paper credits it 0, which
  gives no learning signal).

In both modes a turn with a ``parse_error`` is credited 0. An agent's AEC reward is the mean of
its turns' rewards (agents that never spoke get 0).
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Any, ClassVar, Literal

from gymnasium.utils import seeding
from pettingzoo import AECEnv

from rolegym.envs.episode import Episode, Message, Turn
from rolegym.envs.spaces import action_space, observation_space
from rolegym.tasks.base import Task, TaskSource
from rolegym.tasks.catalog import TASK_KINDS, load_tasks
from rolegym.verifiers import Verdict, Verifier, default_verifier, reference_runner

__all__ = ["RewardMode", "WorkflowEnv"]

RewardMode = Literal["team", "role"]
Observation = dict[str, tuple[Message, ...]]


def _mean(values: list[float]) -> float:
    """Mean of a short list (0 for an empty one); cheaper than numpy at this size."""
    return sum(values) / len(values) if values else 0.0


def _role_of(agent: str) -> str:
    return agent.rsplit("_", 1)[0]


class WorkflowEnv(AECEnv[str, Observation, str]):
    """Base class of the workflow environments (see the module docstring).

    Args:
        task: The task kind of the env id: ``"math"``, ``"code"`` or ``"arith"``.
        dataset: Dataset name (default: the kind's default; see :mod:`rolegym.tasks.catalog`).
        split: Which split to draw tasks from.
        tasks: A ready :class:`TaskSource` (overrides ``dataset`` and ``split``).
        dataset_options: Extra options for the task source (e.g. ``{"terms": 3}`` for arith).
        verifier: The verifier (default: the family's default verifier).
        verifier_options: Options for the default verifier (e.g. ``{"isolation": "rlimits"}``).
        reward_mode: ``"team"`` (default) or ``"role"``.
        max_action_chars: Longer actions are cut to this length and flagged ``action_cut``.
        render_mode: ``"ansi"``, ``"human"`` or ``None``.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "name": "workflow",
        "render_modes": ["ansi", "human"],
        "is_parallelizable": False,
        "render_fps": 1,
    }
    workflow: ClassVar[str] = "workflow"
    version: ClassVar[int] = 0
    parallel_roles: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        task: str = "arith",
        *,
        dataset: str | None = None,
        split: str = "train",
        tasks: TaskSource | None = None,
        dataset_options: dict[str, Any] | None = None,
        verifier: Verifier | None = None,
        verifier_options: dict[str, Any] | None = None,
        reward_mode: RewardMode = "team",
        max_action_chars: int = 100_000,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        if task not in TASK_KINDS:
            raise ValueError(f"unknown task kind {task!r}; expected one of {sorted(TASK_KINDS)}")
        if reward_mode not in ("team", "role"):
            raise ValueError(f"reward_mode must be 'team' or 'role', got {reward_mode!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        if max_action_chars < 1:
            raise ValueError("max_action_chars must be positive")
        self.task_kind = task
        self.family, default_dataset = TASK_KINDS[task]
        if tasks is not None and tasks.family != self.family:
            raise ValueError(f"{task} envs need {self.family} tasks, got {tasks.family} tasks")
        self.dataset = tasks.name if tasks is not None else (dataset or default_dataset)
        self.split = tasks.split if tasks is not None else split
        self._tasks = tasks
        self._dataset_options = dict(dataset_options or {})
        self.verifier = verifier or default_verifier(self.family, **(verifier_options or {}))
        self.reward_mode: RewardMode = reward_mode
        self.render_mode = render_mode
        self.max_action_chars = max_action_chars
        self.spec: Any = None  # the EnvSpec, set by rolegym.make
        self.metadata = {**type(self).metadata, "name": self.env_id}
        self.possible_agents = self._agents()
        self._roles = {a: _role_of(a) for a in self.possible_agents}
        # One message can hold every other agent's output (the aggregator's candidates) plus
        # the problem statement.
        longest = (len(self.possible_agents) + 2) * max_action_chars + 1_000_000
        self._observation_space = observation_space(max_chars=longest)
        self._action_space = action_space(max_action_chars)
        self.np_random, self.np_random_seed = seeding.np_random(None)
        self.task: Task | None = None
        self.episode: Episode | None = None

    # ------------------------------------------------------------------ identity

    @property
    def env_id(self) -> str:
        """The id this env was made from (``make`` sets ``spec``), else its canonical id."""
        if self.spec is not None:
            return self.spec.id
        return f"{self.workflow}-{self.task_kind}-v{self.version}"

    @property
    def tasks(self) -> TaskSource:
        """The task source (loaded on first use, so ``make`` stays cheap)."""
        if self._tasks is None:
            runner = reference_runner() if self.family == "code" else None
            self._tasks = load_tasks(
                self.family, self.dataset, self.split, runner=runner, **self._dataset_options
            )
        return self._tasks

    def role(self, agent: str) -> str:
        """The role of ``agent`` (``"generator_2"`` -> ``"generator"``)."""
        return self._roles[agent]

    def observation_space(self, agent: str) -> Any:
        """The same ``Dict`` space object for every agent."""
        return self._observation_space

    def action_space(self, agent: str) -> Any:
        """The same ``UnicodeText`` space object for every agent."""
        return self._action_space

    @property
    def max_context_completions(self) -> int:
        """The most earlier completions any agent's observation can hold.

        With the completion cap and the longest task prompt it bounds the context an engine
        must serve (the trainer sizes vLLM's ``max_model_len`` with it).
        """
        return 0

    # ------------------------------------------------------------------ subclass hooks

    def _agents(self) -> list[str]:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _act(self, agent: str, turn: Turn) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers for subclasses

    def _say(self, agent: str, content: str, role: str = "user") -> None:
        """Append a message to ``agent``'s conversation."""
        self._convs[agent].append(Message(role=role, content=content))

    def _skip(self, agent: str) -> None:
        """Terminate an agent the workflow will not use (it gets reward 0, ``skipped``)."""
        self.terminations[agent] = True
        self.infos[agent] = {**self._base_info(agent), "skipped": True}

    def _require_answer(self, turn: Turn) -> bool:
        """Flag ``turn`` with a ``parse_error`` unless the verifier finds an answer in it."""
        if self.verifier.extract(turn.completion) is not None:
            return True
        turn.info["parse_error"] = (
            "no \\boxed{} answer" if self.family == "math" else "no closed ```python block"
        )
        return False

    def _end(self, final_turn: Turn | None) -> None:
        """End the episode: grade ``final_turn``'s completion and credit rewards."""
        self._final_turn = final_turn
        self._queue.clear()

    # ------------------------------------------------------------------ AEC API

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start an episode.

        Args:
            seed: Seeds the env's own generator (task choice); ``None`` keeps the stream.
            options: ``{"task_id": id}`` replays a task of the source, ``{"task": Task}``
                poses the given task (how a GRPO group shares one problem). Other keys are
                ignored.
        """
        if seed is not None:
            self.np_random, self.np_random_seed = seeding.np_random(seed)
        options = options or {}
        if isinstance(options.get("task"), Task):
            task = options["task"]
            if task.family != self.family:
                raise ValueError(f"{self.env_id} needs a {self.family} task, got {task.family}")
        elif options.get("task_id") is not None:
            task = self.tasks.get(str(options["task_id"]))
        else:
            task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        self.task = task
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: self._base_info(a) for a in self.agents}
        self._convs: dict[str, list[Message]] = {a: [] for a in self.agents}
        self._turn_counts = dict.fromkeys(self.agents, 0)
        self._queue: deque[str] = deque()
        self._final_turn: Turn | None = None
        self._skip_agent_selection = None
        self.episode = Episode(
            env_id=self.env_id,
            workflow=self.workflow,
            task_id=task.id,
            seed=seed,
            reward_mode=self.reward_mode,
        )
        self._begin()
        self.agent_selection = self._queue[0]
        self._deads_step_first()

    def observe(self, agent: str) -> Observation:
        """The conversation ``agent`` has seen so far (its own outputs as ``assistant``)."""
        return {"messages": tuple(self._convs[agent])}

    def step(self, action: str | None) -> None:
        """Act for ``agent_selection``.

        Any string is a legal action: unparsable text is an outcome (reward 0 and
        ``infos[agent]["parse_error"]``), never an exception.

        Raises:
            ValueError: ``None`` for a live agent, or a non-``None`` action for a dead one.
            TypeError: An action that is not a string.
        """
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if action is None:
            raise ValueError(
                f"{agent} is live and must act with a string; None is only for agents that "
                "are terminated or truncated"
            )
        if not isinstance(action, str):
            raise TypeError(f"actions are strings, got {type(action).__name__} for {agent}")
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        cut = len(action) > self.max_action_chars
        text = action[: self.max_action_chars]
        turn = Turn(
            index=len(self.episode.turns),
            agent=agent,
            role=self._roles[agent],
            role_turn=self._turn_counts[agent],
            messages=tuple(self._convs[agent]),
            completion=text,
        )
        if cut:
            turn.info["action_cut"] = len(action)
        self._turn_counts[agent] += 1
        self._convs[agent].append(Message(role="assistant", content=text))
        self.episode.turns.append(turn)
        self._queue.popleft()
        self._act(agent, turn)
        self.infos[agent] = {**self._base_info(agent), **turn.info, "turn": turn.index}
        if not self._queue:
            self._finish()
            self._deads_step_first()
        else:
            self.agent_selection = self._queue[0]
            self._deads_step_first()
        self._accumulate_rewards()

    def ready_agents(self) -> tuple[str, ...]:
        """Live agents, in turn order, whose observation is already final.

        The first is the next agent to act (empty while ``agent_selection`` is a dead agent
        waiting for its ``None`` step); agents of a ``parallel_roles`` role queued right
        after it (same role) follow, e.g. all voters of a Voting episode or all workers once
        the orchestrator has spoken. Generating for all of them at once and stepping them in
        order gives exactly what stepping one at a time would.
        """
        if not self._queue or self.agent_selection != self._queue[0]:
            return ()  # a dead agent must be stepped out (with None) first
        first = self._queue[0]
        ready = [first]
        role = self._roles[first]
        if role in self.parallel_roles:
            for agent in list(self._queue)[1:]:
                if self._roles[agent] != role:
                    break
                ready.append(agent)
        return tuple(ready)

    def state(self) -> str:
        """The transcript so far as text (a global view for centralised critics)."""
        return self._transcript_text()

    def render(self) -> str | None:
        """``"ansi"``: return the transcript as text; ``"human"``: print it."""
        if self.render_mode is None:
            from gymnasium import logger

            logger.warn("render() called without a render_mode; pass render_mode='ansi'.")
            return None
        text = self._transcript_text()
        if self.render_mode == "ansi":
            return text
        sys.stdout.write(text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
        return None

    def close(self) -> None:
        """Release the verifier's resources."""
        self.verifier.close()

    # ------------------------------------------------------------------ internals

    def _base_info(self, agent: str) -> dict[str, Any]:
        return {"task_id": self.task.id if self.task else None, "role": self._roles[agent]}

    def _finish(self) -> None:
        """Verify once, credit rewards, terminate every live agent."""
        ep = self.episode
        final = self._final_turn
        items: dict[str, tuple[Task, str]] = {}
        if final is not None:
            items["final"] = (self.task, final.completion)
        if self.reward_mode == "role":
            for t in ep.turns:
                if t.role in ("generator", "worker"):
                    items[f"turn:{t.index}"] = (self.task, t.completion)
        verdicts = self._verify(items)
        final_v = verdicts.get("final")
        outcome = 1.0 if final_v is not None and final_v.correct else 0.0
        for t in ep.turns:
            if t.info.get("parse_error"):
                t.reward = 0.0
            elif self.reward_mode == "team":
                t.reward = outcome
            else:
                t.reward = self._role_reward(t, verdicts, outcome)
        ep.final_answer = final.completion if final is not None else None
        ep.correct = bool(outcome)
        ep.verdicts = {k: v.to_dict(timing=False) for k, v in verdicts.items()}
        ep.terminated = True
        final_info = final_v.to_dict(timing=False) if final_v is not None else None
        for agent in self.agents:
            turns = [t for t in ep.turns if t.agent == agent]
            reward = _mean([t.reward for t in turns])
            ep.returns[agent] = reward
            self.rewards[agent] = reward
            self.terminations[agent] = True
            components = {
                "outcome": outcome,
                "format_ok": _mean([0.0 if t.info.get("parse_error") else 1.0 for t in turns]),
            }
            if self.reward_mode == "role":
                components["role"] = reward
            self.infos[agent] = {
                **self.infos[agent],
                "correct": bool(outcome),
                "verdict": final_info,
                "reward_components": components,
            }
        for agent in self.possible_agents:
            ep.returns.setdefault(agent, 0.0)

    def _verify(self, items: dict[str, tuple[Task, str]]) -> dict[str, Verdict]:
        """One ``verify_many`` call for everything, identical texts graded once."""
        unique: dict[str, int] = {}
        batch: list[tuple[Task, str]] = []
        for task, text in items.values():
            if text not in unique:
                unique[text] = len(batch)
                batch.append((task, text))
        results = self.verifier.verify_many(batch) if batch else []
        return {key: results[unique[text]] for key, (_, text) in items.items()}

    def _role_reward(self, turn: Turn, verdicts: dict[str, Verdict], outcome: float) -> float:
        def correct(index: int | None) -> float:
            v = verdicts.get(f"turn:{index}")
            return 1.0 if v is not None and v.correct else 0.0

        if turn.role in ("generator", "worker"):
            return correct(turn.index)
        if turn.role == "evaluator":
            judged = correct(turn.info.get("judged_turn"))
            said_correct = turn.info.get("verdict") == "correct"
            return 1.0 if said_correct == bool(judged) else 0.0
        if turn.role == "orchestrator":
            workers = [t.index for t in self.episode.turns if t.role == "worker"]
            return _mean([correct(i) for i in workers])
        return outcome  # aggregator, synthesizer

    def _transcript_text(self) -> str:
        ep = self.episode
        if ep is None:
            return f"{self.env_id}: not reset"
        lines = [f"== {self.env_id} | task {ep.task_id} =="]
        if self.task is not None:
            lines.append(self.task.prompt)
        for t in ep.turns:
            flag = f"  [parse error: {t.info['parse_error']}]" if t.info.get("parse_error") else ""
            lines.append(f"--- turn {t.index}: {t.agent}{flag}")
            lines.append(t.completion)
        if ep.done:
            lines.append(
                f"== end: {'correct' if ep.correct else 'incorrect'}; "
                + ", ".join(f"{a}={r:g}" for a, r in ep.returns.items())
            )
        elif self._queue:
            lines.append(f"-- next: {', '.join(self.ready_agents())}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.env_id}>"
