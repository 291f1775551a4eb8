"""Issue 15 item 5: the AMI fits the instance type's architecture and is chosen once, instances and volumes carry the
stack's tags, and the optional mixed instances policy."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import moto
import pulumi
import pulumi_aws as aws
import pytest

from tapstack import config
from tapstack.components import compute
from tapstack.graph import Graph
from tapstack.lib.instance_types import ARM64_FAMILIES, X86_64_FAMILIES, Architecture, architecture
from tests.helpers import Synth, run_synth

A_ONLY = {"features": {"compute": True, "migration": False}}
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"


def test_family_tables_match_ec2s_own_instance_type_catalogue() -> None:
    """Re-derive both tables from DescribeInstanceTypes as moto bundles it: a family AWS lists is never misfiled."""
    catalogue = json.loads(
        gzip.decompress((Path(moto.__file__).parent / "ec2/resources/instance_types.json.gz").read_bytes())
    )
    by_family: dict[str, set[str]] = defaultdict(set)
    for name, info in catalogue.items():
        by_family[name.split(".")[0]].update(info["ProcessorInfo"]["SupportedArchitectures"])
    assert {f for f, archs in by_family.items() if archs == {"arm64"}} == ARM64_FAMILIES
    assert {f for f, archs in by_family.items() if "x86_64" in archs} == X86_64_FAMILIES


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("t4g.micro", "arm64"),
        ("m7g.large", "arm64"),
        ("c7gn.xlarge", "arm64"),
        ("t3.micro", "x86_64"),
        ("m7i-flex.large", "x86_64"),
        ("g4dn.xlarge", "x86_64"),
    ],
)
def test_architecture_of_an_instance_type(instance_type: str, expected: str) -> None:
    assert architecture(instance_type) is Architecture(expected)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"instanceType": "zz9.large"},
            "tapstack:instanceType: got 'zz9.large'; unknown instance family 'zz9': expected an Amazon Linux capable "
            "family such as t3 (x86_64) or t4g (arm64)",
        ),
        (
            {"instanceType": "mac2.metal"},
            "tapstack:instanceType: got 'mac2.metal'; unknown instance family 'mac2': expected an Amazon Linux capable "
            "family such as t3 (x86_64) or t4g (arm64)",
        ),
        (
            {"instanceType": "t4g.micro", "instanceTypes": ["t4g.small", "m7i.large"]},
            "tapstack:instanceTypes[1]: got 'm7i.large'; an x86_64 type, but instanceType t4g.micro is arm64: all "
            "types of the group share one AMI, so use types of one architecture",
        ),
        (
            {"instanceTypes": ["t3.small"]},
            "tapstack:instanceTypes: got ['t3.small']; expected a list of 2-40 EC2 instance types in priority order",
        ),
        (
            {"instanceTypes": ["t3.small", "t3.small"]},
            "tapstack:instanceTypes: got ['t3.small', 't3.small']; each instance type may appear once",
        ),
        (
            {"amiIds": {"us-east-1": "ami-12"}},
            "tapstack:amiIds.us-east-1: got 'ami-12'; expected an AMI id such as ami-0123456789abcdef0",
        ),
        (
            {"amiIds": {"eu-west-1": "ami-0123456789abcdef0"}},
            "tapstack:amiIds: got ['eu-west-1']; keys must be deployed regions: us-east-1",
        ),
    ],
)
def test_bad_compute_settings_are_refused_naming_key_and_value(values: dict[str, object], message: str) -> None:
    with pytest.raises(config.ConfigError) as err:
        config.build({**A_ONLY, **values}, env={})
    assert str(err.value) == message


@pytest.mark.parametrize(("instance_type", "arch"), [("t3.micro", "x86_64"), ("t4g.micro", "arm64")])
def test_unpinned_ami_comes_from_the_parameter_of_the_types_architecture_and_is_kept(
    synth: Synth, instance_type: str, arch: str
) -> None:
    g = synth(instanceType=instance_type, **A_ONLY)
    (lt,) = g.of_type(LT)
    parameter = f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
    assert lt.inputs["tags"] == {"AmiParameter": parameter}
    assert lt.inputs["imageId"] == "ami-0abcdef1234567890"  # what synth's getParameter answers
    assert g.outputs["use1_ami_id"] == lt.outputs["imageId"]


@pytest.mark.parametrize(("pin", "ignored"), [(None, ["imageId"]), ("ami-0123456789abcdef0", None)])
def test_only_an_unpinned_ami_ignores_later_changes_of_the_parameter(
    monkeypatch: pytest.MonkeyPatch, pin: str | None, ignored: list[str] | None
) -> None:
    """ignore_changes never reaches the mocks, so it is read where the component passes it."""
    seen: list[object] = []

    class Recording(aws.ec2.LaunchTemplate):
        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            opts: pulumi.ResourceOptions | None = kwargs.get("opts")
            seen.append(opts.ignore_changes if opts is not None else None)
            super().__init__(resource_name, *args, **kwargs)

    monkeypatch.setattr(compute.aws.ec2, "LaunchTemplate", Recording)
    run_synth({**A_ONLY, **({"amiIds": {"us-east-1": pin}} if pin else {})}, fresh=True)
    assert seen == [ignored]


def test_pinned_ami_is_used_as_given_and_not_ignored(synth: Synth) -> None:
    g = synth(amiIds={"us-east-1": "ami-0123456789abcdef0"}, **A_ONLY)
    (lt,) = g.of_type(LT)
    assert lt.inputs["imageId"] == "ami-0123456789abcdef0"
    assert "tags" not in lt.inputs
    assert g.outputs["use1_ami_id"] == "ami-0123456789abcdef0"


def test_instances_and_volumes_carry_the_stacks_tags(foundation: Graph) -> None:
    (lt,) = foundation.of_type(LT)
    expected = {
        "Owner": "platform-team",
        "CostCenter": "platform",
        "Project": "tapstack",
        "Environment": "dev",
        "Region": "us-east-1",
        "ManagedBy": "pulumi",
        "Stack": "tapstack",
        "Name": "tapstack-app-use1-dev",
    }
    assert lt.inputs["tagSpecifications"] == [
        {"resourceType": "instance", "tags": expected},
        {"resourceType": "volume", "tags": expected},
    ]


def test_one_instance_type_means_a_plain_launch_template_group(foundation: Graph) -> None:
    (asg,) = foundation.of_type(ASG)
    (lt,) = foundation.of_type(LT)
    assert asg.inputs["launchTemplate"]["id"] == lt.outputs["id"]
    assert "mixedInstancesPolicy" not in asg.inputs


def test_instance_types_make_an_on_demand_mixed_instances_policy_in_priority_order(synth: Synth) -> None:
    g = synth(instanceType="m7g.large", instanceTypes=["m7g.large", "m6g.large", "c7g.large"], **A_ONLY)
    (asg,) = g.of_type(ASG)
    (lt,) = g.of_type(LT)
    assert "launchTemplate" not in asg.inputs
    policy = asg.inputs["mixedInstancesPolicy"]
    assert policy["launchTemplate"]["launchTemplateSpecification"]["launchTemplateId"] == lt.outputs["id"]
    assert [o["instanceType"] for o in policy["launchTemplate"]["overrides"]] == ["m7g.large", "m6g.large", "c7g.large"]
    assert policy["instancesDistribution"] == {
        "onDemandAllocationStrategy": "prioritized",
        "onDemandBaseCapacity": 0,
        "onDemandPercentageAboveBaseCapacity": 100,
    }
    assert lt.inputs["tags"]["AmiParameter"].endswith("-arm64")
