"""Staged migrations: the pointer keeps the region's release for everyone else, and rollback returns every cohort."""

from __future__ import annotations

from tapstack.contract import POINTER_KEY, ROLLOUT

from .helpers import Region, body


def _migrate(aws: Region, mid: str, release: str, cohort: dict[str, object] | None = None) -> dict[str, object]:
    event = {"action": "migrate", "migration_id": mid, "manifest_key": aws.release(release)}
    response = aws.invoke({**event, **({"cohort": cohort} if cohort else {})})
    assert response["statusCode"] == 200, response
    return body(response)


def test_a_staged_migration_keeps_the_old_release_at_the_top_for_agents_that_know_no_cohorts(aws: Region) -> None:
    _migrate(aws, "m-1", "r1")
    reply = _migrate(aws, "m-2", "r2", {"stage": "one_box", "percent": 1, "bound": 1000})
    pointer = aws.read(POINTER_KEY)
    assert pointer is not None
    assert (pointer["release"], pointer["migration_id"]) == ("r1", "m-1")
    assert {k: pointer[ROLLOUT][k] for k in ("release", "migration_id", "stage", "bound")} == {
        "release": "r2",
        "migration_id": "m-2",
        "stage": "one_box",
        "bound": 1000,
    }
    assert reply["result"]["record"]["stage"] == {"name": "one_box", "percent": 1.0}
    assert "one_box cohort" in str(reply["message"])
    status = body(aws.invoke({"action": "status"}))
    assert "release r1 is current (release r2 staged to its one_box cohort, 1.0%)" in status["message"]


def test_the_full_stage_makes_the_release_everyones_and_status_shows_each_stage(aws: Region) -> None:
    _migrate(aws, "m-1", "r1")
    _migrate(aws, "m-2", "r2", {"stage": "batch", "percent": 25})
    _migrate(aws, "m-3", "r2", {"stage": "all", "percent": 100})
    pointer = aws.read(POINTER_KEY)
    assert pointer is not None and ROLLOUT not in pointer and pointer["release"] == "r2"
    status = body(aws.invoke({"action": "status", "migration_id": "m-2"}))
    assert status["result"]["record"]["stage"] == {"name": "batch", "percent": 25.0}
    assert aws.doc("migrations/m-3/metadata.json")["previous"]["release"] == "r1"


def test_rolling_back_a_staged_migration_returns_every_cohort_to_the_previous_release(aws: Region) -> None:
    _migrate(aws, "m-1", "r1")
    _migrate(aws, "m-2", "r2", {"stage": "one_box", "percent": 1, "bound": 1000})
    _migrate(aws, "m-3", "r2", {"stage": "batch", "percent": 50})
    assert aws.invoke({"action": "rollback", "migration_id": "m-2"})["statusCode"] == 409, "m-3 moved it since"
    response = aws.invoke({"action": "rollback", "migration_id": "m-3"})
    assert response["statusCode"] == 200, response
    assert "from every cohort" in body(response)["message"]
    pointer = aws.read(POINTER_KEY)
    assert pointer is not None and ROLLOUT not in pointer
    assert (pointer["release"], pointer["migration_id"]) == ("r1", "m-1")


def test_a_cohort_outside_its_range_is_refused_and_nothing_is_written(aws: Region) -> None:
    _migrate(aws, "m-1", "r1")
    key = aws.release("r2")
    refused = (
        {"stage": "half", "percent": 50},
        {"stage": "batch", "percent": 0},
        {"stage": "batch"},
        {"stage": "all", "percent": 50},
        {"stage": "batch", "percent": 25, "bound": -1},
    )
    for cohort in refused:
        response = aws.invoke({"action": "migrate", "migration_id": "m-2", "manifest_key": key, "cohort": cohort})
        assert response["statusCode"] == 400 and body(response)["field"] == "cohort", cohort
    assert aws.read("migrations/m-2/metadata.json") is None
