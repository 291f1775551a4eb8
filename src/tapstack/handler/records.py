"""Where the handler keeps its state in the deployment bucket, and which keys callers may not name."""

from __future__ import annotations

from typing import Any

POINTER_KEY = "releases/current.json"
LOCK_KEY = "locks/release-pointer.json"
MIGRATIONS_PREFIX = "migrations/"
ROLLBACKS_PREFIX = "rollbacks/"
RECORD_NAME = "metadata.json"
FLEET_PREFIX = "fleet/"
RELEASE_PREFIX = "artifacts/"
"""Manifests and artifacts: the replicated prefix, the only one the function and the instances read releases from."""
HEARTBEAT_PREFIX = "fleet/heartbeats/"
"""Each instance's agent writes ``fleet/heartbeats/<aws:userid>.json`` (``AROA...:i-0123...``); never replicated."""
CONTROL_PREFIXES = (MIGRATIONS_PREFIX, ROLLBACKS_PREFIX, "locks/", FLEET_PREFIX)
CONTROL_KEYS = f"{POINTER_KEY}, {', '.join(CONTROL_PREFIXES)}"
"""The handler's and the fleet's own state, as named in the message refusing a key under it."""
_RESTORED_BY = "rollback "


def record_key(migration_id: str) -> str:
    return f"{MIGRATIONS_PREFIX}{migration_id}/{RECORD_NAME}"


def rollback_key(migration_id: str) -> str:
    return f"{ROLLBACKS_PREFIX}{migration_id}/rollback.json"


def is_control_key(key: str) -> bool:
    """Keys the handler or the agents write: a manifest or artifact there would let a caller forge state."""
    return key == POINTER_KEY or key.startswith(CONTROL_PREFIXES)


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


def heartbeat_instance(key: str) -> str | None:
    """The instance a heartbeat key belongs to: what follows ':' in ``<role id>:<instance id>.json``."""
    name = key[len(HEARTBEAT_PREFIX) :] if key.startswith(HEARTBEAT_PREFIX) else ""
    if not name.endswith(".json") or ":" not in name:
        return None
    instance = name[: -len(".json")].rpartition(":")[2]
    return instance or None
