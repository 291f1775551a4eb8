"""Moving ``releases/current.json`` and recording how it went: the tail migrate and rollback share.

Both write an in-progress record under the lock, then ``complete``: move the pointer, finish the record,
publish the outcome. A record left ``in_progress`` whose move did land (the finishing write failed) is put
right by the next caller that sees the pointer: see ``reconcile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import POINTER_KEY, Outcome, RecordState, Reply

from .clients import describe
from .clock import iso, now
from .notify import notice, publish, summary
from .outcomes import ServerError
from .services import Services
from .store import Bucket, PreconditionLost


@dataclass
class Progress:
    """A record this handler wrote ``in_progress``: where, its body, the ETag to replace it by."""

    kind: str
    """``migration`` or ``rollback``: also the prefix of the notification events."""
    key: str
    doc: dict[str, Any]
    etag: str

    @property
    def result_name(self) -> str:
        """Where the reply carries the record: ``record`` for a migration, ``rollback`` for a rollback."""
        return "record" if self.kind == "migration" else self.kind


def opening(region: str, started: str) -> dict[str, Any]:
    """The fields a migration or rollback record starts with, written before the pointer moves."""
    return {
        "region": region,
        "state": RecordState.IN_PROGRESS,
        "started_at": started,
        "updated_at": started,
        "finished_at": None,
        "error": None,
    }


def complete(
    svc: Services,
    progress: Progress,
    target: dict[str, Any],
    pointer_etag: str | None,
    started: str,
    *,
    moved: str,
    unmoved: str,
    done: str,
    failed: str,
    retry: str = "",
) -> Reply:
    """Move the pointer to ``target``, record the outcome in ``progress``, publish it, and answer.

    ``moved``/``unmoved`` say which release is current in either case: if recording the outcome fails, that
    sentence still reaches the caller (a ServerError), so nobody is told a promoted release failed or the
    reverse; the notification then waits for the reconciliation. ``started`` is how the start notice went;
    the reply's message is the situation followed by ``done``, or ``failed``, the error, the situation and
    ``retry``.
    """
    error, status = move(svc.bucket, target, pointer_etag)
    situation = moved if error is None else unmoved
    finish(svc.bucket, progress, error, situation)
    notices = {"start": started, "finish": announce(svc, progress)}
    result = {progress.result_name: progress.doc, "notification": summary(notices)}
    if error is None:
        return Reply(200, Outcome.SUCCESS, f"{situation}{done}", result)
    outcome = Outcome.CONFLICT if status == 409 else Outcome.FAILURE
    return Reply(status, outcome, f"{failed}: {error}; {situation}{retry}", result)


def announce(svc: Services, progress: Progress) -> str:
    """Publish the record's current state as ``<kind>.<state>`` (started, succeeded, failed)."""
    state = progress.doc["state"]
    event = f"{progress.kind}.{'started' if state == RecordState.IN_PROGRESS else state}"
    return publish(svc.sns, svc.settings.topic_arn, event, notice(progress.kind, progress.doc), svc.runtime.log)


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


def finish(bucket: Bucket, progress: Progress, error: str | None, situation: str) -> None:
    """Record the outcome over the in-progress document this invocation wrote (If-Match on its ETag)."""
    finished = iso(now())
    doc = progress.doc
    doc.update(
        state=RecordState.FAILED if error else RecordState.SUCCEEDED,
        finished_at=finished,
        updated_at=finished,
        error=error,
    )
    try:
        progress.etag = bucket.write_json(progress.key, doc, if_match=progress.etag)
    except (ClientError, BotoCoreError, PreconditionLost) as exc:
        reason = "it changed underneath" if isinstance(exc, PreconditionLost) else describe(exc)
        later = (
            " until the next call for this id (or the next migrate or rollback) completes it" if error is None else ""
        )
        raise ServerError(
            f"{situation}, but recording the outcome in {bucket.url(progress.key)} failed ({reason}); "
            f"that record still says in_progress{later}",
            result={"record": doc},
        ) from None
