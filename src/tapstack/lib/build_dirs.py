"""Where TapStack keeps what it builds from its own sources (Lambda archives, the agent bundle) between runs."""

from __future__ import annotations

import functools
import os
from pathlib import Path


@functools.cache
def _checkout() -> Path | None:
    """The source checkout this module runs from, if any: asked once per process, for every module the CLI
    loads from the SDK asks where its compiled code is kept (94 times in a synth)."""
    checkout = Path(__file__).resolve().parents[3]
    return checkout if (checkout / "pyproject.toml").is_file() else None


def build_root(kind: str) -> Path:
    """``build/<kind>`` of a source checkout, else ``<user cache>/tapstack/<kind>`` for an installed package."""
    checkout = _checkout()
    if checkout is not None:
        return checkout / "build" / kind
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tapstack" / kind
