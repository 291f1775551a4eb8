"""docs/security.md "Left open", built: ``migrationInVpc`` (the function in the private subnets, its security
group, the interface endpoints it needs and Lambda's network-interface permissions) and Object Lock replication."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tapstack.config import ConfigError, build
from tapstack.graph import Graph, Resource
from tapstack.guard.engine import evaluate

Synth = Callable[..., Graph]

TWO_REGIONS: dict[str, Any] = {"regions": ["us-east-1", "eu-west-1"], "natStrategy": "per_az"}
TOKEN = {"migrationToken": "synth-token-value-0123456789"}
FUNCTION_SERVICES = ["autoscaling", "ec2", "secretsmanager", "sns", "ssm"]
SESSION_MANAGER_AND_AGENT = ["ec2messages", "ssm", "ssmmessages", "sts"]


def _policy(resource: Resource) -> dict[str, Any]:
    doc = resource.inputs["policy"]
    return dict(json.loads(doc) if isinstance(doc, str) else doc)


def _by_name(graph: Graph, type_token: str, name: str) -> Resource:
    (found,) = [r for r in graph.of_type(type_token) if r.name == name]
    return found


def _statements(graph: Graph, policy_name: str) -> dict[str, dict[str, Any]]:
    doc = _policy(_by_name(graph, "aws:iam/rolePolicy:RolePolicy", policy_name))
    return {s["Sid"]: s for s in doc["Statement"]}


def _private_subnets(graph: Graph, region: str) -> list[Resource]:
    return [
        s
        for s in graph.of_type("aws:ec2/subnet:Subnet")
        if s.region == region and s.inputs["tags"]["Tier"] == "private"
    ]


def _interface_services(graph: Graph, region: str) -> list[str]:
    return sorted(
        e.inputs["serviceName"].rsplit(".", 1)[1]
        for e in graph.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.region == region and e.inputs["vpcEndpointType"] == "Interface"
    )


@pytest.fixture(scope="module")
def in_vpc() -> Graph:
    from tapstack.program import main as program
    from tapstack.synth import synthesize

    values = {f"tapstack:{k}": v for k, v in {**TWO_REGIONS, "migrationInVpc": True}.items()}
    values["tapstack:migrationToken"] = "synth-token-value-0123456789"
    return synthesize(program, values, secret_keys=["tapstack:migrationToken"])


def test_migration_in_vpc_is_off_by_default() -> None:
    assert build(TOKEN, env={}).migration_in_vpc is False


@pytest.mark.parametrize(
    ("features", "says"),
    [
        ({"compute": False, "migration": True}, "features.compute is off, so the regions have no VPC"),
        ({"compute": True, "migration": False}, "features.migration is off"),
    ],
)
def test_migration_in_vpc_is_refused_without_a_vpc_or_without_a_function(features: dict[str, bool], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        build({**TOKEN, "features": features, "migrationInVpc": True}, env={})
    assert err.value.key == "migrationInVpc"
    assert says in str(err.value)


def test_migration_in_vpc_takes_only_booleans() -> None:
    with pytest.raises(ConfigError, match="expected true or false"):
        build({**TOKEN, "migrationInVpc": "yes"}, env={})


def test_by_default_the_function_has_no_vpc_no_group_and_no_interface_permissions(synth: Synth) -> None:
    g = synth(**TWO_REGIONS)
    for fn in g.of_type("aws:lambda/function:Function"):
        assert not fn.inputs.get("vpcConfig"), fn.name
    assert not [sg for sg in g.of_type("aws:ec2/securityGroup:SecurityGroup") if "migration" in sg.name]
    for code in ("use1", "euw1"):
        assert not [
            a
            for s in _statements(g, f"{code}-migration-policy").values()
            for a in s["Action"]
            if "ec2:" in a and "Network" in a
        ]
        assert _interface_services(g, {"use1": "us-east-1", "euw1": "eu-west-1"}[code]) == []


@pytest.mark.parametrize(
    ("region", "code", "cidr"), [("us-east-1", "use1", "10.0.0.0/16"), ("eu-west-1", "euw1", "10.16.0.0/16")]
)
def test_the_function_runs_in_the_private_subnets_with_its_own_group_sending_https_to_the_endpoints_only(
    in_vpc: Graph, region: str, code: str, cidr: str
) -> None:
    fn = _by_name(in_vpc, "aws:lambda/function:Function", f"{code}-migration-function")
    sg = _by_name(in_vpc, "aws:ec2/securityGroup:SecurityGroup", f"{code}-migration-sg")
    s3 = _by_name(in_vpc, "aws:ec2/vpcEndpoint:VpcEndpoint", f"{code}-net-s3-endpoint")
    private = sorted(s.outputs["id"] for s in _private_subnets(in_vpc, region))
    assert sorted(fn.inputs["vpcConfig"]["subnetIds"]) == private
    assert fn.inputs["vpcConfig"]["securityGroupIds"] == [sg.outputs["id"]]
    assert sg.inputs["name"] == f"tapstack-migration-{code}-dev"
    assert sg.inputs["vpcId"] == _by_name(in_vpc, "aws:ec2/vpc:Vpc", f"{code}-net-vpc").outputs["id"]
    assert not sg.inputs.get("ingress")
    assert sorted(
        (r["protocol"], r["fromPort"], r["toPort"], r.get("cidrBlocks", []), r.get("prefixListIds", []))
        for r in sg.inputs["egress"]
    ) == sorted([("tcp", 443, 443, [cidr], []), ("tcp", 443, 443, [], [s3.outputs["prefixListId"]])])


@pytest.mark.parametrize(("region", "code"), [("us-east-1", "use1"), ("eu-west-1", "euw1")])
def test_with_a_nat_the_vpc_gets_exactly_the_endpoints_the_handler_calls(in_vpc: Graph, region: str, code: str) -> None:
    assert _interface_services(in_vpc, region) == FUNCTION_SERVICES
    (group,) = [
        sg for sg in in_vpc.of_type("aws:ec2/securityGroup:SecurityGroup") if sg.name == f"{code}-net-endpoints-sg"
    ]
    private = sorted(s.outputs["id"] for s in _private_subnets(in_vpc, region))
    for endpoint in in_vpc.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        if endpoint.region == region and endpoint.inputs["vpcEndpointType"] == "Interface":
            assert sorted(endpoint.inputs["subnetIds"]) == private
            assert endpoint.inputs["securityGroupIds"] == [group.outputs["id"]]
            assert endpoint.inputs["privateDnsEnabled"] is True


def test_without_nat_instances_and_function_share_one_group_and_one_endpoint_per_service(synth: Synth) -> None:
    g = synth(regions=["us-east-1"], natStrategy="none", migrationInVpc=True)
    assert _interface_services(g, "us-east-1") == sorted({*SESSION_MANAGER_AND_AGENT, *FUNCTION_SERVICES})
    groups = [sg.name for sg in g.of_type("aws:ec2/securityGroup:SecurityGroup")]
    assert sorted(groups) == ["use1-app-sg", "use1-migration-sg", "use1-net-endpoints-sg"]


@pytest.mark.parametrize(("region", "code"), [("us-east-1", "use1"), ("eu-west-1", "euw1")])
def test_the_role_lets_lambda_manage_interfaces_only_in_the_private_subnets_with_the_functions_group(
    in_vpc: Graph, region: str, code: str
) -> None:
    statements = _statements(in_vpc, f"{code}-migration-policy")
    sg = _by_name(in_vpc, "aws:ec2/securityGroup:SecurityGroup", f"{code}-migration-sg")
    interfaces = f"arn:aws:ec2:{region}:123456789012:network-interface/*"
    subnets = sorted(s.outputs["arn"] for s in _private_subnets(in_vpc, region))
    create = statements["CreateFunctionInterfacesInPrivateSubnets"]
    assert create["Action"] == ["ec2:CreateNetworkInterface"]
    assert sorted(create["Resource"]) == sorted([interfaces, *subnets, sg.outputs["arn"]])
    manage = statements["ManageFunctionInterfaces"]
    assert manage["Action"] == [
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ]
    assert manage["Resource"] == [interfaces]
    describe = statements["DescribeFunctionNetwork"]
    assert (describe["Action"], describe["Resource"]) == (
        ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        ["*"],
    )
    assert not any("Condition" in statements[sid] for sid in ("ManageFunctionInterfaces", "DescribeFunctionNetwork"))


@pytest.mark.parametrize(("region", "code"), [("us-east-1", "use1"), ("eu-west-1", "euw1")])
def test_the_s3_endpoint_also_admits_validates_reads_of_the_deployment_bucket_only(
    in_vpc: Graph, region: str, code: str
) -> None:
    doc = _policy(_by_name(in_vpc, "aws:ec2/vpcEndpoint:VpcEndpoint", f"{code}-net-s3-endpoint"))
    (extra,) = [s for s in doc["Statement"] if s["Sid"] == "MigrationFunctionInspectsItsBucket"]
    assert extra["Action"] == [
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:GetReplicationConfiguration",
    ]
    assert extra["Resource"] == [f"arn:aws:s3:::tapstack-deploy-{code}-123456789012-dev"]
    assert extra["Principal"] == {"AWS": "*"}


def test_the_guard_passes_the_program_with_the_function_in_the_vpc(in_vpc: Graph, synth: Synth) -> None:
    without_nat = synth(regions=["us-east-1"], natStrategy="none", migrationInVpc=True)
    for graph in (in_vpc, without_nat):
        assert [(v.rule, v.name, v.message) for v in evaluate(graph).violations] == []


def test_object_lock_replication_reads_each_source_versions_retention_and_legal_hold(synth: Synth) -> None:
    g = synth(**TWO_REGIONS, deploymentObjectLockDays=30)
    statements = _statements(g, "use1-replication-policy")
    locks = statements["ReadSourceLocks"]
    assert locks["Action"] == ["s3:GetObjectRetention", "s3:GetObjectLegalHold"]
    assert locks["Resource"] == ["arn:aws:s3:::tapstack-deploy-use1-123456789012-dev/*"]
    locked = {
        r.inputs["bucket"] for r in g.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    }
    assert locked == {"tapstack-deploy-use1-123456789012-dev", "tapstack-deploy-euw1-123456789012-dev"}, (
        "S3 replicates a locked source only into destinations with Object Lock"
    )
    assert [(v.rule, v.name) for v in evaluate(g).violations] == []


def test_without_object_lock_the_replication_role_reads_no_locks(synth: Synth) -> None:
    assert "ReadSourceLocks" not in _statements(synth(**TWO_REGIONS), "use1-replication-policy")
