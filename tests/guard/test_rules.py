"""TAP001, TAP004, TAP007, TAP008, TAP009, TAP011 edge cases, and the catalogue itself."""

from __future__ import annotations

import pytest

from tapstack.graph import Graph, Resource
from tapstack.guard.facts import UNKNOWN
from tapstack.guard.model import Context, Severity, environment_suffix
from tapstack.guard.rules import RULES
from tapstack.guard.rules.deprecations import deprecations

from .helpers import GraphBuilder, check, messages

TOPIC = "arn:aws:sns:us-east-1:123456789012:tapstack-alarms-use1-dev"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def test_catalogue_is_numbered_from_tap001_without_gaps_each_with_its_origin_and_a_one_line_description() -> None:
    assert [r.id for r in RULES] == [f"TAP{i:03d}" for i in range(1, len(RULES) + 1)]
    for r in RULES:
        assert r.seed.startswith(("seed ", "issue ")) and r.remediation and "\n" not in r.description


def test_default_provider_urns_and_missing_provider(builder: GraphBuilder) -> None:
    graph = builder.graph()
    graph.resources += [
        Resource(urn="urn:a", type="aws:sns/topic:Topic", name="a", provider=None),
        Resource(
            urn="urn:b",
            type="aws:sns/topic:Topic",
            name="b",
            provider="urn:pulumi:dev::p::pulumi:providers:aws::default_7_51_0",
        ),
        Resource(urn="urn:c", type="tapstack:index:TapStack", name="c", custom=False),
    ]
    assert [v.name for v in check("TAP001", graph)] == ["a", "b"]


def test_provider_region_unknown_during_preview_is_not_judged(builder: GraphBuilder) -> None:
    builder.add("aws:sns/topic:Topic", "t")
    builder.resources[0].inputs["region"] = UNKNOWN
    assert check("TAP001", builder.graph()) == []


def test_alarm_notifying_a_topic_in_another_region(builder: GraphBuilder) -> None:
    other = TOPIC.replace("us-east-1", "eu-west-1")
    builder.add(ALARM, "a", alarmActions=[TOPIC], okActions=[other])
    assert messages("TAP004", builder.graph()) == [
        "alarm 'a' (us-east-1): OK actions target is a topic in eu-west-1; CloudWatch only notifies topics "
        "in the "
        "alarm's own region"
    ]


def test_alarm_with_non_sns_action_disabled_actions_or_unknown_actions(builder: GraphBuilder) -> None:
    builder.add(
        ALARM,
        "a",
        alarmActions=["arn:aws:automate:us-east-1:ec2:stop"],
        okActions=UNKNOWN,
        actionsEnabled=False,
    )
    assert messages("TAP004", builder.graph()) == [
        "alarm 'a' has actions_enabled=False: it never notifies anyone",
        "alarm 'a': alarm actions target 'arn:aws:automate:us-east-1:ec2:stop' is not an SNS topic ARN",
    ]


def test_deprecations_come_from_the_installed_sdk() -> None:
    bucket = deprecations("aws:s3/bucket:Bucket")
    assert bucket.resource is None
    assert {"versioning", "serverSideEncryptionConfiguration", "lifecycleRules", "policy", "acl"} <= set(
        bucket.properties
    )
    assert deprecations("aws:s3/bucketV2:BucketV2").resource == "s3.BucketV2 has been deprecated in favor of s3.Bucket"
    assert deprecations("aws:ec2/vpc:Vpc").properties == {}
    assert deprecations("tapstack:index:TapStack").resource is None


def test_deprecated_arguments_are_read_from_inputs_never_from_provider_outputs(builder: GraphBuilder) -> None:
    bucket = builder.bucket("data")
    bucket.outputs["versioning"] = {"enabled": True}  # the provider reports it; nobody set it
    assert check("TAP007", builder.graph()) == []


