"""The agreement between the programs that ship apart: the migration function, the instance agent and the release tool.

They never import one another; they meet in the deployment bucket. Where each key lives, what the pointer and
a heartbeat hold, the shape of the function's reply and the names of states and actions are defined here once.
This module imports the standard library only and runs on Python 3.9 (the agent's AL2023 system Python): the
Lambda archive and the agent bundle each carry a copy of this very file as ``tapstack/contract.py``, so the
code that ships imports ``tapstack.contract`` from inside its own bundle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

# The bucket layout.
RELEASES_PREFIX = "releases/"
POINTER_KEY = RELEASES_PREFIX + "current.json"
"""What the region serves: the one document every agent follows and migrate/rollback move."""
ARTIFACTS_PREFIX = "artifacts/"
"""Manifests and artifacts: the replicated prefix, the only one the function and the instances read releases from."""
MIGRATIONS_PREFIX = "migrations/"
ROLLBACKS_PREFIX = "rollbacks/"
LOCKS_PREFIX = "locks/"
LOCK_KEY = LOCKS_PREFIX + "release-pointer.json"
"""The handler's lock on the pointer, held while migrate or rollback moves it."""
LEASE_KEY = LOCKS_PREFIX + "release-run.json"
"""The release tool's lease: one `tapstack release` at a time over the whole stack."""
RECORD_NAME = "metadata.json"
ROLLBACK_NAME = "rollback.json"
FLEET_PREFIX = "fleet/"
HEARTBEAT_PREFIX = FLEET_PREFIX + "heartbeats/"
"""Each agent writes ``fleet/heartbeats/<aws:userid>.json`` (``AROA...:i-0123...``); never replicated."""
HEARTBEAT_KEY_FORMAT = HEARTBEAT_PREFIX + "{user_id}.json"
"""The IAM policy grants ``{user_id}`` = ``${aws:userid}``: each instance can write exactly its own key."""
CONTROL_PREFIXES = (MIGRATIONS_PREFIX, ROLLBACKS_PREFIX, LOCKS_PREFIX, FLEET_PREFIX)
"""The handler's and the fleet's own state: a manifest or artifact there would let a caller forge state."""


def record_key(migration_id: str) -> str:
    return f"{MIGRATIONS_PREFIX}{migration_id}/{RECORD_NAME}"


def rollback_key(migration_id: str) -> str:
    return f"{ROLLBACKS_PREFIX}{migration_id}/{ROLLBACK_NAME}"


def heartbeat_key(user_id: str) -> str:
    return HEARTBEAT_KEY_FORMAT.format(user_id=user_id)


def heartbeat_instance(key: str) -> str | None:
    """The instance a heartbeat key belongs to: what follows ':' in ``<role id>:<instance id>.json``."""
    name = key[len(HEARTBEAT_PREFIX) :] if key.startswith(HEARTBEAT_PREFIX) else ""
    if not name.endswith(".json") or ":" not in name:
        return None
    instance = name[: -len(".json")].rpartition(":")[2]
    return instance or None


def is_control_key(key: str) -> bool:
    return key == POINTER_KEY or key.startswith(CONTROL_PREFIXES)


class _Name(str, Enum):  # noqa: UP042 (enum.StrEnum is Python 3.11; the agent runs on 3.9)
    """A ``str`` enum: members compare equal to, format and serialize as their plain string values."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Action(_Name):
    VALIDATE = "validate"
    MIGRATE = "migrate"
    ROLLBACK = "rollback"
    STATUS = "status"


class RecordState(_Name):
    """A migration or rollback record's ``state``."""

    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Health(_Name):
    """A heartbeat's ``health``: ``none`` before the first release, or when nothing can be installed."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    NONE = "none"


class Outcome(_Name):
    """A reply's ``outcome``; the last two are the release tool's own, for an invocation that did not answer."""

    SUCCESS = "success"
    NOOP = "noop"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FAILURE = "failure"
    ERROR = "error"
    INVOKE_FAILED = "invoke_failed"
    FUNCTION_ERROR = "function_error"


# Documents.
AGENT = "tapstack-agent/1"


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017 (Python 3.9 on AL2023)


def parse_time(value: object) -> dt.datetime | None:
    """An ISO-8601 time with its zone (``Z`` accepted, as Python 3.9 does not); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


