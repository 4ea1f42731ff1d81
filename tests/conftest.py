"""Test session setup: converted datasets go to a private cache, never the user's."""

from __future__ import annotations

import os
import tempfile

os.environ["ROLEGYM_CACHE"] = tempfile.mkdtemp(prefix="rolegym-test-cache-")
