"""Failures of AWS and races between callers: the record survives, the pointer never lies, one caller wins."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from .conftest import Inject, Region, body

POINTER = "releases/current.json"
LOCK = "locks/release-pointer.json"


def aws_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


def is_pointer(params: dict[str, Any]) -> bool:
    return bool(params.get("Key") == POINTER)


def migrate(aws: Region, migration_id: str, manifest_key: str) -> dict[str, Any]:
    return aws.invoke({"action": "migrate", "migration_id": migration_id, "manifest_key": manifest_key})


def test_a_deleted_topic_does_not_lose_the_migration(aws: Region) -> None:
    aws.sns.delete_topic(TopicArn=aws.topic_arn)
    response = migrate(aws, "m-001", aws.release("r1"))
    result = body(response)
    assert response["statusCode"] == 200
    assert result["result"]["notification"].startswith("failed (start: failed (NotFound")
    assert aws.doc("migrations/m-001/metadata.json")["state"] == "succeeded"
    assert aws.doc(POINTER)["release"] == "r1"


def test_an_unreachable_sns_is_reported_in_the_result(aws: Region, fail: Inject) -> None:
    fail("sns", "Publish", EndpointConnectionError(endpoint_url="https://sns.eu-west-1.amazonaws.com"))
    response = migrate(aws, "m-001", aws.release("r1"))
    notification = body(response)["result"]["notification"]
    assert response["statusCode"] == 200
    assert "start: failed (EndpointConnectionError" in notification
    assert "finish: failed (EndpointConnectionError" in notification
    assert aws.doc("migrations/m-001/metadata.json")["state"] == "succeeded"


def test_a_failed_pointer_write_leaves_the_previous_release_and_marks_the_record_failed(
    aws: Region, fail: Inject
) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    fail("s3", "PutObject", aws_error("InternalError", "PutObject"), when=is_pointer)
    response = migrate(aws, "m-002", aws.release("r2"))
    result = body(response)
    assert response["statusCode"] == 500
    assert result["outcome"] == "failure"
    assert "release r1 is still current" in result["message"]
    assert aws.doc(POINTER)["release"] == "r1"
    record = aws.read("migrations/m-002/metadata.json")
    assert record is not None
    assert record["state"] == "failed"
    assert "InternalError" in record["error"]
    assert [n["event"] for n in aws.notifications() if n["migration_id"] == "m-002"] == [
        "migration.started",
        "migration.failed",
    ]
    assert aws.doc(LOCK)["state"] == "released"


def test_a_failed_migration_id_is_spent(aws: Region, fail: Inject) -> None:
    fail("s3", "PutObject", aws_error("InternalError", "PutObject"), when=is_pointer)
    manifest = aws.release("r1")
    migrate(aws, "m-001", manifest)
    response = migrate(aws, "m-001", manifest)
    assert response["statusCode"] == 409
    assert "already ran and failed" in body(response)["message"]
    assert "retry with a new migration_id" in body(response)["message"]


def test_a_failed_migration_cannot_be_rolled_back(aws: Region, fail: Inject) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    fail("s3", "PutObject", aws_error("InternalError", "PutObject"), when=is_pointer)
    migrate(aws, "m-002", aws.release("r2"))
    response = aws.invoke({"action": "rollback", "migration_id": "m-002"})
    assert response["statusCode"] == 409
    assert "never became current" in body(response)["message"]


def test_a_pointer_write_whose_response_was_lost_is_a_success(aws: Region, fail: Inject) -> None:
    def land(params: dict[str, Any]) -> None:
        aws.s3.put_object(**params)

    fail("s3", "PutObject", EndpointConnectionError(endpoint_url="https://s3"), when=is_pointer, before=land)
    response = migrate(aws, "m-001", aws.release("r1"))
    assert response["statusCode"] == 200
    assert aws.doc("migrations/m-001/metadata.json")["state"] == "succeeded"
    assert aws.doc(POINTER)["migration_id"] == "m-001"


def test_a_pointer_changed_by_hand_meanwhile_is_not_overwritten(aws: Region, fail: Inject) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    by_hand = {"release": "hotfix", "migration_id": "manual"}

    def edit(_: dict[str, Any]) -> None:
        aws.put_json(POINTER, by_hand)

    fail("s3", "PutObject", None, when=is_pointer, before=edit)
    response = migrate(aws, "m-002", aws.release("r2"))
    assert response["statusCode"] == 409
    assert "changed by something other than this handler" in body(response)["message"]
    assert aws.read(POINTER) == by_hand
    assert aws.doc("migrations/m-002/metadata.json")["state"] == "failed"


def test_a_failed_rollback_can_be_retried(aws: Region, fail: Inject) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    migrate(aws, "m-002", aws.release("r2"))
    outage = {"left": 1}

    def once(params: dict[str, Any]) -> bool:
        if is_pointer(params) and outage["left"]:
            outage["left"] -= 1
            return True
        return False

    fail("s3", "PutObject", aws_error("SlowDown", "PutObject"), when=once)
    failed = aws.invoke({"action": "rollback", "migration_id": "m-002"})
    assert failed["statusCode"] == 500
    assert "the rollback can be retried" in body(failed)["message"]
    assert aws.doc(POINTER)["release"] == "r2"
    assert aws.doc("rollbacks/m-002/rollback.json")["state"] == "failed"
    retried = aws.invoke({"action": "rollback", "migration_id": "m-002"})
    assert retried["statusCode"] == 200
    assert aws.doc(POINTER)["release"] == "r1"


def test_two_concurrent_migrations_one_wins_and_the_other_gets_409(aws: Region, fail: Inject) -> None:
    first, second = aws.release("r1"), aws.release("r2")
    holding, finish = threading.Event(), threading.Event()

    def pause(_: dict[str, Any]) -> None:
        holding.set()
        assert finish.wait(10)

    # Migration A stops right after taking the lock (its read of the pointer) until B has run to the end.
    fail(
        "s3",
        "GetObject",
        None,
        when=lambda p: is_pointer(p) and threading.current_thread().name == "migration-a",
        before=pause,
    )
    replies: dict[str, dict[str, Any]] = {}
    a = threading.Thread(
        target=lambda: replies.setdefault("a", migrate(aws, "m-a", first)), name="migration-a", daemon=True
    )
    b = threading.Thread(
        target=lambda: replies.setdefault("b", migrate(aws, "m-b", second)), name="migration-b", daemon=True
    )
    a.start()
    assert holding.wait(10)
    b.start()
    b.join(10)
    finish.set()
    a.join(10)
    assert replies["a"]["statusCode"] == 200
    assert replies["b"]["statusCode"] == 409
    assert "migrate m-a holds this region's release lock" in body(replies["b"])["message"]
    assert aws.doc(POINTER)["release"] == "r1"
    assert aws.keys("migrations/") == {"migrations/m-a/metadata.json"}


def test_an_unexpected_aws_error_is_a_500_naming_it_and_writes_nothing(aws: Region, fail: Inject) -> None:
    manifest = aws.release("r1")
    fail("s3", "GetObject", aws_error("AccessDenied", "GetObject"), when=lambda p: p["Key"] == manifest)
    versions = aws.versions()
    response = migrate(aws, "m-001", manifest)
    assert response["statusCode"] == 500
    assert body(response)["outcome"] == "error"
    assert "AccessDenied: injected AccessDenied" in body(response)["message"]
    assert aws.versions() == versions


def test_an_unreadable_config_makes_migrate_a_500_naming_the_parameter(aws: Region) -> None:
    aws.set_config("{broken")
    response = migrate(aws, "m-001", aws.release("r1"))
    assert response["statusCode"] == 500
    assert f"config parameter {aws.parameter} is invalid" in body(response)["message"]


def test_a_missing_config_parameter_makes_migrate_a_500_naming_it(aws: Region, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTACK_CONFIG_PARAMETER", aws.parameter + "-gone")
    response = migrate(aws, "m-001", aws.release("r1"))
    assert response["statusCode"] == 500
    assert f"config parameter {aws.parameter}-gone could not be read: ParameterNotFound" in body(response)["message"]


def test_a_retried_pointer_write_that_fails_its_precondition_after_landing_is_a_success(
    aws: Region, fail: Inject
) -> None:
    def land(params: dict[str, Any]) -> None:
        aws.s3.put_object(**params)

    fail("s3", "PutObject", aws_error("PreconditionFailed", "PutObject"), when=is_pointer, before=land)
    response = migrate(aws, "m-001", aws.release("r1"))
    assert response["statusCode"] == 200
    assert aws.doc(POINTER)["migration_id"] == "m-001"


def test_a_failure_to_record_the_outcome_says_the_release_did_become_current(aws: Region, fail: Inject) -> None:
    record = "migrations/m-001/metadata.json"
    fail(
        "s3",
        "PutObject",
        aws_error("InternalError", "PutObject"),
        when=lambda p: p["Key"] == record and "IfMatch" in p,
    )
    response = migrate(aws, "m-001", aws.release("r1"))
    assert response["statusCode"] == 500
    assert body(response)["message"].startswith("release r1 is current, but recording the outcome")
    assert aws.doc(POINTER)["release"] == "r1"
    assert aws.doc(record)["state"] == "in_progress"


def test_the_same_id_racing_itself_promotes_once(aws: Region, fail: Inject) -> None:
    """The other invocation of m-001 finished between our replay check and our claim of the id."""
    manifest = aws.release("r1")
    record = "migrations/m-001/metadata.json"
    finished = {"migration_id": "m-001", "manifest_key": manifest, "state": "succeeded", "release": "r1"}
    fail(
        "s3",
        "PutObject",
        None,
        when=lambda p: p["Key"] == record and "IfNoneMatch" in p,
        before=lambda _: aws.put_json(record, finished),
    )
    response = migrate(aws, "m-001", manifest)
    assert response["statusCode"] == 200
    assert body(response)["outcome"] == "noop"
    assert aws.read(POINTER) is None
    assert aws.read(record) == finished


def test_an_unfinished_record_is_not_run_again(aws: Region) -> None:
    manifest = aws.release("r1")
    aws.put_json(
        "migrations/m-001/metadata.json",
        {"migration_id": "m-001", "manifest_key": manifest, "state": "in_progress", "started_at": "earlier"},
    )
    response = migrate(aws, "m-001", manifest)
    assert response["statusCode"] == 409
    assert "has not finished: it is running or was interrupted" in body(response)["message"]


def test_a_damaged_record_is_a_500_not_a_guess(aws: Region) -> None:
    aws.put("migrations/m-001/metadata.json", b"<html>")
    response = aws.invoke({"action": "status", "migration_id": "m-001"})
    assert response["statusCode"] == 500
    assert "metadata.json is not a JSON object" in body(response)["message"]


def test_rolling_back_when_the_pointer_was_deleted_out_of_band_is_409(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    migrate(aws, "m-002", aws.release("r2"))
    aws.s3.delete_object(Bucket=aws.bucket, Key=POINTER)
    response = aws.invoke({"action": "rollback", "migration_id": "m-002"})
    assert response["statusCode"] == 409
    assert "no release is current" in body(response)["message"]
