"""Where TapStack keeps what it builds from its own sources (Lambda archives, the agent bundle, compiled code)
between runs, and how it writes there."""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path


@functools.cache
def _checkout() -> Path | None:
    """The source checkout this module runs from, if any: it cannot change while the process runs, so it is
    worked out (a ``resolve()`` and a ``stat``) once, whatever asks for a build directory."""
    checkout = Path(__file__).resolve().parents[3]
    return checkout if (checkout / "pyproject.toml").is_file() else None


def build_root(kind: str) -> Path:
    """``build/<kind>`` of a source checkout, else ``<user cache>/tapstack/<kind>`` for an installed package."""
    checkout = _checkout()
    if checkout is not None:
        return checkout / "build" / kind
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tapstack" / kind


def keep(path: Path, data: bytes) -> None:
    """Write a kept build product whole or not at all: the bytes go to a file of this process's own, renamed over
    ``path``, so a concurrent reader sees the old file or the new one. A build directory that cannot be written
    is left as it is: everything kept there is rebuilt when missing, so that only costs the next run the work."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        staging.write_bytes(data)
        os.replace(staging, path)
