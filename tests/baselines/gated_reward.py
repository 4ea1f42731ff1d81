"""A reward for the resume test that pauses a run at a point the test chooses.

The test sets ``ROLEGYM_TEST_GATE`` to ``"<checkpoint dir>:<signal fd>:<wait fd>"``. Once the
checkpoint directory exists, the first reward call writes a line to ``signal fd`` and blocks
reading ``wait fd``: the run stands still, one step past its checkpoint, until the test kills
it. The test holds the other end of ``wait fd``; if the test goes away first, the read ends
and the run exits. Without the variable this is ``answer_chars_reward``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

GATE = "ROLEGYM_TEST_GATE"


def chars(episode: Any, turn: Any, task: Any) -> float:
    """``answer_chars_reward``, which pauses once the gate's checkpoint exists."""
    from rolegym.baselines.micro import answer_chars_reward  # needs torch

    gate = os.environ.get(GATE)
    if gate:
        checkpoint, signal_fd, wait_fd = gate.rsplit(":", 2)
        if Path(checkpoint).exists():
            os.write(int(signal_fd), b"paused\n")
            os.read(int(wait_fd), 1)  # returns only when the test has gone
            os._exit(3)
    return answer_chars_reward(episode, turn, task)
