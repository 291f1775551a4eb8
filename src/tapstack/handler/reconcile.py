"""Completing a record whose invocation moved the pointer but could not say so.

If the finishing write of a migration or rollback fails after the pointer moved (and the lock release fails
with it), the record says ``in_progress`` although its outcome is settled, and subscribers never heard the
end. The pointer is the proof: a pointer naming migration M was written by M (a rollback's pointer equals
the document it recorded as ``restored``). So whoever reads such a record next (a migrate or rollback of that
id, its status, or any migrate or rollback finding that pointer under the lock) finishes it as succeeded and
sends the missed notification. The finishing write is conditional on the in-progress version, so of several
callers only one completes it and only one notification goes out.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import moved_by, record_key, rollback_key

from .clients import describe
from .clock import iso, now
from .logs import log
from .pointer import Progress, announce
from .records import restoring_rollback
from .services import Services
from .store import PreconditionLost

Found = tuple[dict[str, Any], str] | None


def migration(svc: Services, found: Found, current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """The migration record as it stands after reconciling it with ``current``, and the notification sent."""
    if found is None:
        return None, None
    doc, etag = found
    proven = current is not None and moved_by(current) == doc.get("migration_id")
    if doc.get("state") != "in_progress" or not proven:
        return doc, None
    return _settle(svc, Progress("migration", record_key(str(doc["migration_id"])), doc, etag))


def rollback(svc: Services, found: Found, current: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """The rollback record as it stands after reconciling it with ``current``, and the notification sent."""
    if found is None:
        return None, None
    doc, etag = found
    if doc.get("state") != "in_progress" or current is None or current != doc.get("restored"):
        return doc, None
    return _settle(svc, Progress("rollback", rollback_key(str(doc["migration_id"])), doc, etag))


def pointer(svc: Services, current: dict[str, Any] | None) -> None:
    """Under the lock, before the pointer moves on: complete the records that ``current`` proves finished.

    After this the pointer no longer names them, so this is the last moment their outcome is provable.
    """
    if current is None:
        return
    mid = moved_by(current)
    if mid:
        migration(svc, svc.bucket.read_json(record_key(mid)), current)
    undone = restoring_rollback(current)
    if undone:
        rollback(svc, svc.bucket.read_json(rollback_key(undone)), current)


def _settle(svc: Services, progress: Progress) -> tuple[dict[str, Any] | None, str | None]:
    moment = iso(now())
    done = {
        **progress.doc,
        "state": "succeeded",
        "finished_at": moment,
        "updated_at": moment,
        "error": None,
        "completed_late": "the pointer had moved but the invocation could not record it; completed by a later call",
    }
    try:
        svc.bucket.write_json(progress.key, done, if_match=progress.etag)
    except PreconditionLost:
        # Another caller (or the original invocation) finished it first: theirs is the record, and the notice.
        again = svc.bucket.read_json(progress.key)
        return (again[0] if again else progress.doc), None
    except (ClientError, BotoCoreError) as exc:
        log(svc.runtime.log, "warning", "reconcile_failed", key=progress.key, detail=describe(exc))
        return progress.doc, None
    log(svc.runtime.log, "warning", "record_completed_late", key=progress.key, kind=progress.kind)
    settled = Progress(progress.kind, progress.key, done, progress.etag)
    return done, announce(svc, settled)
