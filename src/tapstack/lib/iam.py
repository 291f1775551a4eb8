"""IAM and resource-policy documents as small pure functions.

Builders take plain strings or Pulumi Outputs; ``to_json`` serializes through ``Output.json_dumps`` so an
ARN that is not known yet is resolved by Pulumi instead of being stringified as ``<Output ...>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

# Actions for which AWS offers no resource-level permission: the only ones allowed on ``Resource: "*"``.
UNSCOPED_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray trace ingestion has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray telemetry has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray sampling rules have no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray sampling targets have no resource-level permissions",
    "cloudwatch:PutMetricData": (
        "PutMetricData has no resource-level permissions; TapStack narrows it with a cloudwatch:namespace "
        "condition instead"
    ),
}

Statement = dict[str, Any]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any] | Any,
    conditions: Mapping[str, Any] | None = None,
    principal: Mapping[str, Any] | None = None,
    effect: str = "Allow",
) -> Statement:
    """One statement; refuses wildcards here so that a careless caller fails in unit tests, not in review."""
    if effect == "Allow":
        for action in actions:
            if action == "*" or action.endswith(":*"):
                raise ValueError(f"statement {sid}: wildcard action {action!r} is not allowed")
    res = list(resources) if isinstance(resources, list | tuple) else [resources]
    if effect == "Allow" and "*" in res:
        wide = [a for a in actions if a not in UNSCOPED_ACTIONS]
        if wide:
            raise ValueError(f"statement {sid}: actions {wide} must name their resources, not '*'")
    st: Statement = {"Sid": sid, "Effect": effect, "Action": list(actions), "Resource": res}
    if principal is not None:
        st["Principal"] = dict(principal)
    if conditions:
        st["Condition"] = dict(conditions)
    return st


def document(statements: Sequence[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def to_json(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """Serialize a document that may hold Outputs."""
    return pulumi.Output.json_dumps(document(statements))


def assume_role_policy(service: str, account_id: Any | None = None) -> pulumi.Output[str]:
    """Trust policy for one AWS service; with an account id it also blocks the confused deputy."""
    st: Statement = {
        "Sid": "TrustService",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["sts:AssumeRole"],
    }
    if account_id is not None:
        st["Condition"] = {"StringEquals": {"aws:SourceAccount": account_id}}
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [st]})


def objects(bucket_arn: Any) -> pulumi.Output[str]:
    """The ARN pattern of every object in a bucket."""
    return pulumi.Output.concat(bucket_arn, "/*")


def log_streams(log_group_arn: Any) -> pulumi.Output[str]:
    return pulumi.Output.concat(log_group_arn, ":*")


def flow_log_statements(log_group_arn: Any) -> list[Statement]:
    """VPC Flow Logs need to create streams and put events in their one log group, nothing else."""
    return [
        statement(
            "WriteFlowLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [log_group_arn, log_streams(log_group_arn)],
        )
    ]


def instance_statements(data_bucket_arn: Any, log_group_arn: Any, metric_namespace: str) -> list[Statement]:
    """The application instance: its data bucket, its own log group, metrics in its own namespace."""
    return [
        statement("ListDataBucket", ["s3:ListBucket"], [data_bucket_arn]),
        statement("ReadWriteDataObjects", ["s3:GetObject", "s3:PutObject"], [objects(data_bucket_arn)]),
        statement(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [log_group_arn, log_streams(log_group_arn)],
        ),
        statement(
            "PutOwnMetrics",
            ["cloudwatch:PutMetricData"],
            "*",
            conditions={"StringEquals": {"cloudwatch:namespace": metric_namespace}},
        ),
    ]


def tls_only_statement(bucket_arn: Any) -> Statement:
    """Deny every request not made over TLS (S3.5); a wildcard is right here because it only denies."""
    return statement(
        "DenyInsecureTransport",
        ["s3:*"],
        [bucket_arn, objects(bucket_arn)],
        conditions={"Bool": {"aws:SecureTransport": "false"}},
        principal={"AWS": "*"},
        effect="Deny",
    )
