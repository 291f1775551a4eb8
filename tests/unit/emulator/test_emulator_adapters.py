"""Adapters: every type and input the program registers is covered, and the shapes sent to AWS are right."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pulumi
import pytest

from tapstack.emulator.adapters import INVOKES, RESOURCES
from tapstack.emulator.adapters.base import AdapterError, as_bool, pascal
from tapstack.emulator.adapters.lambda_ import zip_code
from tapstack.emulator.adapters.s3 import RENAMES
from tapstack.emulator.moto_fidelity import logging_granted
from tests.helpers import EXAMPLES, example_config, run_synth

EXAMPLE_NAMES = sorted(p.parent.name for p in EXAMPLES.glob("*/Pulumi.dev.yaml"))


# Every example as written, and the platform with the one optional child it leaves out (email subscriptions).
CONFIGS = {name: example_config(name) for name in EXAMPLE_NAMES} | {
    "platform+alarmEmail": {**example_config("platform"), "tapstack:alarmEmail": "ops@example.com"}
}


@pytest.mark.parametrize("example", sorted(CONFIGS))
def test_every_resource_of_every_example_has_an_adapter_that_handles_all_its_inputs(example: str) -> None:
    graph = run_synth(CONFIGS[example])
    missing = sorted({r.type for r in graph.aws_resources() if r.type not in RESOURCES})
    assert missing == []
    unhandled = {f"{r.name} ({r.type})": RESOURCES[r.type].unsupported_inputs(r.inputs) for r in graph.aws_resources()}
    assert {k: v for k, v in unhandled.items() if v} == {}


def test_every_invoke_the_program_makes_is_answered() -> None:
    assert set(INVOKES) == {
        "aws:index/getCallerIdentity:getCallerIdentity",
        "aws:index/getPartition:getPartition",
        "aws:index/getRegion:getRegion",
        "aws:index/getAvailabilityZones:getAvailabilityZones",
        "aws:ssm/getParameter:getParameter",
    }


def test_provider_property_names_become_the_aws_api_members() -> None:
    rule = {
        "id": "to-eu-west-1",
        "filter": {"prefix": ""},
        "destination": {
            "bucket": "arn:aws:s3:::replica",
            "encryptionConfiguration": {"replicaKmsKeyId": "arn:aws:kms:eu-west-1:1:key/k"},
            "replicationTime": {"status": "Enabled", "time": {"minutes": 15}},
        },
        "priority": None,
    }
    assert pascal(rule, RENAMES) == {
        "ID": "to-eu-west-1",
        "Filter": {"Prefix": ""},
        "Destination": {
            "Bucket": "arn:aws:s3:::replica",
            "EncryptionConfiguration": {"ReplicaKmsKeyID": "arn:aws:kms:eu-west-1:1:key/k"},
            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
        },
    }


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("False", False), (True, True), (None, None)])
def test_string_typed_flags_become_booleans(raw: object, expected: bool | None) -> None:
    assert as_bool(raw) is expected


def test_a_flag_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(AdapterError, match="expected a boolean, got 'yes'"):
        as_bool("yes")


def test_the_lambda_package_holds_exactly_the_archive_and_is_reproducible(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    code = pulumi.AssetArchive(
        {
            "handler/app.py": pulumi.FileAsset(str(tmp_path / "app.py")),
            "handler/__init__.py": pulumi.StringAsset(""),
        }
    )
    package = zip_code(code)
    assert zip_code(code) == package, "same sources, same bytes: the code hash does not drift"
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        assert zf.namelist() == ["handler/__init__.py", "handler/app.py"]
        assert zf.read("handler/app.py") == (tmp_path / "app.py").read_bytes()


def test_a_directory_archive_is_packaged_with_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    with zipfile.ZipFile(io.BytesIO(zip_code(pulumi.FileArchive(str(tmp_path))))) as zf:
        assert zf.namelist() == ["pkg/mod.py"]


def test_a_remote_archive_cannot_be_packaged() -> None:
    with pytest.raises(AdapterError, match="cannot package RemoteArchive"):
        zip_code(pulumi.RemoteArchive("https://example.com/code.zip"))


LOGS = "arn:aws:s3:::logs-bucket"


def _grant(resource: object, service: object = "logging.s3.amazonaws.com", action: object = "s3:PutObject") -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": action, "Resource": resource}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize(
    ("policy", "granted"),
    [
        (_grant([f"{LOGS}/access-logs/*"]), True),
        (_grant(f"{LOGS}/*"), True),
        (_grant([f"{LOGS}/other-prefix/*"]), False),
        (_grant([f"{LOGS}/access-logs/*"], service="s3.amazonaws.com"), False),
        (_grant([f"{LOGS}/access-logs/*"], action=["s3:GetObject"]), False),
        (None, False),
    ],
)
def test_the_server_access_logging_grant_is_evaluated_like_a_policy(policy: str | None, granted: bool) -> None:
    assert logging_granted(policy, LOGS, "access-logs/source-bucket/") is granted
