"""TAP005 (private, IMDSv2, self-healing compute) and TAP006 (flow logs, NACLs, default SG)."""

from __future__ import annotations

from typing import Any

from tapstack.graph import Resource
from tapstack.guard.facts import UNKNOWN
from tapstack.guard.model import Severity

from .conftest import GraphBuilder, check, messages

ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
GOOD_TEMPLATE: dict[str, Any] = {
    "metadataOptions": {"httpTokens": "required"},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}],
    "networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": "false"}],
}


def network(b: GraphBuilder) -> tuple[Resource, Resource, Resource]:
    """A VPC with a public subnet (route to the IGW) and a private one, fully controlled for TAP006."""
    vpc = b.add("aws:ec2/vpc:Vpc", "vpc", outputs={"id": "vpc-1", "defaultSecurityGroupId": "sg-default"})
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
