"""rollback: put back the release a migration replaced, under the same lock as migrate.

Refusals (unknown id, already rolled back, not the current release, nothing before it) are decided by reads
before the lock is taken, then re-checked under it. ``rollbacks/{id}/rollback.json`` is written in progress
before the pointer moves and finished after, so a rollback that failed half-way can simply be retried,
while a finished one answers "already rolled back" forever after.
"""

from __future__ import annotations

from typing import Any

from . import pointer
from .clock import iso, now
from .events import Rollback
from .lock import ReleaseLock
from .notify import publish, summary
from .outcomes import Conflict, NotFound, Reply
from .records import POINTER_KEY, record_key, release_of, rollback_key
from .services import Services
from .store import Bucket, PreconditionLost

Found = tuple[dict[str, Any], str] | None


def rollback(svc: Services, request: Rollback) -> Reply:
    bucket, mid = svc.bucket, request.migration_id
    found = bucket.read_json(record_key(mid))
    if found is None:
        raise NotFound(
            f"migration_id {mid} is unknown: there is no {bucket.url(record_key(mid))}; nothing to roll back",
            field="migration_id",
        )
    record = found[0]
    done = _finished(bucket.read_json(rollback_key(mid)))
    if done is not None:
        return _noop(done)
    _check_current(record, bucket.read_json(POINTER_KEY))
    with ReleaseLock(bucket, f"rollback {mid}", svc.lock_ttl):
        prior = bucket.read_json(rollback_key(mid))
        done = _finished(prior)
        if done is not None:
            return _noop(done)
        current = _check_current(record, bucket.read_json(POINTER_KEY))
        return _restore(svc, bucket, record, current, prior)


def _finished(prior: Found) -> dict[str, Any] | None:
    return prior[0] if prior is not None and prior[0].get("state") == "succeeded" else None


def _noop(doc: dict[str, Any]) -> Reply:
    return Reply(
        200,
        "noop",
        f"migration {doc.get('migration_id')} was already rolled back at {doc.get('finished_at')} "
        f"(release {release_of(doc.get('restored'))} restored); nothing changed",
        {"rollback": doc, "notification": "not sent (replay)"},
    )


def _check_current(record: dict[str, Any], current: Found) -> tuple[dict[str, Any], str]:
    """The current pointer if it is this migration's release and there is one to go back to; else 409."""
    mid, release = record.get("migration_id"), record.get("release")
    now_current = current[0] if current is not None else None
    result = {"record": record, "current": now_current}
    if current is not None and current[0].get("migration_id") == mid:
        if not isinstance(record.get("previous"), dict):
            raise Conflict(
                f"migration {mid} promoted the first release ({release}); there is no earlier release to restore",
                field="migration_id",
                result=result,
            )
        return current
    if record.get("state") != "succeeded":
        raise Conflict(
            f"migration {mid} is {record.get('state')}: its release {release} never became current, "
            "so there is nothing to roll back",
            field="migration_id",
            result=result,
        )
    if now_current is None:
        raise Conflict(
            f"no release is current ({POINTER_KEY} is absent), so release {release} of migration {mid} "
            "cannot be rolled back",
            field="migration_id",
            result=result,
        )
    holder = now_current.get("migration_id")
    raise Conflict(
        f"release {release_of(now_current)} (migration {holder}) is current, not release {release} of "
        f"migration {mid}; rolling {mid} back would discard {holder}'s release: roll back {holder} first",
        field="migration_id",
        result=result,
    )


def _restore(
    svc: Services, bucket: Bucket, record: dict[str, Any], current: tuple[dict[str, Any], str], prior: Found
) -> Reply:
    mid = record["migration_id"]
    replaced, pointer_etag = current
    started = iso(now())
    restored = {**record["previous"], "restored_at": started, "restored_by": f"rollback {mid}"}
    doc: dict[str, Any] = {
        "migration_id": mid,
        "rolled_back": replaced,
        "restored": restored,
        "region": svc.settings.region,
        "state": "in_progress",
        "started_at": started,
        "updated_at": started,
        "finished_at": None,
        "error": None,
    }
    try:
        doc_etag = bucket.write_json(
            rollback_key(mid), doc, create=prior is None, if_match=prior[1] if prior is not None else None
        )
    except PreconditionLost:
        raise Conflict(
            f"another rollback of migration {mid} wrote {bucket.url(rollback_key(mid))} at the same moment; "
            "check status",
            field="migration_id",
        ) from None
    topic = svc.settings.topic_arn
    notices = {"start": publish(svc.sns, topic, "rollback.started", _notice(doc))}
    error, status = pointer.move(bucket, restored, pointer_etag)
    situation = (
        f"release {release_of(restored)} is current again"
        if error is None
        else f"release {release_of(replaced)} is still current"
    )
    pointer.finish(bucket, rollback_key(mid), doc, doc_etag, error, situation)
    event = "rollback.succeeded" if error is None else "rollback.failed"
    notices["finish"] = publish(svc.sns, topic, event, _notice(doc))
    result = {"rollback": doc, "notification": summary(notices)}
    if error is None:
        return Reply(200, "success", f"{situation} (rolled back release {release_of(replaced)} of {mid})", result)
    return Reply(
        status,
        "conflict" if status == 409 else "failure",
        f"rollback of migration {mid} failed: {error}; {situation}; the rollback can be retried",
        result,
    )


def _notice(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "migration_id": doc["migration_id"],
        "release": release_of(doc["restored"]),
        "rolled_back_release": release_of(doc["rolled_back"]),
        "state": doc["state"],
        "error": doc["error"],
        "region": doc["region"],
    }
