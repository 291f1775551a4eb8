"""The probe's handler: what its runtime gave it (environment, identity, time left), or a failure asked for."""

from __future__ import annotations

import threading
import time
from typing import Any

from tapstack.runtime import Runtime

MEETING = threading.Barrier(2)
"""``meet``: two invocations wait here for each other, which only invocations running side by side can do."""


def handle(event: dict[str, Any], context: Any, runtime: Runtime) -> dict[str, Any]:
    greeting = runtime.environment.get("PROBE_GREETING")
    runtime.log(f"probe invoked with {event.get('action')}" + (f" for {greeting}" if greeting else ""))
    if event.get("action") == "raise":
        raise ValueError("the probe was asked to fail")
    if event.get("action") == "sleep":
        time.sleep(float(event["seconds"]))
    if event.get("action") == "meet":
        MEETING.wait(timeout=5)
    region = runtime.environment["AWS_REGION"]
    caller = runtime.session.client("sts", region_name=region).get_caller_identity()["Arn"]
    return {
        "event": event,
        "greeting": greeting,
        "region": runtime.environment.get("AWS_REGION"),
        "caller": caller,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function": context.function_name,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, Runtime.of_process())
