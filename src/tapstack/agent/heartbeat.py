"""Delivering the heartbeat (``tapstack.contract.Heartbeat``) to this instance's own key.

The key is ``fleet/heartbeats/<aws:userid>.json``: the UserId of the instance role session
(``AROA...:i-0123...``), which the IAM policy variable ``${aws:userid}`` lets exactly this instance write.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapstack.contract import Heartbeat, heartbeat_key

from .s3util import describe


class HeartbeatUndelivered(Exception):
    """The pass ran but its heartbeat could not be written: the fleet cannot see this instance."""

    def __init__(self, message: str, heartbeat: Heartbeat) -> None:
        super().__init__(message)
        self.heartbeat = heartbeat


def write(s3: Any, bucket: str, user_id: str, heartbeat: Heartbeat) -> None:
    body = json.dumps(heartbeat.to_json(), sort_keys=True).encode()
    key = heartbeat_key(user_id)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as exc:
        raise HeartbeatUndelivered(f"cannot write s3://{bucket}/{key}: {describe(exc)}", heartbeat) from None
