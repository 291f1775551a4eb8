"""The real TapStack program passes its own guard: the examples, and one and three regions with everything
on."""

from __future__ import annotations

from typing import Any

import pytest

from tapstack.graph import Graph
from tapstack.guard.engine import evaluate
from tests.helpers import Synth

EVERYTHING: dict[str, Any] = {
    "features": {"compute": True, "migration": True},
    "natStrategy": "per_az",
    "alarmEmail": "ops@example.com",
    "kms": "customer-managed",
}


def unexpected(graph: Graph) -> list[tuple[str, str, str]]:
    return [(v.rule, v.name, v.message) for v in evaluate(graph).violations]


def test_foundation_example_has_no_violations(foundation: Graph) -> None:
    assert [(v.rule, v.name, v.message) for v in evaluate(foundation).violations] == []


def test_platform_example_has_no_violations(platform: Graph) -> None:
    assert unexpected(platform) == []


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({**EVERYTHING, "regions": ["us-east-1"]}, id="one-region"),
        pytest.param({**EVERYTHING, "regions": ["us-east-1", "eu-west-1", "ap-southeast-2"]}, id="three-regions"),
        pytest.param(
            {**EVERYTHING, "kms": "aws-managed", "regions": ["us-east-1", "us-west-2", "eu-central-1"]},
            id="three-regions-aws-managed-keys",
        ),
    ],
)
def test_every_feature_on_has_no_violations(synth: Synth, config: dict[str, Any]) -> None:
    assert unexpected(synth(**config)) == []


def test_the_relating_rules_found_what_they_relate(platform: Graph) -> None:
    """Not vacuous: the stack-level rules saw buckets with companions, replication, VPCs and groups."""
    types = {r.type for r in platform.resources}
    assert {
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:ec2/flowLog:FlowLog",
        "aws:autoscaling/group:Group",
    } <= types
