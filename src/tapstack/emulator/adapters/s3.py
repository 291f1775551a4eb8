"""S3 buckets and the separate v7 configuration resources (versioning, encryption, PAB, policy, ...)."""

from __future__ import annotations

from typing import Any

from ...resource_types import (
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_LOGGING,
    BUCKET_NOTIFICATION,
    BUCKET_OBJECT_LOCK,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    BUCKET_REPLICATION,
    BUCKET_VERSIONING,
)
from .base import AdapterError, Request, Result, compact, pascal, resource, tag_list

# AWS spells a few S3 members differently from a plain PascalCase of the provider's names.
RENAMES = {
    "id": "ID",
    "sseAlgorithm": "SSEAlgorithm",
    "kmsMasterKeyId": "KMSMasterKeyID",
    "replicaKmsKeyId": "ReplicaKmsKeyID",
}


def _bucket_name(req: Request) -> str:
    name = req.get("bucket")
    if not name:
        raise AdapterError("input 'bucket' is required")
    return str(name)


def _configured(req: Request, extra: dict[str, Any] | None = None) -> Result:
    """Bucket configuration resources are identified by their bucket."""
    return _bucket_name(req), extra or {}


@resource(
    BUCKET,
    "bucket objectLockEnabled tags",
    {"forceDestroy": "acts only when the bucket is deleted (empties it first)"},
)
def bucket(req: Request) -> Result:
    s3 = req.client("s3")
    name = req.physical_name("bucket", lower=True)
    location = None if req.region == "us-east-1" else {"LocationConstraint": req.region}
    s3.create_bucket(
        **compact(
            Bucket=name,
            CreateBucketConfiguration=location,
            ObjectLockEnabledForBucket=req.get("objectLockEnabled"),
        )
    )
    if req.tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(req.tags)})
    return name, {
        "arn": f"arn:{req.partition}:s3:::{name}",
        "bucket": name,
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{req.region}.amazonaws.com",
        "region": req.region,
        "tagsAll": req.tags,
    }


@resource(BUCKET_VERSIONING, "bucket versioningConfiguration expectedBucketOwner mfa")
def versioning(req: Request) -> Result:
    config = req.get("versioningConfiguration", {})
    req.client("s3").put_bucket_versioning(
        **compact(
            Bucket=_bucket_name(req),
            VersioningConfiguration=compact(Status=config.get("status"), MFADelete=config.get("mfaDelete")),
            MFA=req.get("mfa"),
            ExpectedBucketOwner=req.get("expectedBucketOwner"),
        )
    )
    return _configured(req)


@resource(
    BUCKET_ENCRYPTION,
    "bucket rules expectedBucketOwner",
)
def encryption(req: Request) -> Result:
    req.client("s3").put_bucket_encryption(
        **compact(
            Bucket=_bucket_name(req),
            ServerSideEncryptionConfiguration={"Rules": pascal(req.get("rules", []), RENAMES)},
            ExpectedBucketOwner=req.get("expectedBucketOwner"),
        )
    )
    return _configured(req)


@resource(
    BUCKET_PUBLIC_ACCESS_BLOCK,
    "bucket blockPublicAcls blockPublicPolicy ignorePublicAcls restrictPublicBuckets",
    {"skipDestroy": "acts only when the resource is deleted"},
)
def public_access_block(req: Request) -> Result:
    flags = {
        "BlockPublicAcls": bool(req.get("blockPublicAcls", False)),
        "BlockPublicPolicy": bool(req.get("blockPublicPolicy", False)),
        "IgnorePublicAcls": bool(req.get("ignorePublicAcls", False)),
        "RestrictPublicBuckets": bool(req.get("restrictPublicBuckets", False)),
    }
    req.client("s3").put_public_access_block(Bucket=_bucket_name(req), PublicAccessBlockConfiguration=flags)
    return _configured(req)


@resource(BUCKET_OWNERSHIP_CONTROLS, "bucket rule")
def ownership_controls(req: Request) -> Result:
    rule = req.get("rule", {})
    req.client("s3").put_bucket_ownership_controls(
        Bucket=_bucket_name(req),
        OwnershipControls={"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]},
    )
    return _configured(req)


@resource(BUCKET_POLICY, "bucket policy")
def policy(req: Request) -> Result:
    req.client("s3").put_bucket_policy(Bucket=_bucket_name(req), Policy=req.get("policy"))
    return _configured(req)


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = pascal(rule, RENAMES)
    # The provider's filter is a block even when empty; S3 wants a Filter with a Prefix at least.
    if "Filter" in shaped and not shaped["Filter"]:
        shaped["Filter"] = {"Prefix": ""}
    return shaped


@resource(
    BUCKET_LIFECYCLE,
    "bucket rules expectedBucketOwner transitionDefaultMinimumObjectSize",
)
def lifecycle(req: Request) -> Result:
    req.client("s3").put_bucket_lifecycle_configuration(
        **compact(
            Bucket=_bucket_name(req),
            LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in req.get("rules", [])]},
            ExpectedBucketOwner=req.get("expectedBucketOwner"),
            TransitionDefaultMinimumObjectSize=req.get("transitionDefaultMinimumObjectSize"),
        )
    )
    return _configured(req)


@resource(BUCKET_LOGGING, "bucket targetBucket targetPrefix expectedBucketOwner")
def logging(req: Request) -> Result:
    req.client("s3").put_bucket_logging(
        **compact(
            Bucket=_bucket_name(req),
            BucketLoggingStatus={
                "LoggingEnabled": {
                    "TargetBucket": req.get("targetBucket"),
                    "TargetPrefix": req.get("targetPrefix", ""),
                }
            },
            ExpectedBucketOwner=req.get("expectedBucketOwner"),
        )
    )
    return _configured(req)


@resource(BUCKET_REPLICATION, "bucket role rules token")
def replication(req: Request) -> Result:
    req.client("s3").put_bucket_replication(
        **compact(
            Bucket=_bucket_name(req),
            ReplicationConfiguration={
                "Role": req.get("role"),
                "Rules": pascal(req.get("rules", []), RENAMES),
            },
            Token=req.get("token"),
        )
    )
    return _configured(req)


@resource(BUCKET_NOTIFICATION, "bucket eventbridge")
def notification(req: Request) -> Result:
    """Only EventBridge delivery: TapStack routes object events with EventBridge rules, not per-bucket targets."""
    configuration: dict[str, Any] = {"EventBridgeConfiguration": {}} if req.get("eventbridge") else {}
    req.client("s3").put_bucket_notification_configuration(
        Bucket=_bucket_name(req), NotificationConfiguration=configuration
    )
    return _configured(req)


@resource(
    BUCKET_OBJECT_LOCK,
    "bucket objectLockEnabled rule expectedBucketOwner",
)
def object_lock(req: Request) -> Result:
    retention = (req.get("rule") or {}).get("defaultRetention") or {}
    req.client("s3").put_object_lock_configuration(
        **compact(
            Bucket=_bucket_name(req),
            ObjectLockConfiguration=compact(
                ObjectLockEnabled=req.get("objectLockEnabled"),
                Rule=compact(
                    DefaultRetention=compact(
                        Mode=retention.get("mode"), Days=retention.get("days"), Years=retention.get("years")
                    )
                )
                or None,
            ),
            ExpectedBucketOwner=req.get("expectedBucketOwner"),
        )
    )
    return _configured(req)
