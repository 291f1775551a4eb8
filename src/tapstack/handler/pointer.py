"""Moving ``releases/current.json`` and recording how it went: the steps migrate and rollback share."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .clients import describe
from .clock import iso, now
from .outcomes import ServerError
from .records import POINTER_KEY
from .store import Bucket, PreconditionLost


def move(bucket: Bucket, pointer: dict[str, Any], etag: str | None) -> tuple[str | None, int]:
    """(None, 200) once the pointer holds ``pointer``; otherwise why not, and the status to answer.

    The write is conditional on the pointer read under the lock, so a pointer changed by hand meanwhile is
    not overwritten. Any failure is followed by a read: a write that landed but whose response was lost (or
    whose retry then failed its own precondition) is a success, not a failure to report.
    """
    try:
        bucket.write_json(POINTER_KEY, pointer, create=etag is None, if_match=etag)
    except PreconditionLost:
        if _landed(bucket, pointer):
            return None, 200
        return f"{POINTER_KEY} was changed by something other than this handler while the lock was held", 409
    except (ClientError, BotoCoreError) as exc:
        if _landed(bucket, pointer):
            return None, 200
        return f"writing {POINTER_KEY} failed: {describe(exc)}", 500
    return None, 200


def _landed(bucket: Bucket, pointer: dict[str, Any]) -> bool:
    try:
        found = bucket.read_json(POINTER_KEY)
    except (ClientError, BotoCoreError, ServerError):
        return False
    return found is not None and found[0] == pointer


def finish(bucket: Bucket, key: str, doc: dict[str, Any], etag: str, error: str | None, situation: str) -> None:
    """Record the outcome over the in-progress document this invocation wrote (If-Match on its ETag).

    If that write fails, the pointer has moved or not regardless: ``situation`` ("release R is current")
    goes into the message so the caller is never told a promoted release failed, or the reverse.
    """
    finished = iso(now())
    doc.update(state="failed" if error else "succeeded", finished_at=finished, updated_at=finished, error=error)
    try:
        bucket.write_json(key, doc, if_match=etag)
    except (ClientError, BotoCoreError, PreconditionLost) as exc:
        reason = "it changed underneath" if isinstance(exc, PreconditionLost) else describe(exc)
        raise ServerError(
            f"{situation}, but recording the outcome in {bucket.url(key)} failed ({reason}); "
            "that record still says in_progress",
            result={"record": doc},
        ) from None
