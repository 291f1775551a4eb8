"""The rotation function, step by step, against moto; RotateSecret runs it in-process as the emulator does."""

from __future__ import annotations

import ast
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tapstack.emulator import rotation as emulator_rotation
from tapstack.rotation import app
from tapstack.rotation.app import RotationError, rotate
from tests.helpers import mocked_aws

REGION = "us-east-1"
ACCOUNT = "123456789012"
PACKAGE = Path(app.__file__).resolve().parent
INITIAL = "initial-token-value"


def _clients(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A secret whose rotation is configured with a function running tapstack.rotation in-process."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(emulator_rotation, "_clients", {})  # this test's moto only, whatever ran before
    with mocked_aws():
        emulator_rotation.install(ACCOUNT, _clients)
        role = boto3.client("iam").create_role(RoleName="rotation", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        function = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="rotation",
            Runtime="python3.12",
            Role=role,
            Handler=emulator_rotation.ROTATION_HANDLER,
            Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
        )["FunctionArn"]
        client = boto3.client("secretsmanager", region_name=REGION)
        client.create_secret(Name="token", SecretString=INITIAL)
        client.rotate_secret(SecretId="token", RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 30})
        yield client


def _stages(client: Any) -> dict[str, list[str]]:
    return dict(client.describe_secret(SecretId="token")["VersionIdsToStages"])


def _value(client: Any, stage: str = "AWSCURRENT") -> str:
    return str(client.get_secret_value(SecretId="token", VersionStage=stage)["SecretString"])


def _pending(client: Any, value: str) -> str:
    """A rotation in progress: a version labelled AWSPENDING holding ``value``."""
    token = str(uuid.uuid4())
    client.put_secret_value(
        SecretId="token", ClientRequestToken=token, SecretString=value, VersionStages=["AWSPENDING"]
    )
    return token


def _event(step: str, token: str) -> dict[str, str]:
    return {"Step": step, "SecretId": "token", "ClientRequestToken": token}


def test_rotate_secret_promotes_a_fresh_well_formed_token_and_keeps_the_old_one_as_previous(sm: Any) -> None:
    current = _value(sm)
    assert current != INITIAL and app.TOKEN_PATTERN.fullmatch(current)
    assert _value(sm, "AWSPREVIOUS") == INITIAL
    assert sm.describe_secret(SecretId="token")["RotationEnabled"] is True


def test_create_secret_puts_a_pending_token_once(sm: Any) -> None:
    token = str(uuid.uuid4())
    assert app.create_pending(sm, "token", token) == "pending value created"
    first = _value(sm, "AWSPENDING")
    assert app.TOKEN_PATTERN.fullmatch(first) and first != _value(sm)
    assert rotate(_event("createSecret", token), sm, log=lambda line: None) == "pending value already present"
    assert _value(sm, "AWSPENDING") == first, "a retried createSecret must not replace the pending token"


def test_set_secret_changes_nothing_because_nothing_holds_a_copy(sm: Any) -> None:
    token = _pending(sm, app.new_token())
    before = _stages(sm)
    assert rotate(_event("setSecret", token), sm, log=lambda line: None) == "nothing holds a copy of the token"
    assert _stages(sm) == before


@pytest.mark.parametrize(
    ("pending", "message"),
    [("not a token", "is not a well-formed token"), (None, "repeats the current token")],
)
def test_test_secret_refuses_a_bad_pending_value_and_current_stays(sm: Any, pending: str | None, message: str) -> None:
    current = _value(sm)
    token = _pending(sm, current if pending is None else pending)
    with pytest.raises(RotationError, match=message):
        rotate(_event("testSecret", token), sm, log=lambda line: None)
    assert _value(sm) == current


def test_finish_secret_moves_current_to_the_pending_version_once(sm: Any) -> None:
    fresh = app.new_token()
    old = _value(sm)
    token = _pending(sm, fresh)
    lines: list[str] = []
    assert rotate(_event("finishSecret", token), sm, log=lines.append) == "promoted to AWSCURRENT"
    assert (_value(sm), _value(sm, "AWSPREVIOUS")) == (fresh, old)
    assert rotate(_event("finishSecret", token), sm, log=lines.append) == "already current"
    assert fresh not in "".join(lines) and old not in "".join(lines), "log lines never carry a token"


def test_a_version_that_is_not_pending_is_refused(sm: Any) -> None:
    token = str(uuid.uuid4())
    sm.put_secret_value(SecretId="token", ClientRequestToken=token, SecretString=app.new_token(), VersionStages=["X"])
    with pytest.raises(RotationError, match="is not AWSPENDING"):
        rotate(_event("createSecret", token), sm, log=lambda line: None)


@pytest.mark.parametrize(
    "event",
    [{"Step": "dropSecret", "SecretId": "token", "ClientRequestToken": "t"}, {"Step": "createSecret"}],
)
def test_an_event_that_is_not_a_rotation_step_is_refused(sm: Any, event: dict[str, str]) -> None:
    with pytest.raises(RotationError, match="not a rotation event"):
        rotate(event, sm, log=lambda line: None)


def test_a_secret_without_rotation_is_refused(sm: Any) -> None:
    sm.create_secret(Name="other", SecretString="x")
    with pytest.raises(RotationError, match="rotation is not enabled"):
        rotate({"Step": "createSecret", "SecretId": "other", "ClientRequestToken": "t"}, sm, log=lambda line: None)


def test_a_failed_step_is_reported_as_lambda_reports_an_unhandled_error(sm: Any) -> None:
    headers: dict[str, Any] = {}
    reply = emulator_rotation.run(_clients, REGION, "rotation", {"Step": "dropSecret"}, headers)
    assert headers["x-amz-function-error"] == "Unhandled"
    assert '"errorType": "RotationError"' in reply


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_the_package_imports_only_the_standard_library_and_boto3(module: str) -> None:
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore"}
    for node in ast.walk(ast.parse((PACKAGE / module).read_text())):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots = {(node.module or "").split(".")[0]}
        else:
            continue
        assert roots <= allowed, f"{module}:{node.lineno} imports {sorted(roots - allowed)}"
