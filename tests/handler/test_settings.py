"""The environment contract: a half-configured function refuses to act and names what is missing."""

from __future__ import annotations

import pytest

from .conftest import REGION, Region, body


@pytest.mark.parametrize(
    "name",
    ["TAPSTACK_DEPLOYMENT_BUCKET", "TAPSTACK_CONFIG_PARAMETER", "TAPSTACK_SECRET_ARN", "TAPSTACK_TOPIC_ARN"],
)
def test_a_missing_variable_is_a_500_naming_it(aws: Region, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delenv(name)
    response = aws.invoke({"action": "status"})
    assert response["statusCode"] == 500
    assert f"environment variable {name}" in body(response)["message"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TAPSTACK_ROLE", "leader", "TAPSTACK_ROLE is 'leader'"),
        ("TAPSTACK_REPLICA_BUCKETS", "bucket-a,bucket-b", "must be a JSON list of bucket names"),
        ("TAPSTACK_REPLICA_BUCKETS", '[""]', "must be a JSON list of bucket names"),
    ],
)
def test_a_malformed_variable_is_a_500_naming_it(
    aws: Region, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    response = aws.invoke({"action": "validate"})
    assert response["statusCode"] == 500
    assert expected in body(response)["message"]


def test_a_secondary_listing_replicas_is_refused(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_ROLE", "secondary")
    response = aws.invoke({"action": "validate"})
    assert response["statusCode"] == 500
    assert "only the primary replicates" in body(response)["message"]


def test_the_region_falls_back_to_aws_region(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAPSTACK_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)
    assert aws.invoke({"action": "validate"})["statusCode"] == 200


def test_without_any_region_the_function_refuses(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAPSTACK_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    response = aws.invoke({"action": "status"})
    assert response["statusCode"] == 500
    assert "neither TAPSTACK_REGION nor AWS_REGION" in body(response)["message"]


def test_a_bad_request_is_reported_as_such_even_when_misconfigured(
    aws: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAPSTACK_DEPLOYMENT_BUCKET")
    response = aws.invoke({"action": "rollback"})
    assert response["statusCode"] == 400
    assert body(response)["field"] == "migration_id"
