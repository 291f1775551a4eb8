"""migrate: verify a release manifest, then promote it under the region's release lock.

Order matters: everything that can reject the request (event, replayed id, manifest, artifacts) only reads;
the first write is the lock. Under the lock: capture the current pointer as ``previous``, claim the id by
creating ``migrations/{id}/metadata.json`` (If-None-Match, so an id is promoted at most once), notify,
move the pointer, record the outcome, notify again.
"""

from __future__ import annotations

from typing import Any

from . import pointer
from .clock import iso, now
from .events import Migrate
from .lock import ReleaseLock
from .manifest import Manifest, load_manifest, verify_artifacts
from .notify import publish, summary
from .outcomes import Conflict, Reply
from .records import POINTER_KEY, record_key, release_of
from .services import Services
from .store import PreconditionLost

REPLAYED = "not sent (replay)"


def migrate(svc: Services, request: Migrate) -> Reply:
    found = svc.bucket.read_json(record_key(request.migration_id))
    if found is not None:
        return replay(found[0], request)
    config = svc.config()
    manifest = load_manifest(svc.bucket, request.manifest_key, config)
    verify_artifacts(svc.bucket, manifest)
    with ReleaseLock(svc.bucket, f"migrate {request.migration_id}", svc.lock_ttl):
        return _promote(svc, request, manifest)


def replay(record: dict[str, Any], request: Migrate) -> Reply:
    """A migration id already used: its recorded result, nothing promoted; the id is never run twice."""
    mid = request.migration_id
    result = {"record": record, "notification": REPLAYED}
    if record.get("manifest_key") != request.manifest_key:
        raise Conflict(
            f"migration_id {mid} was already used for manifest {record.get('manifest_key')}; "
            f"choose a new migration_id for {request.manifest_key}",
            field="migration_id",
            result=result,
        )
    state = record.get("state")
    if state == "succeeded":
        return Reply(
            200,
            "noop",
            f"migration {mid} already promoted release {record.get('release')} at "
            f"{record.get('finished_at')}; nothing was promoted again",
            result,
        )
    if state == "failed":
        raise Conflict(
            f"migration {mid} already ran and failed ({record.get('error')}); retry with a new migration_id",
            field="migration_id",
            result=result,
        )
    raise Conflict(
        f"migration {mid} started at {record.get('started_at')} and has not finished: it is running or was "
        "interrupted; check status, and if it was interrupted migrate again with a new migration_id",
        field="migration_id",
        result=result,
    )


def _promote(svc: Services, request: Migrate, manifest: Manifest) -> Reply:
    bucket, mid = svc.bucket, request.migration_id
    current = bucket.read_json(POINTER_KEY)
    previous, pointer_etag = current if current is not None else (None, None)
    started = iso(now())
    record: dict[str, Any] = {
        "migration_id": mid,
        "manifest_key": manifest.key,
        "manifest_sha256": manifest.sha256,
        "manifest_version_id": manifest.version_id,
        "release": manifest.release,
        "artifact_count": len(manifest.artifacts),
        "previous": previous,
        "region": svc.settings.region,
        "state": "in_progress",
        "started_at": started,
        "updated_at": started,
        "finished_at": None,
        "error": None,
    }
    try:
        record_etag = bucket.write_json(record_key(mid), record, create=True)
    except PreconditionLost:
        # Another invocation with this id got there first: it finished between our first read and the lock
        # (replay its result), or S3 reports its create still in flight (409 ConditionalRequestConflict).
        found = bucket.read_json(record_key(mid))
        if found is None:
            raise Conflict(
                f"another invocation of migration {mid} is creating its record right now; check status",
                field="migration_id",
            ) from None
        return replay(found[0], request)
    notices = {"start": publish(svc.sns, svc.settings.topic_arn, "migration.started", _notice(record))}
    target = {
        "release": manifest.release,
        "manifest_key": manifest.key,
        "migration_id": mid,
        "promoted_at": started,
    }
    error, status = pointer.move(bucket, target, pointer_etag)
    situation = (
        f"release {manifest.release} is current"
        if error is None
        else f"release {release_of(previous)} is still current"
    )
    pointer.finish(bucket, record_key(mid), record, record_etag, error, situation)
    event = "migration.succeeded" if error is None else "migration.failed"
    notices["finish"] = publish(svc.sns, svc.settings.topic_arn, event, _notice(record))
    result = {"record": record, "notification": summary(notices)}
    if error is None:
        return Reply(200, "success", f"{situation} in {svc.settings.region} (previous: {release_of(previous)})", result)
    return Reply(
        status,
        "conflict" if status == 409 else "failure",
        f"migration {mid} failed: {error}; {situation}",
        result,
    )


def _notice(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "migration_id": record["migration_id"],
        "release": record["release"],
        "previous_release": release_of(record["previous"]) if record["previous"] else None,
        "state": record["state"],
        "error": record["error"],
        "region": record["region"],
    }
