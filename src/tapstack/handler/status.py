"""status: one migration with its rollback, or the most recently updated ones; the current pointer and fleet.

Reading one migration also completes its record (and its rollback's) if the pointer proves it finished while
the record still says ``in_progress``, and sends the notification that was missed (see ``reconcile``).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import MIGRATIONS_PREFIX, POINTER_KEY, RECORD_NAME, Reply, record_key, rollback_key, stage_of

from . import reconcile
from .clients import describe
from .events import Status
from .fleet import Unavailable, survey
from .outcomes import NotFound
from .records import release_of
from .services import Services
from .store import Listed


def _staged(current: dict[str, Any] | None) -> str:
    """A staged rollout in progress, as the message names it (the pointer's ``rollout``)."""
    stage = stage_of(current)
    if stage is None:
        return ""
    return f" (release {stage['release']} staged to its {stage['stage']} cohort, {stage['percent']}%)"


def status(svc: Services, request: Status) -> Reply:
    bucket = svc.bucket
    found = bucket.read_json(POINTER_KEY)
    current = found[0] if found is not None else None
    if request.migration_id is not None:
        mid = request.migration_id
        record, late = reconcile.migration(svc, bucket.read_json(record_key(mid)), current)
        if record is None:
            raise NotFound(
                f"migration_id {mid} is unknown: there is no {bucket.url(record_key(mid))}",
                field="migration_id",
            )
        rollback, late_rollback = reconcile.rollback(svc, bucket.read_json(rollback_key(mid)), current)
        undone = f", rollback {rollback.get('state')}" if rollback else ""
        completed = [
            f"{kind} finish: {note}" for kind, note in (("migration", late), ("rollback", late_rollback)) if note
        ]
        result: dict[str, Any] = {
            "record": record,
            "rollback": rollback,
            "current": current,
            "fleet": _fleet(svc, current),
        }
        if completed:
            result["completed_late"] = completed
        return Reply(
            200,
            "success",
            f"migration {mid}: {record.get('state')}{undone}; release {release_of(current)} is current"
            f"{_staged(current)}",
            result,
        )
    limit = svc.config().status_limit
    listed = [o for o in bucket.listing(MIGRATIONS_PREFIX) if o.key.endswith(f"/{RECORD_NAME}")]
    records = [doc for doc, _ in filter(None, (bucket.read_json(o.key) for o in _candidates(listed, limit)))]
    records = sorted(records, key=lambda r: str(r.get("updated_at")), reverse=True)[:limit]
    return Reply(
        200,
        "success",
        f"{len(records)} most recent of {len(listed)} migration(s); release {release_of(current)} is current"
        f"{_staged(current)}",
        {
            "records": [_brief(r) for r in records],
            "total": len(listed),
            "current": current,
            "fleet": _fleet(svc, current),
        },
    )


def _fleet(svc: Services, current: dict[str, Any] | None) -> dict[str, Any]:
    """The fleet section; a survey that fails is reported in it, since status must still answer."""
    try:
        return survey(svc, current).section
    except Unavailable as exc:
        return {"region": svc.settings.region, "error": str(exc)}
    except (ClientError, BotoCoreError) as exc:
        return {"region": svc.settings.region, "error": describe(exc)}


def _brief(record: dict[str, Any]) -> dict[str, Any]:
    """A record for the list, without its artifact lists: 20 records of 5000 pinned artifacts each (and their
    previous pointers) would pass Lambda's 6 MB reply limit; status of one id returns the full record."""
    brief = {k: v for k, v in record.items() if k != "artifacts"}
    previous = record.get("previous")
    if isinstance(previous, dict):
        brief["previous"] = {k: v for k, v in previous.items() if k != "artifacts"}
    return brief


def _candidates(listed: list[Listed], limit: int) -> list[Listed]:
    """The records that can be among the newest ``limit``, read from the listing alone.

    Ids carry no order, so recency is the record's last write. LastModified has one-second precision: every
    record tied with the last one kept is read too, and the records' own millisecond ``updated_at`` decides.
    """
    ordered = sorted(listed, key=lambda o: o.last_modified, reverse=True)
    if len(ordered) <= limit:
        return ordered
    cutoff = ordered[limit - 1].last_modified
    return [o for o in ordered if o.last_modified >= cutoff]
