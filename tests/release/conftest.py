"""The release tests' fixtures, defined in helpers.py beside the helpers they use."""

from __future__ import annotations

from .helpers import (
    hold_replication,
    moto_world,
    world,
)

__all__ = ["hold_replication", "moto_world", "world"]
