"""The region's release lock: one object, taken and given back with conditional puts, never deleted.

The function may not delete objects, so the lock is a document whose state is ``held`` or ``released``:
- take: create it with ``If-None-Match: *``, or replace a released or expired one with ``If-Match`` on the
  ETag just read, so of two callers racing only one write lands (S3 answers the other 412 or 409);
- give back: replace it with ``released`` using ``If-Match`` on the ETag of our own write, so a holder whose
  lock expired and was taken over cannot release the new holder's lock;
- expiry: a holder that dies (timeout, crash) cannot give the lock back, so every lock carries an
  ``expires_at`` past the end of the invocation's time budget and is free once that passes.
Every write carries a fresh token, so the ETag of a later lock never equals an earlier one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import LOCK_KEY

from .clients import describe
from .clock import iso, now, parse_iso
from .logs import Sink, log
from .outcomes import Conflict
from .store import Bucket, PreconditionLost


class ReleaseLock:
    def __init__(self, bucket: Bucket, owner: str, ttl: timedelta, sink: Sink) -> None:
        self.bucket = bucket
        self.owner = owner
        self.ttl = ttl
        self.sink = sink
        self.token = uuid.uuid4().hex
        self._etag: str | None = None

    def __enter__(self) -> ReleaseLock:
        found = self.bucket.read_json(LOCK_KEY)
        taken = now()
        if found is not None:
            doc, etag = found
            expires = parse_iso(doc.get("expires_at"))
            if doc.get("state") == "held" and expires is not None and expires > taken:
                raise Conflict(
                    f"{doc.get('owner', 'another operation')} holds this region's release lock since "
                    f"{doc.get('acquired_at')} (until {doc.get('expires_at')} at the latest); retry after it "
                    "finishes",
                    result={"lock": _public(doc)},
                )
        else:
            etag = None
        doc = {
            "state": "held",
            "owner": self.owner,
            "token": self.token,
            "acquired_at": iso(taken),
            "expires_at": iso(taken + self.ttl),
        }
        try:
            self._etag = self.bucket.write_json(LOCK_KEY, doc, create=etag is None, if_match=etag)
        except PreconditionLost:
            raise Conflict(
                "another operation took this region's release lock at the same moment; retry after it finishes"
            ) from None
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Give the lock back; a failure is logged, not raised: the lock then frees itself at expires_at."""
        doc = {"state": "released", "owner": self.owner, "token": self.token, "released_at": iso(now())}
        try:
            self.bucket.write_json(LOCK_KEY, doc, if_match=self._etag)
        except PreconditionLost:
            log(
                self.sink,
                "warning",
                "lock_taken_over",
                owner=self.owner,
                detail="the lock expired and was taken by another",
            )
        except (ClientError, BotoCoreError) as error:
            log(self.sink, "warning", "lock_release_failed", owner=self.owner, detail=describe(error))


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    """The lock as shown to a waiting caller: who and until when, not the holder's token."""
    return {k: doc.get(k) for k in ("owner", "acquired_at", "expires_at")}
