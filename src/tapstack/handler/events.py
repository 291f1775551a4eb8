"""The invocation event, checked before anything is read or written, every error naming the field to fix."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from tapstack.contract import ARTIFACTS_PREFIX, COHORT_SPACE, Stage, is_control_key, percent_bound

from .outcomes import BadRequest
from .records import CONTROL_KEYS
from .settings import MAX_EVENT_BYTES, MAX_KEY_BYTES

ACTIONS = ("validate", "migrate", "rollback", "status")
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
ID_RULE = "1-64 characters from A-Z a-z 0-9 _ -"

# action -> its fields and whether each is required; unknown fields are refused so a typo such as
# "migrationId" is reported instead of silently ignored.
FIELDS: dict[str, dict[str, bool]] = {
    "validate": {},
    "migrate": {"migration_id": True, "manifest_key": True, "cohort": False},
    "rollback": {"migration_id": True},
    "status": {"migration_id": False},
}


@dataclass(frozen=True)
class Validate:
    pass


@dataclass(frozen=True)
class Cohort:
    """Promote to part of the fleet: ``bound`` over the cohort space (``tapstack.contract.in_cohort``)."""

    stage: Stage
    percent: float
    bound: int


@dataclass(frozen=True)
class Migrate:
    migration_id: str
    manifest_key: str
    cohort: Cohort | None = None
    """None: the whole region at once (as an agent that does not know cohorts expects)."""


@dataclass(frozen=True)
class Rollback:
    migration_id: str


@dataclass(frozen=True)
class Status:
    migration_id: str | None


Request = Validate | Migrate | Rollback | Status


def shown(value: object) -> str:
    """A caller's value quoted for a message, cut short so a huge value cannot bloat the reply or the logs."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def known_action(event: object) -> str | None:
    """The action for the reply and the log line, even when the rest of the event is wrong."""
    action = event.get("action") if isinstance(event, dict) else None
    return action if isinstance(action, str) and action in ACTIONS else None


def claimed_id(event: object) -> str | None:
    """The migration id for the reply and the log line, only when it is well-formed (never echo junk)."""
    value = event.get("migration_id") if isinstance(event, dict) else None
    return value if isinstance(value, str) and ID_PATTERN.fullmatch(value) else None


def check_key(value: object, field: str) -> str:
    """An S3 key the caller may point the handler at: a real key, outside the handler's own records."""
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string (an S3 key), got {type(value).__name__}", field=field)
    if not value:
        raise BadRequest(f"{field} is empty: give the S3 key of the object", field=field)
    if len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise BadRequest(f"{field} is longer than S3's {MAX_KEY_BYTES}-byte key limit", field=field)
    if value.startswith("/"):
        raise BadRequest(f"{field} {shown(value)} starts with '/': S3 keys are relative to the bucket", field=field)
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise BadRequest(f"{field} {shown(value)} contains control characters", field=field)
    if is_control_key(value):
        raise BadRequest(
            f"{field} {shown(value)} is under the handler's own records ({CONTROL_KEYS}): "
            "point it at your release files",
            field=field,
        )
    if not value.startswith(ARTIFACTS_PREFIX):
        raise BadRequest(
            f"{field} {shown(value)} is outside {ARTIFACTS_PREFIX}: releases live there, the one prefix that "
            "replicates to every region and that the function and the instances may read",
            field=field,
        )
    return value


def _migration_id(value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"migration_id must be a string, got {type(value).__name__}", field="migration_id")
    if not ID_PATTERN.fullmatch(value):
        raise BadRequest(f"migration_id {shown(value)} is not allowed: use {ID_RULE}", field="migration_id")
    return value


def parse_event(event: object) -> Request:
    if not isinstance(event, dict):
        raise BadRequest(
            f'the event must be a JSON object like {{"action": "status"}}, got {type(event).__name__}',
            field="event",
        )
    try:
        size = len(json.dumps(event, allow_nan=False).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError, RecursionError):
        raise BadRequest("the event is not plain JSON (objects, lists, strings, numbers)", field="event") from None
    if size > MAX_EVENT_BYTES:
        raise BadRequest(f"the event is {size} bytes; the limit is {MAX_EVENT_BYTES}", field="event")
    if "action" not in event:
        raise BadRequest(f"action is missing: use one of {', '.join(ACTIONS)}", field="action")
    action = event["action"]
    if action not in ACTIONS:
        raise BadRequest(f"action {shown(action)} is unknown: use one of {', '.join(ACTIONS)}", field="action")
    fields = FIELDS[action]
    unknown = sorted(str(k) for k in event if k != "action" and k not in fields)
    if unknown:
        allowed = ", ".join(["action", *fields])
        raise BadRequest(
            f"field {shown(unknown[0])} is not accepted by {action} (allowed: {allowed})",
            field=unknown[0][:64],
        )
    for name, required in fields.items():
        if required and event.get(name) is None:
            raise BadRequest(f"{name} is required for {action}", field=name)
    if action == "validate":
        return Validate()
    if action == "status":
        given = event.get("migration_id")
        return Status(None if given is None else _migration_id(given))
    migration_id = _migration_id(event["migration_id"])
    if action == "rollback":
        return Rollback(migration_id)
    cohort = None if event.get("cohort") is None else _cohort(event["cohort"])
    return Migrate(migration_id, check_key(event["manifest_key"], "manifest_key"), cohort)


def _cohort(value: object) -> Cohort:
    """``{"stage": "one_box"|"batch"|"all", "percent": (0, 100], "bound": optional int}``."""
    stages = ", ".join(s.value for s in Stage)
    if not isinstance(value, dict) or set(value) - {"stage", "percent", "bound"}:
        raise BadRequest(
            f'cohort must be an object like {{"stage": "batch", "percent": 25}} (stage one of {stages}, '
            "percent, optional bound)",
            field="cohort",
        )
    stage, percent, bound = value.get("stage"), value.get("percent"), value.get("bound")
    if stage not in {s.value for s in Stage}:
        raise BadRequest(f"cohort.stage {shown(stage)} is unknown: use one of {stages}", field="cohort")
    if not isinstance(percent, int | float) or isinstance(percent, bool) or not 0 < percent <= 100:
        raise BadRequest(f"cohort.percent must be a number in (0, 100], got {shown(percent)}", field="cohort")
    if stage == Stage.ALL and percent != 100:
        raise BadRequest(f"cohort.stage all is everyone: its percent must be 100, got {shown(percent)}", field="cohort")
    if bound is None:
        bound = percent_bound(float(percent))
    if not isinstance(bound, int) or isinstance(bound, bool) or not 0 < bound <= COHORT_SPACE:
        raise BadRequest(f"cohort.bound must be an integer in (0, {COHORT_SPACE}], got {shown(bound)}", field="cohort")
    return Cohort(Stage(stage), float(percent), bound)
