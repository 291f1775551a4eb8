"""TAP011: logs that expire on purpose, and messages and keys protected at rest."""

from __future__ import annotations

from collections.abc import Iterator

from ...graph import Graph
from ...resource_types import KMS_KEY, LOG_GROUP, TOPIC
from ..facts import Index, flag, is_unknown, number
from ..model import Context, Finding, Scope, Severity, rule

SYMMETRIC = "SYMMETRIC_DEFAULT"


@rule(
    "TAP011",
    title="Log retention and encryption at rest",
    severity=Severity.MEDIUM,
    scope=Scope.RESOURCE,
    seed=(
        "seed 000 #8 and 003 #10: flow-log groups need a retention period and notification topics were "
        "created without encryption; auditors (issue 15 #1): log groups kept CloudWatch Logs' default encryption"
    ),
    remediation=(
        "set retention_in_days and kms_key_id on log groups, kms_master_key_id on topics, enable_key_rotation on keys"
    ),
    controls=("CloudWatch.16", "SNS.1", "KMS.4"),
)
def retention_and_encryption(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Log groups have a retention period and a KMS key; SNS topics are KMS-encrypted; symmetric KMS keys rotate."""
    index = Index(graph)
    for group in index.of_type(LOG_GROUP):
        days = group.prop("retentionInDays")
        if not is_unknown(days) and not number(days):
            yield Finding(
                group,
                f"log group {group.name!r} has no retention period: logs are kept (and billed) forever",
                remediation="set retention_in_days (TapStack: tapstack:logRetentionDays)",
            )
        key_id = group.prop("kmsKeyId")
        if not is_unknown(key_id) and not key_id:
            yield Finding(
                group,
                f"log group {group.name!r} is not encrypted with a KMS key: anyone allowed to read logs reads it, "
                "and its data cannot be made unreadable by disabling a key",
                remediation=(
                    "set kms_key_id to the region's key, whose policy lets logs.<region>.amazonaws.com use it for "
                    "this group's ARN (lib/iam.logs_key_statement)"
                ),
            )
    for topic in index.of_type(TOPIC):
        key = topic.prop("kmsMasterKeyId")
        if not is_unknown(key) and not key:
            yield Finding(
                topic,
                f"SNS topic {topic.name!r} is not encrypted at rest",
                remediation=("set kms_master_key_id to the region's key (CloudWatch alarms need a customer key)"),
            )
    for key in index.of_type(KMS_KEY):
        spec = key.prop("customerMasterKeySpec") or key.prop("keySpec") or SYMMETRIC
        if (
            spec == SYMMETRIC
            and flag(key.prop("enableKeyRotation")) is not True
            and not is_unknown(key.prop("enableKeyRotation"))
        ):
            yield Finding(
                key,
                f"KMS key {key.name!r} does not rotate its key material",
                remediation="set enable_key_rotation=True",
            )
