"""The heartbeat: one small JSON object per instance, the fleet's source of truth for convergence.

Its key is ``fleet/heartbeats/<aws:userid>.json``: the UserId of the instance role session
(``AROA...:i-0123...``), which the IAM policy variable ``${aws:userid}`` lets exactly this instance write.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .s3util import describe

HEARTBEAT_PREFIX = "fleet/heartbeats/"
AGENT = "tapstack-agent/1"
HEALTHY, UNHEALTHY, NONE = "healthy", "unhealthy", "none"


class HeartbeatUndelivered(Exception):
    """The pass ran but its heartbeat could not be written: the fleet cannot see this instance."""

    def __init__(self, message: str, heartbeat: Heartbeat) -> None:
        super().__init__(message)
        self.heartbeat = heartbeat


@dataclass(frozen=True)
class Heartbeat:
    instance_id: str
    release: str | None
    """The release serving now (after a revert: the one returned to)."""
    health: str
    reason: str
    previous_release: str | None
    timestamp: str
    agent: str = AGENT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017 (Python 3.9 on AL2023)


def key_for(user_id: str) -> str:
    return f"{HEARTBEAT_PREFIX}{user_id}.json"


def write(s3: Any, bucket: str, user_id: str, heartbeat: Heartbeat) -> None:
    body = json.dumps(heartbeat.to_json(), sort_keys=True).encode()
    try:
        s3.put_object(Bucket=bucket, Key=key_for(user_id), Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as exc:
        message = f"cannot write s3://{bucket}/{key_for(user_id)}: {describe(exc)}"
        raise HeartbeatUndelivered(message, heartbeat) from None
