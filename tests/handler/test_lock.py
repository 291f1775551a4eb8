"""The release lock: exclusive through conditional puts, given back without DeleteObject, freed by expiry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import Inject, Region, body

LOCK = "locks/release-pointer.json"


def held(owner: str, expires: datetime | str) -> dict[str, Any]:
    when = expires.isoformat() if isinstance(expires, datetime) else expires
    return {
        "state": "held",
        "owner": owner,
        "token": "secret-token",
        "acquired_at": "earlier",
        "expires_at": when,
    }


def migrate(aws: Region, migration_id: str = "m-001") -> dict[str, Any]:
    return aws.invoke({"action": "migrate", "migration_id": migration_id, "manifest_key": aws.release("r1")})


def test_a_live_lock_refuses_a_migration_and_nothing_is_written(aws: Region) -> None:
    aws.release("r1")
    aws.put_json(LOCK, held("migrate m-other", datetime.now(UTC) + timedelta(minutes=1)))
    versions = aws.versions()
    response = aws.invoke({"action": "migrate", "migration_id": "m-001", "manifest_key": "artifacts/manifests/r1.json"})
    result = body(response)
    assert response["statusCode"] == 409
    assert result["message"].startswith("migrate m-other holds this region's release lock")
    assert result["result"]["lock"]["owner"] == "migrate m-other"
    assert "token" not in result["result"]["lock"]
    assert aws.versions() == versions


def test_a_live_lock_also_refuses_a_rollback(aws: Region) -> None:
    migrate(aws, "m-001")
    aws.invoke({"action": "migrate", "migration_id": "m-002", "manifest_key": aws.release("r2")})
    aws.put_json(LOCK, held("migrate m-003", datetime.now(UTC) + timedelta(minutes=1)))
    response = aws.invoke({"action": "rollback", "migration_id": "m-002"})
    assert response["statusCode"] == 409
    assert aws.doc("releases/current.json")["release"] == "r2"


def test_an_expired_lock_of_a_crashed_holder_is_taken_over(aws: Region) -> None:
    aws.put_json(LOCK, held("migrate m-crashed", datetime.now(UTC) - timedelta(minutes=5)))
    assert migrate(aws)["statusCode"] == 200
    assert aws.doc(LOCK)["owner"] == "migrate m-001"


def test_a_lock_with_an_unreadable_expiry_is_taken_over(aws: Region) -> None:
    aws.put_json(LOCK, held("migrate m-old", "sometime"))
    assert migrate(aws)["statusCode"] == 200


def test_losing_the_race_for_the_lock_is_a_409(aws: Region, fail: Inject) -> None:
    """Another caller's lock lands between our read (no lock) and our conditional create."""
    rival = held("migrate m-rival", datetime.now(UTC) + timedelta(minutes=1))
    fail(
        "s3",
        "PutObject",
        None,
        when=lambda p: p["Key"] == LOCK and b'"held"' in p["Body"],
        before=lambda _: aws.put_json(LOCK, rival),
    )
    response = migrate(aws)
    assert response["statusCode"] == 409
    assert "took this region's release lock at the same moment" in body(response)["message"]
    assert aws.read(LOCK) == rival
    assert aws.keys("migrations/") == set()


def test_a_lock_that_cannot_be_given_back_does_not_fail_the_migration(
    aws: Region, fail: Inject, capsys: pytest.CaptureFixture[str]
) -> None:
    outage = ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, "PutObject")
    fail("s3", "PutObject", outage, when=lambda p: p["Key"] == LOCK and b'"released"' in p["Body"])
    response = migrate(aws)
    assert response["statusCode"] == 200
    lock = aws.read(LOCK)
    assert lock is not None
    assert lock["state"] == "held"
    assert datetime.fromisoformat(lock["expires_at"]) < datetime.now(UTC) + timedelta(seconds=91)
    events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    assert "lock_release_failed" in events


def test_a_holder_whose_lock_was_taken_over_does_not_release_the_new_holder(aws: Region, fail: Inject) -> None:
    successor = held("migrate m-next", datetime.now(UTC) + timedelta(minutes=1))
    fail(
        "s3",
        "PutObject",
        None,
        when=lambda p: p["Key"] == LOCK and b'"released"' in p["Body"],
        before=lambda _: aws.put_json(LOCK, successor),
    )
    assert migrate(aws)["statusCode"] == 200
    assert aws.read(LOCK) == successor