@dataclass(frozen=True)
class Heartbeat:
    """One instance's account of itself, written by its agent after every pass."""

    instance_id: str
    release: str | None
    """The release serving now (after a revert: the one returned to)."""
    health: str
    """A ``Health`` value."""
    reason: str
    previous_release: str | None
    timestamp: str
    agent: str = AGENT

    @property
    def seen_at(self) -> dt.datetime | None:
        return parse_time(self.timestamp)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: object) -> Heartbeat | None:
        """A heartbeat as read from the bucket, or None when it names no instance (damaged or foreign)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("instance_id"), str):
            return None
        release, previous = doc.get("release"), doc.get("previous_release")
        return cls(
            instance_id=doc["instance_id"],
            release=release if isinstance(release, str) else None,
            health=str(doc.get("health")),
            reason=str(doc.get("reason") or ""),
            previous_release=previous if isinstance(previous, str) else None,
            timestamp=str(doc.get("timestamp")),
            agent=str(doc.get("agent") or ""),
        )


def pointer_document(
    *,
    release: str,
    manifest_key: str,
    manifest_version_id: str | None,
    migration_id: str,
    promoted_at: str,
    artifacts: list[dict[str, Any]],
) -> dict[str, Any]:
    """``releases/current.json``: the release with every artifact pinned (``key``, ``sha256``, ``version_id``).

    A rollback writes back the document a migration replaced, plus ``restored_at`` and ``restored_by``.
    """
    return {
        "release": release,
        "manifest_key": manifest_key,
        "manifest_version_id": manifest_version_id,
        "migration_id": migration_id,
        "promoted_at": promoted_at,
        "artifacts": artifacts,
    }


# Cohorts: a migration may promote a release to part of a region's fleet. The pointer's top-level fields stay
# the release everyone else serves (an agent that does not know cohorts follows only those: it moves at the
# full promotion), and ``rollout`` holds the staged release with ``bound``: an instance is in the cohort when
# its score for that release is below the bound. No list of instances: a new instance decides by itself.
ROLLOUT = "rollout"
COHORT_SPACE = 1 << 32
"""Scores run over [0, 2**32): ``bound`` = COHORT_SPACE is everyone, 0 is no one."""


class Stage(_Name):
    """How far a staged release has gone in a region."""

    ONE_BOX = "one_box"
    BATCH = "batch"
    ALL = "all"


def cohort_score(instance_id: str, release: str) -> int:
    """Where an instance falls for a release: uniform over the cohort space, the same every time it is asked,
    unrelated between releases (so the first box of one release is not always the first box of the next)."""
    digest = hashlib.sha256(f"{release}\n{instance_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def percent_bound(percent: float) -> int:
    """The bound that admits ``percent`` % of the cohort space (about that share of any large fleet)."""
    return max(0, min(COHORT_SPACE, int(percent * COHORT_SPACE / 100 + 0.5)))


def in_cohort(instance_id: str, release: str, bound: int) -> bool:
    return cohort_score(instance_id, release) < bound


def followed(pointer: dict[str, Any], instance_id: str | None) -> dict[str, Any]:
    """The release document this instance should serve: the rollout's if it is in its cohort, else the pointer's
    own (top-level) release. An instance that does not know its id is never in a cohort."""
    rollout = pointer.get(ROLLOUT)
    stable = {k: v for k, v in pointer.items() if k != ROLLOUT}
    if not isinstance(rollout, dict) or not instance_id:
        return stable
    release, bound = rollout.get("release"), rollout.get("bound")
    if not isinstance(release, str) or not isinstance(bound, int) or isinstance(bound, bool):
        return stable
    return rollout if in_cohort(instance_id, release, bound) else stable


def moved_by(pointer: dict[str, Any] | None) -> str | None:
    """The migration whose write the pointer is: the rollout's during a staged rollout, else its own."""
    if not pointer:
        return None
    rollout = pointer.get(ROLLOUT)
    mid = rollout.get("migration_id") if isinstance(rollout, dict) else pointer.get("migration_id")
    return mid if isinstance(mid, str) else None


