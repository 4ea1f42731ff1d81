"""A reward for the resume test: the micro character reward, a little slower per turn."""

from __future__ import annotations

import time
from typing import Any

from rolegym.baselines.micro import answer_chars_reward


def chars(episode: Any, turn: Any, task: Any) -> float:
    """``answer_chars_reward`` after 5 ms (steps last long enough to be killed mid-run)."""
    time.sleep(0.005)
    return answer_chars_reward(episode, turn, task)
