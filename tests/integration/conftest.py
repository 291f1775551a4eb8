"""The integration tests' fixtures and hooks, defined in helpers.py beside the helpers they use."""

from __future__ import annotations

from .helpers import (
    deployed,
    pytest_collection_modifyitems,
    unique,
)

__all__ = ["deployed", "pytest_collection_modifyitems", "unique"]
