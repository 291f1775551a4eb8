"""TAP003 (hardened buckets) and TAP010 (replication to every secondary) on hand-built graphs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapstack.guard.facts import UNKNOWN
from tapstack.guard.model import Severity

from .helpers import GraphBuilder, check, messages

REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


def test_hardened_bucket_passes(builder: GraphBuilder) -> None:
    builder.bucket("data")
    assert check("TAP003", builder.graph()) == []


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("versioning", "bucket 'data' is not versioned: an overwrite or delete cannot be undone"),
        ("encryption", "bucket 'data' has no default encryption configuration"),
        ("pab", "bucket 'data' has no public access block"),
        ("policy", "bucket 'data' has no policy denying requests without TLS (aws:SecureTransport false)"),
        (
            "ownership",
            "bucket 'data' does not disable ACLs (no BucketOwnershipControls with BucketOwnerEnforced)",
        ),
    ],
)
def test_each_missing_companion_is_one_finding(builder: GraphBuilder, missing: str, message: str) -> None:
    bucket = builder.bucket("data", companions=False)
    builder.harden(bucket, skip=(missing,))
    assert messages("TAP003", builder.graph()) == [message]


def test_a_public_access_block_flag_left_off_is_reported_on_the_block(builder: GraphBuilder) -> None:
    bucket = builder.bucket("data", companions=False)
    builder.harden(bucket, skip=("pab",))
    builder.add(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "data-pab",
        bucket=bucket.outputs["id"],
        blockPublicAcls=True,
        blockPublicPolicy="false",
        ignorePublicAcls=True,
        restrictPublicBuckets=True,
    )
    [violation] = check("TAP003", builder.graph())
    assert (violation.name, violation.message) == (
        "data-pab",
        "public access block of bucket 'data' leaves blockPublicPolicy off",
    )


def test_kms_without_bucket_key_is_medium(builder: GraphBuilder) -> None:
    bucket = builder.bucket("data", companions=False)
    builder.harden(bucket, skip=("encryption",))
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}}
    builder.add(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "data-sse",
        bucket=bucket.outputs["id"],
        rules=[rule],
    )
    [violation] = check("TAP003", builder.graph())
    assert violation.severity is Severity.MEDIUM
    assert "without an S3 bucket key" in violation.message


def test_inline_settings_count_for_the_baseline_tap007_reports_them(builder: GraphBuilder) -> None:
    bucket = builder.bucket(
        "data",
        companions=False,
        versioning={"enabled": True},
        serverSideEncryptionConfiguration={"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}},
    )
    builder.harden(bucket, skip=("versioning", "encryption"))
    graph = builder.graph()
    assert check("TAP003", graph) == []
    assert [v.message.split(":")[0] for v in check("TAP007", graph)] == [
        "'data' sets 'serverSideEncryptionConfiguration'",
        "'data' sets 'versioning'",
    ]


def test_companions_linked_only_by_dependency_during_preview(builder: GraphBuilder) -> None:
    bucket = builder.bucket("data", companions=False)
    builder.add(
        "aws:s3/bucketVersioning:BucketVersioning",
        "v",
        deps=(bucket,),
        bucket=UNKNOWN,
        versioningConfiguration={"status": UNKNOWN},
    )
    builder.harden(bucket, skip=("versioning",))
    assert check("TAP003", builder.graph()) == []


def test_companion_of_another_bucket_does_not_count(builder: GraphBuilder) -> None:
    builder.bucket("logs")
    data = builder.bucket("data", companions=False)
    builder.harden(data, skip=("pab",))
    assert messages("TAP003", builder.graph()) == ["bucket 'data' has no public access block"]


def replication_rule(target: str, **overrides: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": f"to-{target}",
        "status": "Enabled",
        "deleteMarkerReplication": {"status": "Enabled"},
        "destination": {
            "bucket": f"arn:aws:s3:::tapstack-deploy-{target}-123456789012-dev",
            "replicationTime": {"status": "Enabled", "time": {"minutes": 15.0}},
            "metrics": {"status": "Enabled", "eventThreshold": {"minutes": 15.0}},
        },
    }
    rule.update(overrides)
    return rule


def three_regions(b: GraphBuilder, rules: list[dict[str, Any]] | None) -> None:
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        b.bucket(
            "deploy" if region == "us-east-1" else f"deploy-{region}",
            region,
            bucket=f"tapstack-deploy-{_code(region)}-123456789012-dev",
        )
        b.bucket(
            "logs" if region == "us-east-1" else f"logs-{region}",
            region,
            bucket=f"tapstack-logs-{_code(region)}-123456789012-dev",
        )
    if rules is not None:
        b.add(
            REPLICATION,
            "replication",
            bucket="tapstack-deploy-use1-123456789012-dev",
            role="arn:aws:iam::1:role/r",
            rules=rules,
        )


def _code(region: str) -> str:
    return {"us-east-1": "use1", "us-west-2": "usw2", "eu-west-1": "euw1"}[region]


def test_replication_to_every_secondary_passes_and_log_buckets_need_none(builder: GraphBuilder) -> None:
    three_regions(builder, [replication_rule("usw2"), replication_rule("euw1")])
    assert check("TAP010", builder.graph()) == []


def test_no_replication_at_all_is_reported_on_the_primary_the_stack_exports(builder: GraphBuilder) -> None:
    three_regions(builder, None)
    assert messages("TAP010", builder.graph(outputs={"primary_region": "us-east-1"})) == [
        "deployment bucket 'deploy' (us-east-1) is not replicated to eu-west-1, us-west-2: secondary "
        "regions never "
        "receive a release"
    ]


def test_a_secondary_left_out(builder: GraphBuilder) -> None:
    three_regions(builder, [replication_rule("usw2")])
    assert messages("TAP010", builder.graph()) == [
        "bucket 'deploy-eu-west-1' (eu-west-1) is not a destination of 'replication': eu-west-1 never "
        "receives what "
        "lands in us-east-1"
    ]


def test_rule_without_rtc_metrics_or_delete_markers(builder: GraphBuilder) -> None:
    weak = replication_rule(
        "usw2",
        deleteMarkerReplication={"status": "Disabled"},
        destination={"bucket": "arn:aws:s3:::tapstack-deploy-usw2-123456789012-dev"},
    )
    three_regions(builder, [weak, replication_rule("euw1")])
    where = "replication rule to-usw2 to 'deploy-us-west-2' (us-west-2)"
    assert messages("TAP010", builder.graph()) == [
        f"{where} does not replicate delete markers: a delete on the primary leaves stale copies",
        f"{where} has no Replication Time Control (15 minutes): replication has no SLA",
        f"{where} has no replication metrics: RTC requires them and nobody sees a backlog",
    ]


def test_single_region_needs_no_replication(builder: GraphBuilder) -> None:
    builder.bucket("deploy", bucket="tapstack-deploy-use1-123456789012-dev")
    assert check("TAP010", builder.graph()) == []


def test_a_tls_deny_for_one_principal_or_the_bucket_only_is_not_tls_only(builder: GraphBuilder) -> None:
    bucket = builder.bucket("data", companions=False)
    builder.harden(bucket, skip=("policy",))
    arn = bucket.outputs["arn"]
    narrow = {
        "Effect": "Deny",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/app"},
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    bucket_only = {**narrow, "Principal": "*", "Resource": arn}
    policy = json.dumps({"Statement": [narrow, bucket_only]})
    builder.add("aws:s3/bucketPolicy:BucketPolicy", "data-policy", bucket=bucket.outputs["id"], policy=policy)
    assert messages("TAP003", builder.graph()) == [
        "bucket 'data' has no policy denying requests without TLS (aws:SecureTransport false)"
    ]
