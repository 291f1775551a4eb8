"""The component contract: explicit regional provider, typed tokens, children parented and on that provider."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from tapstack.components.storage import HardenedBucket, HardenedBucketArgs
from tapstack.graph import Graph
from tapstack.synth import synthesize


def test_component_without_a_provider_is_refused() -> None:
    def program() -> None:
        HardenedBucket("orphan", HardenedBucketArgs(bucket_name="orphan-bucket"))

    with pytest.raises(TypeError, match=r"pass the region's aws\.Provider as opts\.provider"):
        synthesize(program, {})


def test_hardened_bucket_children_inherit_parent_and_provider() -> None:
    def program() -> None:
        provider = aws.Provider("aws-euw1", region="eu-west-1")
        opts = pulumi.ResourceOptions(provider=provider)
        logs = HardenedBucket("logs", HardenedBucketArgs(bucket_name="logs-bucket"), opts)
        HardenedBucket("b", HardenedBucketArgs(bucket_name="b-bucket", access_log_bucket=logs), opts)

    g = synthesize(program, {})
    component = next(r for r in g if r.type == "tapstack:storage:HardenedBucket" and r.name == "b")
    logs_policy = next(r for r in g if r.name == "logs-policy")
    children = [r for r in g.aws_resources() if r.parent == component.urn]
    assert sorted(r.type.split(":")[-1] for r in children) == [
        "Bucket",
        "BucketLifecycleConfiguration",
        "BucketLogging",
        "BucketOwnershipControls",
        "BucketPolicy",
        "BucketPublicAccessBlock",
        "BucketServerSideEncryptionConfiguration",
        "BucketVersioning",
    ]
    assert all(r.parent == component.urn and r.region == "eu-west-1" for r in children)
    (logging,) = g.of_type("aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["targetPrefix"] == "access-logs/b-bucket/"
    assert logging.inputs["targetBucket"] == "logs-bucket"
    assert logs_policy.urn in logging.dependencies, "logging must wait for the grant to the logging service"


def test_every_component_has_a_specific_type_token(platform: Graph) -> None:
    tokens = {r.type for r in platform if r.is_component and r.type != "pulumi:pulumi:Stack"}
    assert tokens == {
        "tapstack:index:TapStack",
        "tapstack:network:Network",
        "tapstack:compute:Compute",
        "tapstack:storage:HardenedBucket",
        "tapstack:secrets:RegionKey",
        "tapstack:secrets:MigrationSecrets",
        "tapstack:secrets:TokenRotation",
        "tapstack:notifications:Notifications",
        "tapstack:monitoring:ComputeAlarms",
        "tapstack:migration:MigrationFunction",
        "tapstack:replication:Replication",
    }
