"""The hardened bucket: every bucket in TapStack is one of these, so every bucket is secure the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..lib import iam
from .base import RegionalComponent


@dataclass
class HardenedBucketArgs:
    bucket_name: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None = None
    """None: SSE-S3 (AES256). Otherwise SSE-KMS with this key and an S3 bucket key."""
    access_log_bucket: HardenedBucket | None = None
    """Where server access logs go; logging waits for that bucket's policy, which grants the logging service."""
    access_log_prefix: str = "access-logs/"
    policy_statements: list[iam.Statement] = field(default_factory=list)
    """Extra statements (e.g. the logging service grant); the TLS-only deny is always present."""
    noncurrent_version_days: int = 90
    event_notifications: bool = False
    """Send every object event to EventBridge (rules there decide who hears what; S3 itself delivers nowhere)."""
    object_lock_days: int = 0
    """0: no Object Lock. Otherwise every new object version is locked in governance mode for this many days
    (irreversible for the bucket: Object Lock cannot be turned off once on; docs/security.md)."""


class HardenedBucket(RegionalComponent):
    """Versioned, encrypted, private, TLS-only, ACL-less bucket with lifecycle and optional access logs."""

    name: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: HardenedBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tapstack:storage:HardenedBucket", name, opts)
        # No object_lock_enabled here: on the bucket it forces a new bucket, and a fixed-name bucket is deleted
        # before it is replaced (which fails on a non-empty bucket, or loses the platform's history). S3 enables
        # Object Lock on an existing versioned bucket with PutObjectLockConfiguration (S3 User Guide, "Enabling
        # Object Lock on an existing bucket"): BucketObjectLockConfiguration below does it, in place.
        self.bucket = aws.s3.Bucket(name, bucket=args.bucket_name, opts=self.child())
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self.child(),
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-pab",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self.child(),
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=self.child(),
        )
        kms = args.kms_key_arn is not None
        by_default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms" if kms else "AES256",
            kms_master_key_id=args.kms_key_arn,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    # An S3 bucket key saves KMS requests; with SSE-S3 there are none to save, and S3 ignores it.
                    apply_server_side_encryption_by_default=by_default,
                    bucket_key_enabled=True if kms else None,
                )
            ],
            opts=self.child(),
        )
        statements = [iam.tls_only_statement(self.bucket.arn), *args.policy_statements]
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=iam.to_json(statements),
            opts=self.child(depends_on=[self.public_access_block, self.ownership]),
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                ),
            ],
            opts=self.child(depends_on=[self.versioning]),
        )
        self.logging: aws.s3.BucketLogging | None = None
        if args.access_log_bucket is not None:
            self.logging = aws.s3.BucketLogging(
                f"{name}-logging",
                bucket=self.bucket.id,
                target_bucket=args.access_log_bucket.name,
                target_prefix=pulumi.Output.concat(args.access_log_prefix, self.bucket.id, "/"),
                opts=self.child(depends_on=[args.access_log_bucket.policy]),
            )
        self.notifications: aws.s3.BucketNotification | None = None
        if args.event_notifications:
            self.notifications = aws.s3.BucketNotification(
                f"{name}-events", bucket=self.bucket.id, eventbridge=True, opts=self.child()
            )
        self.object_lock: aws.s3.BucketObjectLockConfiguration | None = None
        if args.object_lock_days:
            self.object_lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=self.bucket.id,
                object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode="GOVERNANCE", days=args.object_lock_days
                    )
                ),
                opts=self.child(depends_on=[self.versioning]),
            )
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.register_outputs({"name": self.bucket.bucket, "arn": self.bucket.arn})
