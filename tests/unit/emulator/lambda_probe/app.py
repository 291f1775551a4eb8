"""The probe's handler: what Lambda's runtime gave it (environment, identity, time left), or a failure asked for."""

from __future__ import annotations

import os
import time
from typing import Any

import boto3


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    print(f"probe invoked with {event.get('action')}")
    if event.get("action") == "raise":
        raise ValueError("the probe was asked to fail")
    if event.get("action") == "sleep":
        time.sleep(float(event["seconds"]))
    caller = boto3.client("sts", region_name=os.environ["AWS_REGION"]).get_caller_identity()["Arn"]
    return {
        "event": event,
        "greeting": os.environ.get("PROBE_GREETING"),
        "region": os.environ.get("AWS_REGION"),
        "caller": caller,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function": context.function_name,
    }
