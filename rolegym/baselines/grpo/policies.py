"""Policy maps (role -> learner) and learners (parameters + optimizer + scheduler + clip).

Shared-Policy and Isolated-Policy are two policy maps over one algorithm: :func:`policy_map`
sends every role to one learner (``"shared"``) or each role to its own (named after the role);
``groups`` lets roles share a learner in any other pattern.

A :class:`Learner` owns its trainable parameters, its AdamW optimizer, its learning-rate
scheduler (stepped once per training step), its gradient clipping and its step counter. Its
parameters are either a named PEFT LoRA adapter on one frozen base model (the paper's setting;
every learner is an adapter of the same ``PeftModel``, made active for its micro-batches and
for generation) or a whole model of its own (micro models on a CPU).

Roles that do not learn generate with the frozen initial policy (policy id ``"frozen"``: a
LoRA adapter that is never trained, whose zero-initialised ``B`` makes it equal to the base, or
a frozen copy of the initial model).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["FROZEN", "Learner", "PolicySet", "policy_map"]

#: Policy id of roles that do not learn.
FROZEN = "frozen"


def policy_map(
    kind: str, roles: Sequence[str], groups: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Role -> learner name.

    Args:
        kind: ``"shared"`` (one learner for every role) or ``"isolated"`` (one per role).
        roles: The workflow's roles.
        groups: Role -> learner name, overriding ``kind`` for the roles it names.
    """
    if kind not in ("shared", "isolated"):
        raise ValueError(f"policy must be 'shared' or 'isolated', got {kind!r}")
    out = {r: ("shared" if kind == "shared" else r) for r in roles}
    for role, name in (groups or {}).items():
        if role not in out:
            raise ValueError(f"policy_groups names role {role!r}; the roles are {list(roles)}")
        if name == FROZEN:
            raise ValueError(f"{FROZEN!r} is reserved for roles that do not learn")
        out[role] = name
    return out


