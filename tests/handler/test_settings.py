"""The environment contract: a half-configured function refuses to act and names what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapstack.handler import settings

from .helpers import REGION, Region, body


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


def test_a_group_without_a_grace_period_is_a_500_naming_the_missing_variable(
    aws: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAPSTACK_ASG_NAME", "tapstack-app-dev-euw1")
    monkeypatch.delenv("TAPSTACK_FLEET_GRACE_SECONDS", raising=False)
    response = aws.invoke({"action": "validate"})
    assert response["statusCode"] == 500
    assert "TAPSTACK_ASG_NAME is set but environment variable TAPSTACK_FLEET_GRACE_SECONDS" in body(response)["message"]


@pytest.mark.parametrize("value", ["5m", "-1", "86401", "3.5"])
def test_a_malformed_grace_period_is_a_500_naming_it(aws: Region, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TAPSTACK_ASG_NAME", "tapstack-app-dev-euw1")
    monkeypatch.setenv("TAPSTACK_FLEET_GRACE_SECONDS", value)
    response = aws.invoke({"action": "status"})
    assert response["statusCode"] == 500
    assert (
        f"TAPSTACK_FLEET_GRACE_SECONDS is {value!r}; expected whole seconds from 0 to 86400"
        in body(response)["message"]
    )


def test_every_variable_the_function_reads_is_declared_once_in_the_environment_contract() -> None:
    names = {value for key, value in vars(settings).items() if key.startswith("ENV_")}
    assert names == set(settings.ENVIRONMENT)
    assert {"TAPSTACK_ASG_NAME", "TAPSTACK_FLEET_GRACE_SECONDS"} <= names
    package = Path(settings.__file__).parent
    elsewhere = [p.name for p in package.glob("*.py") if p.name != "settings.py" and '"TAPSTACK_' in p.read_text()]
    assert elsewhere == [], "variable names are spelled out only in settings.py"
