"""status: one migration's record (with its rollback) or the most recent ones, plus the current release."""

from __future__ import annotations

from .helpers import CONFIG, Region, body


def migrate(aws: Region, migration_id: str, release: str) -> None:
    response = aws.invoke({"action": "migrate", "migration_id": migration_id, "manifest_key": aws.release(release)})
    assert response["statusCode"] == 200, response


def test_status_of_one_migration_returns_its_record_and_the_current_release(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    response = aws.invoke({"action": "status", "migration_id": "m-001"})
    result = body(response)["result"]
    assert response["statusCode"] == 200
    assert result["record"] == aws.read("migrations/m-001/metadata.json")
    assert result["rollback"] is None
    assert result["current"]["release"] == "r1"


def test_status_of_a_rolled_back_migration_includes_the_rollback(aws: Region) -> None:
    migrate(aws, "m-001", "r1")
    migrate(aws, "m-002", "r2")
    aws.invoke({"action": "rollback", "migration_id": "m-002"})
    result = body(aws.invoke({"action": "status", "migration_id": "m-002"}))["result"]
    assert result["rollback"]["state"] == "succeeded"
    assert result["current"]["release"] == "r1"


def test_status_lists_the_most_recent_migrations_up_to_status_limit(aws: Region) -> None:
    aws.set_config({**CONFIG, "status_limit": 2})
    for i in range(1, 4):
        migrate(aws, f"m-00{i}", f"r{i}")
    response = aws.invoke({"action": "status"})
    result = body(response)["result"]
    assert response["statusCode"] == 200
    assert result["total"] == 3
    assert len(result["records"]) == 2
    assert [r["migration_id"] for r in result["records"]] == ["m-003", "m-002"]
    assert result["current"]["release"] == "r3"


def test_status_of_a_fresh_region_is_empty(aws: Region) -> None:
    response = aws.invoke({"action": "status"})
    assert response["statusCode"] == 200
    result = body(response)["result"]
    assert (result["records"], result["total"], result["current"]) == ([], 0, None)
    assert (result["fleet"]["asg_name"], result["fleet"]["instances"]) == (None, [])


def test_status_of_an_unknown_id_is_404(aws: Region) -> None:
    response = aws.invoke({"action": "status", "migration_id": "m-404"})
    assert response["statusCode"] == 404
    assert body(response)["field"] == "migration_id"
