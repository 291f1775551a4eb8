"""What `tapstack up --local` reports and writes, checked against what the emulator holds."""

from __future__ import annotations

from collections import Counter

from tapstack.emulator.deploy import foundation_check
from tapstack.graph import Graph, Resource
from tests.helpers import example_config, run_synth
from tests.integration.helpers import PRIMARY, SECONDARY, Deployed


def test_every_planned_resource_is_deployed_and_counted_per_region(deployed: Deployed) -> None:
    planned = run_synth(example_config("two-region"))
    expected = Counter(r.region for r in planned.aws_resources())
    assert deployed.summary["resources_per_region"] == dict(expected)
    assert deployed.summary["resources"] == len(planned.aws_resources())


def test_the_post_deploy_checks_validated_both_regions(deployed: Deployed) -> None:
    checks = {(c["region"], c["name"]): c for c in deployed.summary["checks"]}
    assert set(checks) == {(r, n) for r in (PRIMARY, SECONDARY) for n in ("validate", "foundation")}
    assert all(c["passed"] for c in checks.values()), checks
    assert checks[(PRIMARY, "validate")]["detail"] == "all 8 checks passed"  # with replication
    assert checks[(SECONDARY, "validate")]["detail"] == "all 7 checks passed"
    assert deployed.summary["passed"] is True


def test_up_without_release_reports_the_booted_fleet_waiting_for_one(deployed: Deployed) -> None:
    assert deployed.summary["fleet"] == {PRIMARY: "1 instance, no release yet", SECONDARY: "1 instance, no release yet"}
    assert deployed.summary["release"] is None


def test_the_outputs_file_holds_the_emulators_ids_and_the_secrets_arn_in_plain(deployed: Deployed) -> None:
    outputs = deployed.outputs
    assert outputs["regions"] == [PRIMARY, SECONDARY]
    vpcs = deployed.aws("ec2").describe_vpcs(VpcIds=[outputs["use1_vpc_id"]])["Vpcs"]
    assert [v["CidrBlock"] for v in vpcs] == ["10.0.0.0/16"]
    secret = deployed.aws("secretsmanager").describe_secret(SecretId="tapstack-migration-token-use1-local")
    assert outputs["use1_secret_arn"] == secret["ARN"], "an ARN names the secret, it is not its value"
    function = deployed.function(PRIMARY)
    assert function.arn == outputs["use1_function_arn"]
    assert function.environment["TAPSTACK_DEPLOYMENT_BUCKET"] == outputs["use1_deployment_bucket"]
    assert function.environment["TAPSTACK_REPLICA_BUCKETS"] == f'["{outputs["euw1_deployment_bucket"]}"]'


def _foundation_of(deployed: Deployed, region: str) -> Graph:
    """The deployed VPC and data bucket as a graph, ids read from the outputs file."""
    return Graph(
        stack="dev",
        resources=[
            Resource("vpc", "aws:ec2/vpc:Vpc", "vpc", region, outputs={"id": deployed.out(region, "vpc_id")}),
            Resource(
                "bucket", "aws:s3/bucket:Bucket", "data", region, outputs={"id": deployed.out(region, "data_bucket")}
            ),
        ],
    )


def test_the_foundation_check_ran_in_both_regions(deployed: Deployed) -> None:
    checks = {(c["region"], c["name"]): c for c in deployed.summary["checks"]}
    for region in (PRIMARY, SECONDARY):
        assert checks[(region, "foundation")]["passed"] is True
        assert checks[(region, "foundation")]["detail"] == "all 6 checks passed"


def test_the_foundation_check_fails_when_the_default_security_group_gains_a_rule(deployed: Deployed) -> None:
    graph = _foundation_of(deployed, SECONDARY)
    assert foundation_check(deployed.clients, graph, SECONDARY).passed
    ec2 = deployed.aws("ec2", SECONDARY)
    vpc_id = deployed.out(SECONDARY, "vpc_id")
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    ssh = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=ssh)
    try:
        check = foundation_check(deployed.clients, graph, SECONDARY)
    finally:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=ssh)
    assert not check.passed
    assert check.detail == f"1 of 3 checks failed: the default security group of {vpc_id} still has rules"


def test_the_foundation_check_fails_when_a_bucket_stops_versioning(deployed: Deployed) -> None:
    graph = _foundation_of(deployed, SECONDARY)
    bucket = deployed.out(SECONDARY, "data_bucket")
    s3 = deployed.aws("s3", SECONDARY)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    try:
        check = foundation_check(deployed.clients, graph, SECONDARY)
    finally:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert (check.passed, check.detail) == (False, f"1 of 3 checks failed: bucket {bucket} is not versioned")
