"""No rule crashes on whatever shape a property arrives in: absent, unknown, wrong type, nested oddly."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tapstack.graph import Graph, Resource
from tapstack.guard.facts import UNKNOWN
from tapstack.guard.model import Context
from tapstack.guard.rules import RULES

TYPES = [
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:kms/key:Key",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:autoscaling/group:Group",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/networkAcl:NetworkAcl",
    "aws:lambda/function:Function",
    "aws:ssm/parameter:Parameter",
    "aws:sns/topic:Topic",
]
KEYS = [
    "bucket",
    "policy",
    "assumeRolePolicy",
    "inlinePolicies",
    "rules",
    "name",
    "versioning",
    "environment",
    "alarmActions",
    "okActions",
    "retentionInDays",
    "vpcZoneIdentifiers",
    "metadataOptions",
    "subnetIds",
    "blockDeviceMappings",
    "networkInterfaces",
    "vpcId",
    "type",
    "value",
    "kmsMasterKeyId",
    "healthCheckType",
]
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.just(UNKNOWN),
    st.just("*"),
    st.just('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'),
    st.text(max_size=8),
)
values = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=8,
)
resources = st.lists(
    st.tuples(st.sampled_from(TYPES), st.dictionaries(st.sampled_from(KEYS), values, max_size=5)), max_size=6
)


@settings(max_examples=150, deadline=None)
@given(resources, st.booleans())
def test_rules_never_crash(specs: list[tuple[str, dict[str, Any]]], redacted: bool) -> None:
    graph = Graph(
        stack="dev",
        resources=[
            Resource(urn=f"urn:{i}", type=t, name=f"r{i}", region="us-east-1", inputs=p, outputs={"id": f"id-{i}"})
            for i, (t, p) in enumerate(specs)
        ],
    )
    for rule in RULES:
        rule(graph, Context(environment_suffix="dev", secrets_redacted=redacted))
