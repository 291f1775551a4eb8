"""CloudWatch Logs groups and CloudWatch metric alarms (pulumi-aws files both under ``cloudwatch``)."""

from __future__ import annotations

from ...resource_types import ALARM, LOG_GROUP, LOG_METRIC_FILTER
from .base import Request, Result, compact, resource, tag_list


@resource(
    LOG_GROUP,
    "name retentionInDays kmsKeyId logGroupClass tags",
    {"skipDestroy": "acts only when the group is deleted"},
)
def log_group(req: Request) -> Result:
    logs = req.client("logs")
    name = req.physical_name()
    logs.create_log_group(
        **compact(
            logGroupName=name,
            kmsKeyId=req.get("kmsKeyId"),
            logGroupClass=req.get("logGroupClass"),
            tags=req.tags,
        )
    )
    if req.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=req.get("retentionInDays"))
    # AWS's own ARN ends in ":*"; the provider reports it without, as the one policies are written against.
    return name, {"arn": req.arn("logs", f"log-group:{name}"), "name": name, "tagsAll": req.tags}


@resource(
    LOG_METRIC_FILTER,
    "name logGroupName pattern metricTransformation",
)
def log_metric_filter(req: Request) -> Result:
    logs = req.client("logs")
    name = req.physical_name()
    transformation = req.get("metricTransformation", {})
    logs.put_metric_filter(
        logGroupName=req.get("logGroupName"),
        filterName=name,
        filterPattern=req.get("pattern"),
        metricTransformations=[
            compact(
                metricName=transformation.get("name"),
                metricNamespace=transformation.get("namespace"),
                metricValue=transformation.get("value"),
                defaultValue=float(transformation["defaultValue"]) if "defaultValue" in transformation else None,
                unit=transformation.get("unit"),
            )
        ],
    )
    return name, {"id": name, "name": name}


@resource(
    ALARM,
    "name alarmDescription comparisonOperator evaluationPeriods datapointsToAlarm metricName namespace "
    "period statistic extendedStatistic threshold unit dimensions actionsEnabled alarmActions okActions "
    "insufficientDataActions treatMissingData evaluateLowSampleCountPercentiles tags",
)
def metric_alarm(req: Request) -> Result:
    cloudwatch = req.client("cloudwatch")
    name = req.physical_name()
    cloudwatch.put_metric_alarm(
        **compact(
            AlarmName=name,
            AlarmDescription=req.get("alarmDescription"),
            ComparisonOperator=req.get("comparisonOperator"),
            EvaluationPeriods=req.get("evaluationPeriods"),
            DatapointsToAlarm=req.get("datapointsToAlarm"),
            MetricName=req.get("metricName"),
            Namespace=req.get("namespace"),
            Period=req.get("period"),
            Statistic=req.get("statistic"),
            ExtendedStatistic=req.get("extendedStatistic"),
            Threshold=req.get("threshold"),
            Unit=req.get("unit"),
            Dimensions=[{"Name": k, "Value": v} for k, v in req.get("dimensions", {}).items()],
            ActionsEnabled=req.get("actionsEnabled"),
            AlarmActions=req.get("alarmActions"),
            OKActions=req.get("okActions"),
            InsufficientDataActions=req.get("insufficientDataActions"),
            TreatMissingData=req.get("treatMissingData"),
            EvaluateLowSampleCountPercentile=req.get("evaluateLowSampleCountPercentiles"),
            Tags=tag_list(req.tags),
        )
    )
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return name, {"arn": alarm["AlarmArn"], "name": name, "tagsAll": req.tags}
