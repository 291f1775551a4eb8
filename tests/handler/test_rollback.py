"""rollback: the release a migration replaced is current again, once, and only from the right state."""

from __future__ import annotations

from typing import Any

from .helpers import Region, body

POINTER = "releases/current.json"


def migrate(aws: Region, migration_id: str, release: str) -> None:
    response = aws.invoke({"action": "migrate", "migration_id": migration_id, "manifest_key": aws.release(release)})
    assert response["statusCode"] == 200, response


def rollback(aws: Region, migration_id: str) -> dict[str, Any]:
    return aws.invoke({"action": "rollback", "migration_id": migration_id})


def test_rollback_makes_the_previous_release_current_again(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    response = rollback(aws, "m-002")
    assert response["statusCode"] == 200
    assert body(response)["outcome"] == "success"
    pointer = aws.read(POINTER)
    assert pointer is not None
    assert (pointer["release"], pointer["migration_id"], pointer["restored_by"]) == (
        "r1",
        "m-001",
        "rollback m-002",
    )


def test_rollback_writes_its_record(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    rollback(aws, "m-002")
    record = aws.read("rollbacks/m-002/rollback.json")
    assert record is not None
    assert record["state"] == "succeeded"
    assert (record["rolled_back"]["release"], record["restored"]["release"]) == ("r2", "r1")


def test_rollback_publishes_its_start_and_its_success(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    rollback(aws, "m-002")
    events = [(n["event"], n["release"]) for n in aws.notifications() if n["event"].startswith("rollback")]
    assert events == [("rollback.started", "r1"), ("rollback.succeeded", "r1")]


def test_a_second_rollback_of_the_same_id_is_a_noop_that_says_so(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    rollback(aws, "m-002")
    versions = aws.versions()
    again = rollback(aws, "m-002")
    result = body(again)
    assert again["statusCode"] == 200
    assert result["outcome"] == "noop"
    assert "already rolled back" in result["message"]
    assert "nothing changed" in result["message"]
    assert aws.versions() == versions


def test_rolling_back_an_unknown_id_is_404_and_writes_nothing(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    versions = aws.versions()
    response = rollback(aws, "m-404")
    assert response["statusCode"] == 404
    assert body(response)["field"] == "migration_id"
    assert "m-404 is unknown" in body(response)["message"]
    assert aws.versions() == versions


def test_rolling_back_a_release_that_is_not_current_is_409_with_the_way_out(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    migrate(aws, "m-003", "r3")
    versions = aws.versions()
    response = rollback(aws, "m-002")
    result = body(response)
    assert response["statusCode"] == 409
    assert "release r3 (migration m-003) is current, not release r2" in result["message"]
    assert "roll back m-003 first" in result["message"]
    assert aws.versions() == versions


def test_rolling_back_the_first_release_is_409(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    versions = aws.versions()
    response = rollback(aws, "m-001")
    assert response["statusCode"] == 409
    assert "no earlier release to restore" in body(response)["message"]
    assert aws.versions() == versions


def test_successive_rollbacks_walk_back_through_releases(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    migrate(aws, "m-003", "r3")
    assert rollback(aws, "m-003")["statusCode"] == 200
    assert rollback(aws, "m-002")["statusCode"] == 200
    assert aws.doc(POINTER)["release"] == "r1"


def test_a_migration_after_a_rollback_records_the_restored_release_as_previous(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    rollback(aws, "m-002")
    migrate(aws, "m-003", "r3")
    previous = aws.doc("migrations/m-003/metadata.json")["previous"]
    assert (previous["release"], previous["restored_by"]) == ("r1", "rollback m-002")


def test_rollback_restores_the_recorded_pointer_exactly_with_its_pinned_versions(aws: Region) -> None:
    migrate(aws, "m-001", aws.release("r1"))
    before = aws.doc(POINTER)
    for part in range(3):
        aws.put(f"artifacts/r1/part-{part}.bin", b"uploaded over r1 after it was promoted")
    migrate(aws, "m-002", aws.release("r2"))
    rollback(aws, "m-002")
    restored = aws.doc(POINTER)
    assert {k: v for k, v in restored.items() if k not in ("restored_at", "restored_by")} == before
    assert restored["artifacts"] == aws.doc("migrations/m-001/metadata.json")["artifacts"]
