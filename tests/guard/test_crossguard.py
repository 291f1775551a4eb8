"""The policy pack: the adapter fed the way the engine feeds it, and the real pack answering over gRPC."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from tapstack.guard.crossguard import PACK_NAME, plain, policies, resource_graph, stack_graph
from tapstack.guard.facts import UNKNOWN
from tapstack.guard.model import Scope, Severity
from tapstack.guard.rules import RULES
from tapstack.guard.suppressions import SuppressionError
from tests.helpers import ROOT

from .helpers import tls_policy

PROVIDER = "urn:pulumi:dev::tapstack::pulumi:providers:aws::aws-use1"
DEFAULT_PROVIDER = "urn:pulumi:dev::tapstack::pulumi:providers:aws::default_7_51_0"
BUCKET = "tapstack-data-use1-123456789012-dev"
POLICIES = {p.name: p for p in policies()}


def opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def provider(urn: str = PROVIDER, region: str | None = "us-east-1") -> PolicyProviderResource:
    props = {"region": region, "defaultTags": json.dumps({"tags": {"Environment": "dev"}})} if region else {}
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(props), urn, urn.rsplit("::", 1)[1])


def resource_args(
    type_: str,
    name: str,
    props: dict[str, Any],
    prov: PolicyProviderResource | None = None,
    config: dict[str, Any] | None = None,
) -> ResourceValidationArgs:
    urn = f"urn:pulumi:dev::tapstack::{type_}::{name}"
    return ResourceValidationArgs(type_, unknown_checking_proxy(props), urn, name, opts(), prov or provider(), config)


def validate(name: str, args: ResourceValidationArgs | StackValidationArgs) -> list[tuple[str, str | None]]:
    reported: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append((message, urn))

    policy = POLICIES[name]
    if isinstance(policy, ResourceValidationPolicy) and isinstance(args, ResourceValidationArgs):
        result = policy.validate(args, report)
    else:
        assert isinstance(policy, StackValidationPolicy) and isinstance(args, StackValidationArgs)
        result = policy.validate(args, report)
    assert result is None  # synchronous: nothing left to await
    return reported


def test_one_policy_per_rule_with_scope_enforcement_and_controls() -> None:
    assert list(POLICIES) == [r.id for r in RULES]
    stack_level = {n for n, p in POLICIES.items() if isinstance(p, StackValidationPolicy)}
    assert stack_level == {r.id for r in RULES if r.scope is Scope.STACK}
    assert all(isinstance(p, ResourceValidationPolicy) for n, p in POLICIES.items() if n not in stack_level)
    # below high a rule only advises: a pack that blocked `pulumi up` on a naming nit would be switched off
    advisory = {n for n, p in POLICIES.items() if p.enforcement_level is EnforcementLevel.ADVISORY}
    assert advisory == {r.id for r in RULES if r.severity < Severity.HIGH}
    assert 0 < len(advisory) < len(RULES) and 0 < len(stack_level) < len(RULES)
    assert POLICIES["TAP006"].framework is not None and POLICIES["TAP006"].framework.reference == "EC2.2, EC2.6, EC2.21"


def test_default_provider_is_reported_before_the_resource_exists() -> None:
    args = resource_args("aws:sns/topic:Topic", "alarms", {"kmsMasterKeyId": "k"}, provider(DEFAULT_PROVIDER, None))
    [(message, _)] = validate("TAP001", args)
    assert message.startswith("aws:sns/topic:Topic 'alarms' uses the default AWS provider")
    assert message.endswith(
        "Fix: pass the region's provider: opts=ResourceOptions(provider=<region provider>, "
        "parent=self); give every aws.Provider an explicit region"
    )


def test_unknown_inputs_during_preview_neither_crash_nor_count() -> None:
    props = {"policy": UNKNOWN_STRING_VALUE, "role": UNKNOWN_STRING_VALUE}
    args = resource_args("aws:iam/rolePolicy:RolePolicy", "p", props)
    assert validate("TAP002", args) == []
    assert resource_graph(args).resources[1].inputs == {"policy": UNKNOWN, "role": UNKNOWN}


def test_plain_unwraps_proxies_and_redacts_secrets() -> None:
    proxied = unknown_checking_proxy({"a": [{"b": UNKNOWN_STRING_VALUE}], "c": "x"})
    assert plain(proxied) == {"a": [{"b": UNKNOWN}], "c": "x"}
    assert plain({"s": Secret("hunter2")}) == {"s": "[secret]"}


def test_resource_policy_reports_a_wildcard_and_honours_a_reasoned_suppression() -> None:
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    plain_args = resource_args("aws:iam/rolePolicy:RolePolicy", "p", {"policy": policy})
    assert len(validate("TAP002", plain_args)) == 1
    config = {"suppressions": [{"resource": "p", "reason": "break-glass role (SEC-1)"}]}
    assert (
        validate("TAP002", resource_args("aws:iam/rolePolicy:RolePolicy", "p", {"policy": policy}, config=config)) == []
    )


def test_suppression_config_without_reason_is_refused() -> None:
    config = {"suppressions": [{"resource": "p"}]}
    with pytest.raises(SuppressionError, match=r"TAP002 config: suppressions\[0\]: 'reason' is required"):
        validate("TAP002", resource_args("aws:iam/rolePolicy:RolePolicy", "p", {"policy": "{}"}, config=config))


def stack_resource(
    type_: str, name: str, props: dict[str, Any], deps: dict[str, list[PolicyResource]] | None = None
) -> PolicyResource:
    urn = f"urn:pulumi:dev::tapstack::{type_}::{name}"
    linked = deps or {}
    flat = [r for rs in linked.values() for r in rs]
    return PolicyResource(type_, unknown_checking_proxy(props), urn, name, opts(), provider(), None, flat, linked)


def hardened_bucket_state(bucket_value: str) -> list[PolicyResource]:
    bucket = stack_resource(
        "aws:s3/bucket:Bucket", "data", {"id": BUCKET, "bucket": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"}
    )
    link = {"bucket": [bucket]}
    flags = {k: True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}
    sse = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}, "bucketKeyEnabled": True}]
    return [
        bucket,
        stack_resource(
            "aws:s3/bucketVersioning:BucketVersioning",
            "v",
            {"bucket": bucket_value, "versioningConfiguration": {"status": "Enabled"}},
            link,
        ),
        stack_resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "e",
            {"bucket": bucket_value, "rules": sse},
            link,
        ),
        stack_resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "pab",
            {"bucket": bucket_value, **flags},
            link,
        ),
        stack_resource(
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "o",
            {"bucket": bucket_value, "rule": {"objectOwnership": "BucketOwnerEnforced"}},
            link,
        ),
        stack_resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            "pol",
            {"bucket": bucket_value, "policy": tls_policy(BUCKET)},
            link,
        ),
    ]


@pytest.mark.parametrize("bucket_value", [BUCKET, UNKNOWN_STRING_VALUE])
def test_stack_policy_links_companions_by_value_or_by_recorded_dependency(bucket_value: str) -> None:
    args = StackValidationArgs(hardened_bucket_state(bucket_value))
    assert validate("TAP003", args) == []
    graph = stack_graph(args)
    assert {r.region for r in graph.resources} == {"us-east-1"}


def test_stack_policy_reports_against_the_offending_resource() -> None:
    state = [r for r in hardened_bucket_state(BUCKET) if r.name != "pab"]
    [(message, urn)] = validate("TAP003", StackValidationArgs(state))
    assert urn == "urn:pulumi:dev::tapstack::aws:s3/bucket:Bucket::data"
    assert message.startswith("bucket 'data' has no public access block. Fix: ")


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The real policy pack, started the way the Pulumi CLI starts it; it prints its port and serves."""
    pack = subprocess.Popen(
        [sys.executable, "__main__.py"],
        cwd=ROOT / "policy-pack",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert pack.stdout is not None
        port = int(pack.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        pack.terminate()
        pack.wait(timeout=10)


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def test_the_pack_serves_resource_and_stack_policies(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and len(info.policies) == len(RULES)
    topic = "urn:pulumi:dev::tapstack::aws:sns/topic:Topic::alarms"
    default = analyzer_pb2.AnalyzerProviderResource(
        type="pulumi:providers:aws", urn=DEFAULT_PROVIDER, name="default_7_51_0", properties=struct({})
    )
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type="aws:sns/topic:Topic",
            urn=topic,
            name="alarms",
            properties=struct({"kmsMasterKeyId": UNKNOWN_STRING_VALUE}),
            provider=default,
        )
    )
    assert [(d.policyName, d.urn) for d in response.diagnostics] == [("TAP001", topic)]
    vpc = analyzer_pb2.AnalyzerResource(
        type="aws:ec2/vpc:Vpc",
        urn="urn:pulumi:dev::tapstack::aws:ec2/vpc:Vpc::vpc",
        name="vpc",
        properties=struct({"id": "vpc-1"}),
    )
    stack = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[vpc]))
    # no flow log, default SG, default NACL
    assert sorted(d.policyName for d in stack.diagnostics) == ["TAP006", "TAP006", "TAP006"]


def test_policy_pack_files_point_at_the_project_virtualenv() -> None:
    pack = ROOT / "policy-pack"
    assert "virtualenv: ../.venv" in (pack / "PulumiPolicy.yaml").read_text()
    assert Path(pack / "__main__.py").read_text().count("PolicyPack(") == 1
