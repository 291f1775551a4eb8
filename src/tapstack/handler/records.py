"""Where the handler keeps its state in the deployment bucket, and which keys callers may not name."""

from __future__ import annotations

from typing import Any

POINTER_KEY = "releases/current.json"
LOCK_KEY = "locks/release-pointer.json"
MIGRATIONS_PREFIX = "migrations/"
RECORD_NAME = "metadata.json"
_CONTROL_PREFIXES = (MIGRATIONS_PREFIX, "rollbacks/", "locks/")


def record_key(migration_id: str) -> str:
    return f"{MIGRATIONS_PREFIX}{migration_id}/{RECORD_NAME}"


def rollback_key(migration_id: str) -> str:
    return f"rollbacks/{migration_id}/rollback.json"


def is_control_key(key: str) -> bool:
    """Keys the handler writes itself: a manifest or artifact there would let a caller forge state."""
    return key == POINTER_KEY or key.startswith(_CONTROL_PREFIXES)


def release_of(pointer: dict[str, Any] | None) -> str:
    """A pointer's release for messages; 'none' before the first release."""
    return str(pointer.get("release")) if pointer else "none"
