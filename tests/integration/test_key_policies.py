"""KMS key policies in the emulator are judged as in AWS: at CreateKey/PutKeyPolicy, and at every SSE-KMS read and
write through S3 (key policy and IAM), by the caller."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tapstack.emulator.server import Emulator
from tapstack.emulator.sessions import client as emulator_client
from tapstack.lib import iam
from tests.integration.helpers import encrypt_with_kms, resolved

REGION = "us-east-1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator.start(tls=False) as started:
        yield started


def _role(emulator: Emulator, name: str, statements: list[dict[str, Any]]) -> str:
    client = emulator.client("iam", REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    arn = str(client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    if statements:
        policy = {"Version": "2012-10-17", "Statement": statements}
        client.put_role_policy(RoleName=name, PolicyName="own", PolicyDocument=json.dumps(policy))
    return arn


def _as(emulator: Emulator, role_arn: str) -> Any:
    credentials = emulator.client("sts", REGION).assume_role(RoleArn=role_arn, RoleSessionName="caller")["Credentials"]
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    return emulator_client("s3", REGION, emulator.url, emulator.ca_bundle, config, credentials)


def _policy(emulator: Emulator, users: list[str]) -> str:
    account = str(emulator.account_id)
    return resolved(lambda: iam.key_policy(account, "aws", REGION, users))


def _refused(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return str(refused.value.response["Error"]["Code"])


def test_a_key_policy_naming_a_role_that_does_not_exist_yet_is_refused_then_accepted_once_it_exists(
    emulator: Emulator, unique: str
) -> None:
    """Why TapStack writes the full key policy (KeyPolicy) only after the roles it names exist."""
    kms = emulator.client("kms", REGION)
    arn = f"arn:aws:iam::{emulator.account_id}:role/user-{unique}"
    assert _refused(lambda: kms.create_key(Policy=_policy(emulator, [arn]))) == "MalformedPolicyDocumentException"
    _role(emulator, f"user-{unique}", [])
    key = kms.create_key(Policy=_policy(emulator, []))["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_policy(emulator, [arn]))
    assert arn in kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]


def test_a_key_policy_without_the_root_administration_statement_fails_the_lockout_safety_check(
    emulator: Emulator, unique: str
) -> None:
    kms = emulator.client("kms", REGION)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    doc = json.loads(_policy(emulator, []))
    doc["Statement"] = [s for s in doc["Statement"] if s["Sid"] != "EnableAccountRootAdministration"]
    put = {"KeyId": key, "PolicyName": "default", "Policy": json.dumps(doc)}
    assert _refused(lambda: kms.put_key_policy(**put)) == "MalformedPolicyDocumentException"
    kms.put_key_policy(**put, BypassPolicyLockoutSafetyCheck=True)  # AWS accepts it then; TapStack never asks


@pytest.fixture
def kms_bucket(emulator: Emulator, unique: str) -> tuple[str, str]:
    """A bucket encrypted by default with a new key (SSE-KMS, S3 Bucket Key on), holding one object."""
    key = emulator.client("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    s3 = emulator.client("s3", REGION)
    bucket = f"kms-{unique}"
    s3.create_bucket(Bucket=bucket)
    encrypt_with_kms(s3, bucket, key)
    s3.put_object(Bucket=bucket, Key="object", Body=b"payload")
    return bucket, key


def _s3_only(bucket: str) -> list[dict[str, Any]]:
    return [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/*"}]


def _through_s3(key: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
    }


def test_reading_and_writing_sse_kms_objects_needs_the_key_through_iam_when_the_key_policy_delegates(
    emulator: Emulator, unique: str, kms_bucket: tuple[str, str]
) -> None:
    bucket, key = kms_bucket
    without = _as(emulator, _role(emulator, f"no-kms-{unique}", _s3_only(bucket)))
    granted = _as(emulator, _role(emulator, f"kms-{unique}", [*_s3_only(bucket), _through_s3(key)]))
    emulator.enforce_iam(True)
    try:
        assert _refused(lambda: without.get_object(Bucket=bucket, Key="object")) == "AccessDenied"
        assert _refused(lambda: without.put_object(Bucket=bucket, Key="new", Body=b"x")) == "AccessDenied"
        assert granted.get_object(Bucket=bucket, Key="object")["Body"].read() == b"payload"
        granted.put_object(Bucket=bucket, Key="new", Body=b"x")
    finally:
        emulator.enforce_iam(False)


def test_a_key_policy_that_names_a_role_grants_it_the_key_and_a_deny_there_refuses_whatever_iam_allows(
    emulator: Emulator, unique: str, kms_bucket: tuple[str, str]
) -> None:
    bucket, key = kms_bucket
    named = _role(emulator, f"named-{unique}", _s3_only(bucket))
    denied = _role(emulator, f"denied-{unique}", [*_s3_only(bucket), _through_s3(key)])
    doc = json.loads(_policy(emulator, [named]))
    doc["Statement"].append(
        {"Sid": "NotThisOne", "Effect": "Deny", "Principal": {"AWS": denied}, "Action": "kms:Decrypt", "Resource": "*"}
    )
    emulator.client("kms", REGION).put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(doc))
    as_named, as_denied = _as(emulator, named), _as(emulator, denied)
    emulator.enforce_iam(True)
    try:
        assert as_named.get_object(Bucket=bucket, Key="object")["Body"].read() == b"payload"
        assert _refused(lambda: as_denied.get_object(Bucket=bucket, Key="object")) == "AccessDenied"
        as_denied.put_object(Bucket=bucket, Key="new", Body=b"x")  # GenerateDataKey is not denied
    finally:
        emulator.enforce_iam(False)
