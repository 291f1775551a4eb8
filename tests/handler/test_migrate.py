"""migrate: a verified manifest becomes the current release, exactly once per migration id."""

from __future__ import annotations

import hashlib
from typing import Any

from .helpers import Region, body

POINTER = "releases/current.json"


def migrate(aws: Region, migration_id: str, manifest_key: str) -> dict[str, Any]:
    return aws.invoke({"action": "migrate", "migration_id": migration_id, "manifest_key": manifest_key})


def test_the_first_migration_makes_its_release_current(aws: Region) -> None:
    response = migrate(aws, "m-001", aws.release("r1"))
    result = body(response)
    assert response["statusCode"] == 200
    assert result["outcome"] == "success"
    assert result["migration_id"] == "m-001"
    pointer = aws.read(POINTER)
    assert pointer is not None
    assert (pointer["release"], pointer["migration_id"], pointer["manifest_key"]) == (
        "r1",
        "m-001",
        "artifacts/manifests/r1.json",
    )


def test_a_migration_writes_its_record_with_no_previous_release_the_first_time(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1", count=4))
    record = aws.read("migrations/m-001/metadata.json")
    assert record is not None
    assert record["state"] == "succeeded"
    assert record["previous"] is None
    assert (record["release"], record["artifact_count"], record["error"]) == ("r1", 4, None)


def test_a_migration_records_the_release_it_replaced_as_previous(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    before = aws.read(POINTER)
    response = migrate(aws, "m-002", aws.release("r2"))
    assert response["statusCode"] == 200
    assert body(response)["result"]["record"]["previous"] == before
    assert aws.doc("migrations/m-002/metadata.json")["previous"] == before
    assert aws.doc(POINTER)["release"] == "r2"


def test_a_migration_publishes_its_start_and_its_success(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    response = migrate(aws, "m-002", aws.release("r2"))
    assert body(response)["result"]["notification"] == "sent"
    mine = [n for n in aws.notifications() if n["migration_id"] == "m-002"]
    assert [(n["event"], n["release"], n["previous_release"]) for n in mine] == [
        ("migration.started", "r2", "r1"),
        ("migration.succeeded", "r2", "r1"),
    ]


def test_the_same_id_twice_returns_the_recorded_result_and_promotes_nothing(aws: Region) -> None:
    first = migrate(aws, "m-001", aws.release("r1"))
    migrate(aws, "m-002", aws.release("r2"))
    versions, published = aws.versions(), len(aws.notifications())
    again = migrate(aws, "m-001", "artifacts/manifests/r1.json")
    result = body(again)
    assert again["statusCode"] == 200
    assert result["outcome"] == "noop"
    assert "nothing was promoted again" in result["message"]
    assert result["result"]["record"] == body(first)["result"]["record"]
    assert aws.doc(POINTER)["release"] == "r2"
    assert aws.versions() == versions
    assert len(aws.notifications()) == published


def test_reusing_an_id_for_another_manifest_is_a_conflict(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    other = aws.release("r2")
    versions = aws.versions()
    response = migrate(aws, "m-001", other)
    result = body(response)
    assert response["statusCode"] == 409
    assert result["field"] == "migration_id"
    assert "already used for manifest artifacts/manifests/r1.json" in result["message"]
    assert aws.versions() == versions


def test_the_release_lock_is_given_back_after_a_migration(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    lock = aws.read("locks/release-pointer.json")
    assert lock is not None
    assert (lock["state"], lock["owner"]) == ("released", "migrate m-001")
    assert migrate(aws, "m-002", aws.release("r2"))["statusCode"] == 200


def test_extra_manifest_fields_are_accepted(aws: Region) -> None:
    aws.put_json(
        "artifacts/manifests/r9.json",
        {
            "release": "r9",
            "built_by": "ci",
            "artifacts": [
                {
                    "key": "artifacts/r9/a.bin",
                    "sha256": "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB",
                    "size": 1,
                }
            ],
        },
    )
    aws.put("artifacts/r9/a.bin", b"a")
    response = migrate(aws, "m-009", "artifacts/manifests/r9.json")
    assert response["statusCode"] == 200, body(response)["message"]


def test_the_pointer_and_the_record_pin_each_artifact_to_the_version_that_was_verified(aws: Region) -> None:
    manifest = aws.release("r1", count=2)
    migrate(aws, "m-001", manifest)
    latest = {
        key: aws.s3.head_object(Bucket=aws.bucket, Key=key)["VersionId"]
        for key in ("artifacts/r1/part-0.bin", "artifacts/r1/part-1.bin")
    }
    pointer, record = aws.doc(POINTER), aws.doc("migrations/m-001/metadata.json")
    assert {a["key"]: a["version_id"] for a in pointer["artifacts"]} == latest
    assert pointer["artifacts"] == record["artifacts"]
    manifest_version = aws.s3.head_object(Bucket=aws.bucket, Key=manifest)["VersionId"]
    assert pointer["manifest_version_id"] == record["manifest_version_id"] == manifest_version
    for artifact in pointer["artifacts"]:
        stored = aws.s3.get_object(Bucket=aws.bucket, Key=artifact["key"], VersionId=artifact["version_id"])
        assert hashlib.sha256(stored["Body"].read()).hexdigest() == artifact["sha256"]


def test_an_artifact_overwritten_after_promotion_does_not_change_what_the_pointer_pins(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1", count=1))
    pinned = aws.doc(POINTER)["artifacts"][0]
    aws.put(pinned["key"], b"replaced after the release was promoted")
    assert aws.doc(POINTER)["artifacts"][0] == pinned
    stored = aws.s3.get_object(Bucket=aws.bucket, Key=pinned["key"], VersionId=pinned["version_id"])
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == pinned["sha256"]


def test_a_rolled_back_id_migrated_again_is_a_409_naming_the_rollback(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    migrate(aws, "m-002", aws.release("r2"))
    assert aws.invoke({"action": "rollback", "migration_id": "m-002"})["statusCode"] == 200
    versions = aws.versions()
    response = migrate(aws, "m-002", "artifacts/manifests/r2.json")
    result = body(response)
    assert response["statusCode"] == 409
    assert (result["outcome"], result["field"]) == ("conflict", "migration_id")
    assert "rollback m-002 restored release r1" in result["message"]
    assert "release r2 is not current" in result["message"]
    assert result["result"]["rollback"]["state"] == "succeeded"
    assert aws.doc(POINTER)["release"] == "r1"
    assert aws.versions() == versions
