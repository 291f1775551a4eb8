"""Issue 15 hardening under mocks: the log key grant, the rotation function's invoker, Object Lock."""

from __future__ import annotations

from tapstack.graph import Graph
from tests.helpers import Synth, policy

BUCKET = "aws:s3/bucket:Bucket"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"


def test_the_key_policy_lets_cloudwatch_logs_use_the_key_for_the_stacks_log_groups_only(platform: Graph) -> None:
    key = next(k for k in platform.of_type("aws:kms/key:Key") if k.region == "eu-west-1")
    (grant,) = [s for s in policy(key)["Statement"] if s["Sid"] == "AllowCloudWatchLogsForStackLogGroups"]
    assert grant["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert not [a for a in grant["Action"] if "*" in a], "no wildcard action, not even kms:Encrypt*"
    prefix = "arn:aws:logs:eu-west-1:123456789012:log-group:"
    assert sorted(grant["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]) == [
        prefix + "/aws/lambda/tapstack-migration-euw1-dev",
        prefix + "/aws/lambda/tapstack-rotation-euw1-dev",
        prefix + "/tapstack/app/euw1/dev",
        prefix + "/tapstack/flowlogs/euw1/dev",
    ]
    groups = [g for g in platform.of_type("aws:cloudwatch/logGroup:LogGroup") if g.region == "eu-west-1"]
    assert sorted(prefix + g.inputs["name"] for g in groups) == sorted(
        grant["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    )
    assert {g.inputs["kmsKeyId"] for g in groups} == {key.outputs["arn"]}


def test_only_secrets_manager_of_this_account_invokes_the_rotation_function(platform: Graph) -> None:
    permissions = platform.of_type("aws:lambda/permission:Permission")
    assert len(permissions) == 3
    for p in permissions:
        assert (p.inputs["principal"], p.inputs["sourceAccount"]) == ("secretsmanager.amazonaws.com", "123456789012")
        assert p.inputs["function"].startswith("tapstack-rotation-")
    rotations = platform.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert sorted(r.inputs["rotationRules"]["automaticallyAfterDays"] for r in rotations) == [30, 30, 30]


def test_object_lock_is_off_by_default(platform: Graph) -> None:
    assert not platform.of_type(LOCK)
    assert not [b for b in platform.of_type(BUCKET) if b.inputs.get("objectLockEnabled")]


def test_object_lock_is_governance_mode_on_the_deployment_buckets_only(synth: Synth) -> None:
    g = synth(regions=["us-east-1"], deploymentObjectLockDays=30)
    (lock,) = g.of_type(LOCK)
    assert lock.inputs["bucket"] == "tapstack-deploy-use1-123456789012-dev"
    assert lock.inputs["objectLockEnabled"] == "Enabled"
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "GOVERNANCE", "days": 30}}


def test_turning_on_object_lock_changes_no_input_of_any_bucket(synth: Synth) -> None:
    """``objectLockEnabled`` on the bucket forces a new bucket (a fixed-name bucket is deleted first, and that
    fails on a non-empty one): the lock comes from its own configuration resource, on the existing bucket."""
    off = synth(regions=["us-east-1"])
    on = synth(regions=["us-east-1"], deploymentObjectLockDays=30)
    assert {b.urn: b.inputs for b in on.of_type(BUCKET)} == {b.urn: b.inputs for b in off.of_type(BUCKET)}
    assert not [b for b in on.of_type(BUCKET) if "objectLockEnabled" in b.inputs]
