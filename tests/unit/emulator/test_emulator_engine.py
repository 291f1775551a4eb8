"""The emulator engine on small hand-written programs: real ids flow downstream, failures name their cause."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tapstack import runner
from tapstack.emulator.engine import Clients, DeployError, Engine, plain
from tapstack.emulator.server import Emulator
from tapstack.graph import SECRET_PLACEHOLDER, Graph


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator.start() as emu:
        yield emu


def deploy(emulator: Emulator, program: Callable[[], None]) -> Graph:
    return runner.run(program, Engine(emulator), project="unit", stack="emulator", config={})


def provider(region: str = "us-east-1", **tags: str) -> aws.Provider:
    return aws.Provider(f"aws-{region}", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))


def test_resources_land_in_their_providers_region_with_real_ids_and_default_tags(emulator: Emulator) -> None:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider("eu-west-2", Team="platform", Name="overridden"))
        vpc = aws.ec2.Vpc("vpc", cidr_block="10.9.0.0/16", tags={"Name": "unit-vpc"}, opts=opts)
        subnet = aws.ec2.Subnet("subnet", vpc_id=vpc.id, cidr_block="10.9.1.0/24", opts=opts)
        pulumi.export("vpc", vpc.id)
        pulumi.export("default_sg", vpc.default_security_group_id)
        pulumi.export("subnet_vpc", subnet.vpc_id)
        pulumi.export("subnet_az", subnet.availability_zone)

    outputs = deploy(emulator, program).outputs
    ec2 = Clients(emulator)("ec2", "eu-west-2")
    (vpc,) = ec2.describe_vpcs(VpcIds=[outputs["vpc"]])["Vpcs"]
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]} == {"Team": "platform", "Name": "unit-vpc"}
    assert outputs["subnet_vpc"] == outputs["vpc"], "the subnet was created in the VPC's real id"
    assert outputs["subnet_az"].startswith("eu-west-2")
    (group,) = ec2.describe_security_groups(GroupIds=[outputs["default_sg"]])["SecurityGroups"]
    assert (group["GroupName"], group["VpcId"]) == ("default", outputs["vpc"])


def test_invokes_are_answered_by_the_emulator_for_the_providers_region(emulator: Emulator) -> None:
    ami = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"

    def program() -> None:
        opts = pulumi.InvokeOutputOptions(provider=provider("eu-west-1"))
        pulumi.export("account", aws.get_caller_identity_output(opts=opts).account_id)
        pulumi.export("partition", aws.get_partition_output(opts=opts).partition)
        pulumi.export("region", aws.get_region_output(opts=opts).region)
        pulumi.export("zones", aws.get_availability_zones_output(state="available", opts=opts).names)
        pulumi.export("ami", aws.ssm.get_parameter_output(name=ami, opts=opts).value)

    outputs = deploy(emulator, program).outputs
    assert (outputs["account"], outputs["partition"], outputs["region"]) == (
        emulator.account_id,
        "aws",
        "eu-west-1",
    )
    assert outputs["zones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    images = Clients(emulator)("ec2", "eu-west-1").describe_images(ImageIds=[outputs["ami"]])["Images"]
    assert len(images) == 1, "the AMI the public parameter names is registered in the emulator"


def test_a_type_without_adapter_names_the_resource_and_lists_the_supported_types(emulator: Emulator) -> None:
    def program() -> None:
        pulumi.CustomResource(
            "aws:fsx/lustreFileSystem:LustreFileSystem",
            "scratch",
            {"storageCapacity": 1200},
            opts=pulumi.ResourceOptions(provider=provider()),
        )

    with pytest.raises(DeployError) as failed:
        deploy(emulator, program)
    message = str(failed.value)
    assert message.startswith(
        "scratch (aws:fsx/lustreFileSystem:LustreFileSystem): no emulator adapter for type "
        "aws:fsx/lustreFileSystem:LustreFileSystem; supported types: aws:autoscaling/group:Group, "
    )
    assert "aws:s3/bucketReplicationConfig:BucketReplicationConfig" in message


def test_a_failing_aws_call_names_the_resource_its_type_region_and_the_aws_error(emulator: Emulator) -> None:
    def program() -> None:
        aws.ec2.Subnet(
            "orphan",
            vpc_id="vpc-0123456789abcdef0",
            cidr_block="10.1.0.0/24",
            opts=pulumi.ResourceOptions(provider=provider()),
        )

    with pytest.raises(DeployError) as failed:
        deploy(emulator, program)
    assert str(failed.value).startswith(
        "orphan (aws:ec2/subnet:Subnet) in us-east-1: AWS error InvalidVpcID.NotFound: "
    )
    assert "vpc-0123456789abcdef0" in str(failed.value)


def test_an_input_the_adapter_cannot_send_stops_the_deploy_instead_of_being_dropped(
    emulator: Emulator,
) -> None:
    def program() -> None:
        aws.sns.Topic(
            "archived",
            name=f"unit-{uuid.uuid4().hex[:8]}",
            archive_policy='{"MessageRetentionPeriod": 30}',
            opts=pulumi.ResourceOptions(provider=provider()),
        )

    with pytest.raises(DeployError) as failed:
        deploy(emulator, program)
    assert str(failed.value).startswith(
        "archived (aws:sns/topic:Topic): the emulator adapter does not handle input(s) archivePolicy; handled: "
    )


def test_a_resource_on_the_default_provider_is_refused(emulator: Emulator) -> None:
    def program() -> None:
        aws.s3.Bucket("stray", bucket=f"unit-stray-{uuid.uuid4().hex[:8]}")

    with pytest.raises(DeployError, match=r"^stray \(aws:s3/bucket:Bucket\): no explicit region-scoped provider"):
        deploy(emulator, program)


def test_secrets_are_created_in_clear_and_stay_secret_in_the_stack_outputs(emulator: Emulator) -> None:
    name = f"/unit/{uuid.uuid4().hex[:8]}"

    def program() -> None:
        parameter = aws.ssm.Parameter(
            "secret-param",
            name=name,
            type="SecureString",
            value=pulumi.Output.secret("s3cr3t"),
            opts=pulumi.ResourceOptions(provider=provider()),
        )
        pulumi.export("value", parameter.value)
        pulumi.export("arn", parameter.arn)

    outputs = deploy(emulator, program).outputs
    assert outputs == {
        "value": SECRET_PLACEHOLDER,
        "arn": f"arn:aws:ssm:us-east-1:{emulator.account_id}:parameter{name}",
    }
    found = Clients(emulator)("ssm", "us-east-1").get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert (found["Type"], found["Value"]) == ("SecureString", "s3cr3t")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (30.0, 30),
        (0.5, 0.5),
        ({"a": [1.0, {"b": 2.0}]}, {"a": [1, {"b": 2}]}),
        ("text", "text"),
    ],
)
def test_numbers_reach_the_adapters_as_aws_expects_them(raw: Any, expected: Any) -> None:
    assert plain(raw) == expected


def test_a_subscription_reaches_the_queue_it_names(emulator: Emulator) -> None:
    name = f"unit-{uuid.uuid4().hex[:8]}"
    sqs = Clients(emulator)("sqs", "us-east-1")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider())
        topic = aws.sns.Topic("topic", name=name, opts=opts)
        aws.sns.TopicSubscription(
            "to-queue",
            topic=topic.arn,
            protocol="sqs",
            endpoint=queue_arn,
            raw_message_delivery=True,
            opts=opts,
        )
        pulumi.export("topic", topic.arn)

    topic_arn = deploy(emulator, program).outputs["topic"]
    Clients(emulator)("sns", "us-east-1").publish(TopicArn=topic_arn, Message="hello")
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in messages] == ["hello"], "raw delivery, as the subscription declares"


def test_inline_routes_and_rules_are_created_as_declared_and_nothing_else(emulator: Emulator) -> None:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=provider())
        vpc = aws.ec2.Vpc("inline-vpc", cidr_block="10.7.0.0/16", opts=opts)
        igw = aws.ec2.InternetGateway("inline-igw", vpc_id=vpc.id, opts=opts)
        table = aws.ec2.RouteTable(
            "inline-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            opts=opts,
        )
        group = aws.ec2.SecurityGroup(
            "inline-sg",
            vpc_id=vpc.id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, self=True)],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["10.0.0.0/8"])],
            opts=opts,
        )
        acl = aws.ec2.NetworkAcl(
            "inline-acl",
            vpc_id=vpc.id,
            ingress=[
                aws.ec2.NetworkAclIngressArgs(
                    rule_no=100,
                    action="deny",
                    protocol="tcp",
                    from_port=22,
                    to_port=22,
                    cidr_block="0.0.0.0/0",
                )
            ],
            opts=opts,
        )
        pulumi.export("ids", pulumi.Output.all(igw.id, table.id, group.id, acl.id))

    igw, table, group, acl = deploy(emulator, program).outputs["ids"]
    ec2 = Clients(emulator)("ec2", "us-east-1")
    (routes,) = [t["Routes"] for t in ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"]]
    assert [(r.get("DestinationCidrBlock"), r.get("GatewayId")) for r in routes] == [
        ("10.7.0.0/16", "local"),
        ("0.0.0.0/0", igw),
    ]
    (sg,) = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert [
        (p["IpProtocol"], p["FromPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in sg["IpPermissions"]
    ] == [("tcp", 443, [group])]
    assert [(p["IpProtocol"], [r["CidrIp"] for r in p["IpRanges"]]) for p in sg["IpPermissionsEgress"]] == [
        ("-1", ["10.0.0.0/8"])
    ], "AWS's default allow-all egress is gone"
    (entries,) = [a["Entries"] for a in ec2.describe_network_acls(NetworkAclIds=[acl])["NetworkAcls"]]
    assert [(e["RuleNumber"], e["RuleAction"], e["PortRange"]["From"]) for e in entries if e["RuleNumber"] == 100] == [
        (100, "deny", 22)
    ]
