"""TAP005 (private, IMDSv2, self-healing compute) and TAP006 (flow logs, NACLs, default SG)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapstack.graph import Resource
from tapstack.guard.facts import UNKNOWN
from tapstack.guard.model import Severity

from .helpers import GraphBuilder, check, messages

ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
DEFAULT_NACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
X86_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
ARM_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
FENCED_POLICY = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
            }
        ]
    }
)
GOOD_TEMPLATE: dict[str, Any] = {
    "metadataOptions": {"httpTokens": "required"},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}],
    "networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": "false"}],
}


def network(b: GraphBuilder) -> tuple[Resource, Resource, Resource]:
    """A VPC with a public subnet (route to the IGW) and a private one, fully controlled for TAP006."""
    vpc = b.add(
        "aws:ec2/vpc:Vpc",
        "vpc",
        outputs={"id": "vpc-1", "defaultSecurityGroupId": "sg-default", "defaultNetworkAclId": "acl-default"},
    )
    public = b.add(
        "aws:ec2/subnet:Subnet",
        "public-0",
        outputs={"id": "subnet-pub"},
        vpcId="vpc-1",
        mapPublicIpOnLaunch=False,
    )
    private = b.add("aws:ec2/subnet:Subnet", "private-0", outputs={"id": "subnet-priv"}, vpcId="vpc-1")
    b.add("aws:ec2/internetGateway:InternetGateway", "igw", outputs={"id": "intern-1"}, vpcId="vpc-1")
    b.add("aws:ec2/routeTable:RouteTable", "public-rt", outputs={"id": "rtb-pub"}, vpcId="vpc-1")
    b.add(
        "aws:ec2/route:Route",
        "default",
        routeTableId="rtb-pub",
        destinationCidrBlock="0.0.0.0/0",
        gatewayId="intern-1",
    )
    b.add(
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "pub-rta",
        subnetId="subnet-pub",
        routeTableId="rtb-pub",
    )
    b.add("aws:ec2/flowLog:FlowLog", "flow", vpcId="vpc-1", trafficType="ALL")
    b.add("aws:ec2/networkAcl:NetworkAcl", "nacl", vpcId="vpc-1", subnetIds=["subnet-pub", "subnet-priv"])
    b.add("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg", vpcId="vpc-1")
    b.add(DEFAULT_NACL, "default-nacl", defaultNetworkAclId="acl-default")
    b.add(ENDPOINT, "s3", vpcId="vpc-1", serviceName="com.amazonaws.us-east-1.s3", policy=FENCED_POLICY)
    return vpc, public, private


def group(b: GraphBuilder, subnets: Any, **overrides: Any) -> None:
    b.add(LT, "lt", outputs={"id": "lt-1"}, **GOOD_TEMPLATE)
    props = {
        "healthCheckType": "EC2",
        "healthCheckGracePeriod": 300.0,
        "vpcZoneIdentifiers": subnets,
        "launchTemplate": {"id": "lt-1", "version": "$Latest"},
        **overrides,
    }
    b.add(ASG, "asg", **props)


def test_group_in_private_subnets_with_a_good_template_passes(builder: GraphBuilder) -> None:
    network(builder)
    group(builder, ["subnet-priv"])
    graph = builder.graph()
    assert check("TAP005", graph) == []
    assert check("TAP006", graph) == []


def test_group_in_a_subnet_routed_to_the_internet(builder: GraphBuilder) -> None:
    network(builder)
    group(builder, ["subnet-priv", "subnet-pub"])
    assert messages("TAP005", builder.graph()) == [
        "auto scaling group 'asg' launches into subnet 'public-0', which routes 0.0.0.0/0 to an internet "
        "gateway "
        "(public-rt)"
    ]


def test_subnet_that_maps_public_ips_is_public(builder: GraphBuilder) -> None:
    builder.add("aws:ec2/subnet:Subnet", "s", outputs={"id": "subnet-x"}, mapPublicIpOnLaunch=True)
    group(builder, ["subnet-x"])
    assert messages("TAP005", builder.graph()) == [
        "auto scaling group 'asg' launches into subnet 's', which assigns public IPs on launch"
    ]


def test_group_settings(builder: GraphBuilder) -> None:
    group(builder, [], healthCheckType="ELB", healthCheckGracePeriod=0, launchConfiguration="lc-1")
    assert [m.split(":")[0] for m in messages("TAP005", builder.graph())] == [
        "auto scaling group 'asg' uses a launch configuration, which cannot require IMDSv2 the way a launch "
        "template does (and gets no new instance types)",
        "auto scaling group 'asg' uses ELB health checks but is attached to no load balancer",
        "auto scaling group 'asg' has no health check grace period",
        "auto scaling group 'asg' names no subnets",
    ]


def test_unknown_values_during_preview_are_not_judged(builder: GraphBuilder) -> None:
    builder.add(LT, "lt", metadataOptions=UNKNOWN, blockDeviceMappings=[{"ebs": {"encrypted": UNKNOWN}}])
    builder.add(ASG, "asg", healthCheckType="EC2", healthCheckGracePeriod=UNKNOWN, vpcZoneIdentifiers=UNKNOWN)
    assert check("TAP005", builder.graph()) == []


def test_template_without_any_volume_mapping_is_medium(builder: GraphBuilder) -> None:
    builder.add(LT, "lt", metadataOptions={"httpTokens": "required"})
    [violation] = check("TAP005", builder.graph())
    assert violation.severity is Severity.MEDIUM
    assert (
        violation.message
        == "launch template 'lt' maps no EBS volume: whether the root volume is encrypted depends on the AMI"
    )


def test_instances_are_held_to_the_same_standard(builder: GraphBuilder) -> None:
    builder.add(
        "aws:ec2/instance:Instance",
        "vm",
        associatePublicIpAddress=True,
        rootBlockDevice={"encrypted": False},
    )
    assert messages("TAP005", builder.graph()) == [
        "instance 'vm' allows IMDSv1 (metadata_options.http_tokens=None): SSRF can read instance credentials",
        "instance 'vm' gives instances a public IP address",
        "instance 'vm' has an EBS volume without encryption",
    ]


def test_default_security_group_left_alone_or_with_rules(builder: GraphBuilder) -> None:
    builder.add("aws:ec2/vpc:Vpc", "vpc", outputs={"id": "vpc-1", "defaultSecurityGroupId": "sg-default"})
    builder.add("aws:ec2/flowLog:FlowLog", "flow", vpcId="vpc-1", trafficType="REJECT")
    builder.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "open", securityGroupId="sg-default")
    assert messages("TAP006", builder.graph()) == [
        "rule 'open' opens the default security group of VPC 'vpc'",
        "VPC 'vpc' leaves its default security group with AWS's rules (all traffic within the group, all "
        "egress): anything launched without a group gets them",
        "VPC 'vpc' leaves its default network ACL with AWS's allow-all rules: a subnet added later without an ACL "
        "of its own is open in both directions",
    ]


def test_default_security_group_with_ingress(builder: GraphBuilder) -> None:
    network(builder)
    builder.resources = [r for r in builder.resources if r.name != "default-sg"]
    builder.add(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "default-sg",
        vpcId="vpc-1",
        ingress=[{"protocol": "-1"}],
    )
    assert messages("TAP006", builder.graph()) == ["default security group of VPC 'vpc' has ingress rules"]


def test_flow_log_of_accepted_traffic_only(builder: GraphBuilder) -> None:
    network(builder)
    for r in builder.resources:
        if r.name == "flow":
            r.inputs["trafficType"] = "ACCEPT"
    assert messages("TAP006", builder.graph()) == [
        "VPC 'vpc' logs only accepted traffic: rejected connections go unrecorded"
    ]


def test_nacl_association_resources_and_unknown_subnet_ids_count(builder: GraphBuilder) -> None:
    builder.add("aws:ec2/vpc:Vpc", "vpc", outputs={"id": "vpc-1"})
    a = builder.add("aws:ec2/subnet:Subnet", "a", outputs={"id": "subnet-a"}, vpcId="vpc-1")
    b = builder.add("aws:ec2/subnet:Subnet", "b", outputs={"id": "subnet-b"}, vpcId="vpc-1")
    builder.add("aws:ec2/subnet:Subnet", "c", outputs={"id": "subnet-c"}, vpcId="vpc-1")
    builder.add("aws:ec2/networkAcl:NetworkAcl", "acl", outputs={"id": "acl-1"}, deps=(a,), subnetIds=[UNKNOWN])
    builder.add(
        "aws:ec2/networkAclAssociation:NetworkAclAssociation",
        "assoc",
        subnetId="subnet-b",
        networkAclId="acl-1",
    )
    assert b is not None
    subnet_findings = [v.name for v in check("TAP006", builder.graph()) if v.message.startswith("subnet")]
    assert subnet_findings == ["c"]


def _without(b: GraphBuilder, *names: str) -> None:
    b.resources = [r for r in b.resources if r.name not in names]


def test_default_nacl_left_with_aws_rules(builder: GraphBuilder) -> None:
    network(builder)
    _without(builder, "default-nacl")
    assert messages("TAP006", builder.graph()) == [
        "VPC 'vpc' leaves its default network ACL with AWS's allow-all rules: a subnet added later without an ACL "
        "of its own is open in both directions"
    ]


def test_default_nacl_adopted_with_allow_rules_or_opened_by_a_rule_resource(builder: GraphBuilder) -> None:
    network(builder)
    _without(builder, "default-nacl")
    allow_all = {"action": "allow", "protocol": "-1", "cidrBlock": "0.0.0.0/0", "ruleNo": 100}
    builder.add(DEFAULT_NACL, "default-nacl", defaultNetworkAclId="acl-default", ingress=[allow_all])
    builder.add(
        "aws:ec2/networkAclRule:NetworkAclRule", "open", networkAclId="acl-default", ruleAction="allow", egress=True
    )
    assert messages("TAP006", builder.graph()) == [
        "default network ACL of VPC 'vpc' has ingress allow rules",
        "rule 'open' opens the default network ACL of VPC 'vpc'",
    ]


def test_default_nacl_with_only_deny_rules_passes(builder: GraphBuilder) -> None:
    network(builder)
    _without(builder, "default-nacl")
    deny = {"action": "deny", "protocol": "-1", "cidrBlock": "0.0.0.0/0", "ruleNo": 100}
    builder.add(DEFAULT_NACL, "default-nacl", defaultNetworkAclId="acl-default", egress=[deny])
    assert check("TAP006", builder.graph()) == []


def test_default_nacl_adoption_is_recognised_by_dependency_during_preview(builder: GraphBuilder) -> None:
    vpc, _, _ = network(builder)
    _without(builder, "default-nacl")
    builder.add(DEFAULT_NACL, "default-nacl", deps=(vpc,), defaultNetworkAclId=UNKNOWN)
    assert check("TAP006", builder.graph()) == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            None,
            "S3 endpoint 's3' keeps the default policy (full access to every bucket of every account): anything in "
            "the VPC can copy data out to a bucket of its choosing",
        ),
        (
            json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}),
            "S3 endpoint 's3' allows every bucket in S3 without a condition",
        ),
        (
            json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::*/*"}]}
            ),
            "S3 endpoint 's3' allows every bucket in S3 without a condition",
        ),
    ],
)
def test_s3_endpoint_open_to_every_bucket(builder: GraphBuilder, policy: str | None, expected: str) -> None:
    network(builder)
    _without(builder, "s3")
    props = {} if policy is None else {"policy": policy}
    builder.add(ENDPOINT, "s3", vpcId="vpc-1", serviceName="com.amazonaws.us-east-1.s3", **props)
    assert messages("TAP006", builder.graph()) == [expected]


def test_other_endpoints_and_unknown_policies_are_not_judged(builder: GraphBuilder) -> None:
    network(builder)
    _without(builder, "s3")
    builder.add(ENDPOINT, "ssm", vpcId="vpc-1", serviceName="com.amazonaws.us-east-1.ssm")
    builder.add(ENDPOINT, "s3", vpcId="vpc-1", serviceName="com.amazonaws.us-east-1.s3", policy=UNKNOWN)
    assert check("TAP006", builder.graph()) == []


def test_a_separate_endpoint_policy_resource_fences_the_endpoint(builder: GraphBuilder) -> None:
    network(builder)
    _without(builder, "s3")
    builder.add(ENDPOINT, "s3", outputs={"id": "vpce-1"}, vpcId="vpc-1", serviceName="com.amazonaws.us-east-1.s3")
    builder.add(
        "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", "s3-policy", vpcEndpointId="vpce-1", policy=FENCED_POLICY
    )
    assert check("TAP006", builder.graph()) == []


@pytest.mark.parametrize(
    ("instance_type", "ami", "expected"),
    [
        (
            "t4g.micro",
            {"tags": {"AmiParameter": X86_PARAMETER}},
            [
                f"launch template 'lt' runs t4g.micro (arm64) from an x86_64 AMI ({X86_PARAMETER}): "
                "EC2 refuses every launch"
            ],
        ),
        (
            "m5.large",
            {"imageId": f"resolve:ssm:{ARM_PARAMETER}"},
            [
                f"launch template 'lt' runs m5.large (x86_64) from an arm64 AMI ({ARM_PARAMETER}): "
                "EC2 refuses every launch"
            ],
        ),
        ("t4g.micro", {"tags": {"AmiParameter": ARM_PARAMETER}}, []),
        ("t3.micro", {"imageId": "ami-0abcdef1234567890"}, []),  # the graph does not say: not judged
        ("zz9.large", {"tags": {"AmiParameter": X86_PARAMETER}}, []),  # family unknown here: not judged
    ],
)
def test_ami_architecture_must_fit_the_instance_type(
    builder: GraphBuilder, instance_type: str, ami: dict[str, Any], expected: list[str]
) -> None:
    builder.add(LT, "lt", outputs={"id": "lt-1"}, instanceType=instance_type, **GOOD_TEMPLATE, **ami)
    assert messages("TAP005", builder.graph()) == expected


def test_mixed_instances_policy_may_not_add_a_type_of_another_architecture(builder: GraphBuilder) -> None:
    network(builder)
    builder.add(
        LT,
        "lt",
        outputs={"id": "lt-1"},
        instanceType="t4g.micro",
        tags={"AmiParameter": ARM_PARAMETER},
        **GOOD_TEMPLATE,
    )
    mixed = {
        "launchTemplate": {
            "launchTemplateSpecification": {"launchTemplateId": "lt-1", "version": "1"},
            "overrides": [{"instanceType": "t4g.small"}, {"instanceType": "t3.small"}],
        }
    }
    builder.add(
        ASG,
        "asg",
        healthCheckType="EC2",
        healthCheckGracePeriod=300.0,
        vpcZoneIdentifiers=["subnet-priv"],
        mixedInstancesPolicy=mixed,
    )
    assert messages("TAP005", builder.graph()) == [
        f"auto scaling group 'asg' may launch t3.small (x86_64) from launch template 'lt', whose AMI is arm64 "
        f"({ARM_PARAMETER})"
    ]
