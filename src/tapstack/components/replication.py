"""Cross-region replication from the primary deployment bucket to every secondary one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..lib import iam
from .base import RegionalComponent
from .storage import HardenedBucket


@dataclass
class ReplicaTarget:
    region: str
    bucket: HardenedBucket
    kms_key_arn: pulumi.Input[str] | None


@dataclass
class ReplicationArgs:
    primary_region: str
    source: HardenedBucket
    source_kms_key_arn: pulumi.Input[str] | None
    targets: Sequence[ReplicaTarget]
    role_name: str
    account_id: pulumi.Input[str]


# Only release content crosses regions. The migration state under ``releases/``, ``migrations/``,
# ``rollbacks/`` and ``locks/`` is each region's own: replicating it would overwrite a secondary's records and
# pointer with the primary's (and a pointer could arrive before the artifacts it names).
REPLICATED_PREFIX = "artifacts/"


class Replication(RegionalComponent):
    """One rule per secondary: RTC 15 min, metrics, delete markers, SSE-KMS objects handled when KMS is on."""

    def __init__(self, name: str, args: ReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:replication:Replication", name, opts)
        if not args.targets:
            raise ValueError("replication needs at least one secondary region")
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            assume_role_policy=iam.assume_role_policy("s3.amazonaws.com", args.account_id, args.source.arn),
            opts=self.child(),
        )
        statements = iam.replication_statements(
            source_bucket_arn=args.source.arn,
            destination_bucket_arns=[t.bucket.arn for t in args.targets],
            source_key=(args.primary_region, args.source_kms_key_arn) if args.source_kms_key_arn else None,
            destination_keys=[(t.region, t.kms_key_arn) for t in args.targets if t.kms_key_arn is not None],
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
        self.register_outputs({"roleArn": self.role.arn, "destinations": [t.bucket.arn for t in args.targets]})

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
            id=f"to-{target.region}",
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