@dataclass
class Learner:
    """One set of trainable parameters with its own optimizer, scheduler and clipping.

    Attributes:
        name: The learner's (and its policy's) name.
        module: The model its forward pass runs through (the shared ``PeftModel`` for adapters).
        adapter: The PEFT adapter name, or ``None`` for a whole model.
        params: Its trainable parameters, by name.
        optimizer: Its AdamW optimizer.
        scheduler: Its learning-rate scheduler.
        max_grad_norm: Its gradient clipping threshold (0: none).
        step: Optimizer steps taken.
    """

    name: str
    module: Any
    adapter: str | None
    params: dict[str, torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    max_grad_norm: float = 1.0
    step: int = 0
    skipped: int = field(default=0)

    def activate(self) -> None:
        """Route the module's forward pass through this learner (adapters: ``set_adapter``)."""
        if self.adapter is not None:
            self.module.set_adapter(self.adapter)
            for p in self.params.values():  # set_adapter's requires_grad handling varies
                p.requires_grad_(True)

    def grad_norm(self) -> float:
        """The norm of the accumulated gradient (before clipping)."""
        grads = [p.grad.detach().double() for p in self.params.values() if p.grad is not None]
        if not grads:
            return 0.0
        return float(torch.sqrt(sum((g * g).sum() for g in grads)))

    def optimizer_step(self) -> dict[str, float]:
        """Clip and step the optimizer, unless the gradient is exactly zero; clear gradients.

        A learner whose gradient is exactly zero (all its samples had advantage 0) skips the
        optimizer step, so weight decay and momentum do not move it: its parameters stay
        bit-identical. The scheduler is stepped separately (:meth:`scheduler_step`), once per
        training step whatever the number of updates.
        """
        params = list(self.params.values())
        zero = all(p.grad is None or not bool(p.grad.any()) for p in params)
        norm = self.grad_norm()
        lr = float(self.optimizer.param_groups[0]["lr"])
        if zero:
            self.skipped += 1
        else:
            if self.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            self.optimizer.step()
            self.step += 1
        self.optimizer.zero_grad(set_to_none=True)
        return {"grad_norm": norm, "learning_rate": lr, "skipped": float(zero)}

    def scheduler_step(self) -> None:
        """Advance the learning-rate schedule by one training step."""
        with warnings.catch_warnings():  # a skipped optimizer step is deliberate (see above)
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this learner exactly."""
        return {
            "params": {k: v.detach().cpu().clone() for k, v in self.params.items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "skipped": self.skipped,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        with torch.no_grad():
            for name, value in state["params"].items():
                self.params[name].copy_(value)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self.skipped = int(state.get("skipped", 0))


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Run the enclosed initialisation with a fixed seed, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class PolicySet:
    """The learners of a run, built on one base model.

    Args:
        base: The base causal LM (its weights are frozen under PEFT, copied otherwise).
        policy_of: Role -> learner name (:func:`policy_map`); roles mapped to :data:`FROZEN`
            do not learn.
        use_peft: Learners are LoRA adapters on ``base`` (else whole models).
        lora: ``peft.LoraConfig`` keyword arguments (``r``, ``lora_alpha``, ...).
        optimizer: AdamW keyword arguments (``lr``, ``betas``, ``eps``, ``weight_decay``).
        scheduler: ``transformers.get_scheduler`` keyword arguments (``name``,
            ``num_warmup_steps``, ``num_training_steps``).
        max_grad_norm: Per-learner gradient clipping.
        reference: Keep a reference policy for a KL term (adapters: the base with adapters
            disabled; whole models: a frozen copy of the initial model).
        seed: Seed of adapter initialisation.
    """

    def __init__(
        self,
        base: torch.nn.Module,
        policy_of: Mapping[str, str],
        *,
        use_peft: bool,
        lora: Mapping[str, Any] | None = None,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        max_grad_norm: float = 1.0,
        reference: bool = False,
        seed: int = 0,
    ) -> None:
        self.policy_of = dict(policy_of)
        names = list(dict.fromkeys(n for n in self.policy_of.values() if n != FROZEN))
        needs_frozen = FROZEN in self.policy_of.values()
        self.use_peft = use_peft
        self.learners: dict[str, Learner] = {}
        self.models: dict[str, torch.nn.Module] = {}  # policy id -> module (generation)
        self._reference: torch.nn.Module | None = None
        opt_kwargs = dict(optimizer or {})
        sched_kwargs = dict(scheduler or {"name": "constant"})
        for p in base.parameters():
            p.requires_grad_(False)
        if use_peft:
            from peft import LoraConfig, get_peft_model

            config = LoraConfig(task_type="CAUSAL_LM", **dict(lora or {}))
            adapters = names + ([FROZEN] if needs_frozen else [])
            with _seeded(seed):
                model = get_peft_model(base, config, adapter_name=adapters[0])
                for name in adapters[1:]:
                    model.add_adapter(name, config)
            self.peft_model = model
            for name in adapters:
                self.models[name] = model
            for name in names:
                params = {
                    n: p for n, p in model.named_parameters() if f".{name}." in n and "lora_" in n
                }
                self.learners[name] = self._learner(
                    name, model, name, params, opt_kwargs, sched_kwargs, max_grad_norm
                )
            for n, p in model.named_parameters():
                p.requires_grad_(any(n in lr.params for lr in self.learners.values()))
            if reference:
                self._reference = model
        else:
            self.peft_model = None
            initial = copy.deepcopy(base) if (needs_frozen or reference) else None
            for i, name in enumerate(names):
                model = base if i == 0 else copy.deepcopy(base)
                for p in model.parameters():
                    p.requires_grad_(True)
                params = dict(model.named_parameters())
                self.models[name] = model
                self.learners[name] = self._learner(
                    name, model, None, params, opt_kwargs, sched_kwargs, max_grad_norm
                )
            if initial is not None:
                initial.eval()
                for p in initial.parameters():
                    p.requires_grad_(False)
                if needs_frozen:
                    self.models[FROZEN] = initial
                if reference:
                    self._reference = initial

    @staticmethod
    def _learner(
        name: str,
        module: Any,
        adapter: str | None,
        params: dict[str, torch.nn.Parameter],
        opt_kwargs: dict[str, Any],
        sched_kwargs: dict[str, Any],
        max_grad_norm: float,
    ) -> Learner:
        from transformers import get_scheduler

        if not params:
            raise ValueError(f"learner {name!r} has no trainable parameters")
        optimizer = torch.optim.AdamW(list(params.values()), **opt_kwargs)
        scheduler = get_scheduler(optimizer=optimizer, **sched_kwargs)
        return Learner(name, module, adapter, params, optimizer, scheduler, max_grad_norm)

    def learner_of(self, role: str) -> Learner | None:
        """The learner that trains ``role`` (``None`` for roles that do not learn)."""
        name = self.policy_of.get(role, FROZEN)
        return self.learners.get(name)

    def learner_name(self, role: str) -> str | None:
        """The name of the learner that trains ``role`` (``None`` if it does not learn)."""
        name = self.policy_of.get(role, FROZEN)
        return name if name in self.learners else None

    def parameters(self) -> list[torch.nn.Parameter]:
        """Every trainable parameter, learner by learner."""
        return [p for lr in self.learners.values() for p in lr.params.values()]

    def engine_models(self) -> dict[str, Any]:
        """Policy id -> model, for :class:`rolegym.rollout.HFEngine`."""
        if self.peft_model is not None:
            return {"*": self.peft_model}
        return dict(self.models)

    def reference_context(self) -> Any:
        """A context in which :meth:`reference_module` computes reference log-probs."""
        if self.peft_model is not None and self._reference is not None:
            return self.peft_model.disable_adapter()
        return nullcontext()

    @property
    def reference_module(self) -> torch.nn.Module | None:
        """The module giving reference log-probs (``None`` without a KL term)."""
        return self._reference
