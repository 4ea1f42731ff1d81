"""Text spaces that accept any Unicode and pass PettingZoo's ``api_test``.

``gymnasium.spaces.Text`` only accepts characters from its charset (alphanumerics by
default: not even a space), and a bare ``Text`` observation crashes PettingZoo's
``api_test`` (a ``str`` has no ``dtype``). Observations are therefore
``Dict({"messages": Sequence(Dict({"role": ..., "content": UnicodeText}))})``, and actions
are :class:`UnicodeText`.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["SAMPLE_CHARSET", "UnicodeText", "action_space", "observation_space"]

#: Characters :meth:`UnicodeText.sample` draws from: printable ASCII plus some multi-byte
#: characters, so that sampled actions exercise Unicode handling.
SAMPLE_CHARSET: str = string.printable + "éß∑√π≤中文😀\u200b"

MESSAGE_ROLES = ("system", "user", "assistant")


class UnicodeText(spaces.Text):
    """A ``Text`` space whose ``contains`` accepts any ``str`` within the length bounds.

    ``sample`` draws from :data:`SAMPLE_CHARSET` and caps the sampled length at
    ``sample_max_length`` (long random strings only slow down API tests; the bound that
    ``contains`` checks is still ``max_length``).
    """

    def __init__(
        self,
        max_length: int,
        *,
        min_length: int = 0,
        sample_max_length: int = 64,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)
        self.sample_max_length = max(min_length, min(sample_max_length, max_length))

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a string of allowed length (any characters)."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Draw a random string of at most ``sample_max_length`` characters."""
        if mask is None and probability is None:
            length = int(self.np_random.integers(self.min_length, self.sample_max_length + 1))
            mask = (length, None)
        return super().sample(mask=mask, probability=probability)

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    __hash__ = None  # mutable rng state, like other spaces


def observation_space(max_chars: int) -> spaces.Dict:
    """The observation space: ``{"messages": (message, ...)}``.

    Args:
        max_chars: The longest message content allowed.
    """
    message = spaces.Dict(
        {
            "role": spaces.Text(16, min_length=1, charset=string.ascii_lowercase),
            "content": UnicodeText(max_chars),
        }
    )
    return spaces.Dict({"messages": spaces.Sequence(message, stack=False)})


def action_space(max_chars: int) -> UnicodeText:
    """The action space: any string of at most ``max_chars`` characters."""
    return UnicodeText(max_chars)
