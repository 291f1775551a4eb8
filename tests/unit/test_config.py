"""Configuration: defaults are the secure posture; every bad value fails before any resource, naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tapstack.config import KNOWN_KEYS, ConfigError, KmsMode, NatStrategy, build, reference_markdown
from tapstack.lib.naming import NameKind


def cfg(env: dict[str, str] | None = None, **values: Any):
    return build(lambda key: values.get(key), env=env or {})


def test_defaults_are_documented_secure_posture() -> None:
    c = cfg()
    assert c.environment_suffix == "dev"
    assert c.regions == ("us-east-1",)
    assert c.nat_strategy is NatStrategy.PER_AZ
    assert c.kms is KmsMode.CUSTOMER_MANAGED
    assert c.vpc_cidrs == {"us-east-1": "10.0.0.0/16"}
    assert (c.asg_min_size, c.asg_desired_capacity, c.asg_max_size) == (1, 2, 4)
    assert c.log_retention_days == 90
    assert c.features.compute and c.features.migration


def test_suffix_falls_back_to_environment_variable() -> None:
    assert cfg(env={"ENVIRONMENT_SUFFIX": "pr123"}).environment_suffix == "pr123"
    assert cfg(env={"ENVIRONMENT_SUFFIX": "pr123"}, environmentSuffix="qa").environment_suffix == "qa"


def test_default_cidrs_never_overlap_across_regions() -> None:
    c = cfg(regions=["us-east-1", "us-west-2", "eu-west-1"])
    assert list(c.vpc_cidrs.values()) == ["10.0.0.0/16", "10.16.0.0/16", "10.32.0.0/16"]
    assert c.primary_region == "us-east-1"
    assert c.secondary_regions == ("us-west-2", "eu-west-1")


def test_structured_values_arrive_as_strings_from_the_cli() -> None:
    c = cfg(regions="us-east-1, eu-west-1", azCount="3", asgMinSize="2", asgDesiredCapacity="2", asgMaxSize="5")
    assert c.regions == ("us-east-1", "eu-west-1")
    assert c.az_count == 3
    assert (c.asg_min_size, c.asg_max_size) == (2, 5)


BAD: list[tuple[dict[str, Any], str]] = [
    ({"regions": ["us-east-1", "mars-north-1"]}, "tapstack:regions: got 'mars-north-1'; allowed: us-east-1,"),
    ({"regions": ["us-east-1", "us-east-1"]}, "tapstack:regions: got 'us-east-1'; each region may appear once"),
    ({"regions": []}, "tapstack:regions: got []; expected a non-empty list of region names"),
    (
        {"regions": ["us-east-1", "eu-west-1"], "vpcCidrs": {"us-east-1": "10.0.0.0/16", "eu-west-1": "10.0.128.0/17"}},
        "tapstack:vpcCidrs: got {'us-east-1': '10.0.0.0/16', 'eu-west-1': '10.0.128.0/17'}; VPCs of us-east-1 "
        "and eu-west-1 overlap",
    ),
    ({"vpcCidrs": {"us-east-1": "10.0.0.0/8"}}, "tapstack:vpcCidrs.us-east-1: got '10.0.0.0/8'; AWS allows VPC sizes"),
    ({"vpcCidrs": {"us-east-1": "banana"}}, "tapstack:vpcCidrs.us-east-1: got 'banana'; expected an IPv4 network"),
    ({"vpcCidrs": {"eu-west-1": "10.9.0.0/16"}}, "tapstack:vpcCidrs: got ['eu-west-1']; keys must be deployed regions"),
    ({"azCount": 1}, "tapstack:azCount: got 1; expected a whole number from 2 to 6"),
    ({"azCount": "many"}, "tapstack:azCount: got 'many'; expected a whole number from 2 to 6"),
    ({"natStrategy": "two"}, "tapstack:natStrategy: got 'two'; allowed: none, single, per_az"),
    (
        {"asgMinSize": 3, "asgDesiredCapacity": 2, "asgMaxSize": 4},
        "tapstack:asgDesiredCapacity: got {'asgMinSize': 3, 'asgDesiredCapacity': 2, 'asgMaxSize': 4}; "
        "need asgMinSize <= asgDesiredCapacity <= asgMaxSize",
    ),
    (
        {"asgMinSize": 1, "asgDesiredCapacity": 5, "asgMaxSize": 4},
        "tapstack:asgDesiredCapacity: got {'asgMinSize': 1, 'asgDesiredCapacity': 5, 'asgMaxSize': 4}",
    ),
    ({"environmentSuffix": "Prod_1"}, "tapstack:environmentSuffix: got 'Prod_1'; use 1-20 lowercase letters"),
    ({"environmentSuffix": "-dev"}, "tapstack:environmentSuffix: got '-dev'; use 1-20 lowercase letters"),
    ({"project": "9lives"}, "tapstack:project: got '9lives'; use 2-24 lowercase letters"),
    (
        {"project": "a-very-long-project-nam", "environmentSuffix": "pr-20240101-feature"},
        "tapstack:environmentSuffix: got 'pr-20240101-feature'; name 'a-very-long-project-nam-deploy-use1-"
        "123456789012-pr-20240101-feature' is 68 characters; AWS allows at most 63 for bucket names",
    ),
    ({"logRetentionDays": 42}, "tapstack:logRetentionDays: got 42; allowed: 1, 3, 5, 7, 14, 30, 60, 90"),
    ({"healthCheckGracePeriodSeconds": -5}, "tapstack:healthCheckGracePeriodSeconds: got -5; expected a whole number"),
    ({"alarmEmail": "not-an-email"}, "tapstack:alarmEmail: got 'not-an-email'; expected an email address"),
    ({"kms": "none"}, "tapstack:kms: got 'none'; allowed: aws-managed, customer-managed"),
    (
        {"features": {"compute": False, "migration": False}},
        "tapstack:features: got {'compute': False, 'migration': False}; enable at least one of compute, migration",
    ),
    ({"features": {"network": True}}, "tapstack:features: got ['network']; allowed keys: compute, migration"),
    ({"features": {"compute": "yes"}}, "tapstack:features.compute: got 'yes'; expected true or false"),
    ({"tags": {"aws:owner": "x"}}, "tapstack:tags.aws:owner: got 'x'; keys 1-128 characters not starting with 'aws:'"),
    (
        {"secretRecoveryWindowDays": 3},
        "tapstack:secretRecoveryWindowDays: got 3; AWS allows 0 (delete at once) or 7-30",
    ),
    ({"instanceType": "big"}, "tapstack:instanceType: got 'big'; expected an EC2 instance type"),
]


@pytest.mark.parametrize(
    ("values", "message"), BAD, ids=[m.split(":")[1].split(" ")[0] + str(i) for i, (_, m) in enumerate(BAD)]
)
def test_bad_values_fail_with_key_value_and_allowed(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        cfg(**values)
    assert str(exc.value).startswith(message)


def test_long_suffix_that_fits_every_limit_is_accepted() -> None:
    c = cfg(environmentSuffix="pr-2024-feature-x", regions=["ap-southeast-2", "ap-northeast-1"])
    name = c.name(NameKind.BUCKET, "deploy", "ap-southeast-2", "123456789012")
    assert name == "tapstack-deploy-apse2-123456789012-pr-2024-feature-x"
    assert len(name) <= 63


def test_readme_configuration_table_matches_the_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("<!-- config-reference:start -->\n") + len("<!-- config-reference:start -->\n")
    end = readme.index("<!-- config-reference:end -->")
    assert readme[start:end] == reference_markdown()


def test_every_documented_key_is_read_and_every_read_key_is_documented() -> None:
    asked: set[str] = set()

    def get(key: str) -> None:
        asked.add(key)

    build(get, env={})
    assert asked | {"migrationToken"} == KNOWN_KEYS
