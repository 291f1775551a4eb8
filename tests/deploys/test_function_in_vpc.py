"""`tapstack up --local` of the two-region example with ``migrationInVpc`` and ``deploymentObjectLockDays`` on,
into an emulator of its own: what the emulator holds afterwards, and the post-deploy checks it ran."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tapstack.emulator.engine import Clients
from tapstack.emulator.server import Emulator
from tests.helpers import up_local

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "two-region" / "Pulumi.dev.yaml"
REGIONS = {"us-east-1": ("use1", "10.0.0.0/16"), "eu-west-1": ("euw1", "10.16.0.0/16")}
FUNCTION_SERVICES = ["autoscaling", "ec2", "secretsmanager", "sns", "ssm"]


@dataclass
class Deploy:
    summary: dict[str, Any]
    outputs: dict[str, Any]
    clients: Clients


@pytest.fixture(scope="module")
def deploy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deploy]:
    outputs = tmp_path_factory.mktemp("in-vpc") / "flat-outputs.json"
    settings = ("--set", "migrationInVpc=true", "--set", "deploymentObjectLockDays=1")
    with Emulator.start() as emulator:
        summary, written = up_local(emulator, CONFIG, outputs, *settings)
        yield Deploy(summary, written, Clients(emulator))


def test_the_deploy_passed_every_post_deploy_check_in_both_regions(deploy: Deploy) -> None:
    checks = {(c["region"], c["name"]): c["passed"] for c in deploy.summary["checks"]}
    assert checks == {(r, n): True for r in REGIONS for n in ("validate", "foundation")}


@pytest.mark.parametrize("region", list(REGIONS))
def test_the_deployed_function_sits_in_the_private_subnets_behind_its_own_group(deploy: Deploy, region: str) -> None:
    code, cidr = REGIONS[region]
    out = deploy.outputs
    config = deploy.clients("lambda", region).get_function_configuration(FunctionName=out[f"{code}_function_name"])
    assert sorted(config["VpcConfig"]["SubnetIds"]) == sorted(out[f"{code}_private_subnet_ids"])
    (group_id,) = config["VpcConfig"]["SecurityGroupIds"]
    ec2 = deploy.clients("ec2", region)
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert group["VpcId"] == out[f"{code}_vpc_id"]
    assert group["GroupName"] == f"tapstack-migration-{code}-local"
    assert group["IpPermissions"] == []
    (s3_list,) = ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{region}.s3"]}]
    )["PrefixLists"]
    # EC2 answers one permission per protocol and port range, holding every destination of that range.
    egress = sorted(
        (p["IpProtocol"], p["FromPort"], p["ToPort"], destination)
        for p in group["IpPermissionsEgress"]
        for destination in [r["CidrIp"] for r in p.get("IpRanges", [])]
        + [pl["PrefixListId"] for pl in p.get("PrefixListIds", [])]
    )
    assert egress == sorted([("tcp", 443, 443, cidr), ("tcp", 443, 443, s3_list["PrefixListId"])])


@pytest.mark.parametrize("region", list(REGIONS))
def test_the_vpc_has_the_endpoints_the_function_calls_in_every_private_subnet(deploy: Deploy, region: str) -> None:
    code, _ = REGIONS[region]
    vpc = [{"Name": "vpc-id", "Values": [deploy.outputs[f"{code}_vpc_id"]]}]
    endpoints = deploy.clients("ec2", region).describe_vpc_endpoints(Filters=vpc)["VpcEndpoints"]
    interface = {e["ServiceName"]: e for e in endpoints if e["VpcEndpointType"] == "Interface"}
    assert sorted(interface) == [f"com.amazonaws.{region}.{s}" for s in FUNCTION_SERVICES]
    for endpoint in interface.values():
        assert sorted(endpoint["SubnetIds"]) == sorted(deploy.outputs[f"{code}_private_subnet_ids"])


def _role_statements(deploy: Deploy, role_arn: str) -> dict[str, dict[str, Any]]:
    iam = deploy.clients("iam", "us-east-1")
    role = role_arn.rsplit("/", 1)[1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return {s["Sid"]: s for s in doc["Statement"]}


@pytest.mark.parametrize("region", list(REGIONS))
def test_the_deployed_role_holds_lambdas_interface_permissions(deploy: Deploy, region: str) -> None:
    code, _ = REGIONS[region]
    statements = _role_statements(deploy, deploy.outputs[f"{code}_migration_role_arn"])
    assert statements["CreateFunctionInterfacesInPrivateSubnets"]["Action"] == ["ec2:CreateNetworkInterface"]
    account = deploy.outputs[f"{code}_function_arn"].split(":")[4]
    assert statements["ManageFunctionInterfaces"]["Resource"] == [f"arn:aws:ec2:{region}:{account}:network-interface/*"]
    describe = statements["DescribeFunctionNetwork"]
    assert (describe["Action"], describe["Resource"]) == (
        ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        ["*"],
    )


def test_the_deployed_replication_role_reads_the_sources_locks_and_both_buckets_are_locked(deploy: Deploy) -> None:
    statements = _role_statements(deploy, deploy.outputs["replication_role_arn"])
    assert statements["ReadSourceLocks"]["Resource"] == [f"arn:aws:s3:::{deploy.outputs['use1_deployment_bucket']}/*"]
    for region, (code, _) in REGIONS.items():
        lock = deploy.clients("s3", region).get_object_lock_configuration(
            Bucket=deploy.outputs[f"{code}_deployment_bucket"]
        )["ObjectLockConfiguration"]
        assert lock["ObjectLockEnabled"] == "Enabled"
        retention = lock["Rule"]["DefaultRetention"]
        assert (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 1)
