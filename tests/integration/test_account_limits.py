"""What AWS refuses for an account's limits and an instance's tags, refused by the emulator too."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapstack.emulator.launches import forbidden_metadata_tag_keys
from tapstack.emulator.server import Emulator

REGION = "us-east-1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator.start(tls=False) as started:
        yield started


def _function(emulator: Emulator, name: str) -> str:
    iam = emulator.client("iam", REGION)
    statement = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return event\n")
    emulator.client("lambda", REGION).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": archive.getvalue()}
    )
    return name


def test_a_new_account_with_a_quota_of_ten_refuses_any_reserved_concurrency(emulator: Emulator, unique: str) -> None:
    """The default migrationReservedConcurrency of 5 failed here, as on a new AWS account (issue 24 #5)."""
    lam = emulator.client("lambda", REGION)
    name = _function(emulator, f"fn-{unique}")
    with pytest.raises(ClientError) as refused:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "below its minimum value of [100]" in refused.value.response["Error"]["Message"]
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)


def test_a_raised_quota_admits_reservations_while_100_stay_unreserved(unique: str) -> None:
    with Emulator.start(tls=False, concurrency_quota=1000) as roomy:
        lam = roomy.client("lambda", REGION)
        first, second = _function(roomy, f"a-{unique}"), _function(roomy, f"b-{unique}")
        lam.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=850)
        assert lam.get_function_concurrency(FunctionName=first)["ReservedConcurrentExecutions"] == 850
        lam.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=900)  # its own 850 is freed
        with pytest.raises(ClientError) as refused:
            lam.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=1)
        assert "below its minimum value of [100]" in refused.value.response["Error"]["Message"]


def test_the_tag_keys_metadata_tags_forbid() -> None:
    assert forbidden_metadata_tag_keys(
        ["cost center", "team/owner", "Name", "a+b=c.d,e_f:g@h", ".", "..", "_index"]
    ) == [
        ".",
        "..",
        "_index",
        "cost center",
        "team/owner",
    ]


def _template(emulator: Emulator, name: str, metadata_tags: str, tags: dict[str, str]) -> str:
    ec2 = emulator.client("ec2", REGION)
    data: dict[str, Any] = {
        "ImageId": "ami-12c6146b",
        "InstanceType": "t3.micro",
        "MetadataOptions": {"HttpTokens": "required", "InstanceMetadataTags": metadata_tags},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    }
    return str(
        ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)["LaunchTemplate"][
            "LaunchTemplateId"
        ]
    )


def test_with_metadata_tags_on_a_tag_key_with_a_space_fails_the_launch_and_leaves_a_group_empty(
    emulator: Emulator, unique: str
) -> None:
    ec2 = emulator.client("ec2", REGION)
    template = _template(emulator, f"on-{unique}", "enabled", {"cost center": "42"})
    with pytest.raises(ClientError) as refused:
        ec2.run_instances(LaunchTemplate={"LaunchTemplateId": template}, MinCount=1, MaxCount=1)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    autoscaling = emulator.client("autoscaling", REGION)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=f"asg-{unique}",
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        VPCZoneIdentifier=subnet,
    )
    (group,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"asg-{unique}"])["AutoScalingGroups"]
    assert group["Instances"] == [] and group["DesiredCapacity"] == 1


def test_with_metadata_tags_off_the_same_tags_launch(emulator: Emulator, unique: str) -> None:
    ec2 = emulator.client("ec2", REGION)
    template = _template(emulator, f"off-{unique}", "disabled", {"cost center": "42", "team/owner": "platform"})
    (instance,) = ec2.run_instances(LaunchTemplate={"LaunchTemplateId": template}, MinCount=1, MaxCount=1)["Instances"]
    tags = {
        t["Key"]
        for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance["InstanceId"]]}])["Tags"]
    }
    assert {"cost center", "team/owner"} <= tags
