"""The handler tests' fixtures, defined in helpers.py beside the helpers they use."""

from __future__ import annotations

from .helpers import (
    aws,
    fail,
    moto_world,
)

__all__ = ["aws", "fail", "moto_world"]
