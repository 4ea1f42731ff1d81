"""The trainer tests need torch and transformers; their helpers are in ``helpers.py``."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
