"""One release at a time per region: a lease object in each region's deployment bucket.

The handler's own lock only spans one invocation; a release spans many minutes (migrate, converge, bake, the
other regions, maybe a rollback), and a second release that migrated a region in between would make the
first one's rollback refuse ("roll back the newer migration first"). So the release takes
``locks/release-run.json`` in every target region, in region order, with conditional writes (of two racing
runs only one write lands), renews it while it works and gives it back at the end. A run that died leaves a
lease that expires by itself after ``ttl``.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..contract import LEASE_KEY
from .clock import Clock
from .errors import ReleaseError, ReleaseLocked
from .outputs import RegionOutputs
from .target import Target

DEFAULT_TTL = timedelta(minutes=10)
_LOST = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


@dataclass
class _Held:
    region: RegionOutputs
    etag: str


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code"))


class ReleaseLease:
    def __init__(self, target: Target, regions: list[RegionOutputs], owner: str, clock: Clock, ttl: timedelta) -> None:
        self.target = target
        self.regions = sorted(regions, key=lambda r: r.region)
        self.owner = f"{owner} ({socket.gethostname()} pid {os.getpid()})"
        self.token = uuid.uuid4().hex
        self.clock = clock
        self.ttl = ttl
        self._held: list[_Held] = []
        self._renewed = 0.0

    def _doc(self, state: str) -> bytes:
        now = self.clock.now()
        doc = {
            "state": state,
            "owner": self.owner,
            "token": self.token,
            "updated_at": now.isoformat(),
            "expires_at": (now + self.ttl).isoformat(),
        }
        return json.dumps(doc, sort_keys=True).encode()

    def _write(self, region: RegionOutputs, body: bytes, etag: str | None) -> str:
        s3 = self.target.client("s3", region.region)
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        return str(s3.put_object(Bucket=region.bucket, Key=LEASE_KEY, Body=body, **condition)["ETag"])

    def _take(self, region: RegionOutputs) -> str:
        s3 = self.target.client("s3", region.region)
        try:
            current = s3.get_object(Bucket=region.bucket, Key=LEASE_KEY)
            doc: dict[str, Any] = json.loads(current["Body"].read())
            etag: str | None = str(current["ETag"])
        except ClientError as err:
            if _code(err) not in ("NoSuchKey", "404"):
                raise
            doc, etag = {}, None
        expires = doc.get("expires_at")
        live = isinstance(expires, str) and datetime.fromisoformat(expires) > self.clock.now()
        if doc.get("state") == "held" and live:
            raise ReleaseLocked(
                f"region {region.region} is being released by {doc.get('owner')} (lease until {expires}); "
                "this release is refused: wait for that one to finish, or for its lease to expire if it died"
            )
        try:
            return self._write(region, self._doc("held"), etag)
        except ClientError as err:
            if _code(err) in _LOST:
                raise ReleaseLocked(
                    f"region {region.region}: another release took the release lease at the same moment; "
                    "this release is refused"
                ) from None
            raise

    def acquire(self) -> None:
        region: RegionOutputs | None = None
        try:
            for region in self.regions:
                self._held.append(_Held(region, self._take(region)))
        except (ClientError, BotoCoreError) as err:
            self._landed_anyway(region)
            self.release()
            raise ReleaseError(f"cannot take the release lease: {err}") from None
        except BaseException:  # ReleaseLocked, or a signal between two regions: give back what was taken
            self._landed_anyway(region)
            self.release()
            raise
        self._renewed = self.clock.monotonic()

    def _landed_anyway(self, region: RegionOutputs | None) -> None:
        """A lease write whose answer was lost may have landed: held by this token, it is ours to give back."""
        if region is None or any(h.region == region for h in self._held):
            return
        try:
            current = self.target.client("s3", region.region).get_object(Bucket=region.bucket, Key=LEASE_KEY)
            doc = json.loads(current["Body"].read())
        except (ClientError, BotoCoreError, ValueError):
            return  # unreadable: if it landed, it expires after ttl
        if isinstance(doc, dict) and doc.get("token") == self.token and doc.get("state") == "held":
            self._held.append(_Held(region, str(current["ETag"])))

    def renew(self) -> None:
        """Called from every poll; writes only once a third of the ttl has passed."""
        if not self._held or self.clock.monotonic() - self._renewed < self.ttl.total_seconds() / 3:
            return
        for held in self._held:
            try:
                held.etag = self._write(held.region, self._doc("held"), held.etag)
            except (ClientError, BotoCoreError) as err:
                raise ReleaseLocked(f"lost the release lease of {held.region.region}: {err}") from None
        self._renewed = self.clock.monotonic()

    def release(self) -> None:
        """Give back what is held, each write tried three times; what still fails expires by itself after ttl."""
        for held in reversed(self._held):
            for attempt in range(3):
                try:
                    self._write(held.region, self._doc("released"), held.etag)
                    break
                except ClientError as err:
                    if _code(err) in _LOST:
                        break  # taken over after it expired: not ours to give back
                    time.sleep(0.2 * attempt)
                except BotoCoreError:
                    time.sleep(0.2 * attempt)
        self._held.clear()
