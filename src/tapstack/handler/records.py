"""How the handler names releases and rollbacks in its records and messages (the keys: ``tapstack.contract``)."""

from __future__ import annotations

from typing import Any

from tapstack.contract import CONTROL_PREFIXES, POINTER_KEY

CONTROL_KEYS = f"{POINTER_KEY}, {', '.join(CONTROL_PREFIXES)}"
"""The handler's and the fleet's own state, as named in the message refusing a key under it."""
_RESTORED_BY = "rollback "


def release_of(pointer: dict[str, Any] | None) -> str:
    """A pointer's release for messages; 'none' before the first release."""
    return str(pointer.get("release")) if pointer else "none"


def restored_by(migration_id: str) -> str:
    """How a pointer put back by a rollback names that rollback."""
    return f"{_RESTORED_BY}{migration_id}"


def restoring_rollback(pointer: dict[str, Any] | None) -> str | None:
    """The migration id whose rollback wrote this pointer, if a rollback did."""
    value = pointer.get("restored_by") if pointer else None
    if isinstance(value, str) and value.startswith(_RESTORED_BY):
        return value[len(_RESTORED_BY) :]
    return None
