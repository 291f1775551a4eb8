"""rollback: put back the release a migration replaced, under the same lock as migrate.

Refusals (unknown id, already rolled back, not the current release, nothing before it) are decided by reads
before the lock is taken, then re-checked under it. ``rollbacks/{id}/rollback.json`` is written in progress
before the pointer moves and finished after (the tail shared with migrate), so a rollback that failed
half-way can simply be retried, while a finished one answers "already rolled back" forever after. The pointer
restored is the one the migration recorded as ``previous``, exactly: same release, manifest version and
artifact version ids, so the instances return to the very bytes they ran before.
"""

from __future__ import annotations

from typing import Any

from tapstack.contract import POINTER_KEY, Reply, moved_by, record_key, rollback_key, stage_of

from . import reconcile
from .clock import iso, now
from .events import Rollback
from .lock import ReleaseLock
from .outcomes import Conflict, NotFound
from .pointer import Progress, announce, complete, opening
from .records import release_of, restored_by
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
    pointer = bucket.read_json(POINTER_KEY)
    done, late = reconcile.rollback(svc, bucket.read_json(rollback_key(mid)), pointer[0] if pointer else None)
    if done is not None and done.get("state") == "succeeded":
        return _noop(done, late)
    _check_current(record, pointer)
    with ReleaseLock(bucket, f"rollback {mid}", svc.lock_ttl, svc.runtime.log):
        prior = bucket.read_json(rollback_key(mid))
        if prior is not None and prior[0].get("state") == "succeeded":
            return _noop(prior[0], None)
        current = _check_current(record, bucket.read_json(POINTER_KEY))
        reconcile.pointer(svc, current[0])
        return _restore(svc, bucket, record, current, prior)


def _noop(doc: dict[str, Any], late: str | None) -> Reply:
    notification = "not sent (replay)" if late is None else f"finish: {late} (late: the first rollback could not)"
    return Reply(
        200,
        "noop",
        f"migration {doc.get('migration_id')} was already rolled back at {doc.get('finished_at')} "
        f"(release {release_of(doc.get('restored'))} restored); nothing changed",
        {"rollback": doc, "notification": notification},
    )


def _check_current(record: dict[str, Any], current: Found) -> tuple[dict[str, Any], str]:
    """The current pointer if it is this migration's release and there is one to go back to; else 409."""
    mid, release = record.get("migration_id"), record.get("release")
    now_current = current[0] if current is not None else None
    result = {"record": record, "current": now_current}
    if current is not None and moved_by(current[0]) == mid:
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
    holder = moved_by(now_current)
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
    restored = {**record["previous"], "restored_at": started, "restored_by": restored_by(mid)}
    doc: dict[str, Any] = {
        "migration_id": mid,
        "rolled_back": replaced,
        "restored": restored,
        **opening(svc.settings.region, started),
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
    progress = Progress("rollback", rollback_key(mid), doc, doc_etag)
    return complete(
        svc,
        progress,
        restored,
        pointer_etag,
        announce(svc, progress),
        moved=f"release {release_of(restored)} is current again",
        unmoved=f"release {release_of(replaced)} is still current",
        done=f" (rolled back release {record.get('release')} of {mid}{_cohorts(replaced)})",
        failed=f"rollback of migration {mid} failed",
        retry="; the rollback can be retried",
    )


def _cohorts(replaced: dict[str, Any]) -> str:
    return " from every cohort" if stage_of(replaced) else ""
