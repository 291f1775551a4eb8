"""The component contract: explicit regional provider, typed tokens, children parented and on that provider."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from tapstack.components.storage import HardenedBucket, HardenedBucketArgs
from tapstack.graph import Graph, Resource
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
        "tapstack:function:LambdaFunction",
        "tapstack:notifications:Notifications",
        "tapstack:monitoring:ComputeAlarms",
        "tapstack:migration:MigrationFunction",
        "tapstack:replication:Replication",
        "tapstack:region:RegionBase",
        "tapstack:region:Foundation",
        "tapstack:region:MigrationPlatform",
    }


def test_each_region_component_holds_its_concerns_and_every_aws_resource_below_it_is_in_its_region(
    platform: Graph,
) -> None:
    by_urn = platform.by_urn()
    expected = {
        "tapstack:region:RegionBase": ["key", "logs", "notify"],
        "tapstack:region:Foundation": ["app", "app-alarms", "data", "net"],
        "tapstack:region:MigrationPlatform": ["deploy", "migration", "rotation", "secrets"],
    }
    regions = {"use1": "us-east-1", "usw2": "us-west-2", "euw1": "eu-west-1"}

    def region_component(resource: Resource) -> Resource | None:
        while resource.parent in by_urn and resource.type not in expected:
            resource = by_urn[str(resource.parent)]
        return resource if resource.type in expected else None

    for component in platform.of_type(*expected):
        code = component.name.split("-")[0]
        children = sorted(r.name.removeprefix(f"{code}-") for r in platform if r.parent == component.urn)
        assert children == expected[component.type], component.urn
    placed = [(c, r) for r in platform.aws_resources() if (c := region_component(r)) is not None]
    assert len(placed) > 200
    assert all(r.region == regions[c.name.split("-")[0]] for c, r in placed)
