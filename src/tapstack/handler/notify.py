"""Deployment notifications: reported, never fatal, because the bucket, not SNS, holds the truth."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .clients import describe
from .logs import Sink, log


def publish(sns: Any, topic_arn: str, event: str, payload: dict[str, Any], sink: Sink) -> str:
    """'sent', or 'failed (<AWS code>: <message>)' for the reply; the caller carries on either way."""
    migration_id = str(payload.get("migration_id", ""))
    try:
        sns.publish(
            TopicArn=topic_arn,
            # Subjects must be ASCII without newlines: built from the event name and the checked id only.
            Subject=f"TapStack {event} {migration_id}"[:100],
            Message=json.dumps({"event": event, **payload}, sort_keys=True, default=str),
            MessageAttributes={"event": {"DataType": "String", "StringValue": event}},
        )
    except (ClientError, BotoCoreError) as exc:
        log(
            sink,
            "warning",
            "notification_failed",
            migration_id=migration_id,
            notification=event,
            detail=describe(exc),
        )
        return f"failed ({describe(exc)})"
    return "sent"


def summary(results: dict[str, str]) -> str:
    """One word when all went out, otherwise which notification failed and why."""
    failed = [f"{stage}: {result}" for stage, result in results.items() if result != "sent"]
    return "sent" if not failed else "failed (" + "; ".join(failed) + ")"


def notice(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """What subscribers learn about a migration or rollback record, at start and at finish alike."""
    if kind == "rollback":
        return {
            "migration_id": doc["migration_id"],
            "release": _release(doc.get("restored")),
            "rolled_back_release": _release(doc.get("rolled_back")),
            "state": doc["state"],
            "error": doc["error"],
            "region": doc["region"],
        }
    previous = doc.get("previous")
    return {
        "migration_id": doc["migration_id"],
        "release": doc["release"],
        "previous_release": _release(previous) if previous else None,
        "state": doc["state"],
        "error": doc["error"],
        "region": doc["region"],
    }


def _release(pointer: object) -> str:
    return str(pointer.get("release")) if isinstance(pointer, dict) else "none"