def stage_of(pointer: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"release", "stage", "percent"}`` of a staged rollout in progress, None when the region is on one release."""
    rollout = pointer.get(ROLLOUT) if pointer else None
    if not isinstance(rollout, dict):
        return None
    return {"release": rollout.get("release"), "stage": rollout.get("stage"), "percent": rollout.get("percent")}


def fingerprint(raw: bytes) -> str:
    """A pointer's identity as the agents see it: a new promotion (or a rollback) is a new fingerprint."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Reply:
    """The migration function's answer, ``{"statusCode", "body": {"outcome", "message", "result", ...}}``.

    The handler builds it; the release tool reads it back with ``of`` (status 502 when the invocation itself
    failed, so there is no answer to read)."""

    status: int
    outcome: str
    """An ``Outcome`` value."""
    message: str
    result: dict[str, Any] = field(default_factory=dict)
    field: str | None = None
    """The event field a 4xx is about."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @classmethod
    def of(cls, response: object) -> Reply:
        if not isinstance(response, dict) or not isinstance(response.get("body"), dict):
            shown = json.dumps(response, default=str)[:300]
            return cls(502, Outcome.INVOKE_FAILED.value, f"unexpected reply from the function: {shown}")
        body = response["body"]
        status, result, named = response.get("statusCode"), body.get("result"), body.get("field")
        return cls(
            status if isinstance(status, int) and not isinstance(status, bool) else 502,
            str(body.get("outcome")),
            str(body.get("message")),
            result if isinstance(result, dict) else {},
            named if isinstance(named, str) else None,
        )


# Reading one object: the handler and the agent both need "the object, or None if it is not there".
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})


def error_code(exc: BaseException) -> str:
    """An AWS error's code (botocore's ClientError carries ``response``), ``Unknown`` for anything else."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    return str(error.get("Code", "Unknown")) if isinstance(error, dict) else "Unknown"


def is_missing(exc: BaseException) -> bool:
    """A missing key or version; S3 answers a bad version id with 400 InvalidArgument, which counts too."""
    code = error_code(exc)
    if code in MISSING_CODES:
        return True
    response = getattr(exc, "response", None)
    message = str(response.get("Error", {}).get("Message", "")) if isinstance(response, dict) else ""
    return code == "InvalidArgument" and "version" in message.lower()


class TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class Fetched:
    body: bytes
    etag: str
    version_id: str | None


def fetch(s3: Any, bucket: str, key: str, *, version_id: str | None = None, limit: int | None = None) -> Fetched | None:
    """The object (version), None when it does not exist; TooLarge past ``limit`` bytes, checked before reading.

    Any other error propagates as the client raised it: each caller decides what it means.
    """
    args: dict[str, str] = {"Bucket": bucket, "Key": key}
    if version_id:
        args["VersionId"] = version_id
    try:
        response = s3.get_object(**args)
    except Exception as exc:
        if is_missing(exc):
            return None
        raise
    body = response["Body"]
    try:
        size = response.get("ContentLength")
        if limit is not None and isinstance(size, int) and size > limit:
            raise TooLarge(size)
        data = body.read() if limit is None else body.read(limit + 1)
    finally:
        body.close()
    if limit is not None and len(data) > limit:
        raise TooLarge(len(data))
    return Fetched(data, str(response.get("ETag", "")), response.get("VersionId"))
