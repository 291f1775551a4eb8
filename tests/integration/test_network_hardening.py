"""Issue 15 items 4-6 and issue 13 item 5, read back from the emulator after a real `tapstack up --local`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapstack.emulator.engine import Clients
from tapstack.emulator.server import Emulator
from tests.helpers import EXAMPLES, up_local
from tests.integration.helpers import CODES, PRIMARY, SECONDARY, Deployed

REGIONS = [PRIMARY, SECONDARY]


@pytest.mark.parametrize("region", REGIONS)
def test_the_default_nacl_is_left_with_only_the_catch_all_deny(deployed: Deployed, region: str) -> None:
    ec2 = deployed.aws("ec2", region)
    vpc = [{"Name": "vpc-id", "Values": [deployed.out(region, "vpc_id")]}]
    (default,) = ec2.describe_network_acls(Filters=[*vpc, {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    assert sorted((e["RuleNumber"], e["RuleAction"], e["Egress"]) for e in default["Entries"]) == [
        (32767, "deny", False),
        (32767, "deny", True),
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_the_s3_endpoint_names_only_the_regions_stack_buckets_the_amazon_linux_repositories_and_ssm_agent_buckets(
    deployed: Deployed, region: str
) -> None:
    ec2 = deployed.aws("ec2", region)
    vpc = [{"Name": "vpc-id", "Values": [deployed.out(region, "vpc_id")]}]
    (endpoint,) = ec2.describe_vpc_endpoints(Filters=vpc)["VpcEndpoints"]
    resources = sorted(r for st in json.loads(endpoint["PolicyDocument"])["Statement"] for r in st["Resource"])
    buckets = [deployed.out(region, "data_bucket"), deployed.out(region, "deployment_bucket")]
    assert resources == sorted(
        [f"arn:aws:s3:::{b}{tail}" for b in buckets for tail in ("", "/*")]
        + [f"arn:aws:s3:::al2023-repos-{region}-de612dc2/*"]
        + [f"arn:aws:s3:::{b}-{region}/*" for b in ("amazon-ssm", "aws-ssm", "patch-baseline-snapshot")]
    )


@pytest.mark.parametrize("region", REGIONS)
def test_the_ami_output_is_what_the_launch_template_runs_and_instances_get_the_stacks_tags(
    deployed: Deployed, region: str
) -> None:
    ec2 = deployed.aws("ec2", region)
    name = deployed.out(region, "asg_name")  # the launch template has the group's name
    (version,) = ec2.describe_launch_template_versions(LaunchTemplateName=name)["LaunchTemplateVersions"]
    data = version["LaunchTemplateData"]
    assert data["ImageId"] == deployed.out(region, "ami_id")
    specs = {s["ResourceType"]: {t["Key"]: t["Value"] for t in s["Tags"]} for s in data["TagSpecifications"]}
    assert {"instance", "volume"} <= set(specs)
    for tags in (specs["instance"], specs["volume"]):
        assert (tags["ManagedBy"], tags["Region"], tags["Name"]) == ("pulumi", region, name)
        assert name.endswith("-" + tags["Environment"])


def test_each_secondary_has_its_replication_alarms_in_the_region_of_their_metric(deployed: Deployed) -> None:
    code = CODES[SECONDARY]
    suffix = deployed.out(PRIMARY, "asg_name").rsplit("-", 1)[1]  # the environment suffix
    failed = deployed.aws("cloudwatch", PRIMARY).describe_alarms(
        AlarmNames=[f"tapstack-replication-failed-{code}-use1-{suffix}"]
    )["MetricAlarms"]
    latency = deployed.aws("cloudwatch", SECONDARY).describe_alarms(
        AlarmNames=[f"tapstack-replication-latency-{code}-{suffix}"]
    )["MetricAlarms"]
    assert [(a["MetricName"], a["Threshold"]) for a in failed] == [("OperationsFailedReplication", 0.0)]
    assert [(a["MetricName"], a["Threshold"]) for a in latency] == [("ReplicationLatency", 900.0)]
    assert failed[0]["AlarmActions"] == failed[0]["OKActions"] == [deployed.out(PRIMARY, "alarm_topic_arn")]
    assert latency[0]["AlarmActions"] == latency[0]["OKActions"] == [deployed.out(SECONDARY, "alarm_topic_arn")]


def test_without_nat_the_private_subnets_get_session_manager_and_sts_endpoints(tmp_path: Path) -> None:
    """A second deploy: the foundation example with natStrategy none, into its own emulator."""
    outputs = tmp_path / "flat-outputs.json"
    config = EXAMPLES / "foundation" / "Pulumi.dev.yaml"
    with Emulator.start() as emulator:
        _, out = up_local(emulator, config, outputs, "--set", "natStrategy=none")
        ec2 = Clients(emulator)("ec2", PRIMARY)
        vpc = [{"Name": "vpc-id", "Values": [out["use1_vpc_id"]]}]
        endpoints = ec2.describe_vpc_endpoints(Filters=vpc)["VpcEndpoints"]
        interface = {e["ServiceName"]: e for e in endpoints if e["VpcEndpointType"] == "Interface"}
        assert sorted(interface) == [
            f"com.amazonaws.{PRIMARY}.{s}" for s in ("ec2messages", "ssm", "ssmmessages", "sts")
        ]
        (group,) = ec2.describe_security_groups(
            Filters=[*vpc, {"Name": "group-name", "Values": [out["use1_asg_name"].replace("-app-", "-endpoints-")]}]
        )["SecurityGroups"]
        assert [(p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]] == [
            (443, 443, ["10.0.0.0/16"])
        ]
        for endpoint in interface.values():
            assert sorted(endpoint["SubnetIds"]) == sorted(out["use1_private_subnet_ids"])
            assert [g["GroupId"] for g in endpoint["Groups"]] == [group["GroupId"]]
        assert out["use1_nat_gateway_ids"] == []


def test_an_instance_reaches_only_the_stacks_buckets_through_the_s3_endpoint(deployed: Deployed) -> None:
    """Even with credentials allowed every bucket, a request from an instance (through the VPC's S3 gateway
    endpoint) to a bucket outside the stack is refused; the same credentials outside the VPC are not."""
    from functools import partial
    from uuid import uuid4

    from tests.integration.test_least_privilege import _assume, _denied

    admin_s3, iam = deployed.aws("s3", PRIMARY), deployed.aws("iam")
    outside = f"exfil-{uuid4().hex[:12]}"
    admin_s3.create_bucket(Bucket=outside)
    name = f"everything-{uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    allow_all = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            # the data bucket is SSE-KMS: S3 uses its key with the caller's permissions
            {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"},
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="every-bucket", PolicyDocument=json.dumps(allow_all))
    on_instance = _assume(deployed, arn, "i-0ccccccccccccccc3")("s3", PRIMARY)
    on_laptop = _assume(deployed, arn, "laptop")("s3", PRIMARY)
    data = deployed.out(PRIMARY, "data_bucket")
    deployed.emulator.enforce_iam(True)
    try:
        on_instance.put_object(Bucket=data, Key="through-the-endpoint.txt", Body=b"ok")
        assert _denied(partial(on_instance.put_object, Bucket=outside, Key="copy.txt", Body=b"data")) == "AccessDenied"
        assert _denied(partial(on_instance.list_objects_v2, Bucket=outside)) == "AccessDenied"
        on_laptop.put_object(Bucket=outside, Key="not-through-the-vpc.txt", Body=b"ok")
    finally:
        deployed.emulator.enforce_iam(False)
