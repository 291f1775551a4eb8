"""Failures of AWS and races between callers: the record survives, the pointer never lies, one caller wins."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from .helpers import REGION, Inject, Region, body

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


RECORD = "migrations/m-001/metadata.json"


def finishing_and_releasing(aws: Region, record: str, outage: dict[str, bool]) -> Any:
    """During the outage: the finishing write of ``record`` and the lock's release both fail."""

    def hit(params: dict[str, Any]) -> bool:
        finishing = params.get("Key") == record and "IfMatch" in params
        releasing = params.get("Key") == LOCK and b'"released"' in params.get("Body", b"")
        return outage["on"] and (finishing or releasing)

    return hit


def events_of(aws: Region, migration_id: str) -> list[str]:
    return [n["event"] for n in aws.notifications() if n["migration_id"] == migration_id]


def test_a_record_left_in_progress_after_the_pointer_moved_is_completed_by_the_replay(
    aws: Region, fail: Inject
) -> None:
    manifest, outage = aws.release("r1"), {"on": True}
    fail("s3", "PutObject", aws_error("InternalError", "PutObject"), when=finishing_and_releasing(aws, RECORD, outage))
    first = migrate(aws, "m-001", manifest)
    assert first["statusCode"] == 500
    assert body(first)["message"].startswith("release r1 is current, but recording the outcome")
    assert (aws.doc(RECORD)["state"], aws.doc(LOCK)["state"]) == ("in_progress", "held")
    assert events_of(aws, "m-001") == ["migration.started"]
    outage["on"] = False
    replay = migrate(aws, "m-001", manifest)
    result = body(replay)
    assert (replay["statusCode"], result["outcome"]) == (200, "noop")
    assert result["result"]["notification"].startswith("finish: sent (late")
    assert aws.doc(RECORD)["state"] == "succeeded"
    assert events_of(aws, "m-001") == ["migration.started", "migration.succeeded"]


def test_status_completes_a_record_the_pointer_proves_finished_and_sends_the_missed_notification_once(
    aws: Region, fail: Inject
) -> None:
    outage = {"on": True}
    fail("s3", "PutObject", aws_error("InternalError", "PutObject"), when=finishing_and_releasing(aws, RECORD, outage))
    migrate(aws, "m-001", aws.release("r1"))
    outage["on"] = False
    first = body(aws.invoke({"action": "status", "migration_id": "m-001"}))
    assert first["result"]["record"]["state"] == "succeeded"
    assert first["result"]["completed_late"] == ["migration finish: sent"]
    again = body(aws.invoke({"action": "status", "migration_id": "m-001"}))
    assert "completed_late" not in again["result"]
    assert aws.doc(RECORD)["state"] == "succeeded"
    assert events_of(aws, "m-001") == ["migration.started", "migration.succeeded"]


def test_the_next_migration_completes_a_record_left_behind_before_moving_the_pointer_on(
    aws: Region, fail: Inject
) -> None:
    outage = {"on": True}
    fail("s3", "PutObject", aws_error("InternalError", "PutObject"), when=finishing_and_releasing(aws, RECORD, outage))
    migrate(aws, "m-001", aws.release("r1"))
    outage["on"] = False
    aws.put_json(LOCK, {"state": "released", "owner": "migrate m-001"})  # its lock expired meanwhile
    assert migrate(aws, "m-002", aws.release("r2"))["statusCode"] == 200
    assert aws.doc(RECORD)["state"] == "succeeded"
    assert events_of(aws, "m-001") == ["migration.started", "migration.succeeded"]


def test_a_rollback_left_in_progress_after_the_pointer_moved_is_completed_by_its_retry(
    aws: Region, fail: Inject
) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    migrate(aws, "m-002", aws.release("r2"))
    undo, outage = "rollbacks/m-002/rollback.json", {"on": True}
    fail("s3", "PutObject", aws_error("InternalError", "PutObject"), when=finishing_and_releasing(aws, undo, outage))
    first = aws.invoke({"action": "rollback", "migration_id": "m-002"})
    assert first["statusCode"] == 500
    assert body(first)["message"].startswith("release r1 is current again, but recording the outcome")
    assert aws.doc(undo)["state"] == "in_progress"
    outage["on"] = False
    retried = aws.invoke({"action": "rollback", "migration_id": "m-002"})
    result = body(retried)
    assert (retried["statusCode"], result["outcome"]) == (200, "noop")
    assert "already rolled back" in result["message"]
    assert aws.doc(undo)["state"] == "succeeded"
    assert [e for e in events_of(aws, "m-002") if e.startswith("rollback")] == [
        "rollback.started",
        "rollback.succeeded",
    ]


def test_an_artifact_overwritten_during_the_promotion_is_pinned_at_the_version_verified(
    aws: Region, fail: Inject
) -> None:
    manifest = aws.release("r1", count=1)

    def overwrite(_: dict[str, Any]) -> None:
        aws.put("artifacts/r1/part-0.bin", b"swapped in after verification")

    fail("s3", "PutObject", None, when=is_pointer, before=overwrite)
    assert migrate(aws, "m-001", manifest)["statusCode"] == 200
    pinned = aws.doc(POINTER)["artifacts"][0]
    latest = aws.s3.head_object(Bucket=aws.bucket, Key=pinned["key"])["VersionId"]
    assert pinned["version_id"] != latest
    stored = aws.s3.get_object(Bucket=aws.bucket, Key=pinned["key"], VersionId=pinned["version_id"])
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == pinned["sha256"]


def test_a_bucket_without_versioning_cannot_pin_a_release_and_nothing_is_written(
    aws: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = aws.bucket + "-plain"
    aws.s3.create_bucket(Bucket=plain, CreateBucketConfiguration={"LocationConstraint": REGION})
    data = b"r1"
    aws.s3.put_object(Bucket=plain, Key="artifacts/r1/app.tar.gz", Body=data)
    doc = {
        "release": "r1",
        "artifacts": [{"key": "artifacts/r1/app.tar.gz", "sha256": hashlib.sha256(data).hexdigest()}],
    }
    aws.s3.put_object(Bucket=plain, Key="artifacts/manifests/r1.json", Body=json.dumps(doc).encode())
    monkeypatch.setenv("TAPSTACK_DEPLOYMENT_BUCKET", plain)
    response = migrate(aws, "m-001", "artifacts/manifests/r1.json")
    assert response["statusCode"] == 500
    assert "has no S3 version id" in body(response)["message"]
    assert "enable versioning on the deployment bucket" in body(response)["message"]
    listed = aws.s3.list_objects_v2(Bucket=plain)["Contents"]
    assert {o["Key"] for o in listed} == {"artifacts/r1/app.tar.gz", "artifacts/manifests/r1.json"}
