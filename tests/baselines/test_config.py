"""``GRPOConfig`` refuses an out-of-range option when it is built, naming the allowed values.

Role names are refused when the trainer is built (where the env is known), naming its roles.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from rolegym.baselines.grpo.config import GRPOConfig
from rolegym.baselines.grpo.loss import LOSS_TYPES
from rolegym.envs.episode import GROUP_SCOPES
from tests.baselines.helpers import micro_config

BAD = [
    ("loss_type", "ppo", ["grpo", "dapo", "bnpo", "dr_grpo"]),
    ("scale_rewards", "std", ["group", "batch", "none"]),
    ("advantage_baseline", "median", ["mean", "leave_one_out"]),
    ("group_by", "task×step", list(GROUP_SCOPES)),
    ("lr_scheduler_type", "cosine_with_min_lr", ["constant", "linear", "cosine"]),
    ("normalizer_scope", "batch", ["global", "policy", "role"]),
    ("torch_dtype", "float16", ["float32", "bfloat16", "float64"]),
]


@pytest.mark.parametrize(("option", "value", "allowed"), BAD)
def test_an_out_of_range_option_is_refused_at_construction(
    option: str, value: str, allowed: list[str]
) -> None:
    for build in (
        lambda: GRPOConfig(**{option: value}),
        lambda: GRPOConfig.from_dict({option: value}),
    ):
        with pytest.raises(ValueError, match=rf"^{option} must be one of \[") as refused:
            build()
        assert repr(value) in str(refused.value)
        assert all(repr(a) in str(refused.value) for a in allowed)


def test_every_allowed_value_is_one_the_update_accepts() -> None:
    """The config's choices are the loss's, and every scheduler builds and steps as trained."""
    import torch
    from transformers import get_scheduler

    hints = typing.get_type_hints(GRPOConfig)
    assert set(typing.get_args(hints["loss_type"])) == set(LOSS_TYPES)
    for name in typing.get_args(hints["lr_scheduler_type"]):
        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.AdamW([param], lr=1e-3)
        scheduler = get_scheduler(
            name, optimizer=optimizer, num_warmup_steps=1, num_training_steps=4
        )
        optimizer.step()
        scheduler.step()  # no metric: the Learner steps it so
    for scope in ("task", "task×role×turn", "task x agent"):  # spellings parse_group_scope reads
        assert GRPOConfig(group_by=scope).group_by == scope


def test_role_names_are_checked_against_the_env_roles() -> None:
    from rolegym.baselines.grpo.routing import route_roles

    roles = ["generator", "aggregator"]
    for options in (
        {"trainable_roles": ["critic"]},
        {"scripted_roles": {"critic": "oracle"}},
        {"policy_groups": {"critic": "x"}},
    ):
        with pytest.raises(
            ValueError,
            match=r"not roles of this env; its roles are "
            r"\['generator', 'aggregator'\]",
        ):
            route_roles(roles, policy="isolated", **options)
    with pytest.raises(ValueError, match=r"scripted roles \['generator'\]: scripted roles have"):
        route_roles(
            roles,
            policy="isolated",
            scripted_roles={"generator": "oracle"},
            policy_groups={"generator": "g"},
        )
    with pytest.raises(ValueError, match=r"unknown scripted policy 'genius'.*'oracle'"):
        route_roles(roles, policy="shared", scripted_roles={"generator": "genius"})
    routing = route_roles(roles, policy="isolated", scripted_roles={"generator": "oracle"})
    assert routing.routes == {"generator": "scripted:oracle", "aggregator": "aggregator"}
    assert routing.learners == ["aggregator"]


def test_the_trainer_names_the_env_roles_when_a_config_names_another(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from rolegym.baselines.grpo.trainer import GRPOTrainer

    config = micro_config(
        tmp_path,
        env_id="voting-arith-v0",
        scripted_roles={"generator": "oracle"},
        policy_groups={"generator": "g"},
    )
    with pytest.raises(ValueError, match=r"policy_groups names scripted roles \['generator'\]"):
        GRPOTrainer(config)
    config = micro_config(tmp_path, env_id="voting-arith-v0", trainable_roles=["judge"])
    with pytest.raises(ValueError, match=r"its roles are \['generator', 'aggregator'\]"):
        GRPOTrainer(config)
