"""The guard tests' fixtures, defined in helpers.py beside the helpers they use."""

from __future__ import annotations

from .helpers import (
    builder,
)

__all__ = ["builder"]
