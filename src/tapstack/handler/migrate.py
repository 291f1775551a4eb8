"""migrate: verify a release manifest, then promote it under the region's release lock.

Order matters: everything that can reject the request (event, replayed id, manifest, artifacts) only reads;
the first write is the lock. Under the lock: capture the current pointer as ``previous`` (completing the
record it proves finished, see ``reconcile``), claim the id by creating ``migrations/{id}/metadata.json``
(If-None-Match, so an id is promoted at most once), notify, then the shared tail: move the pointer to the
release with every artifact pinned by the version that was verified, record the outcome, notify again.
"""

from __future__ import annotations

from typing import Any

from tapstack.contract import (
    COHORT_SPACE,
    POINTER_KEY,
    ROLLOUT,
    Reply,
    Stage,
    pointer_document,
    record_key,
    rollback_key,
)

from . import reconcile
from .clock import iso, now
from .events import Cohort, Migrate
from .lock import ReleaseLock
from .manifest import Manifest, Pinned, load_manifest, verify_artifacts
from .outcomes import Conflict
from .pointer import Progress, announce, complete, opening
from .records import release_of
from .services import Services
from .store import PreconditionLost

REPLAYED = "not sent (replay)"


def migrate(svc: Services, request: Migrate) -> Reply:
    found = svc.bucket.read_json(record_key(request.migration_id))
    if found is not None:
        return replay(svc, found, request)
    config = svc.config()
    manifest = load_manifest(svc.bucket, request.manifest_key, config)
    pinned = verify_artifacts(svc.bucket, manifest)
    with ReleaseLock(svc.bucket, f"migrate {request.migration_id}", svc.lock_ttl, svc.runtime.log):
        return _promote(svc, request, manifest, pinned)


def replay(svc: Services, found: tuple[dict[str, Any], str], request: Migrate) -> Reply:
    """A migration id already used: its recorded result, nothing promoted; the id is never run twice."""
    mid = request.migration_id
    record = found[0]
    if record.get("manifest_key") != request.manifest_key:
        raise Conflict(
            f"migration_id {mid} was already used for manifest {record.get('manifest_key')}; "
            f"choose a new migration_id for {request.manifest_key}",
            field="migration_id",
            result={"record": record, "notification": REPLAYED},
        )
    pointer = svc.bucket.read_json(POINTER_KEY)
    current = pointer[0] if pointer is not None else None
    settled, late = reconcile.migration(svc, found, current)
    record = settled or record
    notification = REPLAYED if late is None else f"finish: {late} (late: the first invocation could not send it)"
    result = {"record": record, "notification": notification}
    state = record.get("state")
    if state == "succeeded":
        undone, _ = reconcile.rollback(svc, svc.bucket.read_json(rollback_key(mid)), current)
        if undone is not None and undone.get("state") == "succeeded":
            raise Conflict(
                f"migration {mid} promoted release {record.get('release')} at {record.get('finished_at')}, but "
                f"rollback {mid} restored release {release_of(undone.get('restored'))} at "
                f"{undone.get('finished_at')}: release {record.get('release')} is not current; to promote it "
                "again, migrate with a new migration_id",
                field="migration_id",
                result={**result, "rollback": undone, "current": current},
            )
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


def _promote(svc: Services, request: Migrate, manifest: Manifest, pinned: tuple[Pinned, ...]) -> Reply:
    bucket, mid = svc.bucket, request.migration_id
    current = bucket.read_json(POINTER_KEY)
    serving, pointer_etag = current if current is not None else (None, None)
    reconcile.pointer(svc, serving)
    # What every instance outside a cohort serves, and what a rollback of this migration returns them all to.
    previous = {k: v for k, v in serving.items() if k != ROLLOUT} if serving is not None else None
    cohort = request.cohort if previous is not None else None  # the first release: nothing else to serve
    stage = _stage(cohort)
    started = iso(now())
    artifacts = [p.as_json() for p in pinned]
    record: dict[str, Any] = {
        "migration_id": mid,
        "manifest_key": manifest.key,
        "manifest_sha256": manifest.sha256,
        "manifest_version_id": manifest.version_id,
        "release": manifest.release,
        "artifact_count": len(pinned),
        "artifacts": artifacts,
        "previous": previous,
        "stage": stage,
        **opening(svc.settings.region, started),
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
        return replay(svc, found, request)
    progress = Progress("migration", record_key(mid), record, record_etag)
    target = pointer_document(
        release=manifest.release,
        manifest_key=manifest.key,
        manifest_version_id=manifest.version_id,
        migration_id=mid,
        promoted_at=started,
        artifacts=artifacts,
    )
    if previous is not None and stage["name"] != Stage.ALL:
        target = {**previous, ROLLOUT: {**target, "stage": stage["name"], **_bounds(cohort)}}
    return complete(
        svc,
        progress,
        target,
        pointer_etag,
        announce(svc, progress),
        moved=f"release {manifest.release} is current"
        + ("" if stage["name"] == Stage.ALL else f" for its {stage['name']} cohort ({stage['percent']:g}%)"),
        unmoved=f"release {release_of(previous)} is still current",
        done=f" in {svc.settings.region} (previous: {release_of(previous)})",
        failed=f"migration {mid} failed",
    )


def _stage(cohort: Cohort | None) -> dict[str, Any]:
    """The record's ``stage``: how much of the region this migration promotes the release to."""
    if cohort is None or cohort.bound >= COHORT_SPACE:
        return {"name": Stage.ALL, "percent": 100}
    return {"name": cohort.stage, "percent": cohort.percent}


def _bounds(cohort: Cohort | None) -> dict[str, Any]:
    return {"percent": cohort.percent, "bound": cohort.bound} if cohort is not None else {}
