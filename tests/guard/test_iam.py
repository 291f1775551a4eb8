"""TAP002 on hand-written documents: what is least privilege, what is a documented exception."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapstack.guard.facts import UNKNOWN
from tapstack.guard.model import Severity
from tapstack.lib.aws_iam_facts import UNSCOPED_ACTIONS
from tapstack.serialization import FIX

from .helpers import GraphBuilder, check, messages

ROOT = "arn:aws:iam::123456789012:root"
BUCKET = "arn:aws:s3:::tapstack-data-use1-123456789012-dev"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: Any, resources: Any = BUCKET, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def role_policy(b: GraphBuilder, policy: Any) -> None:
    b.add("aws:iam/rolePolicy:RolePolicy", "p", role="r", policy=policy)


def test_tls_only_deny_with_wildcard_action_is_not_flagged(builder: GraphBuilder) -> None:
    builder.bucket("data")
    assert check("TAP002", builder.graph()) == []


def test_unscoped_actions_may_use_resource_star_but_others_in_the_same_statement_may_not(
    builder: GraphBuilder,
) -> None:
    role_policy(builder, doc(allow(["xray:PutTraceSegments", "cloudwatch:PutMetricData", "sqs:SendMessage"], "*")))
    assert messages("TAP002", builder.graph()) == ["policy: statement #1 allows sqs:SendMessage on Resource '*'"]


def test_only_allow_list_actions_on_star_pass(builder: GraphBuilder) -> None:
    role_policy(builder, doc(allow(sorted(UNSCOPED_ACTIONS), "*")))
    assert check("TAP002", builder.graph()) == []


def test_every_allow_listed_action_really_has_no_resource_level_permission() -> None:
    """Keeps lib/iam.UNSCOPED_ACTIONS honest against the AWS authorization reference."""
    from parliament.statement import get_privilege_info

    for action in UNSCOPED_ACTIONS:
        service, name = action.split(":")
        types = {t["resource_type"] for t in get_privilege_info(service, name)["resource_types"]}
        assert types == {""}, f"{action} supports resource-level permissions {types}: scope it instead"


def test_partial_wildcard_is_medium_and_counts_what_it_matches(builder: GraphBuilder) -> None:
    import parliament

    matched = {a["action"] for a in parliament.expand_action("s3:GetObject*")}  # the reference, read directly
    role_policy(builder, doc(allow("s3:GetObject*", f"{BUCKET}/*")))
    [violation] = check("TAP002", builder.graph())
    assert violation.severity is Severity.MEDIUM
    assert violation.message == (
        f"policy: statement #1 allows 's3:GetObject*', which matches "
        f"{len(matched)} actions today and any AWS adds later"
    )


def test_star_action_is_every_action_of_every_service(builder: GraphBuilder) -> None:
    role_policy(builder, doc(allow("*", "*")))
    assert messages("TAP002", builder.graph()) == [
        "policy: statement #1 allows '*' (every action of every service, and every action AWS adds later)"
    ]


def test_not_action_and_not_resource_in_allow_are_wildcards(builder: GraphBuilder) -> None:
    role_policy(
        builder,
        doc({"Sid": "Inverse", "Effect": "Allow", "NotAction": "iam:*", "NotResource": BUCKET}),
    )
    assert messages("TAP002", builder.graph()) == [
        "policy: statement 'Inverse' allows NotAction, i.e. every action but the ones listed",
        "policy: statement 'Inverse' allows NotResource, i.e. every resource but the ones listed",
    ]


def test_key_policy_root_administration_is_the_documented_exception(builder: GraphBuilder) -> None:
    policy = doc(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": ["kms:Decrypt"], "Resource": "*"},
    )
    builder.add("aws:kms/key:Key", "key", policy=policy, enableKeyRotation=True)
    assert check("TAP002", builder.graph()) == []


def test_kms_star_for_anyone_but_the_account_root_is_flagged(builder: GraphBuilder) -> None:
    role = "arn:aws:iam::123456789012:role/app"
    builder.add(
        "aws:kms/key:Key",
        "key",
        policy=doc({"Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:*", "Resource": "*"}),
    )
    [message] = messages("TAP002", builder.graph())
    assert message.startswith("policy: statement #1 allows 'kms:*' (all ")


def test_public_principal_without_condition_is_flagged_with_condition_is_not(builder: GraphBuilder) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:t"
    public = {"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": topic}
    conditioned = {
        **public,
        "Sid": "Alarms",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    }
    builder.add("aws:sns/topicPolicy:TopicPolicy", "tp", arn=topic, policy=doc(public, conditioned))
    assert messages("TAP002", builder.graph()) == [
        "policy: statement #1 allows Principal '*' without a condition: anyone on the internet"
    ]


def test_trust_policy_action_names_are_checked(builder: GraphBuilder) -> None:
    trust = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRol"})
    builder.add("aws:iam/role:Role", "r", assumeRolePolicy=trust)
    assert messages("TAP002", builder.graph()) == [
        "assumeRolePolicy: statement #1: 'sts:AssumeRol': no such action in the AWS service authorization reference"
    ]


def test_mistyped_action_in_a_deny_is_flagged_because_the_deny_would_never_apply(
    builder: GraphBuilder,
) -> None:
    role_policy(builder, doc({"Effect": "Deny", "Action": "s3:DeleteBukket", "Resource": BUCKET}))
    assert messages("TAP002", builder.graph()) == [
        "policy: statement #1: 's3:DeleteBukket': no such action in the AWS service authorization reference"
    ]


def test_unknown_service_prefix(builder: GraphBuilder) -> None:
    role_policy(builder, doc(allow("s4:GetObject")))
    assert messages("TAP002", builder.graph()) == [
        "policy: statement #1: 's4:GetObject': no AWS service has the prefix 's4'"
    ]


def test_inline_policies_of_a_role_are_read(builder: GraphBuilder) -> None:
    builder.add("aws:iam/role:Role", "r", inlinePolicies=[{"name": "x", "policy": doc(allow("s3:*"))}])
    assert messages("TAP002", builder.graph()) == [
        "inlinePolicies[0].policy: statement #1 allows 's3:*' (all 163 s3 actions, and every action AWS adds later)"
    ]


@pytest.mark.parametrize(
    ("policy_arn", "flagged"),
    [
        ("arn:aws:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws:iam::aws:policy/AmazonS3FullAccess", True),
        ("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", False),
        ("arn:aws:iam::123456789012:policy/AmazonS3FullAccess", False),
    ],
)
def test_aws_managed_full_access_attachments(builder: GraphBuilder, policy_arn: str, flagged: bool) -> None:
    builder.add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", role="r", policyArn=policy_arn)
    assert bool(check("TAP002", builder.graph())) is flagged


def test_stringified_output_is_critical_and_points_at_json_dumps(builder: GraphBuilder) -> None:
    role_policy(builder, doc(allow("s3:GetObject", "Calling __str__ on an Output[T] is not supported.")))
    [violation] = check("TAP002", builder.graph())
    assert violation.severity is Severity.CRITICAL
    assert violation.remediation == FIX
    assert violation.message.startswith("policy: the document contains a stringified Pulumi Output")


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            "{not json",
            "policy: not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        ('{"Version": "2012-10-17"}', "policy: a policy document needs a 'Statement'"),
    ],
)
def test_broken_documents(builder: GraphBuilder, policy: str, message: str) -> None:
    role_policy(builder, policy)
    assert messages("TAP002", builder.graph()) == [message]


def test_unknown_document_during_preview_is_skipped(builder: GraphBuilder) -> None:
    role_policy(builder, UNKNOWN)
    assert check("TAP002", builder.graph()) == []
