"""Alarms that reach a person: every alarm notifies its topic when it fires and when it recovers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .base import RegionalComponent

# "Alarm on any occurrence": a Sum over one minute above zero, quiet when there is no data.
ANY_IN_A_MINUTE: dict[str, Any] = {
    "statistic": "Sum",
    "period": 60,
    "evaluation_periods": 1,
    "threshold": 0,
    "comparison_operator": "GreaterThanThreshold",
    "treat_missing_data": "notBreaching",
}


def topic_alarm(
    resource_name: str, alarm_name: str, topic_arn: pulumi.Input[str], opts: pulumi.ResourceOptions, **kwargs: Any
) -> aws.cloudwatch.MetricAlarm:
    """One MetricAlarm with the topic in both alarm and OK actions (CloudWatch.15)."""
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        name=alarm_name,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        actions_enabled=True,
        opts=opts,
        **kwargs,
    )


@dataclass
class ComputeAlarmsArgs:
    asg_name: pulumi.Input[str]
    min_in_service: int
    topic_arn: pulumi.Input[str]
    names: dict[str, str]
    """Physical alarm names by key: cpu-high, cpu-low, in-service-low."""
    cpu_high_percent: float = 80.0
    cpu_low_percent: float = 10.0


class ComputeAlarms(RegionalComponent):
    def __init__(self, name: str, args: ComputeAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:monitoring:ComputeAlarms", name, opts)
        dims = {"AutoScalingGroupName": args.asg_name}
        cpu = {
            "namespace": "AWS/EC2",
            "metric_name": "CPUUtilization",
            "dimensions": dims,
            "statistic": "Average",
            "period": 300,
            "treat_missing_data": "notBreaching",
        }
        self.cpu_high = topic_alarm(
            f"{name}-cpu-high",
            args.names["cpu-high"],
            args.topic_arn,
            self.child(),
            evaluation_periods=2,
            threshold=args.cpu_high_percent,
            comparison_operator="GreaterThanThreshold",
            **cpu,
            alarm_description="Average CPU of the group is high: scale out or investigate load",
        )
        self.cpu_low = topic_alarm(
            f"{name}-cpu-low",
            args.names["cpu-low"],
            args.topic_arn,
            self.child(),
            evaluation_periods=3,
            threshold=args.cpu_low_percent,
            comparison_operator="LessThanThreshold",
            **cpu,
            alarm_description="Average CPU of the group is low: capacity may be oversized",
        )
        self.in_service_low = topic_alarm(
            f"{name}-in-service-low",
            args.names["in-service-low"],
            args.topic_arn,
            self.child(),
            namespace="AWS/AutoScaling",
            metric_name="GroupInServiceInstances",
            dimensions=dims,
            statistic="Minimum",
            period=60,
            evaluation_periods=3,
            threshold=args.min_in_service,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",
            alarm_description="Fewer healthy instances in service than the group minimum",
        )
        self.register_outputs({"alarmArns": [self.cpu_high.arn, self.cpu_low.arn, self.in_service_low.arn]})
