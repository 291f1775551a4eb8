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


def via_services(region: str, *services: str) -> dict[str, Any]:
    """Condition that lets a KMS grant be used only through the named AWS services in one region."""
    return {"StringEquals": {"kms:ViaService": [f"{s}.{region}.amazonaws.com" for s in services]}}


def instance_key_statements(key_arn: Any, region: str) -> list[Statement]:
    """With SSE-KMS on the data bucket, S3 reads and writes need the region key, through S3 only."""
    return [
        statement(
            "UseRegionKeyThroughS3",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [key_arn],
            conditions=via_services(region, "s3"),
        )
    ]


def root_admin_statement(account_id: Any, partition: Any) -> Statement:
    """The account root keeps full control of the key, or a broken policy could lock the key out forever.

    This is the one ``kms:*`` grant TapStack makes, and it is the form AWS documents as the default.
    """
    return {
        "Sid": "EnableAccountRootAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(account_id, partition)},
        "Action": ["kms:*"],
        "Resource": "*",
    }


def key_policy(account_id: Any, partition: Any, user_role_arns: Sequence[Any]) -> pulumi.Output[str]:
    """Root administration, the stack's own roles as users, and CloudWatch (alarms publish to encrypted topics).

    In a key policy ``Resource: "*"`` means "this key", so it is scoped by construction. Roles are named
    through ``aws:PrincipalArn`` so the policy can be written before the roles exist.
    """
    root = account_root(account_id, partition)
    statements = [
        root_admin_statement(account_id, partition),
        {
            "Sid": "AllowStackRolesToUseKey",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": list(user_role_arns)}},
        },
        {
            "Sid": "AllowCloudWatchAlarmsToPublishEncrypted",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    ]
    return pulumi.Output.json_dumps(document(statements))


def account_root(account_id: Any, partition: Any) -> pulumi.Output[str]:
    return pulumi.Output.format("arn:{0}:iam::{1}:root", partition, account_id)


def topic_policy(topic_arn: Any, account_id: Any, partition: Any, allow_cloudwatch: bool) -> pulumi.Output[str]:
    """Only this account's principals (and, for the alarm topic, CloudWatch on its behalf) may publish."""
    statements: list[Statement] = [
        {
            "Sid": "AccountPrincipalsPublish",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(account_id, partition)},
            "Action": ["sns:Publish"],
            "Resource": topic_arn,
        }
    ]
    if allow_cloudwatch:
        statements.append(
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["sns:Publish"],
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        )
    return pulumi.Output.json_dumps(document(statements))


def log_delivery_statement(log_bucket_arn: Any, source_bucket_arns: Sequence[Any], account_id: Any) -> Statement:
    """Server access logs are delivered by the logging service; AWS recommends this grant over ACLs."""
    return statement(
        "S3ServerAccessLogsDelivery",
        ["s3:PutObject"],
        [pulumi.Output.concat(log_bucket_arn, "/access-logs/*")],
        conditions={
            "ArnLike": {"aws:SourceArn": list(source_bucket_arns)},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
        principal={"Service": "logging.s3.amazonaws.com"},
    )


def lambda_statements(
    *,
    region: str,
    bucket_arn: Any,
    parameter_arn: Any,
    secret_arn: Any,
    topic_arn: Any,
    log_group_arn: Any,
    key_arn: Any | None,
    read_replication: bool,
) -> list[Statement]:
    """Exactly the calls the migration handler makes, each on the one resource it makes it on."""
    bucket_actions = ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration"]
    if read_replication:
        bucket_actions.append("s3:GetReplicationConfiguration")
    statements = [
        statement("InspectDeploymentBucket", bucket_actions, [bucket_arn]),
        statement("ReadWriteDeploymentObjects", ["s3:GetObject", "s3:PutObject"], [objects(bucket_arn)]),
        statement("ReadMigrationConfig", ["ssm:GetParameter"], [parameter_arn]),
        statement("ReadMigrationSecret", ["secretsmanager:GetSecretValue"], [secret_arn]),
        statement("NotifyDeployments", ["sns:Publish", "sns:GetTopicAttributes"], [topic_arn]),
        statement(
            "WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn, log_streams(log_group_arn)]
        ),
        statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
    ]
    if key_arn is not None:
        statements.append(
            statement(
                "UseRegionKeyThroughServices",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                [key_arn],
                conditions=via_services(region, "ssm", "secretsmanager", "s3", "sns"),
            )
        )
    return statements


def replication_statements(
    *,
    source_bucket_arn: Any,
    destination_bucket_arns: Sequence[Any],
    source_key: tuple[str, Any] | None,
    destination_keys: Sequence[tuple[str, Any]],
) -> list[Statement]:
    """The documented S3 replication actions on the source and each destination, and no bucket besides."""
    statements = [
        statement("ReadSourceConfiguration", ["s3:GetReplicationConfiguration", "s3:ListBucket"], [source_bucket_arn]),
        statement(
            "ReadSourceVersions",
            ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            [objects(source_bucket_arn)],
        ),
        statement(
            "WriteReplicas",
            ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            [objects(arn) for arn in destination_bucket_arns],
        ),
    ]
    if source_key is not None:
        region, arn = source_key
        statements.append(statement("DecryptSource", ["kms:Decrypt"], [arn], conditions=via_services(region, "s3")))
    for i, (region, arn) in enumerate(destination_keys):
        statements.append(
            statement(f"EncryptReplica{i}", ["kms:Encrypt"], [arn], conditions=via_services(region, "s3"))
        )
    return statements
