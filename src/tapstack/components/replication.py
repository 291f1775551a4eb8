"""Cross-region replication from the primary deployment bucket to every secondary one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..contract import ARTIFACTS_PREFIX
from ..lib import iam
from ..lib.regions import region_code
from .base import RegionalComponent
from .monitoring import ALARMS
from .storage import HardenedBucket


@dataclass
class ReplicaAlarms:
    """Where a secondary's replication alarms go. S3 publishes ``ReplicationLatency`` in the destination
    bucket's Region and ``OperationsFailedReplication`` in the source bucket's Region (S3 User Guide, "Using S3
    Replication metrics"); an alarm sees only its own Region's metrics, so each lives where its metric is and
    notifies that Region's alarm topic."""

    provider: aws.Provider
    """The secondary's provider: the latency alarm lives there."""
    topic_arn: pulumi.Input[str]
    """The secondary's alarm topic."""
    latency_alarm_name: str
    failed_alarm_name: str
    """In the primary, notifying the primary's alarm topic."""


@dataclass
class ReplicaTarget:
    region: str
    bucket: HardenedBucket
    kms_key_arn: pulumi.Input[str] | None
    alarms: ReplicaAlarms | None = None


@dataclass
class ReplicationArgs:
    primary_region: str
    source: HardenedBucket
    source_kms_key_arn: pulumi.Input[str] | None
    targets: Sequence[ReplicaTarget]
    role_name: str
    account_id: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str] | None = None
    """The primary's alarm topic: where the failed-replication alarms report."""


# Only release content crosses regions. The migration state under ``releases/``, ``migrations/``,
# ``rollbacks/`` and ``locks/`` is each region's own: replicating it would overwrite a secondary's records and
# pointer with the primary's (and a pointer could arrive before the artifacts it names).
REPLICATED_PREFIX = ARTIFACTS_PREFIX


def rule_id(destination_region: str) -> str:
    """The rule's id: also the ``RuleId`` dimension of its replication metrics."""
    return f"to-{destination_region}"


class Replication(RegionalComponent):
    """One rule per secondary: RTC 15 min, metrics, delete markers, SSE-KMS objects handled when KMS is on."""

    def __init__(self, name: str, args: ReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:replication:Replication", name, opts)
        if not args.targets:
            raise ValueError("replication needs at least one secondary region")
        # With Object Lock on the source, S3 replicates each version's lock and needs it on every destination too
        # (DstBucketObjectLockConfigMissing): deploymentObjectLockDays applies to every deployment bucket.
        object_lock = args.source.object_lock is not None
        self.role = self.add_service_role(
            f"{name}-role", args.role_name, "s3.amazonaws.com", args.account_id, args.source.arn
        )
        statements = iam.replication_statements(
            source_bucket_arn=args.source.arn,
            destination_bucket_arns=[t.bucket.arn for t in args.targets],
            source_key=(args.primary_region, args.source_kms_key_arn) if args.source_kms_key_arn else None,
            destination_keys=[(t.region, t.kms_key_arn) for t in args.targets if t.kms_key_arn is not None],
            object_lock=object_lock,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=iam.to_json(statements), opts=self.child()
        )
        rules = [self._rule(i, t, args.source_kms_key_arn is not None) for i, t in enumerate(args.targets)]
        self.configuration = aws.s3.BucketReplicationConfig(
            f"{name}-config",
            bucket=args.source.bucket.id,
            role=self.role.arn,
            rules=rules,
            opts=self.child(
                depends_on=[args.source.versioning, self.policy, *[t.bucket.versioning for t in args.targets]]
            ),
        )
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        for target in args.targets:
            if target.alarms is not None:
                self.alarms += self._alarms(name, args, target, target.alarms)
        self.register_outputs(
            {
                "roleArn": self.role.arn,
                "destinations": [t.bucket.arn for t in args.targets],
                "alarmArns": [a.arn for a in self.alarms],
            }
        )

    def _alarms(
        self, name: str, args: ReplicationArgs, target: ReplicaTarget, where: ReplicaAlarms
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """Per destination: any failed operation (primary), and the RTC threshold crossed (secondary)."""
        if args.alarm_topic_arn is None:
            raise ValueError("replication alarms need the primary's alarm_topic_arn")
        dims: dict[str, pulumi.Input[str]] = {
            "SourceBucket": args.source.name,
            "DestinationBucket": target.bucket.name,
            "RuleId": rule_id(target.region),
        }
        code = region_code(target.region)
        failed = ALARMS["replication-failed"].alarm(
            f"{name}-failed-{code}",
            where.failed_alarm_name,
            args.alarm_topic_arn,
            self.child(),
            dims,
            prefix=REPLICATED_PREFIX,
            destination=target.region,
        )
        latency = ALARMS["replication-latency"].alarm(
            f"{code}-replication-latency",
            where.latency_alarm_name,
            where.topic_arn,
            pulumi.ResourceOptions(parent=self, provider=where.provider),
            dims,
            source=args.primary_region,
        )
        return [failed, latency]

    @staticmethod
    def _rule(index: int, target: ReplicaTarget, kms: bool) -> aws.s3.BucketReplicationConfigRuleArgs:
        fifteen = aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=15)
        encryption = (
            aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                replica_kms_key_id=target.kms_key_arn
            )
            if kms and target.kms_key_arn is not None
            else None
        )
        selection = (
            aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                    status="Enabled"
                )
            )
            if kms
            else None
        )
        return aws.s3.BucketReplicationConfigRuleArgs(
            id=rule_id(target.region),
            priority=index + 1,
            status="Enabled",
            filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=REPLICATED_PREFIX),
            delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
            source_selection_criteria=selection,
            destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                bucket=target.bucket.arn,
                storage_class="STANDARD",
                encryption_configuration=encryption,
                replication_time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
                    status="Enabled", time=fifteen
                ),
                metrics=aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
                    status="Enabled",
                    event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(minutes=15),
                ),
            ),
        )
