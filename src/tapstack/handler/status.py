"""status: one migration with its rollback, or the most recently updated ones; always the current pointer."""

from __future__ import annotations

from .events import Status
from .outcomes import NotFound, Reply
from .records import MIGRATIONS_PREFIX, POINTER_KEY, RECORD_NAME, record_key, release_of, rollback_key
from .services import Services
from .store import Listed


def status(svc: Services, request: Status) -> Reply:
    bucket = svc.bucket
    found = bucket.read_json(POINTER_KEY)
    current = found[0] if found is not None else None
    if request.migration_id is not None:
        mid = request.migration_id
        record = bucket.read_json(record_key(mid))
        if record is None:
            raise NotFound(
                f"migration_id {mid} is unknown: there is no {bucket.url(record_key(mid))}",
                field="migration_id",
            )
        found_rollback = bucket.read_json(rollback_key(mid))
        rollback = found_rollback[0] if found_rollback else None
        undone = f", rollback {rollback.get('state')}" if rollback else ""
        return Reply(
            200,
            "success",
            f"migration {mid}: {record[0].get('state')}{undone}; release {release_of(current)} is current",
            {"record": record[0], "rollback": rollback, "current": current},
        )
    limit = svc.config().status_limit
    listed = [o for o in bucket.listing(MIGRATIONS_PREFIX) if o.key.endswith(f"/{RECORD_NAME}")]
    records = [doc for doc, _ in filter(None, (bucket.read_json(o.key) for o in _candidates(listed, limit)))]
    records = sorted(records, key=lambda r: str(r.get("updated_at")), reverse=True)[:limit]
    return Reply(
        200,
        "success",
        f"{len(records)} most recent of {len(listed)} migration(s); release {release_of(current)} is current",
        {"records": records, "total": len(listed), "current": current},
    )


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
