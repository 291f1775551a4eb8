"""TAP012 on hand-written documents: which conditions bind a service principal to this account."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapstack.guard.model import Severity

from .helpers import ACCOUNT, GraphBuilder, check, messages

ACCOUNT_ONLY = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
ALARMS = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:*"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_grant(service: str, condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", **extra}
    if condition is not None:
        st["Condition"] = condition
    return st


def role(b: GraphBuilder, *statements: dict[str, Any]) -> None:
    b.add("aws:iam/role:Role", "r", name="tapstack-r-dev", assumeRolePolicy=doc(*statements))


def topic_policy(b: GraphBuilder, *statements: dict[str, Any]) -> None:
    b.add("aws:sns/topicPolicy:TopicPolicy", "tp", arn="arn:aws:sns:us-east-1:1:t", policy=doc(*statements))


def test_trust_without_source_account_names_the_service_and_the_risk(builder: GraphBuilder) -> None:
    role(builder, service_grant("lambda.amazonaws.com"))
    [violation] = check("TAP012", builder.graph())
    assert violation.severity is Severity.HIGH
    assert violation.message == (
        "assumeRolePolicy: statement #1 lets lambda.amazonaws.com act without aws:SourceAccount in its trust "
        "policy: the service could be made to act here for another account's resources"
    )


@pytest.mark.parametrize("service", ["ec2.amazonaws.com", "lambda.amazonaws.com"])
def test_services_that_send_no_source_arn_need_only_the_account(builder: GraphBuilder, service: str) -> None:
    role(builder, service_grant(service, ACCOUNT_ONLY))
    assert check("TAP012", builder.graph()) == []


def test_an_ec2_trust_needs_no_source_account_but_a_key_grant_to_ec2_does(builder: GraphBuilder) -> None:
    role(builder, service_grant("ec2.amazonaws.com"))
    assert check("TAP012", builder.graph()) == []
    topic_policy(builder, service_grant("ec2.amazonaws.com", Sid="Ec2Publish"))
    assert messages("TAP012", builder.graph()) == [
        "policy: statement 'Ec2Publish' lets ec2.amazonaws.com act without aws:SourceAccount in its resource "
        "policy: the service could be made to act here for another account's resources"
    ]


def test_a_service_that_names_its_source_also_needs_aws_source_arn(builder: GraphBuilder) -> None:
    topic_policy(builder, service_grant("cloudwatch.amazonaws.com", ACCOUNT_ONLY, Sid="Alarms"))
    assert messages("TAP012", builder.graph()) == [
        "policy: statement 'Alarms' lets cloudwatch.amazonaws.com act without aws:SourceArn in its resource "
        "policy: the service could be made to act here for another account's resources"
    ]
    builder.resources.pop()
    topic_policy(
        builder, service_grant("cloudwatch.amazonaws.com", {**ACCOUNT_ONLY, "ArnLike": {"aws:SourceArn": ALARMS}})
    )
    assert check("TAP012", builder.graph()) == []


def test_key_policy_grant_missing_both_reports_both(builder: GraphBuilder) -> None:
    builder.add(
        "aws:kms/key:Key", "k", policy=doc(service_grant("vpc-flow-logs.amazonaws.com", None, Action="kms:Decrypt"))
    )
    assert messages("TAP012", builder.graph()) == [
        "policy: statement #1 lets vpc-flow-logs.amazonaws.com act without aws:SourceAccount and aws:SourceArn in "
        "its key policy: the service could be made to act here for another account's resources"
    ]


@pytest.mark.parametrize(
    "condition",
    [
        pytest.param({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, id="if-exists-holds-when-missing"),
        pytest.param({"StringLike": {"aws:SourceAccount": "*"}}, id="bare-wildcard"),
        pytest.param({"StringEquals": {"aws:SourceAccount": []}}, id="no-value"),
        pytest.param({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, id="another-key"),
    ],
)
def test_conditions_that_do_not_bind_the_request_do_not_count(builder: GraphBuilder, condition: dict[str, Any]) -> None:
    role(builder, service_grant("lambda.amazonaws.com", condition))
    assert len(check("TAP012", builder.graph())) == 1


def test_condition_keys_are_case_insensitive_as_in_iam(builder: GraphBuilder) -> None:
    role(builder, service_grant("lambda.amazonaws.com", {"StringEquals": {"AWS:SourceAccount": ACCOUNT}}))
    assert check("TAP012", builder.graph()) == []


def test_logs_key_grant_is_bound_by_its_encryption_context(builder: GraphBuilder) -> None:
    context = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:*"}}
    grant = service_grant("logs.us-east-1.amazonaws.com", context, Action=["kms:Encrypt", "kms:Decrypt"])
    builder.add("aws:kms/key:Key", "k", policy=doc(grant))
    assert check("TAP012", builder.graph()) == []


def test_denies_and_account_principals_are_not_service_grants(builder: GraphBuilder) -> None:
    deny = {**service_grant("lambda.amazonaws.com"), "Effect": "Deny"}
    account = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sns:Publish"}
    topic_policy(builder, deny, account)
    assert check("TAP012", builder.graph()) == []


def test_each_service_of_a_statement_is_judged(builder: GraphBuilder) -> None:
    grant = service_grant("lambda.amazonaws.com", ACCOUNT_ONLY)
    grant["Principal"] = {"Service": ["lambda.amazonaws.com", "s3.amazonaws.com"]}
    role(builder, grant)
    assert [m.split(" act without ")[0] for m in messages("TAP012", builder.graph())] == [
        "assumeRolePolicy: statement #1 lets s3.amazonaws.com"
    ]