def test_launch_configurations_are_retired_by_aws(builder: GraphBuilder) -> None:
    builder.add("aws:ec2/launchConfiguration:LaunchConfiguration", "lc")
    [message] = messages("TAP007", builder.graph())
    assert message.startswith("aws:ec2/launchConfiguration:LaunchConfiguration is deprecated: AWS stopped offering")


@pytest.mark.parametrize(
    ("type_", "name", "expected"),
    [
        ("aws:sns/topic:Topic", "tapstack-alarms-use1-dev", []),
        ("aws:iam/role:Role", "tapstack-instance-dev", []),  # IAM is global: no region code needed
        ("aws:cloudwatch/logGroup:LogGroup", "/aws/lambda/tapstack-migration-use1-dev", []),
        ("aws:kms/alias:Alias", "alias/tapstack-key-use1-dev", []),
        (
            "aws:sns/topic:Topic",
            "Tapstack_Alarms-use1-dev",
            [
                "name 'Tapstack_Alarms-use1-dev' is not normalized (lowercase letters, digits, single "
                "dashes): use "
                "'tapstack-alarms-use1-dev'"
            ],
        ),
        (
            "aws:ssm/parameter:Parameter",
            "/tapstack/dev/migration/config",
            ["name '/tapstack/dev/migration/config' of a resource in us-east-1 does not carry the region code 'use1'"],
        ),
        (
            "aws:lambda/function:Function",
            "tapstack-" + "x" * 60 + "-use1-dev",
            [f"name 'tapstack-{'x' * 60}-use1-dev' has 78 characters; AWS allows 64"],
        ),
        (
            "aws:iam/role:Role",
            "tapstack-instance-prod",
            [
                "name 'tapstack-instance-prod' does not carry the environment suffix 'dev': two stacks in "
                "one account "
                "collide"
            ],
        ),
    ],
)
def test_physical_names(builder: GraphBuilder, type_: str, name: str, expected: list[str]) -> None:
    builder.add(type_, "r", name=name)
    assert messages("TAP008", builder.graph()) == expected


def test_suffix_is_the_providers_environment_tag_else_the_stack_name() -> None:
    tagged = GraphBuilder(suffix="pr-42")
    tagged.provider("us-east-1")
    assert environment_suffix(tagged.graph()) == "pr-42"
    assert environment_suffix(Graph(stack="staging")) == "staging"


def test_dashed_suffix_must_appear_whole(builder: GraphBuilder) -> None:
    builder.add("aws:sns/topic:Topic", "t", name="tapstack-alarms-use1-pr")
    assert messages("TAP008", builder.graph(), Context(environment_suffix="pr-42")) == [
        "name 'tapstack-alarms-use1-pr' does not carry the environment suffix 'pr-42': two stacks in one "
        "account "
        "collide"
    ]


def test_duplicate_names_by_namespace(builder: GraphBuilder) -> None:
    builder.add("aws:iam/role:Role", "role-a", "us-east-1", name="tapstack-app-dev")
    builder.add("aws:iam/role:Role", "role-b", "eu-west-1", name="tapstack-app-dev")
    builder.add("aws:iam/instanceProfile:InstanceProfile", "profile", name="tapstack-app-dev")  # other namespace
    builder.add("aws:sns/topic:Topic", "t1", "us-east-1", name="tapstack-t-dev")
    builder.add("aws:sns/topic:Topic", "t2", "eu-west-1", name="tapstack-t-dev")  # regional namespace
    violations = [v for v in check("TAP008", builder.graph()) if v.severity is Severity.CRITICAL]
    assert [(v.name, v.message) for v in violations] == [
        (
            "role-b",
            "name 'tapstack-app-dev' is also used by 'role-a': the second create fails (or adopts the first)",
        )
    ]


