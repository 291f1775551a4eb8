"""`tapstack invoke` against real AWS: the function named in the outputs, called with lambda:InvokeFunction.

botocore's Stubber stands in for the Lambda API: it checks the exact request and plays back what Lambda sends.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tapstack.cli import main

OUTPUTS = {
    "primary_region": "us-east-1",
    "regions": ["us-east-1", "eu-west-1"],
    **{
        f"{code}_{key}": f"{key}-{code}"
        for code in ("use1", "euw1")
        for key in ("deployment_bucket", "function_name", "alarm_topic_arn")
    },
}


def _reply(doc: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(doc).encode()
    return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}


@pytest.fixture
def lambda_calls(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """A Lambda client whose calls the test scripts; every session the CLI makes hands out this one client."""
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="us-east-1")
    client = session.client("lambda", region_name="eu-west-1")
    stubber = Stubber(client)

    class Session:
        def __init__(self, profile_name: str | None = None) -> None:
            self.profile_name = profile_name

        def client(self, service: str, **_: Any) -> Any:
            assert service == "lambda"
            return client

    monkeypatch.setattr(boto3.session, "Session", Session)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def _outputs(tmp_path: Path) -> str:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    return str(path)


def test_invoke_calls_the_regions_function_from_the_outputs_with_the_action_and_payload(
    tmp_path: Path, lambda_calls: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {"migration_id": "m-1", "action": "status"}
    lambda_calls.add_response(
        "invoke",
        _reply({"statusCode": 200, "body": {"outcome": "success", "message": "m-1 succeeded", "result": {"a": 1}}}),
        {
            "FunctionName": "function_name-euw1",
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(event).encode(),
        },
    )
    argv = ["invoke", "status", "--region", "eu-west-1", "--payload", '{"migration_id": "m-1"}']
    assert main([*argv, "--outputs", _outputs(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "statusCode": 200,
        "body": {"outcome": "success", "message": "m-1 succeeded", "result": {"a": 1}},
    }


def test_invoke_exits_1_when_the_function_answers_an_error_status(
    tmp_path: Path, lambda_calls: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_calls.add_response(
        "invoke",
        _reply({"statusCode": 409, "body": {"outcome": "conflict", "message": "locked", "result": {}}}),
        {
            "FunctionName": "function_name-use1",
            "InvocationType": "RequestResponse",
            "Payload": b'{"action": "validate"}',
        },
    )
    assert main(["invoke", "validate", "--outputs", _outputs(tmp_path)]) == 1
    assert json.loads(capsys.readouterr().out)["statusCode"] == 409


def test_invoke_on_aws_refuses_a_region_outside_the_stack(
    tmp_path: Path, lambda_calls: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "validate", "--region", "ap-south-1", "--outputs", _outputs(tmp_path)]) == 2
    assert "region ap-south-1 is not in the stack" in capsys.readouterr().err


def test_invoke_on_aws_without_an_outputs_file_says_how_to_write_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "validate", "--outputs", str(tmp_path / "none.json")]) == 2
    assert "pulumi stack output --json" in capsys.readouterr().err


def test_invoke_on_aws_without_credentials_prints_one_line_and_no_made_up_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(key, raising=False)
    for key in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(key, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    assert main(["invoke", "validate", "--outputs", _outputs(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().count("\n") == 0 and "Unable to locate credentials" in " ".join(err.split())
