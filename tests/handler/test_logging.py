"""Logs: one JSON line per invocation with what an operator filters on, and never a secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .helpers import SECRET_VALUE, Inject, Region, body


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_each_invocation_logs_one_json_line_with_its_outcome(aws: Region, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = aws.release("r1")
    capsys.readouterr()
    aws.invoke({"action": "migrate", "migration_id": "m-001", "manifest_key": manifest})
    aws.invoke({"action": "rollback", "migration_id": "m-404"})
    logged = [line for line in lines(capsys) if line["event"] == "invocation"]
    assert [(x["action"], x["migration_id"], x["outcome"], x["status"]) for x in logged] == [
        ("migrate", "m-001", "success", 200),
        ("rollback", "m-404", "not_found", 404),
    ]
    assert all(isinstance(x["duration_ms"], float) and x["duration_ms"] >= 0 for x in logged)
    assert all(x["request_id"] == "req-0001" for x in logged)


def test_a_malformed_id_is_not_echoed_into_the_logs(aws: Region, capsys: pytest.CaptureFixture[str]) -> None:
    aws.invoke({"action": "rollback", "migration_id": "x\n{forged}"})
    (line,) = lines(capsys)
    assert line["migration_id"] is None


def test_the_secret_never_appears_in_replies_or_logs(aws: Region, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = aws.release("r1")
    replies = [
        aws.invoke({"action": "validate"}),
        aws.invoke({"action": "migrate", "migration_id": "m-001", "manifest_key": manifest}),
        aws.invoke({"action": "status"}),
        aws.invoke({"action": "status", "migration_id": "m-001"}),
    ]
    assert all(r["statusCode"] == 200 for r in replies)
    assert SECRET_VALUE not in json.dumps(replies)
    assert SECRET_VALUE not in capsys.readouterr().out


def test_an_unexpected_exception_is_a_500_with_its_traceback_in_the_logs(
    aws: Region, fail: Inject, capsys: pytest.CaptureFixture[str]
) -> None:
    fail("s3", "ListObjectsV2", RuntimeError("bug"))
    response = aws.invoke({"action": "status"})
    assert response["statusCode"] == 500
    assert body(response)["message"] == "internal error (RuntimeError); see the function's logs"
    logged = lines(capsys)
    assert [x["event"] for x in logged] == ["unexpected_exception", "invocation"]
    assert "RuntimeError: bug" in logged[0]["traceback"]
    assert logged[1]["level"] == "error"


def test_only_5xx_replies_match_the_failed_replies_metric_filter(
    aws: Region, fail: Inject, capsys: pytest.CaptureFixture[str]
) -> None:
    """The infrastructure alarms on `{ ($.event = "invocation") && ($.status >= 500) }`: prove the lines fit it."""
    aws.invoke({"action": "rollback", "migration_id": "m-404"})
    fail("s3", "ListObjectsV2", RuntimeError("bug"))
    aws.invoke({"action": "status"})
    matching = [x for x in lines(capsys) if x.get("event") == "invocation" and x.get("status", 0) >= 500]
    assert [(x["action"], x["status"]) for x in matching] == [("status", 500)]
