"""validate: every check is real, so breaking the dependency it checks turns exactly that check red."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .helpers import CONFIG, REGION, SECRET_VALUE, Region, body, replication_rule

ALL_CHECKS = {
    "deployment_bucket_reachable",
    "deployment_bucket_versioning",
    "deployment_bucket_encryption",
    "config_parameter",
    "secret",
    "deployment_topic",
    "replication_to_secondaries",
    "fleet",
}


def failing(aws: Region) -> tuple[int, dict[str, str]]:
    """The status code and, for each failing check, its detail."""
    response = aws.invoke({"action": "validate"})
    checks = body(response)["result"]["checks"]
    return response["statusCode"], {c["name"]: c["detail"] for c in checks if not c["ok"]}


def test_a_healthy_primary_passes_every_check(aws: Region) -> None:
    response = aws.invoke({"action": "validate"})
    result = body(response)
    assert response["statusCode"] == 200
    assert result["outcome"] == "success"
    assert {c["name"] for c in result["result"]["checks"]} == ALL_CHECKS
    assert all(c["ok"] for c in result["result"]["checks"])
    assert result["result"]["failing"] == []


def test_suspended_versioning_fails_the_versioning_check(aws: Region) -> None:
    aws.s3.put_bucket_versioning(Bucket=aws.bucket, VersioningConfiguration={"Status": "Suspended"})
    status, failed = failing(aws)
    assert status == 503
    assert set(failed) == {"deployment_bucket_versioning"}
    assert "Suspended" in failed["deployment_bucket_versioning"]


def test_a_bucket_without_default_encryption_fails_the_encryption_check(aws: Region) -> None:
    aws.s3.delete_bucket_encryption(Bucket=aws.bucket)
    status, failed = failing(aws)
    assert status == 503
    assert failed == {"deployment_bucket_encryption": "no default encryption configuration"}


def test_a_missing_bucket_fails_every_bucket_check(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_DEPLOYMENT_BUCKET", "tapstack-deploy-dev-gone")
    status, failed = failing(aws)
    assert status == 503
    assert set(failed) == {
        "deployment_bucket_reachable",
        "deployment_bucket_versioning",
        "deployment_bucket_encryption",
        "replication_to_secondaries",
    }
    assert "NoSuchBucket" in failed["deployment_bucket_versioning"]


def test_a_config_missing_required_keys_fails_naming_them(aws: Region) -> None:
    aws.set_config({"project": "tapstack", "environment": "dev"})
    status, failed = failing(aws)
    assert status == 503
    assert set(failed) == {"config_parameter"}
    assert "missing required key(s): region, primary_region" in failed["config_parameter"]


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (CONFIG, "String", "is a String parameter; expected SecureString"),
        ("{not json", "SecureString", "not valid JSON"),
        (["a", "list"], "SecureString", "must hold a JSON object"),
        ({**CONFIG, "region": ""}, "SecureString", "region must be non-empty strings"),
        (
            {**CONFIG, "max_artifacts": "many"},
            "SecureString",
            "max_artifacts must be an integer from 1 to 100000",
        ),
        ({**CONFIG, "region": "eu-central-1"}, "SecureString", "is for region eu-central-1"),
        ({**CONFIG, "primary_region": "us-east-1"}, "SecureString", "but this function is a primary"),
    ],
    ids=["plain-string", "not-json", "not-object", "empty-key", "bad-limit", "other-region", "wrong-role"],
)
def test_an_invalid_config_fails_the_config_check(aws: Region, value: object, kind: str, expected: str) -> None:
    aws.set_config(value, kind)
    status, failed = failing(aws)
    assert status == 503
    assert set(failed) == {"config_parameter"}
    assert expected in failed["config_parameter"]


def test_a_config_check_never_echoes_the_config_values(aws: Region) -> None:
    aws.set_config({**CONFIG, "project": 42, "environment": "very-private-env-name"})
    _, failed = failing(aws)
    assert "project" in failed["config_parameter"]
    assert "very-private-env-name" not in failed["config_parameter"]


def test_a_missing_parameter_fails_the_config_check(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_CONFIG_PARAMETER", aws.parameter + "-gone")
    status, failed = failing(aws)
    assert status == 503
    assert set(failed) == {"config_parameter"}
    assert failed["config_parameter"].startswith("ParameterNotFound")


def test_a_missing_secret_fails_the_secret_check(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_SECRET_ARN", aws.secret_arn.replace("token", "gone"))
    status, failed = failing(aws)
    assert status == 503
    assert set(failed) == {"secret"}
    assert failed["secret"].startswith("ResourceNotFoundException")


def test_a_deleted_topic_fails_the_topic_check(aws: Region) -> None:
    aws.sns.delete_topic(TopicArn=aws.topic_arn)
    status, failed = failing(aws)
    assert status == 503
    assert set(failed) == {"deployment_topic"}
    assert failed["deployment_topic"].startswith("NotFound")


def test_replication_missing_a_secondary_fails_naming_it(aws: Region) -> None:
    aws.set_replication([replication_rule(0, aws.replicas[0])])
    status, failed = failing(aws)
    assert status == 503
    assert failed == {"replication_to_secondaries": f"no enabled replication rule for {aws.replicas[1]}"}


def test_a_disabled_replication_rule_does_not_cover_its_secondary(aws: Region) -> None:
    aws.set_replication([replication_rule(0, aws.replicas[0]), replication_rule(1, aws.replicas[1], status="Disabled")])
    _, failed = failing(aws)
    assert failed == {"replication_to_secondaries": f"no enabled replication rule for {aws.replicas[1]}"}


def test_a_primary_without_replication_configuration_fails(aws: Region) -> None:
    aws.set_replication(None)
    _, failed = failing(aws)
    assert failed == {"replication_to_secondaries": "the deployment bucket has no replication configuration"}


def test_a_secondary_has_no_replication_check(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_ROLE", "secondary")
    monkeypatch.setenv("TAPSTACK_REPLICA_BUCKETS", "[]")
    aws.set_config({**CONFIG, "primary_region": "us-east-1"})
    response = aws.invoke({"action": "validate"})
    assert response["statusCode"] == 200
    assert {c["name"] for c in body(response)["result"]["checks"]} == ALL_CHECKS - {"replication_to_secondaries"}


def test_validate_never_returns_or_logs_the_secret(aws: Region, capsys: pytest.CaptureFixture[str]) -> None:
    response = aws.invoke({"action": "validate"})
    assert response["statusCode"] == 200
    assert SECRET_VALUE not in json.dumps(response)
    assert SECRET_VALUE not in capsys.readouterr().out
    assert REGION in json.dumps(response)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"prefix": "logs/"}, "filters prefix 'logs/', which does not cover artifacts/"),
        ({"prefix": "artifacts/v1/"}, "filters prefix 'artifacts/v1/', which does not cover artifacts/"),
        ({"markers": "Disabled"}, "delete-marker replication is Disabled"),
        ({"rtc": False}, "Replication Time Control is not set"),
        (
            {"prefix": "logs/", "rtc": False},
            "filters prefix 'logs/', which does not cover artifacts/; Replication Time Control is not set",
        ),
    ],
    ids=["other-prefix", "narrower-prefix", "no-delete-markers", "no-rtc", "prefix-and-rtc"],
)
def test_a_rule_that_does_not_carry_releases_as_required_fails_naming_what(
    aws: Region, change: dict[str, Any], expected: str
) -> None:
    aws.set_replication([replication_rule(0, aws.replicas[0]), replication_rule(1, aws.replicas[1], **change)])
    status, failed = failing(aws)
    assert status == 503
    assert failed == {"replication_to_secondaries": f"{aws.replicas[1]}: rule to-{aws.replicas[1]} {expected}"}


def test_a_rule_selecting_by_tag_does_not_cover_every_release(aws: Region) -> None:
    tagged = replication_rule(1, aws.replicas[1])
    tagged["Filter"] = {"And": {"Prefix": "artifacts/", "Tags": [{"Key": "replicate", "Value": "yes"}]}}
    aws.set_replication([replication_rule(0, aws.replicas[0]), tagged])
    _, failed = failing(aws)
    assert "filters by tag or size" in failed["replication_to_secondaries"]


@pytest.mark.parametrize("selection", [{"Prefix": ""}, {"Prefix": "art"}, {}], ids=["empty-prefix", "shorter", "none"])
def test_a_rule_whose_filter_covers_artifacts_passes(aws: Region, selection: dict[str, str]) -> None:
    rules = [replication_rule(i, name) for i, name in enumerate(aws.replicas)]
    rules[1]["Filter"] = selection
    aws.set_replication(rules)
    status, failed = failing(aws)
    assert (status, failed) == (200, {})


def test_one_good_rule_among_bad_ones_covers_its_secondary(aws: Region) -> None:
    rules = [replication_rule(i, name) for i, name in enumerate(aws.replicas)]
    aws.set_replication([*rules, {**replication_rule(2, aws.replicas[1], prefix="logs/"), "ID": "logs"}])
    assert failing(aws) == (200, {})
