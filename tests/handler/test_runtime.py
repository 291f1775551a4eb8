"""The explicit entry: ``handle(event, context, runtime)`` runs with what it is given, not with this process."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
import pytest

from tapstack.handler import clients
from tapstack.handler.app import handle
from tapstack.runtime import Runtime

from .helpers import REGION, LambdaContext, Region, body


class CountingSession:
    """A boto3 session that counts the clients made from it."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.made: list[str] = []

    def client(self, service_name: str, region_name: str | None = None, *, config: Any = None) -> Any:
        self.made.append(service_name)
        return self.session.client(service_name, region_name=region_name, config=config)


def test_settings_come_from_the_runtime_environment_not_from_the_process(
    aws: Region, capsys: pytest.CaptureFixture[str]
) -> None:
    deployed = {k: v for k, v in os.environ.items() if k != "TAPSTACK_TOPIC_ARN"}
    response = handle({"action": "status"}, LambdaContext(), Runtime(deployed, boto3.session.Session(), print))
    assert response["statusCode"] == 500, "the process has the variable; the function as deployed does not"
    assert "environment variable TAPSTACK_TOPIC_ARN" in body(response)["message"]


def test_log_lines_go_to_the_runtime_sink_and_nothing_to_stdout(
    aws: Region, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    lines: list[str] = []
    runtime = Runtime(dict(os.environ), boto3.session.Session(), lines.append)
    response = handle({"action": "rollback", "migration_id": "m-404"}, LambdaContext(), runtime)
    assert response["statusCode"] == 404
    assert [json.loads(line)["event"] for line in lines] == ["invocation"]
    assert capsys.readouterr().out == ""


def test_clients_come_from_the_runtime_session_once_and_warm_invocations_reuse_them(aws: Region) -> None:
    session = CountingSession()
    runtime = Runtime(dict(os.environ), session, lambda line: None)
    assert handle({"action": "status"}, LambdaContext(), runtime)["statusCode"] == 200
    cold = list(session.made)
    assert handle({"action": "status"}, LambdaContext(), runtime)["statusCode"] == 200
    assert "s3" in cold and len(set(cold)) == len(cold), "one client per service, from the runtime's session"
    assert session.made == cold, "the warm invocation made no client"
    other = CountingSession()
    handle({"action": "status"}, LambdaContext(), Runtime(dict(os.environ), other, lambda line: None))
    assert other.made == cold, "another session (another identity) never borrows the first one's clients"
    assert clients.client(session, "s3", REGION) is not clients.client(other, "s3", REGION)
