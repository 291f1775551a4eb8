"""The stack's alarms in a region: those that notify the region's alarm topic (every TapStack alarm does,
TAP004), so a user's unrelated alarms in the same account never block or fail a release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str
    reason: str


def stack_alarms(cloudwatch: Any, topic_arn: str) -> list[Alarm]:
    found: list[Alarm] = []
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    for page in pages:
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            if topic_arn in alarm.get("AlarmActions", []):
                found.append(Alarm(alarm["AlarmName"], alarm["StateValue"], str(alarm.get("StateReason", ""))))
    return sorted(found, key=lambda a: a.name)


def firing(alarms: list[Alarm], ignore: frozenset[str] = frozenset()) -> list[Alarm]:
    return [a for a in alarms if a.state == "ALARM" and a.name not in ignore]
