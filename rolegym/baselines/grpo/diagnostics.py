"""Per-role gradient diagnostics, exact and cheap: role-sorted micro-batches.

The step loss is a sum over agents (every completion belongs to one agent, and the loss
weights are global, so nothing couples two agents' terms). Running the backward passes agent
by agent and taking each agent's gradient ``g_k`` before the next one starts gives, exactly,
the gradient of that agent's part of the loss; their sum is the step's gradient ``g``. From the
agents' Gram matrix ``G[k, l] = <g_k, g_l>`` (per-tensor dot products in float64), for each
role ``r`` with agents ``K_r`` and gradient ``g_r = sum_{k in K_r} g_k``:

- ``grad_norm``: ``||g_r||``;
- ``grad_mass_share``: ``||g_r||^2 / sum_s ||g_s||^2``;
- ``grad_proj_share``: ``<g_r, g> / ||g||^2`` (the shares sum to 1; a negative share means
  the role pulls against the net update: the signature of role capture);
- ``pair/<r>_<s>/grad_cos``: the cosine between two roles' gradients (roles on different
  learners live in different parameters and are left out);
- ``instance_coherence`` (roles with several agents, such as three voters):
  ``||sum_k g_k||^2 / sum_k ||g_k||^2``, between 0 and K: about 1 when parallel agents'
  gradients are independent, K when they are aligned (the amplification that drives the
  Isolated-Policy cliff).

Everything is measured before clipping. Under data parallelism the gradients are summed across
processes at every agent boundary (``all_reduce``), so the figures are those of the global
batch. Costs: one gradient copy per agent and one backward pass per agent's micro-batches
(reference/anchors-trainers.md section 6 measured about 1.1-1.2x a plain step).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch

__all__ = ["backward_by_agent", "gradient_metrics", "gram_matrix"]


def backward_by_agent(
    agents: Sequence[str],
    backward: Callable[[str], None],
    params: Sequence[torch.nn.Parameter],
    *,
    record: bool = True,
    all_reduce: Callable[[torch.Tensor], None] | None = None,
) -> dict[str, list[torch.Tensor | None]] | None:
    """Accumulate the step's gradient agent by agent, keeping each agent's part.

    Args:
        agents: The agents, in an order every process agrees on.
        backward: Runs the forward and backward passes of one agent's micro-batches.
        params: Every trainable parameter (of every learner).
        record: Keep each agent's gradient (diagnostics); else accumulate straight through.
        all_reduce: Sums a gradient tensor in place across processes (data parallel).

    Returns:
        Agent -> its gradient, one entry per parameter (``None`` where it has none), or
        ``None`` when ``record`` is off. Either way ``p.grad`` holds the total on return.
    """
    if not record:
        for agent in agents:
            backward(agent)
        _sum_across(params, all_reduce)
        return None
    saved = [p.grad for p in params]
    parts: dict[str, list[torch.Tensor | None]] = {}
    for agent in agents:
        for p in params:
            p.grad = None
        backward(agent)
        _sum_across(params, all_reduce)
        parts[agent] = [None if p.grad is None else p.grad.detach() for p in params]
    for i, p in enumerate(params):
        total = saved[i]
        for grads in parts.values():
            g = grads[i]
            if g is not None:
                total = g.clone() if total is None else total + g
        p.grad = total
    return parts


def _sum_across(
    params: Sequence[torch.nn.Parameter], all_reduce: Callable[[torch.Tensor], None] | None
) -> None:
    """Sum every gradient across processes (a process without one contributes zeros)."""
    if all_reduce is None:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        all_reduce(p.grad)


def gram_matrix(parts: Mapping[str, Sequence[torch.Tensor | None]]) -> torch.Tensor:
    """``G[k, l] = <g_k, g_l>`` over agents, as per-tensor float64 dot products."""
    agents = list(parts)
    n = len(agents)
    gram = torch.zeros(n, n, dtype=torch.float64)
    if not n:
        return gram
    for i in range(len(next(iter(parts.values())))):
        present = [(k, parts[a][i]) for k, a in enumerate(agents) if parts[a][i] is not None]
        if not present:
            continue
        flat = torch.stack([g.detach().reshape(-1).double() for _, g in present])
        block = (flat @ flat.T).cpu()
        idx = torch.tensor([k for k, _ in present])
        gram[idx.unsqueeze(1), idx.unsqueeze(0)] += block
    return gram


def gradient_metrics(
    gram: torch.Tensor,
    agents: Sequence[str],
    role_of: Mapping[str, str],
    learner_of: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Per-role gradient metrics from the agents' Gram matrix (see the module docstring).

    Args:
        gram: ``[A, A]`` from :func:`gram_matrix`, rows in ``agents`` order.
        agents: The agents.
        role_of: Agent -> role.
        learner_of: Role -> learner name (pairs of roles on different learners are skipped).
    """
    roles = list(dict.fromkeys(role_of[a] for a in agents))
    member = torch.zeros(len(roles), len(agents), dtype=torch.float64)
    for k, a in enumerate(agents):
        member[roles.index(role_of[a]), k] = 1.0
    role_gram = member @ gram @ member.T  # <g_r, g_s>
    total_sq = float(role_gram.sum())
    mass_total = float(role_gram.diagonal().sum())
    out: dict[str, float] = {"grad_norm": math.sqrt(max(total_sq, 0.0))}
    for i, r in enumerate(roles):
        sq = float(role_gram[i, i])
        out[f"role/{r}/grad_norm"] = math.sqrt(max(sq, 0.0))
        out[f"role/{r}/grad_mass_share"] = sq / mass_total if mass_total > 0 else 0.0
        out[f"role/{r}/grad_proj_share"] = (
            float(role_gram[i].sum()) / total_sq if total_sq > 0 else 0.0
        )
        own = [k for k, a in enumerate(agents) if role_of[a] == r]
        if len(own) > 1:
            separate = float(sum(gram[k, k] for k in own))
            out[f"role/{r}/instance_coherence"] = sq / separate if separate > 0 else 0.0
    for i, r in enumerate(roles):
        for j in range(i + 1, len(roles)):
            s = roles[j]
            if learner_of is not None and learner_of.get(r) != learner_of.get(s):
                continue
            denom = math.sqrt(max(float(role_gram[i, i]), 0.0) * max(float(role_gram[j, j]), 0.0))
            out[f"pair/{r}_{s}/grad_cos"] = float(role_gram[i, j]) / denom if denom > 0 else 0.0
    return out
