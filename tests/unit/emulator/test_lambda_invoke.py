"""Lambda Invoke in the emulator runs the deployed function's code in-process, for any client (boto3 here)."""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tapstack.emulator import lambda_invoke
from tapstack.emulator.server import Emulator

from . import lambda_probe

REGION = "us-east-1"
PROBE = Path(lambda_probe.__file__).parent
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in sorted(files.items()):
            zf.writestr(name, body)
    return buffer.getvalue()


PROBE_CODE = {f"probe/{p.name}": p.read_bytes() for p in PROBE.glob("*.py")}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(lambda_invoke.IN_PROCESS, "probe.app.handler", lambda_probe.__name__)
        patch.setitem(lambda_invoke.IN_PROCESS, "probe.bare.handler", lambda_probe.__name__)
        with Emulator.start() as started:
            yield started


@pytest.fixture(scope="module")
def role(emulator: Emulator) -> str:
    iam = emulator.client("iam", REGION)
    return str(iam.create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"])


_created = 0


def function(
    emulator: Emulator, role: str, *, code: dict[str, bytes] = PROBE_CODE, region: str = REGION, **extra: Any
) -> str:
    """A new function (a name of its own per test) running the probe's handler unless told otherwise."""
    global _created
    _created += 1
    name = f"probe-{_created}"
    emulator.client("lambda", region).create_function(
        **{
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": role,
            "Handler": "probe.app.handler",
            "Code": {"ZipFile": archive(code)},
            "Timeout": 10,
            **extra,
        }
    )
    return name


def invoke(
    emulator: Emulator, name: str, event: dict[str, Any], region: str = REGION, **extra: Any
) -> tuple[dict[str, Any], Any]:
    reply = emulator.client("lambda", region).invoke(FunctionName=name, Payload=json.dumps(event).encode(), **extra)
    body = reply["Payload"].read()
    return reply, json.loads(body) if body else None


def test_invoke_runs_the_handler_on_the_payload_with_its_environment_and_its_role(
    emulator: Emulator, role: str
) -> None:
    name = function(emulator, role, Environment={"Variables": {"PROBE_GREETING": "hello"}})
    reply, answer = invoke(emulator, name, {"action": "report", "n": 7})
    assert "FunctionError" not in reply
    assert answer["event"] == {"action": "report", "n": 7}
    assert (answer["greeting"], answer["region"], answer["function"]) == ("hello", REGION, name)
    account = emulator.account_id
    assert answer["caller"] == f"arn:aws:sts::{account}:assumed-role/probe/{name}", "acts as its execution role"
    assert 0 < answer["remaining_ms"] <= 10_000, "the context counts down the function's own timeout"


def test_a_handler_that_raises_answers_function_error_unhandled_with_the_error_document(
    emulator: Emulator, role: str
) -> None:
    reply, answer = invoke(emulator, function(emulator, role), {"action": "raise"})
    assert reply["FunctionError"] == "Unhandled"
    assert (answer["errorType"], answer["errorMessage"]) == ("ValueError", "the probe was asked to fail")
    assert any("app.py" in frame for frame in answer["stackTrace"])


def test_a_handler_past_its_timeout_answers_task_timed_out_when_the_timeout_ends(emulator: Emulator, role: str) -> None:
    name = function(emulator, role, Timeout=1)
    started = time.monotonic()
    reply, answer = invoke(emulator, name, {"action": "sleep", "seconds": 2.5})
    waited = time.monotonic() - started
    assert reply["FunctionError"] == "Unhandled"
    assert answer["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert 1.0 <= waited < 2.4, f"answered after {waited:.2f}s, not at the 1 s timeout"


def test_the_log_lines_go_to_the_log_group_and_the_tail_to_the_caller(emulator: Emulator, role: str) -> None:
    name = function(emulator, role)
    logs = emulator.client("logs", REGION)
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
    reply, _ = invoke(emulator, name, {"action": "report"}, LogType="Tail")
    assert "probe invoked with report" in base64.b64decode(reply["LogResult"]).decode()
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    assert [e["message"] for e in events] == ["probe invoked with report"]


def test_an_event_invocation_answers_202_at_once_and_runs_the_handler(emulator: Emulator, role: str) -> None:
    name = function(emulator, role)
    logs = emulator.client("logs", REGION)
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
    reply = emulator.client("lambda", REGION).invoke(
        FunctionName=name, InvocationType="Event", Payload=b'{"action": "later"}'
    )
    assert reply["StatusCode"] == 202
    deadline = time.monotonic() + 5
    while not logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]:
        assert time.monotonic() < deadline, "the handler never ran"
        time.sleep(0.05)


def test_code_other_than_the_installed_package_is_refused_as_a_function_error(emulator: Emulator, role: str) -> None:
    changed = {**PROBE_CODE, "probe/app.py": b"def handler(event, context):\n    return 'not the installed code'\n"}
    reply, answer = invoke(emulator, function(emulator, role, code=changed), {})
    assert reply["FunctionError"] == "Unhandled"
    assert "is not the installed" in answer["errorMessage"] and "docker" not in json.dumps(answer).lower()


def test_a_handler_the_emulator_cannot_run_is_a_function_error_naming_those_it_runs(
    emulator: Emulator, role: str
) -> None:
    name = function(emulator, role, code={"index.py": b"def handler(e, c): return 1\n"}, Handler="index.handler")
    reply, answer = invoke(emulator, name, {})
    assert reply["FunctionError"] == "Unhandled"
    assert (
        "handler.app.handler" in answer["errorMessage"]
        and "'index.handler' is not one of them" in answer["errorMessage"]
    )


def test_a_payload_that_is_not_json_is_refused_before_anything_runs(emulator: Emulator, role: str) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        emulator.client("lambda", REGION).invoke(FunctionName=function(emulator, role), Payload=b"{not json")
    assert refused.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_each_function_acts_as_its_own_role_whichever_ran_before(emulator: Emulator, role: str) -> None:
    iam = emulator.client("iam", REGION)
    other = iam.create_role(RoleName="probe-other", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    first, second = function(emulator, role), function(emulator, other)
    for name, role_name in ((first, "probe"), (second, "probe-other"), (first, "probe")):
        _, answer = invoke(emulator, name, {"action": "report"})
        assert answer["caller"].endswith(f":assumed-role/{role_name}/{name}")


def test_a_function_module_without_the_explicit_entry_is_refused_and_nothing_runs(
    emulator: Emulator, role: str
) -> None:
    reply, answer = invoke(emulator, function(emulator, role, Handler="probe.bare.handler"), {})
    assert reply["FunctionError"] == "Unhandled"
    assert "has no explicit entry handle(event, context, runtime)" in answer["errorMessage"]


def test_an_invocation_changes_nothing_process_wide_while_it_runs(emulator: Emulator, role: str) -> None:
    name = function(emulator, role, Environment={"Variables": {"PROBE_GREETING": "hello"}})
    before = (dict(os.environ), boto3.DEFAULT_SESSION, sys.stdout)
    running = threading.Thread(target=invoke, args=(emulator, name, {"action": "sleep", "seconds": 0.6}))
    running.start()
    time.sleep(0.3)
    during = (dict(os.environ), boto3.DEFAULT_SESSION, sys.stdout)
    running.join()
    assert during == before, "the environment, boto3's default session and stdout stay the process's own"
    assert "PROBE_GREETING" not in during[0]


def test_two_functions_of_different_regions_and_roles_run_side_by_side_each_with_its_own_runtime(
    emulator: Emulator, role: str
) -> None:
    """Both wait for each other inside their handler (``meet``): run one at a time, the first would time out."""
    iam = emulator.client("iam", REGION)
    other = iam.create_role(RoleName="probe-side", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    east = function(emulator, role, Environment={"Variables": {"PROBE_GREETING": "east"}})
    west = function(emulator, other, region="eu-west-1", Environment={"Variables": {"PROBE_GREETING": "west"}})
    answers: dict[str, tuple[dict[str, Any], Any]] = {}

    def call(name: str, region: str) -> None:
        answers[name] = invoke(emulator, name, {"action": "meet"}, region=region, LogType="Tail")

    callers = [threading.Thread(target=call, args=args) for args in ((east, REGION), (west, "eu-west-1"))]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    account = emulator.account_id
    for name, region, greeting, role_name in (
        (east, REGION, "east", "probe"),
        (west, "eu-west-1", "west", "probe-side"),
    ):
        reply, answer = answers[name]
        assert "FunctionError" not in reply, answer
        assert (answer["greeting"], answer["region"], answer["function"]) == (greeting, region, name)
        assert answer["caller"] == f"arn:aws:sts::{account}:assumed-role/{role_name}/{name}"
        assert base64.b64decode(reply["LogResult"]).decode() == f"probe invoked with meet for {greeting}\n"
