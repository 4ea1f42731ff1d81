"""Test session setup: converted datasets go to a private cache, never the user's."""

from __future__ import annotations

import os
import tempfile

os.environ["ROLEGYM_CACHE"] = tempfile.mkdtemp(prefix="rolegym-test-cache-")
# No test may reach a hub: offline mode makes `datasets` fail fast instead of retrying.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
