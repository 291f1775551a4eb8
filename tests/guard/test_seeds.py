"""Every seed problem, reproduced as a small program, is caught by its rule and by no other."""

from __future__ import annotations

import pytest

from tapstack.guard.engine import evaluate
from tapstack.guard.model import Context
from tapstack.serialization import OutputSerializationError
from tapstack.synth import synthesize

from .fixtures.seeds import FIXTURES, UPDATE_FIXTURES, output_formatted_into_policy, output_in_json_dumps
from .helpers import STACK, synth_program


@pytest.mark.parametrize("fixture", sorted(FIXTURES))
def test_seed_problem_is_flagged_by_exactly_its_rules(fixture: str) -> None:
    program, expected = FIXTURES[fixture]
    report = evaluate(synth_program(program))
    assert {v.rule for v in report.violations} == expected


@pytest.mark.parametrize("fixture", sorted(UPDATE_FIXTURES))
def test_update_seed_problem_is_flagged_by_exactly_its_rules_and_only_against_the_deployed_graph(fixture: str) -> None:
    deployed, changed, expected = UPDATE_FIXTURES[fixture]
    old, new = synth_program(deployed), synth_program(changed)
    assert {v.rule for v in evaluate(new, context=Context.for_graph(new, against=old)).violations} == expected
    assert evaluate(new).violations == []


def _messages(fixture: str) -> list[tuple[str, str, str]]:
    report = evaluate(synth_program(FIXTURES[fixture][0]))
    return [(v.rule, v.name, v.message) for v in report.violations]


def test_provider_not_passed_names_the_resource_and_the_consequence() -> None:
    assert _messages("provider_not_passed") == [
        (
            "TAP001",
            "alarms",
            "aws:sns/topic:Topic 'alarms' uses the default AWS provider: its region comes from the "
            "environment "
            "(aws:region, AWS_REGION), not from the stack's region list",
        )
    ]


def test_broad_iam_flags_each_wildcard_but_not_the_unscoped_xray_action() -> None:
    assert _messages("broad_iam") == [
        (
            "TAP002",
            "fn-policy",
            "policy: statement #1 allows 's3:*' (all 163 s3 actions, and every action AWS adds later)",
        ),
        (
            "TAP002",
            "fn-policy",
            "policy: statement #2 allows 'cloudwatch:*' (all 54 cloudwatch actions, and every action AWS adds later)",
        ),
        (
            "TAP002",
            "fn-policy",
            "policy: statement 'Deploy' allows lambda:UpdateFunctionCode on Resource '*'",
        ),
    ]


def test_mistyped_action_is_caught_by_the_authorization_reference() -> None:
    assert _messages("mistyped_action") == [
        (
            "TAP002",
            "fn-policy",
            "policy: statement 'Read': 's3:GetObjekt': no such action in the AWS service authorization reference",
        )
    ]


def test_inline_aes256_bucket_lacks_public_access_block_and_tls_policy_and_uses_a_deprecated_argument() -> None:
    assert _messages("inline_aes256_bucket") == [
        ("TAP003", "data", "bucket 'data' has no public access block"),
        (
            "TAP003",
            "data",
            "bucket 'data' has no policy denying requests without TLS (aws:SecureTransport false)",
        ),
        (
            "TAP007",
            "data",
            "'data' sets 'serverSideEncryptionConfiguration': server_side_encryption_configuration is "
            "deprecated. "
            "Use the s3.BucketServerSideEncryptionConfiguration resource instead.",
        ),
    ]


def test_alarm_without_actions_reports_both_lists() -> None:
    assert [m for _, _, m in _messages("alarm_without_actions")] == [
        "alarm 'cpu-high' has no alarm actions: nobody hears when it fires or recovers",
        "alarm 'cpu-high' has no OK actions: nobody hears when it fires or recovers",
    ]


def test_asg_with_a_target_group_may_use_elb_checks_but_needs_a_grace_period() -> None:
    assert [m for _, _, m in _messages("asg_elb_without_grace")] == [
        "auto scaling group 'app-asg' has no health check grace period: instances are judged (and replaced) "
        "before they finish booting"
    ]


def test_vpc_without_flow_logs_or_nacls() -> None:
    assert [(n, m.split(":")[0]) for _, n, m in _messages("vpc_without_flow_logs_or_nacls")] == [
        ("private-0", "subnet 'private-0' is in no network ACL of its own"),
        ("vpc", "VPC 'vpc' has no flow log"),
        ("vpc", "VPC 'vpc' leaves its default network ACL with AWS's allow-all rules"),
    ]


def test_default_nacl_open_and_s3_endpoint_unfenced() -> None:
    assert [(n, m) for _, n, m in _messages("default_nacl_open_and_s3_endpoint_unfenced")] == [
        (
            "s3-endpoint",
            "S3 endpoint 's3-endpoint' keeps the default policy (full access to every bucket of every account): "
            "anything in the VPC can copy data out to a bucket of its choosing",
        ),
        (
            "vpc",
            "VPC 'vpc' leaves its default network ACL with AWS's allow-all rules: a subnet added later without an "
            "ACL of its own is open in both directions",
        ),
    ]


def test_launch_template_ami_for_another_architecture() -> None:
    assert [m for _, _, m in _messages("launch_template_ami_for_another_architecture")] == [
        "launch template 'app-lt' runs t4g.micro (arm64) from an x86_64 AMI "
        "(/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64): EC2 refuses every launch"
    ]


def test_bucket_v2_is_deprecated_in_favour_of_bucket() -> None:
    assert _messages("bucket_v2") == [
        (
            "TAP007",
            "data",
            "aws:s3/bucketV2:BucketV2 is deprecated: s3.BucketV2 has been deprecated in favor of s3.Bucket",
        )
    ]


def test_predictable_bucket_name_lacks_suffix_and_region() -> None:
    assert [m for _, _, m in _messages("predictable_names")] == [
        "name 'tapstack-lambda-logs-123456789012' does not carry the environment suffix 'dev': two stacks "
        "in one "
        "account collide",
        "name 'tapstack-lambda-logs-123456789012' of a resource in us-east-1 does not carry the region code 'use1'",
    ]


def test_multi_region_deployment_without_replication_names_every_region() -> None:
    assert _messages("multi_region_without_replication") == [
        (
            "TAP010",
            "deploy-eu-west-1",
            "deployment buckets 'deploy-eu-west-1' (eu-west-1), 'deploy-us-east-1' (us-east-1) replicate "
            "nowhere: a release written in one region never reaches the others",
        )
    ]


def test_output_inside_json_dumps_fails_synth_pointing_at_output_json_dumps() -> None:
    with pytest.raises(
        OutputSerializationError,
        match=r"json\.dumps was given a pulumi Output at .*seeds\.py:\d+: "
        r"build JSON that holds Outputs with pulumi\.Output\.json_dumps",
    ):
        synthesize(output_in_json_dumps, {}, stack=STACK)


def test_output_formatted_into_a_policy_fails_synth() -> None:
    with pytest.raises(OutputSerializationError, match=r"fn-policy\.policy: build JSON that holds Outputs"):
        synthesize(output_formatted_into_policy, {}, stack=STACK)