def test_auto_named_and_unknown_names_are_not_judged(builder: GraphBuilder) -> None:
    builder.add("aws:sns/topic:Topic", "auto")
    builder.add("aws:sns/topic:Topic", "later", name=UNKNOWN)
    builder.add("aws:sns/topic:Topic", "state", outputs={"name": "state-1a2b3c4"})  # autoname in the state
    builder.add("aws:sns/topic:Topic", "chosen", name="chosen-1a2b3c4x")
    assert [v.name for v in check("TAP008", builder.graph())] == ["chosen", "chosen"]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {
                "TAPSTACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:s",
                "CONFIG_PARAMETER": "/a/b",
            },
            [],
        ),
        ({"DB_PASSWORD": "hunter2"}, ["DB_PASSWORD"]),
        ({"MODE": "AKIAABCDEFGHIJKLMNOP"}, ["MODE"]),
        ({"KEY": "-----BEGIN RSA PRIVATE KEY-----\nabc"}, ["KEY"]),
        ({"API_TOKEN": UNKNOWN, "TOKEN_PARAMETER": "/tapstack/dev/token"}, []),
    ],
)
def test_lambda_environment_secrets(builder: GraphBuilder, variables: dict[str, str], expected: list[str]) -> None:
    builder.add("aws:lambda/function:Function", "fn", environment={"variables": variables})
    assert [m.split()[2] for m in messages("TAP009", builder.graph())] == expected


def test_plain_stack_outputs_that_look_secret(builder: GraphBuilder) -> None:
    graph = builder.graph(
        outputs={
            "db_password": "hunter2",
            "token": "[secret]",
            "secret_arn": "arn:aws:secretsmanager:x",
            "n": 3,
        }
    )
    [violation] = check("TAP009", graph)
    assert (violation.name, violation.urn) == ("outputs.db_password", "")
    assert violation.message == (
        "stack output 'db_password' is named like a secret and holds its value rather than a reference (ARN "
        "or "
        "parameter name): `pulumi stack output` prints it"
    )


def test_parameters_and_secret_versions(builder: GraphBuilder) -> None:
    builder.add("aws:ssm/parameter:Parameter", "plain", name="/app/db-password", type="String", value="hunter2")
    builder.add("aws:ssm/parameter:Parameter", "secure", name="/app/config", type="SecureString", value="[secret]")
    builder.add("aws:ssm/parameter:Parameter", "settings", name="/app/settings", type="String", value='{"a": 1}')
    builder.add("aws:secretsmanager/secretVersion:SecretVersion", "version", secretString="hunter2")
    assert [(v.name, v.message) for v in check("TAP009", builder.graph())] == [
        (
            "plain",
            "SSM parameter '/app/db-password' is a String but is named like a secret and holds its value "
            "rather "
            "than a reference (ARN or parameter name)",
        ),
        (
            "version",
            "secretString of 'version' is not a Pulumi secret: it is stored in the stack state in plain text",
        ),
    ]


def test_plain_secret_values_are_not_judged_where_secrets_arrive_unwrapped(builder: GraphBuilder) -> None:
    builder.add("aws:secretsmanager/secretVersion:SecretVersion", "version", secretString="hunter2")
    builder.add("aws:ssm/parameter:Parameter", "p", name="/app/config", type="SecureString", value="x")
    assert check("TAP009", builder.graph(), Context(secrets_redacted=False)) == []


def test_retention_encryption_rotation(builder: GraphBuilder) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    builder.add("aws:cloudwatch/logGroup:LogGroup", "forever", retentionInDays=0, kmsKeyId=key)
    builder.add("aws:cloudwatch/logGroup:LogGroup", "later", retentionInDays=UNKNOWN, kmsKeyId=UNKNOWN)
    builder.add("aws:cloudwatch/logGroup:LogGroup", "kept", retentionInDays=90.0, kmsKeyId=key)
    builder.add("aws:kms/key:Key", "signing", customerMasterKeySpec="RSA_2048")
    builder.add("aws:kms/key:Key", "data", enableKeyRotation="false")
    builder.add("aws:sns/topic:Topic", "t", kmsMasterKeyId="")
    assert [v.name for v in check("TAP011", builder.graph())] == ["data", "forever", "t"]
