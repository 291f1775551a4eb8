"""TAP004: an alarm that notifies nobody is a graph, not an alarm."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...graph import Graph
from ...resource_types import ALARM, COMPOSITE_ALARM
from ..facts import Index, flag, is_unknown, items
from ..model import Context, Finding, Scope, Severity, rule

ALARM_TYPES = (ALARM, COMPOSITE_ALARM)
_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_.-]+$")


@rule(
    "TAP004",
    title="Alarms notify an SNS topic",
    severity=Severity.HIGH,
    scope=Scope.RESOURCE,
    seed="seed 000 #6: alarms created with alarm_actions=[] and ok_actions=[] and no SNS topic at all",
    remediation=(
        "set alarm_actions and ok_actions to the region's alarm topic ARN (components/monitoring.AlarmSpec.alarm)"
    ),
    controls=("CloudWatch.15",),
)
def alarms_notify(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Every CloudWatch alarm has alarm actions and OK actions, all SNS topics in the alarm's own region."""
    index = Index(graph)
    for alarm in index.of_type(*ALARM_TYPES):
        if flag(alarm.prop("actionsEnabled")) is False:
            yield Finding(alarm, f"alarm {alarm.name!r} has actions_enabled=False: it never notifies anyone")
        region = index.region_of(alarm)
        for key, label in (("alarmActions", "alarm actions"), ("okActions", "OK actions")):
            value = alarm.prop(key)
            if is_unknown(value):
                continue
            actions = [a for a in items(value) if isinstance(a, str)]
            if not actions:
                yield Finding(alarm, f"alarm {alarm.name!r} has no {label}: nobody hears when it fires or recovers")
                continue
            for action in actions:
                match = _SNS_ARN.match(action)
                if match is None:
                    yield Finding(alarm, f"alarm {alarm.name!r}: {label} target {action!r} is not an SNS topic ARN")
                elif region and match.group(1) != region:
                    yield Finding(
                        alarm,
                        f"alarm {alarm.name!r} ({region}): {label} target is a topic in {match.group(1)}; "
                        "CloudWatch only notifies topics in the alarm's own region",
                        remediation="use the alarm topic created by the same region's provider",
                    )
