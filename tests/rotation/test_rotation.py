"""The rotation function, step by step, in the emulator, where RotateSecret runs the deployed code in-process."""

from __future__ import annotations

import ast
import io
import json
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tapstack.components.secrets import rotation_files
from tapstack.emulator.server import Emulator
from tapstack.rotation import app
from tapstack.rotation.app import RotationError, rotate
from tests.helpers import run_from_archive

REGION = "us-east-1"
PACKAGE = Path(app.__file__).resolve().parent
INITIAL = "initial-token-value"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def rotation_archive() -> bytes:
    """The rotation package at the archive's root, as the program ships it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for module in sorted(PACKAGE.glob("*.py")):
            archive.writestr(f"rotation/{module.name}", module.read_bytes())
    return buffer.getvalue()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator.start() as started:
        yield started


@pytest.fixture
def sm(emulator: Emulator) -> Any:
    """A secret whose rotation is configured with the rotation function, whose code the emulator runs."""
    role = emulator.client("iam", REGION).create_role(RoleName="rotation", AssumeRolePolicyDocument=json.dumps(TRUST))
    function = emulator.client("lambda", REGION).create_function(
        FunctionName="rotation",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="rotation.app.handler",
        Code={"ZipFile": rotation_archive()},
    )["FunctionArn"]
    client = emulator.client("secretsmanager", REGION)
    client.create_secret(Name="token", SecretString=INITIAL)
    client.rotate_secret(SecretId="token", RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 30})
    return client


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


def test_a_failed_step_is_reported_as_lambda_reports_an_unhandled_error(sm: Any, emulator: Emulator) -> None:
    event = {"Step": "dropSecret", "SecretId": "token", "ClientRequestToken": "t"}
    reply = emulator.client("lambda", REGION).invoke(FunctionName="rotation", Payload=json.dumps(event).encode())
    assert reply["FunctionError"] == "Unhandled"
    document = json.loads(reply["Payload"].read())
    assert document["errorType"] == "RotationError"
    assert document["errorMessage"].startswith("not a rotation event")


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_the_package_imports_only_the_standard_library_boto3_and_the_runtime(module: str) -> None:
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "tapstack.runtime"}
    for node in ast.walk(ast.parse((PACKAGE / module).read_text())):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            name = node.module or ""
            roots = {name if name in allowed else name.split(".")[0]}
        else:
            continue
        assert roots <= allowed, f"{module}:{node.lineno} imports {sorted(roots - allowed)}"


def test_the_archive_runs_with_the_runtime_it_carries_not_the_installed_tapstack(tmp_path: Path) -> None:
    archive = tmp_path / "function.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, file in rotation_files().items():
            zf.write(file, name)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import rotation.app as app\n"
        "try:\n    app.handler({'Step': 'dropSecret'}, None)\n"
        "except app.RotationError as err:\n    print(str(err).split(':')[0])\n"
        "print(sys.modules['tapstack.runtime'].__file__)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'tapstack', 'pulumi', 'pulumi_aws'}))"
    )
    refused, runtime, modules = run_from_archive(probe, archive, tmp_path)[-3:]
    assert refused == "not a rotation event"
    assert runtime == str(archive / "tapstack" / "runtime.py"), "imported from the archive"
    assert modules == "['tapstack', 'tapstack.runtime']"
