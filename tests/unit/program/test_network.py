"""The network hardening of issue 15: NAT return traffic through the public NACL, the default NACL emptied, the S3
gateway endpoint fenced to the stack's buckets, interface endpoints when there is no NAT."""

from __future__ import annotations

import pytest

from tapstack.graph import Graph
from tapstack.lib.nacl import EPHEMERAL, Tier, admits_port, nacl_rules
from tests.helpers import Synth, policy, statements

A_ONLY = {"features": {"compute": True, "migration": False}}
VPC_CIDR = "10.0.0.0/16"
INTERNET_HOST = "198.51.100.7"


def test_public_tier_admits_nat_replies_on_every_port_a_nat_gateway_uses() -> None:
    """A NAT gateway picks source ports in 1024-65535: the reply to any of them must get back in, 3389 included."""
    rules = nacl_rules(Tier.PUBLIC, VPC_CIDR)
    dropped = [port for port in range(EPHEMERAL[0], EPHEMERAL[1] + 1) if not admits_port(rules, port, INTERNET_HOST)]
    assert dropped == []


def test_public_tier_still_refuses_ssh_from_the_internet() -> None:
    assert not admits_port(nacl_rules(Tier.PUBLIC, VPC_CIDR), 22, INTERNET_HOST)


def test_private_tier_refuses_rdp_and_ssh_but_admits_linux_ephemeral_replies() -> None:
    rules = nacl_rules(Tier.PRIVATE, VPC_CIDR)
    assert not admits_port(rules, 3389, INTERNET_HOST)
    assert not admits_port(rules, 22, INTERNET_HOST)
    # Amazon Linux's net.ipv4.ip_local_port_range: where replies to the instances' own connections arrive
    assert all(admits_port(rules, port, INTERNET_HOST) for port in range(32768, 61000))


def test_each_vpc_adopts_its_default_nacl_with_no_rules(foundation: Graph) -> None:
    (vpc,) = foundation.of_type("aws:ec2/vpc:Vpc")
    (acl,) = foundation.of_type("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl")
    assert acl.inputs["defaultNetworkAclId"] == vpc.outputs["defaultNetworkAclId"]
    assert not acl.inputs.get("ingress") and not acl.inputs.get("egress") and not acl.inputs.get("subnetIds")


def test_s3_endpoint_allows_only_the_stacks_buckets_the_amazon_linux_repositories_and_the_ssm_agent_buckets(
    platform: Graph,
) -> None:
    endpoints = [
        e for e in platform.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["serviceName"].endswith(".s3")
    ]
    assert sorted(e.region for e in endpoints) == ["eu-west-1", "us-east-1", "us-west-2"]
    for endpoint in endpoints:
        region, code = endpoint.region, endpoint.name[:4]
        own = [f"arn:aws:s3:::tapstack-{what}-{code}-123456789012-dev" for what in ("data", "deploy")]
        assert statements(policy(endpoint)) == [
            {
                "Sid": "StackBuckets",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:ListBucket",
                    "s3:ListBucketVersions",
                    "s3:GetBucketLocation",
                ],
                "Resource": [own[0], own[0] + "/*", own[1], own[1] + "/*"],
                "Principal": {"AWS": "*"},
            },
            {
                "Sid": "AmazonLinuxRepositories",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::al2023-repos-{region}-de612dc2/*"],
                "Principal": {"AWS": "*"},
            },
            {
                "Sid": "SsmAgentBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [
                    f"arn:aws:s3:::amazon-ssm-{region}/*",
                    f"arn:aws:s3:::aws-ssm-{region}/*",
                    f"arn:aws:s3:::patch-baseline-snapshot-{region}/*",
                ],
                "Principal": {"AWS": "*"},
            },
        ]


def test_without_the_migration_platform_the_endpoint_names_only_the_data_bucket(foundation: Graph) -> None:
    (endpoint,) = foundation.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    stack_buckets = statements(policy(endpoint))[0]["Resource"]
    assert stack_buckets == [
        "arn:aws:s3:::tapstack-data-use1-123456789012-dev",
        "arn:aws:s3:::tapstack-data-use1-123456789012-dev/*",
    ]


@pytest.mark.parametrize("strategy", ["single", "per_az"])
def test_with_a_nat_gateway_there_are_no_interface_endpoints(synth: Synth, strategy: str) -> None:
    g = synth(natStrategy=strategy, **A_ONLY)
    assert [e.inputs["vpcEndpointType"] for e in g.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")] == ["Gateway"]
    assert [sg.name for sg in g.of_type("aws:ec2/securityGroup:SecurityGroup")] == ["use1-app-sg"]


def test_without_nat_session_manager_and_sts_get_interface_endpoints_in_every_private_subnet(synth: Synth) -> None:
    g = synth(natStrategy="none", azCount=3, **A_ONLY)
    private = sorted(
        s.outputs["id"] for s in g.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "private"
    )
    (endpoint_sg,) = [
        sg for sg in g.of_type("aws:ec2/securityGroup:SecurityGroup") if sg.name == "use1-net-endpoints-sg"
    ]
    interfaces = [e for e in g.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Interface"]
    assert sorted(e.inputs["serviceName"] for e in interfaces) == [
        "com.amazonaws.us-east-1.ec2messages",
        "com.amazonaws.us-east-1.ssm",
        "com.amazonaws.us-east-1.ssmmessages",
        "com.amazonaws.us-east-1.sts",
    ]
    for endpoint in interfaces:
        assert sorted(endpoint.inputs["subnetIds"]) == private
        assert endpoint.inputs["securityGroupIds"] == [endpoint_sg.outputs["id"]]
        assert endpoint.inputs["privateDnsEnabled"] is True
    assert endpoint_sg.inputs["name"] == "tapstack-endpoints-use1-dev"
    assert [(r["protocol"], r["fromPort"], r["toPort"], r["cidrBlocks"]) for r in endpoint_sg.inputs["ingress"]] == [
        ("tcp", 443, 443, ["10.0.0.0/16"])
    ]
    assert not endpoint_sg.inputs.get("egress")
