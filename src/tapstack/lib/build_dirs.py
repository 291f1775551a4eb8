"""Where TapStack keeps what it builds from its own sources (Lambda archives, the agent bundle) between runs."""

from __future__ import annotations

import os
from pathlib import Path


def build_root(kind: str) -> Path:
    """``build/<kind>`` of a source checkout, else ``<user cache>/tapstack/<kind>`` for an installed package."""
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "build" / kind
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tapstack" / kind
