"""Alarms that reach a person: every alarm notifies its topic when it fires and when it recovers.

``ALARMS`` is the table of every alarm kind the program creates: what it watches and when it fires. Components
give the where (dimensions, and the namespace of a metric of the stack's own) and the physical name; the name
catalogue (``lib/names.py``) names each kind and the runbook has a section per kind (``docs/runbook.md``; a test
checks both against this table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .base import RegionalComponent


@dataclass(frozen=True)
class AlarmSpec:
    """One kind of alarm. ``description`` may name ``{threshold}`` and the fields the creating component passes."""

    metric_name: str
    description: str
    namespace: str | None = None
    """None: the component gives it (a metric of the stack's own namespace)."""
    statistic: str = "Sum"
    period: int = 60
    evaluation_periods: int = 1
    threshold: float = 0
    comparison_operator: str = "GreaterThanThreshold"
    treat_missing_data: str = "notBreaching"
    """Missing data is quiet by default: most metrics only exist while something happens."""

    def alarm(
        self,
        resource_name: str,
        alarm_name: str,
        topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
        dimensions: Mapping[str, pulumi.Input[str]] | None = None,
        *,
        threshold: float | None = None,
        namespace: str | None = None,
        **description_fields: Any,
    ) -> aws.cloudwatch.MetricAlarm:
        """The alarm, with the topic in both alarm and OK actions (CloudWatch.15)."""
        threshold = self.threshold if threshold is None else threshold
        namespace = namespace or self.namespace
        if namespace is None:
            raise ValueError(f"{resource_name}: the {self.metric_name} alarm needs the metric's namespace")
        return aws.cloudwatch.MetricAlarm(
            resource_name,
            name=alarm_name,
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            actions_enabled=True,
            namespace=namespace,
            metric_name=self.metric_name,
            dimensions=dict(dimensions) if dimensions is not None else None,
            statistic=self.statistic,
            period=self.period,
            evaluation_periods=self.evaluation_periods,
            threshold=threshold,
            comparison_operator=self.comparison_operator,
            treat_missing_data=self.treat_missing_data,
            alarm_description=self.description.format(threshold=threshold, **description_fields),
            opts=opts,
        )


def _function_alarms(prefix: str, dead_letters: str) -> dict[str, AlarmSpec]:
    """A function's errors, throttles and dead letters (``components/function.py``); ``{purpose}`` names it."""
    return {
        f"{prefix}-errors": AlarmSpec("Errors", "The {purpose} function raised errors", "AWS/Lambda"),
        f"{prefix}-throttles": AlarmSpec("Throttles", "The {purpose} function was throttled", "AWS/Lambda"),
        dead_letters: AlarmSpec(
            "ApproximateNumberOfMessagesVisible",
            "An asynchronous {purpose} event failed every retry and waits in the dead-letter queue",
            "AWS/SQS",
            statistic="Maximum",
            period=300,
        ),
    }


_CPU: dict[str, Any] = {"namespace": "AWS/EC2", "statistic": "Average", "period": 300}

ALARMS: dict[str, AlarmSpec] = {
    "cpu-high": AlarmSpec(
        "CPUUtilization",
        "Average CPU of the group is high: scale out or investigate load",
        **_CPU,
        evaluation_periods=2,
    ),
    "cpu-low": AlarmSpec(
        "CPUUtilization",
        "Average CPU of the group is low: capacity may be oversized",
        **_CPU,
        evaluation_periods=3,
        comparison_operator="LessThanThreshold",
    ),
    "in-service-low": AlarmSpec(
        "GroupInServiceInstances",
        "Fewer healthy instances in service than the group minimum",
        "AWS/AutoScaling",
        statistic="Minimum",
        evaluation_periods=3,
        comparison_operator="LessThanThreshold",
        treat_missing_data="breaching",
    ),
    **_function_alarms("lambda", "dead-letters"),
    # counted from the handler's log by a metric filter (components/migration.py says why)
    "failed-replies": AlarmSpec(
        "MigrationFailedReplies",
        "The migration function answered with a 5xx (failed migration/rollback or misdeployment)",
    ),
    **_function_alarms("rotation", "rotation-dead-letters"),
    "replication-failed": AlarmSpec(
        "OperationsFailedReplication", "Objects under {prefix} failed to replicate to {destination}", "AWS/S3"
    ),
    "replication-latency": AlarmSpec(
        "ReplicationLatency",
        "Replication from {source} is more than {threshold} s behind: past the RTC promise",
        "AWS/S3",
        statistic="Maximum",
        threshold=900,  # Replication Time Control's promise: 99.99 % of objects within 15 minutes
    ),
}
"""Every alarm kind the program creates, by the name catalogue's ``what`` (and the runbook's section)."""


@dataclass
class ComputeAlarmsArgs:
    asg_name: pulumi.Input[str]
    min_in_service: int
    topic_arn: pulumi.Input[str]
    names: dict[str, str]
    """Physical alarm names by kind: cpu-high, cpu-low, in-service-low."""
    cpu_high_percent: float = 80.0
    cpu_low_percent: float = 10.0


class ComputeAlarms(RegionalComponent):
    def __init__(self, name: str, args: ComputeAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:monitoring:ComputeAlarms", name, opts)
        group = {"AutoScalingGroupName": args.asg_name}
        thresholds = {
            "cpu-high": args.cpu_high_percent,
            "cpu-low": args.cpu_low_percent,
            "in-service-low": args.min_in_service,
        }
        self.cpu_high, self.cpu_low, self.in_service_low = (
            ALARMS[kind].alarm(
                f"{name}-{kind}", args.names[kind], args.topic_arn, self.child(), group, threshold=threshold
            )
            for kind, threshold in thresholds.items()
        )
        self.register_outputs({"alarmArns": [self.cpu_high.arn, self.cpu_low.arn, self.in_service_low.arn]})
